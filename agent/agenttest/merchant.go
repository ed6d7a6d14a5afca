package agenttest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/tap"
)

// SandboxMerchant is the Merchant of the local sandbox's authorizer
// (docs/wire.md §9): POST {url} to charge, GET {url}/{reference} to look a
// charge up.
type SandboxMerchant struct {
	// t is the SDK's one transport in its unsigned mode: bounded read,
	// error mapping, the retry classifier (a charge, a POST, is repeated
	// only when it provably never left or was throttled with 429; a
	// lookup is a read), the Observer.
	t *transport.Client
}

// NewSandboxMerchant returns the Merchant at url (the sandbox's
// MerchantURL), trusting cfg's TLS roots. The URL must be https, or plain
// http to a loopback host: the charge carries the token number and the
// dynamic CVV2.
func NewSandboxMerchant(url string, cfg visa.Config, opts ...MerchantOption) (*SandboxMerchant, error) {
	if reason := check.URL(url, check.MaxURL); reason != "" {
		return nil, visa.NewInputError("MerchantURL", reason)
	}
	var mo merchantOptions
	for _, o := range opts {
		if err := o(&mo); err != nil {
			return nil, err
		}
	}
	if mo.wrap != nil {
		// The signer wraps whatever the SDK built (TLS, then the caller's
		// own wrapping), so it signs the request as sent.
		inner, outer := cfg.WrapTransport, mo.wrap
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			if inner != nil {
				rt = inner(rt)
			}
			return outer(rt)
		}
	}
	t, err := transport.NewUnsigned(cfg, visa.ProductMerchant, url, nil,
		transport.WithTimeout(merchantTimeout), transport.WithMaxResponseBytes(maxMerchantBytes))
	if err != nil {
		return nil, err
	}
	return &SandboxMerchant{t: t}, nil
}

// Merchant exchange limits.
const (
	merchantTimeout  = 30 * time.Second
	maxMerchantBytes = 64 << 10
)

// MerchantOption configures a SandboxMerchant.
type MerchantOption func(*merchantOptions) error

type merchantOptions struct {
	wrap func(http.RoundTripper) http.RoundTripper
}

// WithTAP signs every merchant call with s, the agent's Trusted Agent
// Protocol signer: the charge as the paying agent (tap.TagPayer) unless the
// call's context says otherwise (tap.WithTag). A sandbox started with
// sandbox.WithMerchantTAP refuses unsigned charges.
func WithTAP(s *tap.Signer) MerchantOption {
	return func(o *merchantOptions) error {
		if s == nil {
			return visa.NewInputError("TAP signer", "is nil")
		}
		o.wrap = s.Transport
		return nil
	}
}

type merchantWire struct {
	MerchantName           string         `json:"merchantName"`
	MerchantCountryCode    string         `json:"merchantCountryCode"`
	MerchantURL            string         `json:"merchantUrl,omitempty"`
	CardNumber             string         `json:"cardNumber"`
	ExpirationMonth        string         `json:"expirationMonth"`
	ExpirationYear         string         `json:"expirationYear"`
	CVV2                   string         `json:"cvv2"`
	TransactionAmount      merchantAmount `json:"transactionAmount"`
	TransactionReferenceID string         `json:"transactionReferenceId"`
}

type merchantAmount struct {
	TransactionAmount       string `json:"transactionAmount"`
	TransactionCurrencyCode string `json:"transactionCurrencyCode"`
}

type merchantAnswer struct {
	Status                   string `json:"status"`
	ResponseCode             string `json:"responseCode"`
	DeclineReason            string `json:"declineReason"`
	AuthorizationCode        string `json:"authorizationCode"`
	RetrievalReferenceNumber string `json:"retrievalReferenceNumber"`
	SystemTraceAuditNumber   string `json:"systemTraceAuditNumber"`
	TransactionTimestamp     string `json:"transactionTimestamp"`
}

// Authorize posts the charge (operation merchant.Authorize). A network
// failure after the charge may have reached the merchant is not repeated:
// the outcome is then unknown (a *visa.RequestError), and Lookup tells.
func (m *SandboxMerchant) Authorize(ctx context.Context, c agent.Charge) (*agent.Authorization, error) {
	body, err := json.Marshal(merchantWire{
		MerchantName: c.MerchantName, MerchantCountryCode: c.MerchantCountryCode, MerchantURL: c.MerchantURL,
		CardNumber: c.Credential.PaymentToken.Reveal(), ExpirationMonth: c.Credential.TokenExpirationMonth,
		ExpirationYear: c.Credential.TokenExpirationYear, CVV2: c.Credential.DynamicDataValue.Reveal(),
		TransactionAmount:      merchantAmount{TransactionAmount: c.Amount.Value(), TransactionCurrencyCode: c.Amount.Currency().Alpha},
		TransactionReferenceID: c.TransactionReferenceID,
	})
	if err != nil {
		return nil, &visa.OperationError{Operation: "merchant.Authorize", Err: err}
	}
	return m.exchange(ctx, &transport.Request{Op: "merchant.Authorize", Method: http.MethodPost, Body: body})
}

// Lookup gets the recorded result of a charge (operation merchant.Lookup).
func (m *SandboxMerchant) Lookup(ctx context.Context, ref string) (*agent.Authorization, error) {
	if ref == "" {
		return nil, &visa.OperationError{Operation: "merchant.Lookup", Err: visa.NewInputError("TransactionReferenceID", "is required")}
	}
	a, err := m.exchange(ctx, &transport.Request{Op: "merchant.Lookup", Method: http.MethodGet,
		Path: "/{transactionReferenceId}", PathParams: []string{ref}})
	if ae, ok := errors.AsType[*visa.APIError](err); ok && ae.HTTPStatus == http.StatusNotFound {
		return nil, agent.ErrNoAuthorization
	}
	return a, err
}

func (m *SandboxMerchant) exchange(ctx context.Context, req *transport.Request) (*agent.Authorization, error) {
	var a merchantAnswer
	meta, err := m.t.Do(ctx, req, &a)
	if err != nil {
		return nil, err
	}
	if a.Status != "APPROVED" && a.Status != "DECLINED" {
		return nil, &visa.OperationError{Operation: req.Op, Meta: meta, Err: &visa.ResponseError{StatusCode: meta.StatusCode,
			Kind: visa.ErrMalformedResponse, Detail: "status is neither APPROVED nor DECLINED"}}
	}
	out := &agent.Authorization{
		Approved: a.Status == "APPROVED", Status: a.Status, ResponseCode: a.ResponseCode, DeclineReason: a.DeclineReason,
		AuthorizationCode: a.AuthorizationCode, RetrievalReferenceNumber: a.RetrievalReferenceNumber,
		SystemTraceAuditNumber: a.SystemTraceAuditNumber,
	}
	if n, err := strconv.ParseInt(a.TransactionTimestamp, 10, 64); err == nil {
		out.Timestamp = time.Unix(n, 0).UTC()
	}
	return out, nil
}
