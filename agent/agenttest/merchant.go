package agenttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	url    string
	client *http.Client
}

// NewSandboxMerchant returns the Merchant at url (the sandbox's
// MerchantURL), trusting cfg's TLS roots. The URL must be https, or plain
// http to a loopback host: the charge carries the token number and the
// dynamic CVV2.
func NewSandboxMerchant(url string, cfg visa.Config, opts ...MerchantOption) (*SandboxMerchant, error) {
	if reason := check.URL(url, check.MaxURL); reason != "" {
		return nil, visa.NewInputError("MerchantURL", reason)
	}
	hc, err := transport.HTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	if hc.Timeout == 0 {
		hc.Timeout = 30 * time.Second
	}
	for _, o := range opts {
		if err := o(hc); err != nil {
			return nil, err
		}
	}
	return &SandboxMerchant{url: url, client: hc}, nil
}

// MerchantOption configures a SandboxMerchant.
type MerchantOption func(*http.Client) error

// WithTAP signs every merchant call with s, the agent's Trusted Agent
// Protocol signer: the charge as the paying agent (tap.TagPayer) unless the
// call's context says otherwise (tap.WithTag). A sandbox started with
// sandbox.WithMerchantTAP refuses unsigned charges.
func WithTAP(s *tap.Signer) MerchantOption {
	return func(hc *http.Client) error {
		if s == nil {
			return visa.NewInputError("TAP signer", "is nil")
		}
		hc.Transport = s.Transport(hc.Transport)
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

// Authorize posts the charge.
func (m *SandboxMerchant) Authorize(ctx context.Context, c agent.Charge) (*agent.Authorization, error) {
	body, err := json.Marshal(merchantWire{
		MerchantName: c.MerchantName, MerchantCountryCode: c.MerchantCountryCode, MerchantURL: c.MerchantURL,
		CardNumber: c.Credential.PaymentToken.Reveal(), ExpirationMonth: c.Credential.TokenExpirationMonth,
		ExpirationYear: c.Credential.TokenExpirationYear, CVV2: c.Credential.DynamicDataValue.Reveal(),
		TransactionAmount:      merchantAmount{TransactionAmount: c.Amount.Value(), TransactionCurrencyCode: c.Amount.Currency().Alpha},
		TransactionReferenceID: c.TransactionReferenceID,
	})
	if err != nil {
		return nil, err
	}
	return m.exchange(ctx, http.MethodPost, m.url, body)
}

// Lookup gets the recorded result of a charge.
func (m *SandboxMerchant) Lookup(ctx context.Context, ref string) (*agent.Authorization, error) {
	if ref == "" {
		return nil, visa.NewInputError("TransactionReferenceID", "is required")
	}
	return m.exchange(ctx, http.MethodGet, m.url+"/"+url.PathEscape(ref), nil)
}

func (m *SandboxMerchant) exchange(ctx context.Context, method, u string, body []byte) (*agent.Authorization, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries nothing secret, but keep errors short
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("agent: merchant %s: %w", method, err)
		}
		return nil, fmt.Errorf("agent: merchant %s: %w: %w", method, visa.ErrNetwork, transport.Bound(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("agent: merchant: %w: %w", visa.ErrNetwork, transport.Bound(err))
	}
	if resp.StatusCode == http.StatusNotFound && method == http.MethodGet {
		return nil, agent.ErrNoAuthorization
	}
	if resp.StatusCode != http.StatusOK {
		return nil, visa.ParseAPIError("merchant.Authorize", "Merchant", resp.StatusCode, resp.Header, data)
	}
	var a merchantAnswer
	if err := json.Unmarshal(data, &a); err != nil || (a.Status != "APPROVED" && a.Status != "DECLINED") {
		return nil, fmt.Errorf("agent: merchant: %w", visa.ErrMalformedResponse)
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
