package vts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/vts"
)

// Test values of the sandbox (docs/wire.md §11.6).
const (
	cardHappy    = "4111111111111111"
	cardApproved = "4012888888881881"
	cardDeclined = "4000000000000002"
	cardExpired  = "4000000000000069"
	email        = "alice@example.com"
	deviceID     = "dev-aZ3_k9Qm7Lp2Xw8Rt5Yb" // clientDeviceId: 24 of [A-Za-z0-9_-]
)

var agent = vts.MerchantIdentifier{ExternalClientID: "visaagent", ApplicationURL: "https://agent.example.com", MerchantName: "Example Agent"}

// env is a sandbox on a manual clock and a VTS client on the same clock.
type env struct {
	sb    *sandbox.Sandbox
	clock *sandbox.ManualClock
	c     *vts.Client
	hc    *http.Client
}

func newEnv(tb testing.TB, cfgMut func(*visa.Config), opts ...sandbox.Option) *env {
	tb.Helper()
	clock := sandbox.NewManualClock(time.Now().Truncate(time.Second))
	sb := sandboxtest.Start(tb, append([]sandbox.Option{sandbox.WithClock(clock)}, opts...)...)
	cfg := sb.Config()
	if cfgMut != nil {
		cfgMut(&cfg)
	}
	c, err := vts.New(cfg, vts.WithClock(clock.Now))
	require.NoError(tb, err)
	return &env{sb: sb, clock: clock, c: c, hc: sb.HTTPClient()}
}

func mustPAN(s string) visa.PAN {
	p, err := visa.ParsePAN(s)
	if err != nil {
		panic(err)
	}
	return p
}

func mustCVV2(s string) visa.CVV2 {
	c, err := visa.ParseCVV2(s)
	if err != nil {
		panic(err)
	}
	return c
}

func mustOTP(s string) visa.OTP {
	o, err := visa.ParseOTP(s)
	if err != nil {
		panic(err)
	}
	return o
}

// expiry is a card expiry two years ahead of now.
func expiry(now time.Time) vts.ExpirationDate {
	return vts.ExpirationDate{Month: 12, Year: now.Year() + 2}
}

// card returns a test card expiring in two years.
func (e *env) card(pan string) vts.Card {
	return vts.Card{PAN: mustPAN(pan), CVV2: mustCVV2("123"), ExpirationDate: expiry(e.clock.Now()), Name: "Alice Doe"}
}

// provision runs steps 1 and 2 for pan.
func (e *env) provision(ctx context.Context, pan string) (*vts.ProvisionTokenResponse, error) {
	card := e.card(pan)
	enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
	if err != nil {
		return nil, err
	}
	return e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: card.ExpirationDate})
}

// authSession is one Auth iFrame session in the sandbox's JSON mode
// (docs/wire.md §7.3): what a browser would hand the backend at step 3.
type authSession struct {
	e           *env
	requestID   string
	Session     visa.SessionContext
	BrowserData visa.BrowserData
}

// authEvent is an iFrame event of JSON mode.
type authEvent struct {
	Type           string              `json:"type"`
	RequestID      string              `json:"requestID"`
	SessionContext visa.SessionContext `json:"sessionContext"`
	BrowserData    visa.BrowserData    `json:"browserData"`
	AssuranceData  struct {
		FidoBlob   visa.Secret `json:"fidoBlob"`
		Identifier string      `json:"identifier"`
	} `json:"assuranceData"`
	Error string `json:"error"`
}

func (e *env) iframe(ctx context.Context, method string, body any) (*authEvent, error) {
	u := e.sb.AuthBaseURL() + "/vts-auth/authenticate?apikey=" + url.QueryEscape(sandbox.VTSAPIKey) + "&clientAppID=" + sandbox.ClientAppID
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	res, err := e.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("iframe: HTTP %d", res.StatusCode)
	}
	var ev authEvent
	if err := json.NewDecoder(res.Body).Decode(&ev); err != nil {
		return nil, err
	}
	if ev.Error != "" {
		return &ev, errors.New("iframe: " + ev.Type + " " + ev.Error)
	}
	return &ev, nil
}

// openSession runs AUTH_READY and CREATE_AUTH_SESSION (journey steps 3, 10).
func (e *env) openSession(ctx context.Context) (*authSession, error) {
	ready, err := e.iframe(ctx, http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	ev, err := e.iframe(ctx, http.MethodPost, map[string]any{
		"type": "CREATE_AUTH_SESSION", "requestID": ready.RequestID, "version": "1", "client": map[string]string{"id": deviceID},
	})
	if err != nil {
		return nil, err
	}
	return &authSession{e: e, requestID: ready.RequestID, Session: ev.SessionContext, BrowserData: ev.BrowserData}, nil
}

// authenticate runs the iFrame's AUTHENTICATE command with the context of
// AttestationOptions (journey steps 9, 12) and returns the fidoBlob.
func (s *authSession) authenticate(ctx context.Context, ac visa.AuthenticationContext) (visa.Secret, error) {
	ev, err := s.e.iframe(ctx, http.MethodPost, map[string]any{
		"type": "AUTHENTICATE", "requestID": s.requestID, "version": "1", "authenticationContext": ac,
	})
	if err != nil {
		return visa.Secret{}, err
	}
	return ev.AssuranceData.FidoBlob, nil
}

// bind runs steps 4 to 7 on a provisioned token with the golden OTP and
// returns the session (still unconsumed) and the flow's reference id.
func (e *env) bind(ctx context.Context, tokenID string) (*authSession, string, error) {
	s, err := e.openSession(ctx)
	if err != nil {
		return nil, "", err
	}
	ref := visa.NewClientReferenceID()
	if _, err := e.c.AttestationOptions(ctx, s.attestation(tokenID, ref, visa.ActionAuthenticate, visa.Amount{})); err != nil {
		return nil, "", err
	}
	b, err := e.c.DeviceBinding(ctx, s.binding(tokenID, ref))
	if err != nil || b.Status == vts.BindingApproved {
		return s, ref, err
	}
	if _, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: tokenID, ClientReferenceID: ref, StepUpRequestID: b.StepUpRequest[0].Identifier}); err != nil {
		return nil, "", err
	}
	_, err = e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: tokenID, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)})
	return s, ref, err
}

func (s *authSession) attestation(tokenID, ref string, action visa.Action, amount visa.Amount) vts.AttestationOptionsRequest {
	return vts.AttestationOptionsRequest{
		VProvisionedTokenID: tokenID, ClientReferenceID: ref, Type: action, Amount: amount,
		SessionContext: s.Session, BrowserData: s.BrowserData, MerchantIdentifier: agent, Email: email,
	}
}

func (s *authSession) binding(tokenID, ref string) vts.DeviceBindingRequest {
	return vts.DeviceBindingRequest{
		VProvisionedTokenID: tokenID, ClientReferenceID: ref, SessionContext: s.Session, BrowserData: s.BrowserData,
		Email: email, ExpirationDate: expiry(s.e.clock.Now()),
	}
}
