package vts

import (
	"context"
	"net/http"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/jwe"
)

// Defaults of the device binding body (docs/wire.md §5.4).
const (
	DefaultIntent       = "FIDO"
	DefaultPlatformType = "WEB"
)

// MerchantIdentifier names who asks for an authentication: the agent at
// onboarding, the merchant at purchase. Give the plain strings; they are
// sent base64url-encoded (docs/wire.md §2.5).
type MerchantIdentifier struct {
	ExternalClientID string
	ApplicationURL   string
	MerchantName     string
}

func (m MerchantIdentifier) validate() error {
	if err := required("MerchantIdentifier.ExternalClientID", m.ExternalClientID); err != nil {
		return err
	}
	if err := rule("MerchantIdentifier.ApplicationURL", check.URL(m.ApplicationURL, check.MaxURL)); err != nil {
		return err
	}
	return rule("MerchantIdentifier.MerchantName", check.Text(m.MerchantName, 256, true))
}

func (m MerchantIdentifier) wire() wireMerchantIdentifier {
	return wireMerchantIdentifier{
		ExternalClientID: check.Base64URL(m.ExternalClientID),
		ApplicationURL:   check.Base64URL(m.ApplicationURL),
		MerchantName:     check.Base64URL(m.MerchantName),
	}
}

// AttestationOptionsRequest asks Visa how to authenticate the consumer on
// this device: the onboarding probe (journey step 4: AUTHENTICATE, zero
// amount), passkey registration (step 8: REGISTER) or a purchase (step 11:
// AUTHENTICATE with the amount and merchant).
type AttestationOptionsRequest struct {
	VProvisionedTokenID string
	// ClientReferenceID is the flow's id (visa.NewClientReferenceID); it may
	// come from the WithClientReferenceID call option instead.
	ClientReferenceID string
	// Type is visa.ActionAuthenticate or visa.ActionRegister.
	Type visa.Action
	// ReasonCode defaults to visa.ReasonDeviceBinding for REGISTER and
	// visa.ReasonPayment for AUTHENTICATE.
	ReasonCode visa.ReasonCode
	// SessionContext and BrowserData come from the Auth iFrame session
	// (journey steps 3 and 10). BrowserData is normalized before sending.
	SessionContext visa.SessionContext
	BrowserData    visa.BrowserData
	// Amount is the purchase amount; the zero Amount sends "0.00" in USD
	// ("840"), the form of the probe and of REGISTER, which must not
	// carry an amount.
	Amount visa.Amount
	// MerchantIdentifier is required.
	MerchantIdentifier MerchantIdentifier
	// Email is the consumer's email; it goes only inside
	// encAuthenticationData.
	Email string
	// PopupRequested asks for the iFrame in a popup
	// (authenticationPreferencesRequested.selectedPopupFor*).
	PopupRequested bool
}

// AttestationOptionsResponse carries the authentication context to hand,
// unchanged, to the Auth iFrame's AUTHENTICATE command. Its Action says
// the route: REGISTER (no passkey on this device yet) or AUTHENTICATE.
// Keep it in memory only.
type AttestationOptionsResponse struct {
	visa.ResponseMeta     `json:"-"`
	AuthenticationContext visa.AuthenticationContext `json:"authenticationContext"`
}

// AttestationOptions calls POST /vts/provisionedTokens/{vProvisionedTokenID}/attestation/options
// (Steps 4, 8 and 11). The email goes encrypted in encAuthenticationData;
// the merchant identifier goes base64url. A write: never retried once it
// may have reached Visa.
//
// Errors: visa.ErrSessionInvalid (secureToken consumed or expired),
// visa.ErrStepUpRequired (REGISTER before step-up), visa.ErrTokenInactive
// (deleted or suspended token), visa.ErrNotFound (unknown token).
func (c *Client) AttestationOptions(ctx context.Context, req AttestationOptionsRequest, opts ...CallOption) (*AttestationOptionsResponse, error) {
	co := collect(opts)
	body, err := c.attestationOptionsBody(req, co.refID)
	if err != nil {
		return nil, fail("vts.AttestationOptions", err)
	}
	out := new(AttestationOptionsResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.AttestationOptions", Method: http.MethodPost, Path: "/vts/provisionedTokens/{vProvisionedTokenID}/attestation/options", PathParams: []string{req.VProvisionedTokenID}, Body: body}, out, co)
	return finish(out, &out.ResponseMeta, res, err, out.AuthenticationContext.Action != "")
}

func (c *Client) attestationOptionsBody(req AttestationOptionsRequest, optRef string) (*wireAttestationOptions, error) {
	ref, reason, err := checkAttestation(req, optRef)
	if err != nil {
		return nil, err
	}
	var ad wireAuthenticationData
	ad.ConsumerInfo.EmailAddress = req.Email
	enc, err := c.encrypt("vts.AttestationOptions", "encAuthenticationData", ad)
	if err != nil {
		return nil, err
	}
	amount, currency := "0.00", "840"
	if !req.Amount.IsZero() {
		amount, currency = req.Amount.Value(), req.Amount.Currency().Numeric
	}
	popup := req.PopupRequested
	prefs := wirePreferences{SelectedPopupForAuthenticate: &popup}
	if req.Type == visa.ActionRegister {
		prefs = wirePreferences{SelectedPopupForRegister: &popup}
	}
	return &wireAttestationOptions{
		ClientReferenceID: ref, ClientAppID: c.clientAppID, Type: string(req.Type), ReasonCode: string(reason),
		SessionContext: wireSessionContext{SecureToken: req.SessionContext.SecureToken.Reveal()},
		BrowserData:    req.BrowserData.Normalize(),
		DynamicData: wireDynamicData{
			AuthenticationAmount: amount, CurrencyCode: currency, MerchantIdentifier: req.MerchantIdentifier.wire(),
		},
		EncAuthenticationData:              enc,
		AuthenticationPreferencesRequested: prefs,
	}, nil
}

// checkAttestation validates the request and returns its reference id and
// reason code.
func checkAttestation(req AttestationOptionsRequest, optRef string) (string, visa.ReasonCode, error) {
	if err := required("VProvisionedTokenID", req.VProvisionedTokenID); err != nil {
		return "", "", err
	}
	ref, err := resolveRefID(req.ClientReferenceID, optRef)
	if err != nil {
		return "", "", err
	}
	reason := req.ReasonCode
	switch req.Type {
	case visa.ActionRegister:
		reason = visa.ReasonCode(or(string(reason), string(visa.ReasonDeviceBinding)))
		if !req.Amount.IsZero() && req.Amount.Minor() != 0 {
			return "", "", visa.NewInputError("Amount", "must be zero for REGISTER")
		}
	case visa.ActionAuthenticate:
		reason = visa.ReasonCode(or(string(reason), string(visa.ReasonPayment)))
	default:
		return "", "", visa.NewInputError("Type", "must be REGISTER or AUTHENTICATE")
	}
	if reason != visa.ReasonPayment && reason != visa.ReasonDeviceBinding && reason != visa.ReasonProvisioning {
		return "", "", visa.NewInputError("ReasonCode", "must be PAYMENT, DEVICE_BINDING or PROVISIONING")
	}
	for _, err := range []error{
		checkSession(req.SessionContext), checkBrowserData(req.BrowserData),
		req.MerchantIdentifier.validate(), checkEmail("Email", req.Email),
	} {
		if err != nil {
			return "", "", err
		}
	}
	return ref, reason, nil
}

// BindingStatus is the status of a device binding.
type BindingStatus string

// Device binding statuses (docs/wire.md §5.4).
const (
	// BindingChallenge: the consumer must pass a step-up (OTP).
	BindingChallenge BindingStatus = "CHALLENGE"
	// BindingApproved: no step-up needed; the token is ACTIVE.
	BindingApproved BindingStatus = "APPROVED"
)

// Step-up methods (docs/wire.md §5.4). The sandbox offers the first two.
const (
	MethodOTPSMS           = "OTPSMS"
	MethodOTPEmail         = "OTPEMAIL"
	MethodOTPOnlineBanking = "OTPONLINEBANKING"
	MethodCustomerService  = "CUSTOMERSERVICE"
	MethodAppToApp         = "APP-TO-APP"
	MethodOutboundCall     = "OUTBOUNDCALL"
)

// StepUpRequest is one way to step up: Method, the masked destination
// (Value, e.g. "(***) ***-0123") and the Identifier to pass to
// SelectStepUpMethod as StepUpRequestID.
type StepUpRequest struct {
	Method     string `json:"method"`
	Value      string `json:"value"`
	Identifier string `json:"identifier"`
}

// DeviceBindingRequest binds the token to the consumer's device (journey
// step 5).
type DeviceBindingRequest struct {
	VProvisionedTokenID string
	// ClientReferenceID is the flow's id; SelectStepUpMethod and
	// ValidateOTP must use the same. It may come from the
	// WithClientReferenceID call option instead.
	ClientReferenceID string
	// SessionContext and BrowserData come from the Auth iFrame session.
	SessionContext visa.SessionContext
	BrowserData    visa.BrowserData
	// Email is the consumer's email: sent as its keyed hash and inside
	// encBillingInfo, never in clear.
	Email string
	// ExpirationDate, when set, goes with DeviceRiskData in
	// encDeviceRiskDataInfo (the card expiry pairs of provisioning).
	ExpirationDate ExpirationDate
	// DeviceRiskData are further device risk pairs; they need
	// ExpirationDate.
	DeviceRiskData []RiskDataItem
	// ReasonCode is the reasonCode query parameter; it defaults to
	// visa.ReasonDeviceBinding.
	ReasonCode visa.ReasonCode
	// Intent defaults to DefaultIntent ("FIDO").
	Intent string
	// PlatformType defaults to DefaultPlatformType ("WEB").
	PlatformType string
}

// DeviceBindingResponse says whether a step-up is needed: with
// BindingChallenge, StepUpRequest lists the methods to offer the consumer.
type DeviceBindingResponse struct {
	visa.ResponseMeta `json:"-"`
	Status            BindingStatus   `json:"status"`
	StepUpRequest     []StepUpRequest `json:"stepUpRequest"`
}

// DeviceBinding calls POST /vts/provisionedTokens/{vProvisionedTokenID}/deviceBinding?reasonCode=DEVICE_BINDING
// (Step 5). The email goes encrypted in encBillingInfo, the risk data in
// encDeviceRiskDataInfo (a raw JSON array). A write: never retried once
// it may have reached Visa. A new call issues new step-up identifiers
// and resets the OTP counters.
//
// Errors: visa.ErrSessionInvalid, visa.ErrInvalidRequest (invalidParameter:
// hash mismatch), visa.ErrNotFound, visa.ErrTokenInactive (deleted or
// suspended token).
func (c *Client) DeviceBinding(ctx context.Context, req DeviceBindingRequest, opts ...CallOption) (*DeviceBindingResponse, error) {
	co := collect(opts)
	body, err := c.deviceBindingBody(req, co.refID)
	if err != nil {
		return nil, fail("vts.DeviceBinding", err)
	}
	out := new(DeviceBindingResponse)
	q := []transport.QueryParam{{Key: "reasonCode", Value: or(string(req.ReasonCode), string(visa.ReasonDeviceBinding))}}
	res, err := c.do(ctx, &transport.Request{Op: "vts.DeviceBinding", Method: http.MethodPost, Path: "/vts/provisionedTokens/{vProvisionedTokenID}/deviceBinding", PathParams: []string{req.VProvisionedTokenID}, Query: q, Body: body}, out, co)
	return finish(out, &out.ResponseMeta, res, err, out.Status == BindingApproved || (out.Status == BindingChallenge && len(out.StepUpRequest) > 0))
}

func (c *Client) deviceBindingBody(req DeviceBindingRequest, optRef string) (*wireDeviceBinding, error) {
	ref, err := checkDeviceBinding(req, optRef)
	if err != nil {
		return nil, err
	}
	billing, err := c.encrypt("vts.DeviceBinding", "encBillingInfo", wireBillingInfo{Email: req.Email})
	if err != nil {
		return nil, err
	}
	var risk string
	if !req.ExpirationDate.IsZero() {
		if risk, err = c.encrypt("vts.DeviceBinding", "encDeviceRiskDataInfo", riskPairs(req.ExpirationDate, req.DeviceRiskData)); err != nil {
			return nil, err
		}
	}
	return &wireDeviceBinding{
		ClientReferenceID: ref, ClientAppID: c.clientAppID,
		Intent: or(req.Intent, DefaultIntent), PlatformType: or(req.PlatformType, DefaultPlatformType),
		BrowserData:                         req.BrowserData.Normalize(),
		SessionContext:                      wireSessionContext{SecureToken: req.SessionContext.SecureToken.Reveal()},
		ClientWalletAccountEmailAddressHash: jwe.EmailHash(c.hashSecret.Reveal(), req.Email),
		EncBillingInfo:                      billing, EncDeviceRiskDataInfo: risk,
	}, nil
}

func checkDeviceBinding(req DeviceBindingRequest, optRef string) (string, error) {
	if err := required("VProvisionedTokenID", req.VProvisionedTokenID); err != nil {
		return "", err
	}
	ref, err := resolveRefID(req.ClientReferenceID, optRef)
	if err != nil {
		return "", err
	}
	switch req.ReasonCode {
	case "", visa.ReasonDeviceBinding, visa.ReasonProvisioning:
	default:
		return "", visa.NewInputError("ReasonCode", "must be DEVICE_BINDING or PROVISIONING")
	}
	if !req.ExpirationDate.IsZero() {
		if err := req.ExpirationDate.validate("ExpirationDate"); err != nil {
			return "", err
		}
	} else if len(req.DeviceRiskData) > 0 {
		return "", visa.NewInputError("ExpirationDate", "is required with DeviceRiskData")
	}
	for _, err := range []error{
		checkSession(req.SessionContext), checkBrowserData(req.BrowserData),
		checkEmail("Email", req.Email), checkRiskData("DeviceRiskData", req.DeviceRiskData),
	} {
		if err != nil {
			return "", err
		}
	}
	return ref, nil
}
