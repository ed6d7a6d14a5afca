package authframe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
)

// TestMain stops the browser the browser tests share and checks that no
// goroutine outlives the tests (long-polls, waits of the Bridge, chromedp).
func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Unit tests of the Bridge without a browser: a Go client plays the page
// (long-poll GET poll, POST event) and the iFrame behind it.

const (
	testAuthBase = "http://localhost:4455"
	secureToken  = "st-bridge-secret-0123456789"
	testBlob     = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.c2VjcmV0LWJsb2I.dGFn"
)

func testConfig() visa.Config {
	cfg := visa.Config{Environment: visa.Sandbox, AuthBaseURL: testAuthBase}
	cfg.VTS.APIKey = visa.NewSecret("APIKEY-SECRET")
	cfg.VTS.ClientAppID = "APP-1"
	return cfg
}

type bridgeServer struct {
	t      *testing.T
	bridge *authframe.Bridge
	srv    *httptest.Server
}

func newBridgeServer(t *testing.T, opts ...authframe.BridgeOption) *bridgeServer {
	t.Helper()
	b, err := authframe.NewBridge(testConfig(), append([]authframe.BridgeOption{authframe.WithBridgeTimeout(5 * time.Second)}, opts...)...)
	require.NoError(t, err)
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	t.Cleanup(b.Shutdown)
	return &bridgeServer{t: t, bridge: b, srv: srv}
}

func (s *bridgeServer) channel() string {
	s.t.Helper()
	ch, err := s.bridge.NewChannel()
	require.NoError(s.t, err)
	return ch
}

// command is what the page receives from a poll.
type command struct {
	Seq     uint64         `json:"seq"`
	Popup   bool           `json:"popup"`
	Message map[string]any `json:"message"`
}

// page plays the cardholder's page of one channel.
type page struct {
	t   *testing.T
	url string
	ch  string
}

func (s *bridgeServer) page(ch string) *page { return &page{t: s.t, url: s.srv.URL, ch: ch} }

func (p *page) do(method, path, ctype string, body []byte, hdr map[string]string) (int, []byte) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(body))
	require.NoError(p.t, err)
	if p.ch != "" {
		req.Header.Set("X-VPP-Channel", p.ch)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(p.t, err)
	return res.StatusCode, data
}

// poll returns the next command; it fails the test on anything but 200.
func (p *page) poll() command {
	p.t.Helper()
	status, data := p.do(http.MethodGet, "/poll", "", nil, nil)
	require.Equal(p.t, http.StatusOK, status, string(data))
	var c command
	require.NoError(p.t, json.Unmarshal(data, &c), string(data))
	return c
}

// post sends an event of the iFrame for command seq.
func (p *page) post(seq uint64, msg string) int {
	p.t.Helper()
	status, _ := p.do(http.MethodPost, "/event", "application/json", fmt.Appendf(nil, `{"seq":%d,"message":%s}`, seq, msg), nil)
	return status
}

type opened struct {
	s   *authframe.Session
	err error
}

func (s *bridgeServer) open(ctx context.Context, ch string) <-chan opened {
	done := make(chan opened, 1)
	go func() {
		sess, err := s.bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
		done <- opened{sess, err}
	}()
	return done
}

type authed struct {
	a   fido.Assurance
	err error
}

func (s *bridgeServer) authenticate(ctx context.Context, sess *authframe.Session, ac visa.AuthenticationContext) <-chan authed {
	done := make(chan authed, 1)
	go func() {
		a, err := s.bridge.Authenticate(ctx, sess, ac)
		done <- authed{a, err}
	}()
	return done
}

func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("no result within 20 s")
		var zero T
		return zero
	}
}

var testContext = visa.AuthenticationContext{Action: visa.ActionRegister, Identifier: "ID-1", Payload: "PAYLOAD-1", Endpoint: "https://x"}

// openSession runs Open with the page answering like the iFrame.
func openSession(t *testing.T, s *bridgeServer, p *page, created string) *authframe.Session {
	t.Helper()
	done := s.open(context.Background(), p.ch)
	c := p.poll()
	require.Equal(t, authframe.TypeCreateAuthSession, c.Message["type"])
	require.Equal(t, "1", c.Message["version"])
	require.Equal(t, map[string]any{"id": deviceOne}, c.Message["client"])
	require.Equal(t, http.StatusNoContent, p.post(c.Seq, `{"type":"AUTH_READY","requestID":"REQ-1","version":"1"}`))
	require.Equal(t, http.StatusNoContent, p.post(c.Seq, created))
	o := recv(t, done)
	require.NoError(t, o.err)
	return o.s
}

const sessionCreated = `{"type":"AUTH_SESSION_CREATED","result":"COMPLETE","requestID":"REQ-1","version":"1",
 "sessionContext":{"secureToken":"` + secureToken + `"},"dfpSessionID":"DFP-1",
 "browserData":{"userAgent":"Mozilla/5.0","browserColorDepth":24},
 "authenticationPreferencesSupported":{"requiresPopupForRegister":true,"requiresPopupForAuthenticate":false}}`

func TestBridgeRoundTrip(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	p := s.page(s.channel())
	sess := openSession(t, s, p, sessionCreated)
	assert.Equal(t, "REQ-1", sess.RequestID)
	assert.Equal(t, deviceOne, sess.ClientDeviceID)
	assert.Equal(t, secureToken, sess.SessionContext.SecureToken.Reveal())
	assert.Equal(t, "DFP-1", sess.DFPSessionID)
	assert.Equal(t, "24", sess.BrowserData.BrowserColorDepth)
	assert.True(t, sess.Popup.RequiresPopupForRegister)

	// Authenticate: the page gets the command, with the popup the iFrame
	// asked for at REGISTER; events of other requestIDs or of an older
	// command are ignored; AUTH_COMPLETE answers.
	done := s.authenticate(context.Background(), sess, testContext)
	c := p.poll()
	assert.Equal(t, authframe.TypeAuthenticate, c.Message["type"])
	assert.Equal(t, "REQ-1", c.Message["requestID"])
	assert.True(t, c.Popup, "requiresPopupForRegister")
	ac := c.Message["authenticationContext"].(map[string]any)
	assert.Equal(t, "PAYLOAD-1", ac["payload"])
	assert.Equal(t, "REGISTER", ac["action"])
	assert.NotContains(t, fmt.Sprint(c.Message), secureToken, "AUTHENTICATE does not carry the secureToken")
	complete := `{"type":"AUTH_COMPLETE","result":"COMPLETE","requestID":"%s","assuranceData":{"fidoBlob":"` + testBlob + `","rpID":"localhost","identifier":"%s"}}`
	assert.Equal(t, http.StatusNoContent, p.post(c.Seq-1, fmt.Sprintf(complete, "REQ-1", "ID-STALE")))
	assert.Equal(t, http.StatusNoContent, p.post(c.Seq, fmt.Sprintf(complete, "REQ-OTHER", "ID-OTHER")))
	assert.Equal(t, http.StatusNoContent, p.post(c.Seq, fmt.Sprintf(complete, "REQ-1", "ID-1")))
	r := recv(t, done)
	require.NoError(t, r.err)
	assert.Equal(t, "ID-1", r.a.Identifier)
	assert.Equal(t, "localhost", r.a.RPID)
	assert.Equal(t, testBlob, r.a.FidoBlob.Reveal())

	// An AUTHENTICATE ceremony needs no popup here.
	pay := testContext
	pay.Action = visa.ActionAuthenticate
	done = s.authenticate(context.Background(), sess, pay)
	c = p.poll()
	assert.False(t, c.Popup)
	p.post(c.Seq, `{"type":"AUTH_FAILED","requestID":"REQ-1","error":"SESSION_CONSUMED"}`)
	require.ErrorIs(t, recv(t, done).err, authframe.ErrSecureTokenReused)

	// Close.
	closed := make(chan error, 1)
	go func() { closed <- s.bridge.Close(context.Background(), sess) }()
	c = p.poll()
	assert.Equal(t, map[string]any{"type": "CLOSE_AUTH_SESSION", "requestID": "REQ-1"}, c.Message)
	p.post(c.Seq, `{"type":"AUTH_SESSION_CLOSED","requestID":"REQ-1"}`)
	require.NoError(t, recv(t, closed))
}

func TestBridgeFailureEvents(t *testing.T) {
	t.Parallel()
	cases := []struct {
		event string
		want  error
	}{
		{`{"type":"AUTH_CANCELLED","requestID":"REQ-1","error":"CLOSED_BY_USER"}`, authframe.ErrUserCancelled},
		{`{"type":"AUTH_NOT_SUPPORTED","requestID":"REQ-1"}`, authframe.ErrNotSupported},
		{`{"type":"AUTH_NOT_PERFORMED","requestID":"REQ-1","error":"POPUP_BLOCKED"}`, authframe.ErrFailed},
		{`{"type":"AUTH_FAILED","requestID":"REQ-1","error":"CEREMONY_FAILED"}`, authframe.ErrFailed},
		{`{"type":"AUTH_FAILED","requestID":"REQ-1","error":"SESSION_EXPIRED"}`, authframe.ErrSessionExpired},
		{`{"type":"AUTH_FAILED","requestID":"REQ-1","error":"SESSION_CONSUMED"}`, authframe.ErrSecureTokenReused},
		{`{"type":"AUTH_FAILED","requestID":"REQ-1","error":"CHALLENGE_MISMATCH"}`, authframe.ErrProtocol},
		{`{"type":"AUTH_COMPLETE","requestID":"REQ-1"}`, authframe.ErrProtocol},
		{`{"type":"AUTH_SESSION_CLOSED","requestID":"REQ-1"}`, authframe.ErrProtocol},
	}
	s := newBridgeServer(t, authframe.WithPollWait(20*time.Millisecond))
	p := s.page(s.channel())
	for _, c := range cases {
		sess := openSession(t, s, p, sessionCreated)
		done := s.authenticate(context.Background(), sess, testContext)
		cmd := p.poll()
		p.post(cmd.Seq, c.event)
		err := recv(t, done).err
		require.ErrorIs(t, err, c.want, c.event)
		var fe *authframe.FrameError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "authenticate", fe.Op)
		assert.NotContains(t, err.Error(), secureToken)
	}
	// The page answered every command: nothing more is queued for it.
	status, data := p.do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusNoContent, status, string(data))
}

func TestBridgeOpenFailures(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	p := s.page(s.channel())

	// The page reports a failure before the iFrame is ready.
	done := s.open(context.Background(), p.ch)
	c := p.poll()
	p.post(c.Seq, `{"type":"AUTH_NOT_PERFORMED","requestID":"","error":"POPUP_BLOCKED"}`)
	err := recv(t, done).err
	require.ErrorIs(t, err, authframe.ErrFailed)

	// AUTH_READY without a requestID.
	done = s.open(context.Background(), p.ch)
	c = p.poll()
	require.Equal(t, authframe.TypeCreateAuthSession, c.Message["type"], "a failure the page reported leaves no ABORT")
	p.post(c.Seq, `{"type":"AUTH_READY","version":"1"}`)
	require.ErrorIs(t, recv(t, done).err, authframe.ErrProtocol)

	// A session without a secureToken.
	done = s.open(context.Background(), p.ch)
	for c = p.poll(); c.Message["type"] != authframe.TypeCreateAuthSession; c = p.poll() {
	}
	p.post(c.Seq, `{"type":"AUTH_READY","requestID":"REQ-9"}`)
	p.post(c.Seq, `{"type":"AUTH_SESSION_CREATED","requestID":"REQ-9"}`)
	require.ErrorIs(t, recv(t, done).err, authframe.ErrProtocol)
}

func TestBridgeTimeoutAndAbort(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t, authframe.WithBridgeTimeout(50*time.Millisecond))
	p := s.page(s.channel())
	// No page answers: ErrTimeout.
	_, err := s.bridge.Open(context.Background(), authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: p.ch})
	require.ErrorIs(t, err, authframe.ErrTimeout)
	var fe *authframe.FrameError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "open", fe.Op)
	// The page that shows up later gets the ABORT, not the stale command.
	c := p.poll()
	assert.Equal(t, map[string]any{"type": "BRIDGE_ABORT"}, c.Message)

	// The context's deadline counts too.
	s2 := newBridgeServer(t)
	ch := s2.channel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s2.bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
	require.ErrorIs(t, err, authframe.ErrTimeout)
}

func TestBridgeContextCancel(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t, authframe.WithBridgeTimeout(time.Hour))
	ch := s.channel()
	ctx, cancel := context.WithCancel(context.Background())
	done := s.open(ctx, ch)
	cancel()
	err := recv(t, done).err
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, authframe.ErrTimeout)
	assert.Contains(t, err.Error(), "open")

	// The channel is free again.
	p := s.page(ch)
	sess := openSession(t, s, p, sessionCreated)
	ctx, cancel = context.WithCancel(context.Background())
	adone := s.authenticate(ctx, sess, testContext)
	assert.Equal(t, authframe.TypeAuthenticate, p.poll().Message["type"])
	cancel()
	require.ErrorIs(t, recv(t, adone).err, context.Canceled)
	// Go gave up: the page is told to hide the ceremony.
	assert.Equal(t, "BRIDGE_ABORT", p.poll().Message["type"])
}

func TestBridgeBusyChannel(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	p := s.page(s.channel())
	done := s.open(context.Background(), p.ch)
	c := p.poll() // the first Open is in progress
	_, err := s.bridge.Open(context.Background(), authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: p.ch})
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	p.post(c.Seq, `{"type":"AUTH_READY","requestID":"REQ-1"}`)
	p.post(c.Seq, sessionCreated)
	require.NoError(t, recv(t, done).err)
}

func TestBridgeChannelAuth(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t, authframe.WithPollWait(20*time.Millisecond))
	ch := s.channel()
	other := s.channel()
	assert.NotEqual(t, ch, other)
	assert.Len(t, ch, 22, "128 bits, base64url")

	// Start an Open on ch so that a stolen event would have somewhere to go.
	done := s.open(context.Background(), ch)
	good := s.page(ch)
	c := good.poll()

	forged := `{"type":"AUTH_READY","requestID":"REQ-EVIL"}`
	for name, id := range map[string]string{
		"missing":     "",
		"wrong":       strings.Repeat("A", 22),
		"other shape": "not-a-channel",
		"prefix":      ch[:21],
	} {
		p := s.page(id)
		status, _ := p.do(http.MethodGet, "/poll", "", nil, nil)
		assert.Equal(t, http.StatusForbidden, status, name)
		assert.Equal(t, http.StatusForbidden, p.post(c.Seq, forged), name)
		status, _ = p.do(http.MethodGet, "/page?channel="+id, "", nil, nil)
		assert.Equal(t, http.StatusForbidden, status, name)
	}
	// Another cardholder's valid channel cannot feed ch's operation.
	assert.Equal(t, http.StatusNoContent, s.page(other).post(c.Seq, forged))
	// A cross-site request is refused even with the right channel.
	status, _ := good.do(http.MethodGet, "/poll", "", nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = good.do(http.MethodPost, "/event", "application/json", fmt.Appendf(nil, `{"seq":%d,"message":%s}`, c.Seq, forged),
		map[string]string{"Sec-Fetch-Site": "same-site"})
	assert.Equal(t, http.StatusForbidden, status)

	// None of these reached the Open: the real events do.
	good.post(c.Seq, `{"type":"AUTH_READY","requestID":"REQ-1"}`)
	good.post(c.Seq, sessionCreated)
	o := recv(t, done)
	require.NoError(t, o.err)
	assert.Equal(t, "REQ-1", o.s.RequestID)

	// An idle poll is answered 204 after the poll wait.
	status, _ = good.do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusNoContent, status)
}

func TestBridgeEventLimits(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	p := s.page(s.channel())
	big := `{"seq":1,"message":{"type":"AUTH_READY","requestID":"` + strings.Repeat("a", 80<<10) + `"}}`
	cases := []struct {
		name, method, ctype, body string
		want                      int
	}{
		{"too large", http.MethodPost, "application/json", big, http.StatusRequestEntityTooLarge},
		{"text/plain", http.MethodPost, "text/plain", `{"seq":1,"message":{"type":"AUTH_READY"}}`, http.StatusUnsupportedMediaType},
		{"no content type", http.MethodPost, "", `{"seq":1,"message":{"type":"AUTH_READY"}}`, http.StatusUnsupportedMediaType},
		{"not JSON", http.MethodPost, "application/json", `seq=1`, http.StatusBadRequest},
		{"no message", http.MethodPost, "application/json", `{"seq":1}`, http.StatusBadRequest},
		{"message without type", http.MethodPost, "application/json", `{"seq":1,"message":{"requestID":"R"}}`, http.StatusBadRequest},
		{"bad blob", http.MethodPost, "application/json", `{"seq":1,"message":{"type":"AUTH_COMPLETE","assuranceData":{"fidoBlob":"not a blob!"}}}`, http.StatusBadRequest},
		{"GET event", http.MethodGet, "", ``, http.StatusMethodNotAllowed},
		{"POST poll", http.MethodPost, "application/json", `{}`, http.StatusMethodNotAllowed},
		{"HEAD poll", http.MethodHead, "", ``, http.StatusMethodNotAllowed},
		{"string message", http.MethodPost, "application/json", `{"seq":1,"message":"{\"type\":\"AUTH_READY\"}"}`, http.StatusNoContent},
		{"charset", http.MethodPost, "application/json; charset=utf-8", `{"seq":1,"message":{"type":"AUTH_READY"}}`, http.StatusNoContent},
	}
	for _, c := range cases {
		path := "/event"
		if strings.HasSuffix(c.name, " poll") {
			path = "/poll"
		}
		status, _ := p.do(c.method, path, c.ctype, []byte(c.body), nil)
		assert.Equal(t, c.want, status, c.name)
	}
}

func TestBridgePage(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t, authframe.WithPathPrefix("/vpp"))
	ch := s.channel()
	assert.Equal(t, "/vpp/page?channel="+ch, s.bridge.PageURL(ch))
	assert.Equal(t, testAuthBase, s.bridge.AuthOrigin())

	res, err := http.Get(s.srv.URL + "/page?channel=" + ch)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-src "+testAuthBase+";")
	assert.Contains(t, csp, "script-src 'self';")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Equal(t, "strict-origin", h.Get("Referrer-Policy"), "the iFrame learns our origin, never the channel")
	assert.Equal(t, `publickey-credentials-create=(self "`+testAuthBase+`"), publickey-credentials-get=(self "`+testAuthBase+`")`, h.Get("Permissions-Policy"))
	assert.Equal(t, "same-origin-allow-popups", h.Get("Cross-Origin-Opener-Policy"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	html := string(body)
	assert.Contains(t, html, `data-channel="`+ch+`"`)
	assert.Contains(t, html, `data-auth-origin="`+testAuthBase+`"`)
	assert.Contains(t, html, `data-frame-url="`+testAuthBase+`/vts-auth/authenticate?apikey=APIKEY-SECRET&amp;clientAppID=APP-1"`)
	assert.Contains(t, html, `<script src="bridge.js"></script>`)
	assert.NotContains(t, html, "<script>", "no inline script")

	for path, ctype := range map[string]string{"/bridge.js": "text/javascript; charset=utf-8", "/bridge.css": "text/css; charset=utf-8"} {
		res, err := http.Get(s.srv.URL + path)
		require.NoError(t, err)
		js, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, ctype, res.Header.Get("Content-Type"), path)
		assert.NotEmpty(t, js)
		if path == "/bridge.js" {
			// The script posts only to the Auth origin and checks both
			// the origin and the source of what it receives.
			assert.NotContains(t, string(js), `postMessage(msg, '*')`)
			assert.Contains(t, string(js), `peer.postMessage(msg, authOrigin)`)
			assert.Contains(t, string(js), `ev.origin !== authOrigin || !peer || ev.source !== peer`)
			assert.Contains(t, string(js), `'publickey-credentials-create ' + authOrigin + '; publickey-credentials-get ' + authOrigin`)
		}
	}
	for _, path := range []string{"/", "/static/bridge.js", "/bridge.html", "/page/x"} {
		res, err := http.Get(s.srv.URL + path)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	res, err = http.Post(s.srv.URL+"/page?channel="+ch, "text/plain", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

func TestBridgeShutdown(t *testing.T) {
	t.Parallel()
	b, err := authframe.NewBridge(testConfig(), authframe.WithPollWait(time.Hour))
	require.NoError(t, err)
	srv := httptest.NewServer(b)
	defer srv.Close()
	s := &bridgeServer{t: t, bridge: b, srv: srv}
	ch := s.channel()
	done := s.open(context.Background(), ch)
	p := s.page(ch)
	c := p.poll()
	require.Equal(t, authframe.TypeCreateAuthSession, c.Message["type"])
	held := make(chan int, 1)
	go func() {
		status, _ := p.do(http.MethodGet, "/poll", "", nil, nil)
		held <- status
	}()
	b.Shutdown()
	b.Shutdown() // idempotent
	require.ErrorIs(t, recv(t, done).err, authframe.ErrBridgeClosed)
	status := recv(t, held)
	assert.Contains(t, []int{http.StatusNoContent, http.StatusForbidden}, status)
	_, err = b.NewChannel()
	require.ErrorIs(t, err, authframe.ErrBridgeClosed)
	_, err = b.Open(context.Background(), authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
	require.ErrorIs(t, err, authframe.ErrBridgeClosed)
	st, _ := p.do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusForbidden, st)
}

func TestBridgeChannelLifetime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := newBridgeServer(t, authframe.WithBridgeClock(clock), authframe.WithChannelTTL(time.Minute), authframe.WithMaxChannels(2),
		authframe.WithPollWait(10*time.Millisecond))
	ch := s.channel()
	p := s.page(ch)
	advance(50 * time.Second)
	status, _ := p.do(http.MethodGet, "/poll", "", nil, nil) // activity keeps it alive
	assert.Equal(t, http.StatusNoContent, status)
	advance(50 * time.Second)
	status, _ = p.do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusNoContent, status)

	s.channel()
	_, err := s.bridge.NewChannel()
	require.ErrorIs(t, err, authframe.ErrTooManyChannels, "at most two channels")

	advance(2 * time.Minute)
	status, _ = p.do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusForbidden, status, "expired")
	_, err = s.bridge.Open(context.Background(), authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	_, err = s.bridge.NewChannel()
	require.NoError(t, err, "expired channels were swept")

	// CloseChannel ends a channel at once.
	ch2 := s.channel()
	s.bridge.CloseChannel(ch2)
	s.bridge.CloseChannel("unknown")
	status, _ = s.page(ch2).do(http.MethodGet, "/poll", "", nil, nil)
	assert.Equal(t, http.StatusForbidden, status)
}

func TestBridgeCloseChannelDuringOperation(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	ch := s.channel()
	done := s.open(context.Background(), ch)
	s.page(ch).poll()
	s.bridge.CloseChannel(ch)
	require.ErrorIs(t, recv(t, done).err, authframe.ErrBridgeClosed)
}

func TestBridgeBadInput(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t)
	ch := s.channel()
	ctx := context.Background()
	good := &authframe.Session{RequestID: "REQ-1"}
	calls := map[string]func() error{
		"bad device": func() error {
			_, err := s.bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: "x", Channel: ch})
			return err
		},
		"no channel": func() error {
			_, err := s.bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne})
			return err
		},
		"unknown channel": func() error {
			_, err := s.bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: "nope"})
			return err
		},
		"nil session":     func() error { _, err := s.bridge.Authenticate(ctx, nil, testContext); return err },
		"empty context":   func() error { _, err := s.bridge.Authenticate(ctx, good, visa.AuthenticationContext{}); return err },
		"foreign session": func() error { _, err := s.bridge.Authenticate(ctx, good, testContext); return err }, // not opened by a Bridge
		"close nil":       func() error { return s.bridge.Close(ctx, nil) },
		"close foreign":   func() error { return s.bridge.Close(ctx, good) },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), visa.ErrInvalidInput, name)
	}
	srvBad := []struct {
		name string
		cfg  func(*visa.Config)
		opt  authframe.BridgeOption
	}{
		{"no api key", func(c *visa.Config) { c.VTS.APIKey = visa.Secret{} }, nil},
		{"no app id", func(c *visa.Config) { c.VTS.ClientAppID = "" }, nil},
		{"relative auth base", func(c *visa.Config) { c.AuthBaseURL = "localhost:1" }, nil},
		{"zero timeout", nil, authframe.WithBridgeTimeout(0)},
		{"zero poll wait", nil, authframe.WithPollWait(0)},
		{"zero TTL", nil, authframe.WithChannelTTL(0)},
		{"zero channels", nil, authframe.WithMaxChannels(0)},
		{"relative prefix", nil, authframe.WithPathPrefix("vpp/")},
		{"prefix with query", nil, authframe.WithPathPrefix("/vpp/?x=1")},
		{"bad popup", nil, authframe.WithPopup(authframe.PopupPolicy(7))},
		{"nil clock", nil, authframe.WithBridgeClock(nil)},
	}
	for _, c := range srvBad {
		cfg := testConfig()
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		var opts []authframe.BridgeOption
		if c.opt != nil {
			opts = append(opts, c.opt)
		}
		_, err := authframe.NewBridge(cfg, opts...)
		require.ErrorIs(t, err, visa.ErrInvalidInput, c.name)
		assert.NotContains(t, err.Error(), "APIKEY-SECRET", c.name)
	}
}

// The secureToken crosses the Bridge once, in AUTH_SESSION_CREATED: no
// later poll answer, error or string form of the Bridge carries it, nor
// the api key of the iFrame URL.
func TestBridgeSecretHygiene(t *testing.T) {
	t.Parallel()
	s := newBridgeServer(t, authframe.WithPollWait(10*time.Millisecond))
	p := s.page(s.channel())
	sess := openSession(t, s, p, sessionCreated)
	assert.NotContains(t, fmt.Sprintf("%+v %#v", sess, sess.SessionContext), secureToken)
	done := s.authenticate(context.Background(), sess, testContext)
	c := p.poll()
	assert.NotContains(t, fmt.Sprint(c), secureToken)
	p.post(c.Seq, `{"type":"AUTH_CANCELLED","requestID":"REQ-1","sessionContext":{"secureToken":"`+secureToken+`"}}`)
	err := recv(t, done).err
	require.ErrorIs(t, err, authframe.ErrUserCancelled)
	assert.NotContains(t, err.Error(), secureToken)
	for _, form := range []string{fmt.Sprint(s.bridge), fmt.Sprintf("%+v", s.bridge), fmt.Sprintf("%#v", s.bridge)} {
		assert.NotContains(t, form, secureToken)
		assert.NotContains(t, form, "APIKEY-SECRET")
	}
	for {
		status, data := p.do(http.MethodGet, "/poll", "", nil, nil)
		assert.NotContains(t, string(data), secureToken)
		if status == http.StatusNoContent {
			break
		}
	}
}
