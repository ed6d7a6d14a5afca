package vts

// The wire structs of this file carry the exact JSON names of
// docs/wire.md §5, quirks included: clientReferenceID (attestation
// options, device binding) against clientReferenceId (step-up calls),
// month/year and date as strings, merchant identifiers in base64url.
// They hold clear values, built with Reveal() right before encoding; they
// are unexported and never printed, logged or kept.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vicgo/visa"
)

type wireExpirationDate struct {
	Month string `json:"month"`
	Year  string `json:"year"`
}

type wireBillingAddress struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// wirePaymentInstrument is the plaintext of encPaymentInstrument.
type wirePaymentInstrument struct {
	AccountNumber  string              `json:"accountNumber"`
	Name           string              `json:"name,omitempty"`
	ExpirationDate wireExpirationDate  `json:"expirationDate"`
	CVV2           string              `json:"cvv2,omitempty"`
	BillingAddress *wireBillingAddress `json:"billingAddress,omitempty"`
}

// wireEnrollPAN is the body of POST /vts/panEnrollments (§5.1).
type wireEnrollPAN struct {
	Locale                string `json:"locale"`
	ClientAppID           string `json:"clientAppID"`
	ClientWalletAccountID string `json:"clientWalletAccountID"`
	PANSource             string `json:"panSource"`
	ConsumerEntryMode     string `json:"consumerEntryMode"`
	EncPaymentInstrument  string `json:"encPaymentInstrument"`
}

// wireNameValue is one entry of the encRiskDataInfo and
// encDeviceRiskDataInfo arrays (encrypted as a raw array, §11.4).
type wireNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// wireProvisionToken is the body of POST
// /vts/panEnrollments/{vPanEnrollmentID}/provisionedTokens (§5.2).
type wireProvisionToken struct {
	ClientAppID                         string   `json:"clientAppID"`
	ClientWalletAccountID               string   `json:"clientWalletAccountID"`
	ClientWalletAccountEmailAddress     string   `json:"clientWalletAccountEmailAddress"`
	ClientWalletAccountEmailAddressHash string   `json:"clientWalletAccountEmailAddressHash"`
	PresentationType                    []string `json:"presentationType"`
	ProtectionType                      string   `json:"protectionType"`
	AccountType                         string   `json:"accountType"`
	EncRiskDataInfo                     string   `json:"encRiskDataInfo"`
}

// wireProvisionTokenWithPAN is the body of the one-step POST
// /vts/provisionedTokens (§5.2, S1).
type wireProvisionTokenWithPAN struct {
	Locale                              string   `json:"locale"`
	PANSource                           string   `json:"panSource"`
	ConsumerEntryMode                   string   `json:"consumerEntryMode"`
	PresentationType                    []string `json:"presentationType"`
	ProtectionType                      string   `json:"protectionType"`
	ClientAppID                         string   `json:"clientAppID"`
	ClientWalletAccountID               string   `json:"clientWalletAccountID"`
	ClientWalletAccountEmailAddress     string   `json:"clientWalletAccountEmailAddress"`
	ClientWalletAccountEmailAddressHash string   `json:"clientWalletAccountEmailAddressHash"`
	EncPaymentInstrument                string   `json:"encPaymentInstrument"`
}

type wireSessionContext struct {
	SecureToken string `json:"secureToken"`
}

type wireMerchantIdentifier struct {
	ExternalClientID string `json:"externalClientId"`
	ApplicationURL   string `json:"applicationUrl"`
	MerchantName     string `json:"merchantName"`
}

type wireDynamicData struct {
	AuthenticationAmount string                 `json:"authenticationAmount"`
	CurrencyCode         string                 `json:"currencyCode"`
	MerchantIdentifier   wireMerchantIdentifier `json:"merchantIdentifier"`
}

// wirePreferences is authenticationPreferencesRequested: exactly one of
// the two members is sent, according to the type.
type wirePreferences struct {
	SelectedPopupForRegister     *bool `json:"selectedPopupForRegister,omitempty"`
	SelectedPopupForAuthenticate *bool `json:"selectedPopupForAuthenticate,omitempty"`
}

// wireAuthenticationData is the plaintext of encAuthenticationData.
type wireAuthenticationData struct {
	ConsumerInfo struct {
		EmailAddress string `json:"emailAddress"`
	} `json:"consumerInfo"`
}

// wireAttestationOptions is the body of POST
// /vts/provisionedTokens/{id}/attestation/options (§5.3).
type wireAttestationOptions struct {
	ClientReferenceID                  string             `json:"clientReferenceID"`
	ClientAppID                        string             `json:"clientAppID"`
	Type                               string             `json:"type"`
	ReasonCode                         string             `json:"reasonCode"`
	SessionContext                     wireSessionContext `json:"sessionContext"`
	BrowserData                        visa.BrowserData   `json:"browserData"`
	DynamicData                        wireDynamicData    `json:"dynamicData"`
	EncAuthenticationData              string             `json:"encAuthenticationData"`
	AuthenticationPreferencesRequested wirePreferences    `json:"authenticationPreferencesRequested"`
}

// wireBillingInfo is the plaintext of encBillingInfo.
type wireBillingInfo struct {
	Email string `json:"email"`
}

// wireDeviceBinding is the body of POST
// /vts/provisionedTokens/{id}/deviceBinding (§5.4).
type wireDeviceBinding struct {
	ClientReferenceID                   string             `json:"clientReferenceID"`
	ClientAppID                         string             `json:"clientAppID"`
	Intent                              string             `json:"intent"`
	PlatformType                        string             `json:"platformType"`
	BrowserData                         visa.BrowserData   `json:"browserData"`
	SessionContext                      wireSessionContext `json:"sessionContext"`
	ClientWalletAccountEmailAddressHash string             `json:"clientWalletAccountEmailAddressHash"`
	EncBillingInfo                      string             `json:"encBillingInfo"`
	EncDeviceRiskDataInfo               string             `json:"encDeviceRiskDataInfo,omitempty"`
}

// wireSelectStepUpMethod is the body of PUT
// /vts/provisionedTokens/{id}/stepUpOptions/method (§5.5): lower-case d.
type wireSelectStepUpMethod struct {
	ClientReferenceID string `json:"clientReferenceId"`
	StepUpRequestID   string `json:"stepUpRequestID"`
	Date              string `json:"date"`
	ClientAppID       string `json:"clientAppID"`
}

// wireValidateOTP is the body of POST
// /vts/provisionedTokens/{id}/stepUpOptions/validateOTP (§5.6).
type wireValidateOTP struct {
	ClientReferenceID string `json:"clientReferenceId"`
	OTPValue          string `json:"otpValue"`
	Date              string `json:"date"`
	ClientAppID       string `json:"clientAppID"`
}

// wireUpdateToken is the body of delete, suspend and resume (§5.7).
type wireUpdateToken struct {
	UpdateReason struct {
		ReasonCode string `json:"reasonCode"`
	} `json:"updateReason"`
}

// wireStepUpMethodResponse is the reply of §5.5. Numbers may come as
// JSON numbers or strings.
type wireStepUpMethodResponse struct {
	MaxOTPRequestsAllowed     flexInt `json:"maxOTPRequestsAllowed"`
	MaxOTPVerificationAllowed flexInt `json:"maxOTPVerificationAllowed"`
	CodeExpiration            flexInt `json:"codeExpiration"`
}

// flexInt decodes a JSON number or a string of digits; null is 0.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = 0
		return nil
	}
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if x, ferr := strconv.ParseFloat(s, 64); ferr == nil && x == float64(int64(x)) {
			n, err = int64(x), nil
		}
	}
	if err != nil {
		return visa.ErrMalformedResponse
	}
	*f = flexInt(n)
	return nil
}

// riskPairs returns the expiry name/value pairs of encRiskDataInfo and
// encDeviceRiskDataInfo (§5.2), followed by extra.
func riskPairs(e ExpirationDate, extra []RiskDataItem) []wireNameValue {
	w := e.wire()
	out := make([]wireNameValue, 0, 2+len(extra))
	out = append(out,
		wireNameValue{Name: "paymentInstrument.expirationDate.month", Value: w.Month},
		wireNameValue{Name: "paymentInstrument.expirationDate.year", Value: w.Year})
	for _, r := range extra {
		out = append(out, wireNameValue(r))
	}
	return out
}
