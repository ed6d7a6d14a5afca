package authframe

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
)

// Direct talks to the Auth iFrame from the server, with the handshake of
// the journey (docs/wire.md §7.3): GET for a requestID, POST
// CREATE_AUTH_SESSION for the secureToken, POST AUTHENTICATE for the
// assurance, POST CLOSE_AUTH_SESSION. The local sandbox serves it (and
// plays the cardholder's device with a software authenticator); headless
// agents use it too. It is safe for concurrent use.
type Direct struct {
	// t is the SDK's one transport in its unsigned mode, for
	// {authBase}/vts-auth/authenticate?apikey=..&clientAppID=..: bounded
	// read, redaction, the retry classifier of every SDK call
	// (Config.Retry), the Observer.
	t       *transport.Client
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

// WithDirectTimeout bounds each exchange with the iFrame, retries
// included (default 30 s).
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
// (or VTS.AuthFrameAPIKey) and client app id; cfg is validated once, by
// cfg.ValidateFor(visa.ProductAuth).
func NewDirect(cfg visa.Config, opts ...DirectOption) (*Direct, error) {
	d := &Direct{header: http.Header{}, timeout: 30 * time.Second}
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, err
		}
	}
	u, err := FrameURL(cfg) // validates cfg once, with ValidateFor(visa.ProductAuth)
	if err != nil {
		return nil, err
	}
	d.t, err = transport.NewUnsigned(cfg, visa.ProductAuth, u, nil,
		transport.WithTimeout(d.timeout), transport.WithMaxResponseBytes(maxMessageBytes))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FrameURL returns the iFrame URL of cfg:
// {AuthBaseURL}/vts-auth/authenticate?apikey=...&clientAppID=..., with the
// iFrame's api key (Config.VTS.AuthFrameKey: VTS.AuthFrameAPIKey, else the
// VTS api key). Visa's iFrame takes the key in its URL, so a browser that
// loads it sees the key; the server still never logs it.
func FrameURL(cfg visa.Config) (string, error) {
	if err := cfg.ValidateFor(visa.ProductAuth); err != nil {
		return "", err
	}
	_, _, auth := cfg.BaseURLs()
	base, err := url.Parse(auth) // ValidateFor checked it is an absolute http(s) URL
	if err != nil {
		return "", visa.NewInputError("AuthBaseURL", "is not a valid absolute URL")
	}
	q := "apikey=" + url.QueryEscape(cfg.VTS.AuthFrameKey().Reveal()) + "&clientAppID=" + url.QueryEscape(cfg.VTS.ClientAppID)
	return base.JoinPath("vts-auth", "authenticate").String() + "?" + q, nil
}

// Open gets a requestID (AUTH_READY) and creates a session for the device
// (AUTH_SESSION_CREATED).
func (d *Direct) Open(ctx context.Context, req OpenRequest) (*Session, error) {
	if check.ClientDeviceID(req.ClientDeviceID) != "" {
		return nil, opError("open", visa.NewInputError("ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]"))
	}
	ready, err := d.exchange(ctx, "open", http.MethodGet, nil, true)
	if err != nil {
		return nil, err
	}
	if ready.Type != TypeAuthReady || ready.RequestID == "" {
		return nil, opError("open", eventError("open", ready))
	}
	cmd := &Message{Type: TypeCreateAuthSession, RequestID: ready.RequestID, Version: ProtocolVersion,
		Client: &ClientInfo{ID: req.ClientDeviceID}}
	if req.BrowserData != nil {
		bd := req.BrowserData.Normalize()
		cmd.BrowserData = &bd
	}
	// A repeated CREATE_AUTH_SESSION for the same requestID and device is
	// answered with the same session: it is idempotent, so a lost answer
	// is asked again.
	ev, err := d.exchange(ctx, "open", http.MethodPost, cmd, true)
	if err != nil {
		return nil, err
	}
	s, err := sessionFrom("open", ev, ready.RequestID, req)
	if err != nil {
		return nil, opError("open", err)
	}
	return s, nil
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
		return fido.Assurance{}, opError("authenticate", err)
	}
	// Never repeated once it may have reached the iFrame: it consumes the
	// secureToken.
	ev, err := d.exchange(ctx, "authenticate", http.MethodPost,
		&Message{Type: TypeAuthenticate, RequestID: s.RequestID, Version: ProtocolVersion, AuthenticationContext: &ac}, false)
	if err != nil {
		return fido.Assurance{}, err
	}
	a, err := assuranceFrom("authenticate", ev, s.RequestID)
	if err != nil {
		return fido.Assurance{}, opError("authenticate", err)
	}
	return a, nil
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
		return opError("close", visa.NewInputError("Session", "is not an open session"))
	}
	ev, err := d.exchange(ctx, "close", http.MethodPost, &Message{Type: TypeCloseAuthSession, RequestID: s.RequestID}, false)
	if err != nil {
		return err
	}
	if ev.Type != TypeAuthSessionClosed {
		return opError("close", eventError("close", ev))
	}
	return nil
}

// operations names the Direct operations by step.
var operations = map[string]string{"open": "authframe.Open", "authenticate": "authframe.Authenticate", "close": "authframe.Close"}

// opError names the operation of a failure found around the exchange
// (refused input, a failure event), as the transport names its own.
func opError(step string, err error) error {
	return &visa.OperationError{Operation: operations[step], Meta: visa.ResponseMeta{Operation: operations[step]}, Err: err}
}

// exchange sends one command (or the GET) through the transport and
// parses the event answered. idempotent marks the steps the SDK's retry
// classifier may repeat after they reached the iFrame (the GET and
// CREATE_AUTH_SESSION; docs/wire.md §10.3). An exchange that runs out of
// its timeout matches ErrTimeout and visa.ErrNetwork.
func (d *Direct) exchange(ctx context.Context, step, method string, cmd *Message, idempotent bool) (*Message, error) {
	op := operations[step]
	var body []byte
	if cmd != nil {
		b, err := cmd.Wire()
		if err != nil {
			return nil, opError(step, err)
		}
		body = b
	}
	var data []byte
	// A garbled answer to a step that may be repeated is repeated, within
	// the transport's one retry loop and policy: Check parses each 2xx
	// answer once, and the last good parse is the result.
	var parsed *Message
	check := func(b []byte) error {
		m, err := ParseMessage(b)
		if err != nil {
			m = nil
		}
		parsed = m
		return err
	}
	meta, err := d.t.Do(ctx, &transport.Request{Op: op, Method: method, Body: body, Idempotent: idempotent, Header: d.header, Check: check}, &data)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// Our own timeout, not the caller's deadline.
			var re *visa.RequestError
			errors.As(err, &re)
			return nil, &visa.OperationError{Operation: op, Meta: meta,
				Err: &FrameError{Op: step, Event: "no answer", kind: ErrTimeout, cause: re}}
		}
		return nil, err
	}
	if parsed != nil {
		return parsed, nil
	}
	m, err := ParseMessage(data) // not a 2xx, or refused by check: name the problem
	if err != nil {
		return nil, &visa.OperationError{Operation: op, Meta: meta, Err: err}
	}
	return m, nil
}
