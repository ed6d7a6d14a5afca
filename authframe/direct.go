package authframe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/transport"
)

// Direct talks to the Auth iFrame from the server, with the handshake of
// the journey (docs/wire.md §7.3): GET for a requestID, POST
// CREATE_AUTH_SESSION for the secureToken, POST AUTHENTICATE for the
// assurance, POST CLOSE_AUTH_SESSION. The local sandbox serves it (and
// plays the cardholder's device with a software authenticator); headless
// agents use it too. It is safe for concurrent use.
type Direct struct {
	url     string // {authBase}/vts-auth/authenticate?apikey=..&clientAppID=..
	client  *http.Client
	header  http.Header
	timeout time.Duration
}

// DirectOption configures a Direct.
type DirectOption func(*Direct) error

// WithDirectHeader adds a header to every request, for example the
// sandbox's X-Sandbox-Auth-Outcome test hook.
func WithDirectHeader(key, value string) DirectOption {
	return func(d *Direct) error {
		if key == "" {
			return visa.NewInputError("header", "name is empty")
		}
		d.header.Add(key, value)
		return nil
	}
}

// WithDirectTimeout bounds each exchange with the iFrame (default 30 s).
func WithDirectTimeout(t time.Duration) DirectOption {
	return func(d *Direct) error {
		if t <= 0 {
			return visa.NewInputError("timeout", "must be positive")
		}
		d.timeout = t
		return nil
	}
}

// NewDirect returns a Direct frame for cfg's Auth base URL, VTS api key
// and client app id.
func NewDirect(cfg visa.Config, opts ...DirectOption) (*Direct, error) {
	u, err := FrameURL(cfg)
	if err != nil {
		return nil, err
	}
	hc, err := transport.HTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	d := &Direct{url: u, client: hc, header: http.Header{}, timeout: 30 * time.Second}
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// FrameURL returns the iFrame URL of cfg:
// {AuthBaseURL}/vts-auth/authenticate?apikey=...&clientAppID=..., with the
// iFrame's api key (Config.VTS.AuthFrameKey: VTS.AuthFrameAPIKey, else the
// VTS api key). Visa's iFrame takes the key in its URL, so a browser that
// loads it sees the key; the server still never logs it.
func FrameURL(cfg visa.Config) (string, error) {
	_, _, auth := cfg.BaseURLs()
	key := cfg.VTS.AuthFrameKey()
	switch {
	case auth == "":
		return "", visa.NewInputError("Config.AuthBaseURL", "is required")
	case key.IsZero():
		return "", visa.NewInputError("Config.VTS.APIKey", "is required (or VTS.AuthFrameAPIKey)")
	case cfg.VTS.ClientAppID == "":
		return "", visa.NewInputError("Config.VTS.ClientAppID", "is required")
	}
	base, err := url.Parse(auth)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return "", visa.NewInputError("Config.AuthBaseURL", "is not an absolute http(s) URL")
	}
	q := "apikey=" + url.QueryEscape(key.Reveal()) + "&clientAppID=" + url.QueryEscape(cfg.VTS.ClientAppID)
	return base.JoinPath("vts-auth", "authenticate").String() + "?" + q, nil
}

// Open gets a requestID (AUTH_READY) and creates a session for the device
// (AUTH_SESSION_CREATED).
func (d *Direct) Open(ctx context.Context, req OpenRequest) (*Session, error) {
	if !visa.ValidClientDeviceID(req.ClientDeviceID) {
		return nil, visa.NewInputError("ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	}
	ready, err := d.retrying(ctx, "open", http.MethodGet, nil)
	if err != nil {
		return nil, err
	}
	if ready.Type != TypeAuthReady || ready.RequestID == "" {
		return nil, eventError("open", ready)
	}
	cmd := &Message{Type: TypeCreateAuthSession, RequestID: ready.RequestID, Version: ProtocolVersion,
		Client: &ClientInfo{ID: req.ClientDeviceID}}
	if req.BrowserData != nil {
		bd := req.BrowserData.Normalize()
		cmd.BrowserData = &bd
	}
	// A repeated CREATE_AUTH_SESSION for the same requestID and device is
	// answered with the same session, so a lost answer is asked again.
	ev, err := d.retrying(ctx, "open", http.MethodPost, cmd)
	if err != nil {
		return nil, err
	}
	return sessionFrom("open", ev, ready.RequestID, req)
}

// sessionFrom checks AUTH_SESSION_CREATED and builds the Session.
func sessionFrom(op string, ev *Message, requestID string, req OpenRequest) (*Session, error) {
	if ev.Type != TypeAuthSessionCreated {
		return nil, eventError(op, ev)
	}
	if ev.RequestID != requestID || ev.SessionContext == nil || ev.SessionContext.SecureToken.IsZero() {
		return nil, &FrameError{Op: op, Event: ev.Type, Code: "incomplete session", kind: ErrProtocol}
	}
	s := &Session{RequestID: requestID, ClientDeviceID: req.ClientDeviceID, SessionContext: *ev.SessionContext,
		DFPSessionID: ev.DFPSessionID, channel: req.Channel}
	if ev.BrowserData != nil {
		s.BrowserData = ev.BrowserData.Normalize()
	}
	if ev.AuthenticationPreferencesSupported != nil {
		s.Popup = *ev.AuthenticationPreferencesSupported
	}
	return s, nil
}

// Authenticate sends AUTHENTICATE with the authentication context and
// returns the AUTH_COMPLETE assurance.
func (d *Direct) Authenticate(ctx context.Context, s *Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	if err := checkAuthenticate(s, ac); err != nil {
		return fido.Assurance{}, err
	}
	ev, err := d.exchange(ctx, "authenticate", http.MethodPost,
		&Message{Type: TypeAuthenticate, RequestID: s.RequestID, Version: ProtocolVersion, AuthenticationContext: &ac})
	if err != nil {
		return fido.Assurance{}, err
	}
	return assuranceFrom("authenticate", ev, s.RequestID)
}

func checkAuthenticate(s *Session, ac visa.AuthenticationContext) error {
	switch {
	case s == nil || s.RequestID == "":
		return visa.NewInputError("Session", "is not an open session")
	case ac.Action != visa.ActionRegister && ac.Action != visa.ActionAuthenticate:
		return visa.NewInputError("AuthenticationContext.Action", "must be REGISTER or AUTHENTICATE")
	case ac.Payload == "" || ac.Identifier == "":
		return visa.NewInputError("AuthenticationContext", "needs the payload and identifier of attestation options")
	}
	return nil
}

// assuranceFrom checks AUTH_COMPLETE and extracts the assurance.
func assuranceFrom(op string, ev *Message, requestID string) (fido.Assurance, error) {
	if !ev.IsComplete() {
		return fido.Assurance{}, eventError(op, ev)
	}
	if ev.RequestID != "" && ev.RequestID != requestID {
		return fido.Assurance{}, &FrameError{Op: op, Event: ev.Type, Code: "requestID mismatch", kind: ErrProtocol}
	}
	ad := ev.AssuranceData
	if ad == nil || ad.FidoBlob.IsZero() || ad.Identifier == "" {
		return fido.Assurance{}, &FrameError{Op: op, Event: ev.Type, Code: "no assuranceData", kind: ErrProtocol}
	}
	return fido.Assurance{FidoBlob: ad.FidoBlob, Identifier: ad.Identifier, RPID: ad.RPID}, nil
}

// Close sends CLOSE_AUTH_SESSION.
func (d *Direct) Close(ctx context.Context, s *Session) error {
	if s == nil || s.RequestID == "" {
		return visa.NewInputError("Session", "is not an open session")
	}
	ev, err := d.exchange(ctx, "close", http.MethodPost, &Message{Type: TypeCloseAuthSession, RequestID: s.RequestID})
	if err != nil {
		return err
	}
	if ev.Type != TypeAuthSessionClosed {
		return eventError("close", ev)
	}
	return nil
}

// retrying is exchange for the steps that are safe to repeat (the GET and
// CREATE_AUTH_SESSION): up to three attempts when the answer was lost on
// the network or arrived garbled, with a short backoff that ends with ctx.
// AUTHENTICATE is never repeated: it consumes the secureToken.
func (d *Direct) retrying(ctx context.Context, op, method string, cmd *Message) (*Message, error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ev, err := d.exchange(ctx, op, method, cmd)
		if err == nil || attempt == 3 || !(errors.Is(err, visa.ErrNetwork) || errors.Is(err, ErrMalformedMessage)) {
			return ev, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		backoff *= 3
	}
}

// exchange sends one command (or the GET) and parses the event answered.
func (d *Direct) exchange(ctx context.Context, op, method string, cmd *Message) (*Message, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var body io.Reader
	if cmd != nil {
		b, err := cmd.Wire()
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.url, body)
	if err != nil {
		return nil, fmt.Errorf("authframe: %s: %w", op, visa.ErrInvalidInput)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		// The *url.Error names the URL, which holds the api key: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &FrameError{Op: op, Event: "no answer", kind: ErrTimeout}
		}
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("authframe: %s: %w", op, err)
		}
		return nil, fmt.Errorf("authframe: %s: %w: %w", op, visa.ErrNetwork, transport.Bound(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("authframe: %s: reading the answer: %w: %w", op, visa.ErrNetwork, transport.Bound(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, visa.ParseAPIError("authframe."+op, visa.ProductAuth, resp.StatusCode, resp.Header, data)
	}
	return ParseMessage(data)
}
