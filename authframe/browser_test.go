package authframe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox/sandboxtest"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vic"
)

// A real browser: headless Chromium driven by chromedp, with the CDP
// WebAuthn virtual authenticator as the cardholder's device
// (testutil.ChromiumOptions). The Bridge serves the cardholder's page on
// 127.0.0.1:A (origin A); the page embeds the sandbox's Auth iFrame from
// localhost:B (origin B, the WebAuthn RP), which accepts commands only from
// origin A. The test is the service: Go code calls Bridge.Open,
// Authenticate and Close while the browser shows the page, VTS and VIC run
// against the same sandbox.

// The tests share one headless Chromium (started by the first, stopped by
// TestMain); each test gets its own tab.
var chromium struct {
	once sync.Once
	ctx  context.Context
	stop func()
	dir  string
	err  error
}

// browser returns a new tab of the shared browser, closed with the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium.once.Do(func() {
		chromium.dir, chromium.err = os.MkdirTemp("", "authframe-chromium-")
		if chromium.err != nil {
			return
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), testutil.ChromiumOptions(chromium.dir, 900, 800)...)
		ctx, cancel := chromedp.NewContext(actx)
		chromium.ctx = ctx
		chromium.stop = func() { cancel(); cancelAlloc(); _ = os.RemoveAll(chromium.dir) }
		chromium.err = chromedp.Do(ctx) // starts the browser
	})
	require.NoError(t, chromium.err)
	tab, cancel := chromedp.NewContext(chromium.ctx)
	t.Cleanup(cancel)
	// Popups outlive their opener's tab: close them first.
	t.Cleanup(func() {
		c := chromedp.FromContext(tab)
		if c == nil || c.Target == nil {
			return
		}
		infos, err := chromedp.Targets(tab)
		if err != nil {
			return
		}
		for _, i := range infos {
			if i.OpenerID == c.Target.TargetID {
				_, _ = chromedp.CallBrowser(tab, target.CloseTarget, target.CloseTargetParams{TargetID: i.TargetID})
			}
		}
	})
	return tab
}

// findPopup returns the popup the tab of ctx opened, once it shows a URL
// starting with prefix.
func findPopup(t *testing.T, ctx context.Context, prefix string) target.ID {
	t.Helper()
	c := chromedp.FromContext(ctx)
	require.NotNil(t, c)
	require.NotNil(t, c.Target)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		infos, err := chromedp.Targets(ctx)
		require.NoError(t, err)
		for _, i := range infos {
			if i.Type == "page" && i.OpenerID == c.Target.TargetID && strings.HasPrefix(i.URL, prefix) {
				return i.TargetID
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("no popup opened")
		}
	}
}

// stopBrowser stops the shared browser, if a test started it.
func stopBrowser() {
	if chromium.stop != nil {
		chromium.stop()
	}
}

// addAuthenticator gives the target of ctx a virtual platform
// authenticator with user verification.
func addAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(t, err)
	va, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	require.NoError(t, err)
	return va.AuthenticatorID
}

// bridgeEnv is a Bridge on origin A in front of a sandbox on origin B.
type bridgeEnv struct {
	t      *testing.T
	ctx    context.Context // the browser tab
	sb     *sandbox.Sandbox
	cfg    visa.Config
	bridge *authframe.Bridge
	srv    *httptest.Server
	origin string // origin A

	mu       sync.Mutex
	requests []seen // what the Bridge answered, by Origin header
}

type seen struct {
	method, path, origin string
	status               int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// answered lists the requests of origin to path and their status.
func (e *bridgeEnv) answered(origin, path string) []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []seen
	for _, r := range e.requests {
		if r.origin == origin && r.path == path {
			out = append(out, r)
		}
	}
	return out
}

func newBridgeEnv(t *testing.T, ctx context.Context, opts ...authframe.BridgeOption) *bridgeEnv {
	t.Helper()
	var sb *sandbox.Sandbox
	e := serveBridge(t, ctx, func(origin string) visa.Config {
		sb = sandboxtest.Start(t, sandbox.WithPlainHTTP(), sandbox.WithAllowedOrigins(origin))
		return sb.Config()
	}, opts...)
	e.sb = sb
	require.True(t, strings.HasPrefix(e.cfg.AuthBaseURL, "http://localhost:"), e.cfg.AuthBaseURL)
	return e
}

// serveBridge serves a Bridge on origin A at /vpp/ for the config that
// config returns for origin A.
func serveBridge(t *testing.T, ctx context.Context, config func(origin string) visa.Config, opts ...authframe.BridgeOption) *bridgeEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	origin := "http://" + srv.Listener.Addr().String()
	cfg := config(origin)
	b, err := authframe.NewBridge(cfg, append([]authframe.BridgeOption{
		authframe.WithPathPrefix("/vpp/"), authframe.WithBridgeTimeout(20 * time.Second),
	}, opts...)...)
	require.NoError(t, err)
	e := &bridgeEnv{t: t, ctx: ctx, cfg: cfg, bridge: b, srv: srv, origin: origin}
	mux := http.NewServeMux()
	mux.Handle("/vpp/", http.StripPrefix("/vpp", b))
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r)
		e.mu.Lock()
		e.requests = append(e.requests, seen{method: r.Method, path: r.URL.Path, origin: r.Header.Get("Origin"), status: sw.status})
		e.mu.Unlock()
	})
	srv.Start()
	t.Cleanup(srv.Close)
	// Leave the page, then stop the Bridge, before the server closes.
	t.Cleanup(b.Shutdown)
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	return e
}

// page opens a channel and shows its page in the browser.
func (e *bridgeEnv) page() string {
	e.t.Helper()
	ch, err := e.bridge.NewChannel()
	require.NoError(e.t, err)
	require.NoError(e.t, chromedp.Do(e.ctx, chromedp.Navigate(e.srv.URL+e.bridge.PageURL(ch))))
	return ch
}

func (e *bridgeEnv) eval(js string) string {
	e.t.Helper()
	s, err := chromedp.Run(e.ctx, chromedp.Evaluate[string](js))
	require.NoError(e.t, err, js)
	return s
}

type outcome struct {
	a   fido.Assurance
	err error
}

// ceremony runs Bridge.Authenticate and, as the cardholder, clicks
// "Continue with passkey" inside the iFrame (user activation in a
// cross-origin frame must come from a real input event) every 250 ms until
// Go has the answer. before runs once the modal shows the iFrame.
func (e *bridgeEnv) ceremony(s *authframe.Session, ac visa.AuthenticationContext, click func(), before func()) (fido.Assurance, error) {
	e.t.Helper()
	done := make(chan outcome, 1)
	go func() {
		a, err := e.bridge.Authenticate(context.Background(), s, ac)
		done <- outcome{a, err}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(25 * time.Second)
	shown := false
	for clicks := 0; ; {
		select {
		case o := <-done:
			e.t.Logf("ceremony answered after %d click(s)", clicks)
			return o.a, o.err
		case <-tick.C:
			visible := e.eval(`document.getElementById('vpp-modal').classList.contains('vpp-shown') ? "yes" : "no"`) == "yes"
			if !shown {
				if shown = visible; !shown {
					continue
				}
				if before != nil {
					before()
				}
			} else if !visible {
				// The dialog closed: the answer is on its way to Go. A
				// click now would land on the page behind it (the end
				// state's "Back to the shop").
				continue
			}
			click()
			clicks++
		case <-deadline:
			e.t.Fatalf("no answer to AUTHENTICATE after %d clicks", clicks)
		}
	}
}

// clickContinue clicks where the iFrame's button is: (150, 140) inside
// the frame, which the button covers in any frame 168 to 592 px wide
// (sandbox/static/iframe.css; the Bridge's frame is at most 500 px).
func (e *bridgeEnv) clickContinue() {
	e.t.Helper()
	xy := e.eval(`(() => { const r = document.querySelector('iframe.vpp-frame').getBoundingClientRect(); return r.left + ',' + r.top; })()`)
	var x, y float64
	_, err := fmt.Sscanf(xy, "%g,%g", &x, &y)
	require.NoError(e.t, err, xy)
	require.NoError(e.t, chromedp.Do(e.ctx, chromedp.MouseClickXY(x+150, y+140)))
}

func TestBrowserBridgePasskeyPayment(t *testing.T) {
	testutil.RequireChromium(t)
	t.Parallel()
	ctx := browser(t)
	authID := addAuthenticator(t, ctx)
	e := newBridgeEnv(t, ctx)
	bg := context.Background()

	channel := e.page()
	j, err := newJourney(e.cfg, e.bridge, nil)
	require.NoError(t, err)
	j.channel = channel
	require.NoError(t, j.provision(bg))

	// Onboarding: the page loads the iFrame and creates the session.
	s, err := j.open(bg)
	require.NoError(t, err)
	assert.False(t, s.SessionContext.SecureToken.IsZero())
	assert.NotEmpty(t, s.DFPSessionID)
	assert.NotEmpty(t, s.BrowserData.UserAgent, "browserData comes from the real browser")
	ac, err := j.register(bg, s)
	require.NoError(t, err)
	require.Equal(t, visa.ActionRegister, ac.Action)

	// While the passkey prompt waits, forged events arrive: a message
	// posted by the page's own origin (not the Auth origin) and one from
	// a foreign origin's page. Both are ignored; Go gets the iFrame's.
	foreign := foreignSite(t)
	forged := `{type: 'AUTH_COMPLETE', result: 'COMPLETE', requestID: ` + jsString(s.RequestID) +
		`, assuranceData: {fidoBlob: 'eyJhbGciOiJub25lIn0.eyJmb3JnZWQiOnRydWV9.c2ln', rpID: 'localhost', identifier: 'ID-FORGED'}}`
	reg, err := e.ceremony(s, ac, e.clickContinue, func() {
		e.eval(`window.postMessage(` + forged + `, '*'); window.postMessage(JSON.stringify(` + forged + `), '*'); "sent"`)
		foreign.post(e, channel, forged)
	})
	require.NoError(t, err)
	assert.Equal(t, "localhost", reg.RPID)
	assert.Equal(t, ac.Identifier, reg.Identifier)
	assert.NotEqual(t, "ID-FORGED", reg.Identifier)
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authID})
	require.NoError(t, err)
	require.Len(t, creds.Credentials, 1, "the passkey lives in the browser's authenticator")
	assert.Equal(t, "localhost", creds.Credentials[0].RpID)

	// The sandbox accepts the attestation: the card enrolls in VIC.
	vc, err := vic.New(e.cfg)
	require.NoError(t, err)
	app := visa.AppInstance{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", ClientDeviceID: j.device, DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}
	enr, err := vc.EnrollCard(bg, vic.EnrollCardRequest{
		TokenID: j.tokenID, Assurance: reg, Ceremony: fido.Register, DFPSessionID: s.DFPSessionID, AppInstance: app,
		Consumer: vic.Consumer{ConsumerID: "user-1", Email: email, CountryCode: "US", LanguageCode: "en"},
	})
	require.NoError(t, err)
	assert.Equal(t, vic.StatusActive, enr.Status)
	require.NoError(t, e.bridge.Close(bg, s))
	assert.Equal(t, "Passkey created.", e.eval(`document.getElementById('vpp-status').textContent`), "the end state stays after Close")
	assert.Equal(t, "0", e.eval(`String(document.querySelectorAll('iframe').length)`), "Close removed the iFrame")

	// Purchase: a new session on the same page, the same passkey.
	s2, err := j.open(bg)
	require.NoError(t, err)
	assert.NotEqual(t, s.RequestID, s2.RequestID)
	pay, err := j.pay(bg, s2, "129.99")
	require.NoError(t, err)
	require.Equal(t, visa.ActionAuthenticate, pay.Action)
	as, err := e.ceremony(s2, pay, e.clickContinue, nil)
	require.NoError(t, err)
	assert.Equal(t, reg.Identifier, as.Identifier)
	// The sandbox accepts the assertion: a purchase instruction.
	ins, err := vc.CreateInstruction(bg, vic.CreateInstructionRequest{
		ConsumerID: "user-1", TokenID: j.tokenID, AppInstance: app, Assurance: as, DFPSessionID: s2.DFPSessionID,
		ConsumerPrompt: "headphones under $150",
		Mandates: []vic.Mandate{{Description: "Noise-cancelling headphones", DeclineThreshold: visa.MustParseAmount("129.99", "USD"),
			PreferredMerchantName: "Best Buy", Quantity: 1}},
	})
	require.NoError(t, err)
	assert.Equal(t, vic.StatusActive, ins.Status)
	assert.NotEmpty(t, ins.InstructionID)
	// The secureToken covered one ceremony.
	_, err = e.bridge.Authenticate(bg, s2, pay)
	require.ErrorIs(t, err, authframe.ErrSecureTokenReused)
	require.NoError(t, e.bridge.Close(bg, s2))

	// The cardholder cancels: user verification fails in the
	// authenticator (NotAllowedError), the iFrame says AUTH_CANCELLED.
	s3, err := j.open(bg)
	require.NoError(t, err)
	pay3, err := j.pay(bg, s3, "15.00")
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: authID, IsUserVerified: false})
	require.NoError(t, err)
	_, err = e.ceremony(s3, pay3, e.clickContinue, nil)
	_, _ = chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: authID, IsUserVerified: true})
	var fe *authframe.FrameError
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, authframe.ErrUserCancelled, "Chromium reports failed user verification as NotAllowedError")
	assert.Equal(t, authframe.TypeAuthCancelled, fe.Event)
	require.NoError(t, e.bridge.Close(bg, s3))

	// The cardholder closes the prompt with the page's Cancel button.
	s4, err := j.open(bg)
	require.NoError(t, err)
	pay4, err := j.pay(bg, s4, "15.00")
	require.NoError(t, err)
	_, err = e.ceremony(s4, pay4, func() {
		require.NoError(t, chromedp.Do(e.ctx, chromedp.Click("#vpp-cancel")))
	}, nil)
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, authframe.ErrUserCancelled)
	assert.Equal(t, "CLOSED_BY_USER", fe.Code)
	assert.Equal(t, "Cancelled.", e.eval(`document.getElementById('vpp-status').textContent`))
	require.NoError(t, e.bridge.Close(bg, s4))

	// Nothing of the secureTokens is left in the page.
	html := e.eval(`document.documentElement.outerHTML`)
	for _, sess := range []*authframe.Session{s, s2, s3, s4} {
		assert.NotContains(t, html, sess.SessionContext.SecureToken.Reveal())
	}
}

// TestBrowserBridgePopup runs a session in a popup window (PopupAlways):
// the page asks for a click, opens the iFrame URL in a popup and talks to
// it; the popup is a top-level page with its own authenticator.
func TestBrowserBridgePopup(t *testing.T) {
	testutil.RequireChromium(t)
	t.Parallel()
	ctx := browser(t)
	e := newBridgeEnv(t, ctx, authframe.WithPopup(authframe.PopupAlways))
	bg := context.Background()
	channel := e.page()
	j, err := newJourney(e.cfg, e.bridge, nil)
	require.NoError(t, err)
	j.channel = channel
	require.NoError(t, j.provision(bg))

	type opened struct {
		s   *authframe.Session
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := j.open(bg)
		done <- opened{s, err}
	}()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible("#vpp-popup-open")))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click("#vpp-popup-open")))
	// Attach once the popup has loaded (its AUTH_READY made Open return):
	// a target found while it still navigates cross-site can be replaced.
	o := recv(t, done)
	require.NoError(t, o.err)
	s := o.s
	popupID := findPopup(t, ctx, e.cfg.AuthBaseURL+"/vts-auth/authenticate")
	pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
	t.Cleanup(cancel)
	authID := addAuthenticator(t, pctx)
	ac, err := j.register(bg, s)
	require.NoError(t, err)

	res := make(chan outcome, 1)
	go func() {
		a, err := e.bridge.Authenticate(bg, s, ac)
		res <- outcome{a, err}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var out outcome
wait:
	for {
		select {
		case out = <-res:
			break wait
		case <-tick.C:
			// The popup's own "Continue with passkey" button, at its centre.
			at, err := chromedp.Run(pctx, chromedp.Evaluate[string](`(() => { const b = document.getElementById('continue');
				if (!b || b.hidden) return ''; const r = b.getBoundingClientRect();
				return (r.left + r.width / 2) + ',' + (r.top + r.height / 2); })()`))
			require.NoError(t, err)
			var x, y float64
			if _, err := fmt.Sscanf(at, "%g,%g", &x, &y); err == nil {
				require.NoError(t, chromedp.Do(pctx, chromedp.MouseClickXY(x, y)))
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no answer from the popup")
		}
	}
	require.NoError(t, out.err)
	assert.Equal(t, ac.Identifier, out.a.Identifier)
	creds, err := chromedp.Call(pctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authID})
	require.NoError(t, err)
	assert.Len(t, creds.Credentials, 1)
	require.NoError(t, e.bridge.Close(bg, s))
}

// foreignSite is a page on a third origin that tries to post an event to
// the Bridge of a cardholder's channel.
type foreign struct {
	t   *testing.T
	srv *httptest.Server
}

func foreignSite(t *testing.T) *foreign {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, `<!doctype html><html><body>elsewhere</body></html>`)
	}))
	t.Cleanup(srv.Close)
	return &foreign{t: t, srv: srv}
}

// post opens the foreign page in a second tab and, from there, posts a
// forged event for the channel to the Bridge in the two ways a page can:
// a CORS fetch with the channel header (blocked by the preflight) and a
// no-cors fetch, which cannot carry the header nor a JSON content type.
// The Bridge answers none of them with 204 (delivered).
func (f *foreign) post(e *bridgeEnv, channel, forged string) {
	f.t.Helper()
	tab, cancel := chromedp.NewContext(e.ctx)
	defer cancel()
	require.NoError(f.t, chromedp.Do(tab, chromedp.Navigate(f.srv.URL+"/")))
	script := `(async () => {
	  const url = ` + jsString(e.srv.URL+"/vpp/event") + `;
	  const body = JSON.stringify({seq: 1, message: ` + forged + `});
	  let cors = 'sent';
	  try { await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-VPP-Channel': ` + jsString(channel) + `}, body}); }
	  catch (e) { cors = 'blocked'; }
	  await fetch(url, {method: 'POST', mode: 'no-cors', body});
	  return cors;
	})()`
	cors, err := chromedp.Run(tab, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	require.NoError(f.t, err)
	assert.Equal(f.t, "blocked", cors, "the CORS preflight fails")
	origin := strings.TrimSuffix(f.srv.URL, "/")
	got := e.answered(origin, "/vpp/event")
	require.NotEmpty(f.t, got, "the foreign page reached the Bridge")
	for _, r := range got {
		assert.NotEqual(f.t, http.StatusNoContent, r.status, "%+v", r)
		assert.GreaterOrEqual(f.t, r.status, 400, "%+v", r)
	}
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// fakeFramePage is an Auth iFrame stand-in on its own origin that, unlike
// the sandbox, requires a popup for REGISTER (requiresPopupForRegister)
// and accepts the iframe session's requestID in the popup. It names the
// window that answered in the assurance identifier. A payload "HANG"
// gets no answer.
const fakeFramePage = `<!doctype html><html><head><meta charset="utf-8"></head><body><p>fake Visa iFrame</p><script>
const framed = window.parent !== window;
const peer = framed ? window.parent : window.opener;
const parentOrigin = new URL(document.referrer).origin;
const rid = framed ? 'REQ-FRAME' : 'REQ-POPUP';
const reply = (x) => peer.postMessage(x, parentOrigin);
window.addEventListener('message', (ev) => {
  if (ev.source !== peer || ev.origin !== parentOrigin) return;
  const m = typeof ev.data === 'string' ? JSON.parse(ev.data) : ev.data;
  switch (m.type) {
  case 'CREATE_AUTH_SESSION':
    reply({type: 'AUTH_SESSION_CREATED', result: 'COMPLETE', requestID: m.requestID, version: '1',
      sessionContext: {secureToken: 'st-fake-' + m.client.id}, dfpSessionID: 'DFP-FAKE',
      authenticationPreferencesSupported: {requiresPopupForRegister: true, requiresPopupForAuthenticate: false}});
    break;
  case 'AUTHENTICATE':
    if (m.authenticationContext.payload === 'HANG') break;
    if (framed && m.authenticationContext.action === 'REGISTER') {
      reply({type: 'AUTH_FAILED', requestID: m.requestID, error: 'POPUP_REQUIRED'});
      break;
    }
    reply({type: 'AUTH_COMPLETE', result: 'COMPLETE', requestID: m.requestID, version: '1',
      assuranceData: {fidoBlob: '` + testBlob + `', rpID: 'localhost', identifier: 'ID-' + rid}});
    break;
  case 'CLOSE_AUTH_SESSION':
    reply({type: 'AUTH_SESSION_CLOSED', requestID: m.requestID});
    break;
  }
});
reply({type: 'AUTH_READY', requestID: rid, version: '1'});
</script></body></html>`

// TestBrowserBridgePopupFallback: the iFrame says it needs a popup for
// REGISTER; the page asks the cardholder, opens the popup on the click and
// runs the ceremony there; AUTHENTICATE stays in the iframe. Closing the
// popup before it answers is a cancellation.
func TestBrowserBridgePopupFallback(t *testing.T) {
	testutil.RequireChromium(t)
	t.Parallel()
	ctx := browser(t)
	bg := context.Background()
	auth := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/vts-auth/authenticate" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, fakeFramePage)
	}))
	auth.Start()
	t.Cleanup(auth.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(auth.URL, "http://"), ":")
	e := serveBridge(t, ctx, func(string) visa.Config {
		cfg := testConfig()
		cfg.AuthBaseURL = "http://localhost:" + port
		return cfg
	})
	ch := e.page()
	open := func() *authframe.Session {
		s, err := e.bridge.Open(bg, authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
		require.NoError(t, err)
		assert.Equal(t, "REQ-FRAME", s.RequestID, "the session runs in the iframe")
		assert.True(t, s.Popup.RequiresPopupForRegister)
		return s
	}
	// popupCeremony runs Authenticate, clicks "Continue in a new window"
	// and returns the popup's target with the pending result.
	popupCeremony := func(s *authframe.Session, ac visa.AuthenticationContext) (target.ID, <-chan outcome) {
		done := make(chan outcome, 1)
		go func() {
			a, err := e.bridge.Authenticate(bg, s, ac)
			done <- outcome{a, err}
		}()
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible("#vpp-popup-open")))
		require.NoError(t, chromedp.Do(ctx, chromedp.Click("#vpp-popup-open")))
		return findPopup(t, ctx, e.cfg.AuthBaseURL+"/vts-auth/authenticate"), done
	}

	s := open()
	reg := visa.AuthenticationContext{Action: visa.ActionRegister, Identifier: "ID-1", Payload: "P-1"}
	_, done := popupCeremony(s, reg)
	o := recv(t, done)
	require.NoError(t, o.err)
	assert.Equal(t, "ID-REQ-POPUP", o.a.Identifier, "the popup ran the ceremony of the iframe's session")
	assert.Equal(t, testBlob, o.a.FidoBlob.Reveal())
	assert.Eventually(t, func() bool { return !pageOpen(t, ctx, e.cfg.AuthBaseURL+"/vts-auth/authenticate") }, 5*time.Second, 50*time.Millisecond,
		"the page closes the popup after its ceremony")
	require.NoError(t, e.bridge.Close(bg, s)) // the iframe answers: its session
	assert.Equal(t, "0", e.eval(`String(document.querySelectorAll('iframe').length)`))

	// AUTHENTICATE needs no popup: the iframe answers.
	s = open()
	pay := visa.AuthenticationContext{Action: visa.ActionAuthenticate, Identifier: "ID-1", Payload: "P-2"}
	a, err := e.bridge.Authenticate(bg, s, pay)
	require.NoError(t, err)
	assert.Equal(t, "ID-REQ-FRAME", a.Identifier)
	require.NoError(t, e.bridge.Close(bg, s))

	// The cardholder closes the popup before it answers.
	s = open()
	hang := visa.AuthenticationContext{Action: visa.ActionRegister, Identifier: "ID-1", Payload: "HANG"}
	popupID, done := popupCeremony(s, hang)
	_, err = chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: popupID})
	require.NoError(t, err)
	o = recv(t, done)
	var fe *authframe.FrameError
	require.ErrorAs(t, o.err, &fe)
	require.ErrorIs(t, o.err, authframe.ErrUserCancelled)
	assert.Equal(t, "POPUP_CLOSED", fe.Code)
}

// pageOpen reports whether a top-level page (tab or popup) of the browser
// shows a URL starting with prefix.
func pageOpen(t *testing.T, ctx context.Context, prefix string) bool {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	require.NoError(t, err)
	for _, i := range infos {
		if i.Type == "page" && strings.HasPrefix(i.URL, prefix) {
			return true
		}
	}
	return false
}
