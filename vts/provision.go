package vts

import (
	"context"
	"net/http"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/jwe"
)

// Presentation types of provisioning (docs/wire.md §5.2).
const (
	// PresentationAIAgent is the default: a token for an AI agent (docs/wire.md §5.2).
	PresentationAIAgent = "AI_AGENT"
	// PresentationECOM is the e-commerce presentation S1 sends.
	PresentationECOM = "ECOM"
)

// Defaults of the provisioning bodies.
const (
	DefaultProtectionType = "CLOUD"
	DefaultAccountType    = "WALLET"
)

// RiskDataItem is one name/value pair of encRiskDataInfo or
// encDeviceRiskDataInfo: device, IP address or other risk context.
type RiskDataItem struct {
	Name  string
	Value string
}

// TokenInfo is what may be kept of a token: its status, its last four
// digits (the token's, not the card's) and its expiry.
type TokenInfo struct {
	TokenStatus    visa.TokenStatus `json:"tokenStatus"`
	Last4          string           `json:"last4"`
	ExpirationDate ExpirationDate   `json:"expirationDate"`
}

// ProvisionTokenRequest asks for a token from an enrollment (journey step 2).
type ProvisionTokenRequest struct {
	// VPanEnrollmentID comes from EnrollPAN; it is single use.
	VPanEnrollmentID string
	// Email is the consumer's wallet account email. Visa takes it in
	// clear (clientWalletAccountEmailAddress) next to its keyed hash.
	Email string
	// ExpirationDate is the enrolled card's expiry; it goes in
	// encRiskDataInfo, where Visa checks it against the enrollment.
	ExpirationDate ExpirationDate
	// RiskData are further device, IP and risk pairs appended to
	// encRiskDataInfo.
	RiskData []RiskDataItem
	// PresentationType defaults to [PresentationAIAgent].
	PresentationType []string
	// ProtectionType defaults to DefaultProtectionType ("CLOUD").
	ProtectionType string
	// AccountType defaults to DefaultAccountType ("WALLET").
	AccountType string
}

// ProvisionTokenResponse is the new token. VProvisionedTokenID,
// TokenReferenceID, TokenInfo.Last4 and TokenInfo.ExpirationDate are
// what docs/wire.md §5.2 says to keep; the token starts INACTIVE until step-up.
type ProvisionTokenResponse struct {
	visa.ResponseMeta   `json:"-"`
	VProvisionedTokenID string            `json:"vProvisionedTokenID"`
	TokenReferenceID    string            `json:"tokenReferenceID"`
	TokenInfo           TokenInfo         `json:"tokenInfo"`
	PaymentInstrument   PaymentInstrument `json:"paymentInstrument"`
	CardMetaData        CardMetaData      `json:"cardMetaData"`
}

// ProvisionToken calls POST /vts/panEnrollments/{vPanEnrollmentID}/provisionedTokens
// (Step 2). The expiry and RiskData go encrypted in encRiskDataInfo (a raw
// JSON array). A write: never retried once it may have reached Visa.
//
// Errors: visa.ErrNotFound (enrollmentNotFound), visa.ErrEnrollmentExpired,
// visa.ErrConflict (enrollmentAlreadyUsed), visa.ErrCardDeclined
// (provisioningDeclined).
func (c *Client) ProvisionToken(ctx context.Context, req ProvisionTokenRequest, opts ...CallOption) (*ProvisionTokenResponse, error) {
	body, err := c.provisionTokenBody(req)
	if err != nil {
		return nil, fail("vts.ProvisionToken", err)
	}
	out := new(ProvisionTokenResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.ProvisionToken", Method: http.MethodPost, Path: "/vts/panEnrollments/{vPanEnrollmentID}/provisionedTokens", PathParams: []string{req.VPanEnrollmentID}, Body: body}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, out.VProvisionedTokenID != "")
}

func (c *Client) provisionTokenBody(req ProvisionTokenRequest) (*wireProvisionToken, error) {
	if err := required("VPanEnrollmentID", req.VPanEnrollmentID); err != nil {
		return nil, err
	}
	if err := checkEmail("Email", req.Email); err != nil {
		return nil, err
	}
	if err := req.ExpirationDate.validate("ExpirationDate"); err != nil {
		return nil, err
	}
	if err := checkRiskData("RiskData", req.RiskData); err != nil {
		return nil, err
	}
	if err := checkPresentation(req.PresentationType); err != nil {
		return nil, err
	}
	enc, err := c.encrypt("vts.ProvisionToken", "encRiskDataInfo", riskPairs(req.ExpirationDate, req.RiskData))
	if err != nil {
		return nil, err
	}
	return &wireProvisionToken{
		ClientAppID: c.clientAppID, ClientWalletAccountID: c.walletAccount,
		ClientWalletAccountEmailAddress:     req.Email,
		ClientWalletAccountEmailAddressHash: jwe.EmailHash(c.hashSecret.Reveal(), req.Email),
		PresentationType:                    presentation(req.PresentationType),
		ProtectionType:                      or(req.ProtectionType, DefaultProtectionType),
		AccountType:                         or(req.AccountType, DefaultAccountType),
		EncRiskDataInfo:                     enc,
	}, nil
}

// ProvisionTokenWithPANRequest asks for a token straight from a card, in
// one call (S1's form of journey steps 1–2).
type ProvisionTokenWithPANRequest struct {
	Card
	// Email is the consumer's wallet account email (sent in clear with
	// its keyed hash, as in ProvisionToken).
	Email string
	// Locale, PANSource and ConsumerEntryMode default as in EnrollPAN.
	Locale            string
	PANSource         string
	ConsumerEntryMode string
	// PresentationType defaults to [PresentationAIAgent].
	PresentationType []string
	// ProtectionType defaults to DefaultProtectionType ("CLOUD").
	ProtectionType string
}

// ProvisionTokenWithPAN calls POST /vts/provisionedTokens (Steps 1–2 in
// one call). The card goes encrypted in encPaymentInstrument. A write:
// never retried once it may have reached Visa.
//
// Errors: those of EnrollPAN and ProvisionToken.
func (c *Client) ProvisionTokenWithPAN(ctx context.Context, req ProvisionTokenWithPANRequest, opts ...CallOption) (*ProvisionTokenResponse, error) {
	body, err := c.provisionWithPANBody(req)
	if err != nil {
		return nil, fail("vts.ProvisionTokenWithPAN", err)
	}
	out := new(ProvisionTokenResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.ProvisionTokenWithPAN", Method: http.MethodPost, Path: "/vts/provisionedTokens", Body: body}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, out.VProvisionedTokenID != "")
}

func (c *Client) provisionWithPANBody(req ProvisionTokenWithPANRequest) (*wireProvisionTokenWithPAN, error) {
	if err := req.Card.validate(c.now()); err != nil {
		return nil, err
	}
	if err := checkEmail("Email", req.Email); err != nil {
		return nil, err
	}
	if err := checkPresentation(req.PresentationType); err != nil {
		return nil, err
	}
	enc, err := c.encryptCard("vts.ProvisionTokenWithPAN", req.Card)
	if err != nil {
		return nil, err
	}
	return &wireProvisionTokenWithPAN{
		Locale: or(req.Locale, DefaultLocale), PANSource: or(req.PANSource, DefaultPANSource),
		ConsumerEntryMode: or(req.ConsumerEntryMode, DefaultConsumerEntryMode),
		PresentationType:  presentation(req.PresentationType),
		ProtectionType:    or(req.ProtectionType, DefaultProtectionType),
		ClientAppID:       c.clientAppID, ClientWalletAccountID: c.walletAccount,
		ClientWalletAccountEmailAddress:     req.Email,
		ClientWalletAccountEmailAddressHash: jwe.EmailHash(c.hashSecret.Reveal(), req.Email),
		EncPaymentInstrument:                enc,
	}, nil
}

func presentation(p []string) []string {
	if len(p) == 0 {
		return []string{PresentationAIAgent}
	}
	return p
}

// checkPresentation refuses an empty presentation type.
func checkPresentation(p []string) error {
	for _, v := range p {
		if v == "" {
			return visa.NewInputError("PresentationType", "must not hold an empty value")
		}
	}
	return nil
}

// checkRiskData refuses pairs without a name.
func checkRiskData(field string, items []RiskDataItem) error {
	for _, it := range items {
		if it.Name == "" {
			return visa.NewInputError(field+".Name", "is required")
		}
	}
	return nil
}
