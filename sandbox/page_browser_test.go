package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vicgo/visa/internal/testutil"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// A real browser drives the iFrame page: headless Chromium through chromedp,
// with the CDP WebAuthn virtual authenticator as the user's device
// (testutil.ChromiumOptions). A parent page on 127.0.0.1:A embeds the
// iFrame on localhost:B (the RP id must be a host name), speaks the
// postMessage protocol and reports every message it receives to Go with a
// fetch. A third origin, 127.0.0.1:C, tries to drive the iFrame and must be
// ignored.

const parentPageHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>merchant</title>
<style>body{margin:0} iframe{position:absolute;left:0;border:0;width:500px}</style></head>
<body>
<iframe id="vpp" style="top:0;height:400px" allow="publickey-credentials-create *; publickey-credentials-get *"></iframe>
<iframe id="foreign" style="top:420px;height:60px" src="%[2]s/foreign"></iframe>
<script>
const AUTH = %[1]q, FOREIGN = %[2]q;
const vpp = document.getElementById('vpp');
let peer = null; // the iFrame's window: the iframe's, or the popup
function report(ev) { fetch('/events', {method: 'POST', body: JSON.stringify(ev)}); }
window.addEventListener('message', (e) => {
  if (e.origin === AUTH && peer !== null && e.source === peer) {
    report({from: 'iframe', data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data});
  } else if (e.origin === FOREIGN) {
    report({from: 'foreign', data: e.data});
  }
});
window.load = (src) => { vpp.src = src; peer = vpp.contentWindow; return true; };
window.openPopup = (src) => { peer = window.open(src, 'VPP_POPUP', 'width=560,height=600'); return peer !== null; };
window.navigatePopup = (src) => { peer.location.href = src; return true; };
window.send = (msg, asString) => { peer.postMessage(asString ? JSON.stringify(msg) : msg, AUTH); return true; };
window.foreignSend = (msg) => { document.getElementById('foreign').contentWindow.postMessage(msg, FOREIGN); return true; };
</script>
</body></html>`

// The foreign frame forwards whatever the parent gives it to the iFrame
// (its sibling, frames[0]) as an attacker would, then says so.
const foreignPageHTML = `<!doctype html><html><head><meta charset="utf-8"></head><body>foreign
<script>
window.addEventListener('message', (e) => {
  parent.frames[0].postMessage(e.data, '*');
  parent.frames[0].postMessage(JSON.stringify(e.data), '*');
  parent.postMessage({forwarded: true}, '*');
});
parent.postMessage({ready: true}, '*');
</script></body></html>`

type browserEvent struct {
	From string         `json:"from"`
	Data map[string]any `json:"data"`
}

type browserHarness struct {
	t      *testing.T
	ctx    context.Context // the parent page's tab
	click  context.Context // the tab that shows the iFrame's button: the parent's, or the popup
	auth   *authState
	events chan browserEvent
	iframe string // the iFrame URL on localhost
	authID webauthn.AuthenticatorID
}

func (h *browserHarness) eval(js string) {
	h.t.Helper()
	ok, err := chromedp.Run(h.ctx, chromedp.Evaluate[bool](js))
	require.NoError(h.t, err, js)
	require.True(h.t, ok, js)
}

// next returns the next reported message.
func (h *browserHarness) next() browserEvent {
	h.t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(15 * time.Second):
		h.t.Fatal("no message from the page within 15 s")
		return browserEvent{}
	}
}

// nextFromIframe returns the next message of the iFrame, which must be of
// the given type.
func (h *browserHarness) nextFromIframe(typ string) map[string]any {
	h.t.Helper()
	ev := h.next()
	require.Equal(h.t, "iframe", ev.From, "%+v", ev)
	require.Equal(h.t, typ, ev.Data["type"], "%+v", ev.Data)
	return ev.Data
}

func (h *browserHarness) send(msg map[string]any, asString bool) {
	h.t.Helper()
	js, err := json.Marshal(msg)
	require.NoError(h.t, err)
	h.eval(fmt.Sprintf("send(%s, %t)", js, asString))
}

// session loads a fresh iFrame and creates a session for device; it
// returns the requestID and the secureToken the page reports.
func (h *browserHarness) session(device string) (string, string, map[string]any) {
	h.t.Helper()
	js, _ := json.Marshal(h.iframe)
	h.eval(fmt.Sprintf("load(%s)", js))
	ready := h.nextFromIframe("AUTH_READY")
	assert.Equal(h.t, "1", ready["version"])
	id := ready["requestID"].(string)
	h.send(map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": device}}, true)
	created := h.nextFromIframe("AUTH_SESSION_CREATED")
	assert.Equal(h.t, id, created["requestID"])
	return id, created["sessionContext"].(map[string]any)["secureToken"].(string), created
}

// ceremony sends AUTHENTICATE and clicks "Continue with passkey" (user
// activation inside the cross-origin iframe) every 250 ms until the iFrame
// answers.
func (h *browserHarness) ceremony(requestID string, ac visa.AuthenticationContext) map[string]any {
	h.t.Helper()
	h.send(map[string]any{"type": "AUTHENTICATE", "requestID": requestID, "version": "1", "authenticationContext": ac}, false)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for clicks := 0; ; {
		select {
		case ev := <-h.events:
			require.Equal(h.t, "iframe", ev.From)
			h.t.Logf("ceremony answered after %d click(s)", clicks)
			return ev.Data
		case <-tick.C:
			clickContinue(h.t, h.click)
			clicks++
		case <-deadline:
			h.t.Fatalf("no answer to AUTHENTICATE after %d clicks", clicks)
		}
	}
}

// continueAt finds the centre of the page's "Continue with passkey" button
// when ctx shows the page itself (a popup); "frame" when the page is in a
// cross-origin iframe of ctx's page, "" while the button is hidden.
const continueAt = `(() => {
	const b = document.getElementById('continue');
	if (!b) return 'frame';
	if (b.hidden) return '';
	const r = b.getBoundingClientRect();
	return (r.left + r.width / 2) + ',' + (r.top + r.height / 2);
})()`

// clickContinue clicks the button: at its centre in a popup; in an
// iFrame at (0,0), at (150,140), which the button covers in any frame 168
// to 592 px wide (sandbox/static/iframe.css).
func clickContinue(t *testing.T, ctx context.Context) {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Evaluate[string](continueAt))
	require.NoError(t, err)
	x, y := 150.0, 140.0
	switch at {
	case "":
		return
	case "frame":
	default:
		_, err = fmt.Sscanf(at, "%g,%g", &x, &y)
		require.NoError(t, err, at)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(x, y)))
}

func TestPageBrowserPasskey(t *testing.T) {
	testutil.RequireChromium(t)
	t.Parallel()

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		testutil.ChromiumOptions(t.TempDir(), 800, 600, chromedp.Flag("disable-popup-blocking", true))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start the browser")

	// One browser, three runs: the Auth half alone on an httptest server
	// (the page in an iframe, then in a popup), then the whole sandbox (New,
	// plain HTTP) with its middleware.
	t.Run("auth half", func(t *testing.T) {
		runBrowserFlow(t, ctx, func(parentOrigin string) (*authState, string) {
			env := newAuthEnv(t, func(d *authDeps) { d.allowedOrigins = []string{parentOrigin} })
			return env.auth, env.base
		})
	})
	if testing.Short() {
		return // the popup and the whole sandbox: a few seconds more
	}
	t.Run("popup", func(t *testing.T) { runPopupFlow(t, ctx) })
	t.Run("sandbox", func(t *testing.T) {
		runBrowserFlow(t, ctx, func(parentOrigin string) (*authState, string) {
			sb := Start(t, WithPlainHTTP(), WithAllowedOrigins(parentOrigin))
			a, ok := sb.auth.(*authState)
			require.True(t, ok)
			return a, sb.AuthBaseURL()
		})
	})
}

// openParent serves the parent page (and the foreign frame) for the iFrame
// side that start builds, opens it in a new tab of browser, and returns the
// harness.
func openParent(t *testing.T, browser context.Context, start func(parentOrigin string) (*authState, string)) *browserHarness {
	events := make(chan browserEvent, 16)
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, foreignPageHTML)
	}))
	t.Cleanup(foreign.Close)

	parent := httptest.NewUnstartedServer(nil)
	parentOrigin := "http://" + parent.Listener.Addr().String()
	auth, base := start(parentOrigin)
	parentMux := http.NewServeMux()
	parentMux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, parentPageHTML, base, foreign.URL)
	})
	parentMux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		var ev browserEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil {
			events <- ev
		}
	})
	parent.Config.Handler = parentMux
	parent.Start()
	t.Cleanup(parent.Close)

	// A tab in a fresh browser context: its own storage and sockets, all
	// gone when the context closes (before the servers close: cleanups run
	// last-in first-out), so no server waits for a preconnected socket.
	ctx, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	h := &browserHarness{t: t, ctx: ctx, click: ctx, auth: auth, events: events, authID: addVirtualAuthenticator(t, ctx),
		iframe: base + "/vts-auth/authenticate?apikey=" + authTestAPIKey + "&clientAppID=" + authTestAppID}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(parent.URL+"/")))
	require.Equal(t, browserEvent{From: "foreign", Data: map[string]any{"ready": true}}, h.next())
	return h
}

// addVirtualAuthenticator gives the tab of ctx a CTAP2 platform
// authenticator with user verification (it also serves the tab's iframes).
func addVirtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
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

// runPopupFlow is runBrowserFlow with the page as a top-level popup
// (window.open, window.opener): the ceremonies are not cross-origin.
func runPopupFlow(t *testing.T, browser context.Context) {
	h := openParent(t, browser, func(parentOrigin string) (*authState, string) {
		env := newAuthEnv(t, func(d *authDeps) { d.allowedOrigins = []string{parentOrigin} })
		return env.auth, env.base
	})
	newTarget := chromedp.WaitNewTarget(h.ctx, func(*target.Info) bool { return true })
	js, _ := json.Marshal(h.iframe)
	h.eval(fmt.Sprintf("openPopup(%s)", js))
	var popupID target.ID
	select {
	case popupID = <-newTarget:
	case <-time.After(15 * time.Second):
		t.Fatal("the popup did not open")
	}
	popup, closePopup := chromedp.NewContext(h.ctx, chromedp.WithTargetID(popupID))
	t.Cleanup(closePopup)
	h.click = popup
	h.authID = addVirtualAuthenticator(t, popup) // a popup is a tab of its own

	device := authDevice(43)
	id := h.nextFromIframe("AUTH_READY")["requestID"].(string)
	h.send(map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": device}}, false)
	token := h.nextFromIframe("AUTH_SESSION_CREATED")["sessionContext"].(map[string]any)["secureToken"].(string)
	ac, err := h.auth.IssueChallenge(token, registerSpec("TOK-P"))
	require.NoError(t, err)
	_, _, identifier := assurance(t, h.ceremony(id, ac))

	// The next session reuses the popup window (and its authenticator).
	h.eval(fmt.Sprintf("navigatePopup(%s)", js))
	id = h.nextFromIframe("AUTH_READY")["requestID"].(string)
	h.send(map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": device}}, false)
	token = h.nextFromIframe("AUTH_SESSION_CREATED")["sessionContext"].(map[string]any)["secureToken"].(string)
	ac, err = h.auth.IssueChallenge(token, paySpec("TOK-P", "42.00"))
	require.NoError(t, err)
	blob, _, _ := assurance(t, h.ceremony(id, ac))
	claims, err := h.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-P", Identifier: identifier, Kinds: []string{BlobAssertion}})
	require.NoError(t, err)
	assert.Equal(t, "42.00", claims.Amount)
	assert.Equal(t, AuthStats{Sessions: 2, Registrations: 1, Assertions: 1, BlobsMinted: 2, BlobsRedeemed: 1}, h.auth.Stats())
}

// runBrowserFlow onboards a passkey and pays with it through the page in
// an iframe of a new tab of browser. start builds the iFrame side for the
// parent origin.
func runBrowserFlow(t *testing.T, browser context.Context, start func(parentOrigin string) (*authState, string)) {
	h := openParent(t, browser, start)
	auth, ctx, events := h.auth, h.ctx, h.events

	device := authDevice(42)

	// Onboarding: AUTH_READY, then a command from the foreign origin (with
	// the real requestID) that must be ignored, then the parent's own.
	js, _ := json.Marshal(h.iframe)
	h.eval(fmt.Sprintf("load(%s)", js))
	id := h.nextFromIframe("AUTH_READY")["requestID"].(string)
	h.eval(fmt.Sprintf(`foreignSend({type: "CREATE_AUTH_SESSION", requestID: %q, version: "1", client: {id: %q}})`, id, authDevice(666)))
	require.Equal(t, browserEvent{From: "foreign", Data: map[string]any{"forwarded": true}}, h.next())
	h.send(map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": device}}, true)
	created := h.nextFromIframe("AUTH_SESSION_CREATED")
	token := created["sessionContext"].(map[string]any)["secureToken"].(string)
	sess, err := auth.Session(token)
	require.NoError(t, err)
	assert.Equal(t, device, sess.DeviceID, "the foreign command was ignored")
	assert.Equal(t, 1, auth.Stats().Sessions)
	bd := created["browserData"].(map[string]any)
	assert.Equal(t, "true", bd["browserJavascriptEnabled"])
	assert.Equal(t, "false", bd["browserJavaEnabled"])
	assert.NotEmpty(t, bd["browserScreenWidth"])
	ua, err := base64.RawURLEncoding.DecodeString(bd["userAgent"].(string))
	require.NoError(t, err)
	assert.Contains(t, string(ua), "Chrome")

	ac, err := auth.IssueChallenge(token, registerSpec("TOK-B"))
	require.NoError(t, err)
	done := h.ceremony(id, ac)
	blob, rpID, identifier := assurance(t, done)
	assert.Equal(t, "localhost", rpID)
	assert.Equal(t, ac.Identifier, identifier)
	claims, err := auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-B", Identifier: identifier, Kinds: []string{BlobAttestation}})
	require.NoError(t, err)
	assert.Equal(t, device, claims.DeviceID)
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: h.authID})
	require.NoError(t, err)
	require.Len(t, creds.Credentials, 1, "the passkey lives in the browser's authenticator")
	assert.Equal(t, "localhost", creds.Credentials[0].RpID)

	h.send(map[string]any{"type": "CLOSE_AUTH_SESSION", "requestID": id}, false)
	assert.Equal(t, map[string]any{"type": "AUTH_SESSION_CLOSED", "requestID": id, "version": "1"}, h.nextFromIframe("AUTH_SESSION_CLOSED"))

	// Purchase: a fresh iFrame session, the same passkey, bound to the amount.
	id2, token2, _ := h.session(device)
	ac2, err := auth.IssueChallenge(token2, paySpec("TOK-B", "129.99"))
	require.NoError(t, err)
	assert.Equal(t, identifier, ac2.Identifier)
	blob2, _, identifier2 := assurance(t, h.ceremony(id2, ac2))
	assert.Equal(t, identifier, identifier2)
	claims2, err := auth.RedeemBlob(blob2, BlobWant{TokenID: "TOK-B", Identifier: identifier, Kinds: []string{BlobAssertion}})
	require.NoError(t, err)
	assert.Equal(t, "129.99", claims2.Amount)
	assert.Equal(t, "Best Buy", claims2.MerchantName)

	// A command for a stale requestID gets UNKNOWN_REQUEST_ID, not silence.
	h.send(map[string]any{"type": "CLOSE_AUTH_SESSION", "requestID": id}, false)
	assert.Equal(t, "UNKNOWN_REQUEST_ID", h.nextFromIframe("AUTH_FAILED")["error"])

	st := auth.Stats()
	assert.Equal(t, 1, st.Registrations)
	assert.Equal(t, 1, st.Assertions)
	assert.Equal(t, 0, st.Failures)
	select {
	case ev := <-events:
		t.Fatalf("unexpected message %+v", ev)
	default:
	}
	assert.False(t, strings.Contains(fmt.Sprint(st), token))
}
