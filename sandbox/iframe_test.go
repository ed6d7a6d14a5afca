package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
)

const authTestParent = "http://127.0.0.1:5555" // a merchant page embedding the iFrame

var pageRequestIDRe = regexp.MustCompile(`data-request-id="(REQ-[A-Za-z0-9_-]+)"`)

// page fetches the HTML page as a browser would and returns the response
// and its body.
func (e *authEnv) page(t testing.TB, target string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func TestIframePage(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	res, body := e.page(t, e.url)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "publickey-credentials-create=*, publickey-credentials-get=*", res.Header.Get("Permissions-Policy"))
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "script-src 'self'")
	assert.Contains(t, csp, "connect-src 'self'")
	assert.Contains(t, csp, "frame-ancestors http://localhost:* http://127.0.0.1:*")
	assert.NotContains(t, csp, "unsafe")
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	assert.Contains(t, body, `<script src="/vts-auth/static/iframe.js"></script>`)
	assert.Equal(t, 1, strings.Count(body, "<script"), "no inline script")
	assert.Contains(t, body, `id="continue"`)
	assert.Contains(t, body, `data-browser-header="text/html,application/xhtml&#43;xml"`)
	assert.NotContains(t, body, authTestAPIKey, "the page does not echo the api key")
	m := pageRequestIDRe.FindStringSubmatch(body)
	require.Len(t, m, 2, body)

	// The requestID in the page is live: the page's own JSON mode call works.
	ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": m[1], "version": "1", "client": map[string]any{"id": authDevice(1)}}, nil)
	assert.Equal(t, "AUTH_SESSION_CREATED", ev["type"])

	t.Run("bad api key", func(t *testing.T) {
		t.Parallel()
		res, body := e.page(t, e.srv.URL+"/vts-auth/authenticate?apikey=NOPE&clientAppID="+authTestAppID)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
		assert.Contains(t, body, "APIKEY_UNKNOWN")
	})
	t.Run("static", func(t *testing.T) {
		t.Parallel()
		for file, ctype := range map[string]string{"iframe.js": "text/javascript; charset=utf-8", "iframe.css": "text/css; charset=utf-8"} {
			res, body := e.page(t, e.srv.URL+"/vts-auth/static/"+file)
			assert.Equal(t, http.StatusOK, res.StatusCode, file)
			assert.Equal(t, ctype, res.Header.Get("Content-Type"))
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
			assert.NotEmpty(t, body)
		}
		for _, file := range []string{"iframe.html", "nope.js", "..%2fauth.go"} {
			res, _ := e.page(t, e.srv.URL+"/vts-auth/static/"+file)
			assert.Equal(t, http.StatusNotFound, res.StatusCode, file)
		}
	})
}

func TestIframePageAllowlist(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t, func(d *authDeps) {
		d.allowedOrigins = []string{"https://merchant.example", "http://localhost:3000", "bad origin;script-src *"}
	})
	res, body := e.page(t, e.url)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "frame-ancestors https://merchant.example http://localhost:3000"))
	assert.Contains(t, body, `data-allowed-origins="https://merchant.example http://localhost:3000"`)
	assert.False(t, e.auth.originAllowed("http://localhost:3001"))
	assert.True(t, e.auth.originAllowed("http://localhost:3000"))

	def := newAuthEnv(t)
	for origin, ok := range map[string]bool{
		"http://localhost": true, "http://localhost:8080": true, "http://127.0.0.1:5555": true,
		"https://localhost:8080": false, "http://localhost.evil:80": false, "http://example.com": false, "": false, "null": false,
	} {
		assert.Equal(t, ok, def.auth.originAllowed(origin), origin)
	}
}

// browserSession gets a requestID from the page, creates the session and
// issues a challenge, as the page and the merchant backend would.
func (e *authEnv) browserSession(t testing.TB, device string, spec func(token string) ChallengeSpec) (string, string, visa.AuthenticationContext) {
	t.Helper()
	_, body := e.page(t, e.url)
	m := pageRequestIDRe.FindStringSubmatch(body)
	require.Len(t, m, 2)
	ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": m[1], "version": "1", "client": map[string]any{"id": device}}, nil)
	token := ev["sessionContext"].(map[string]any)["secureToken"].(string)
	ac, err := e.auth.IssueChallenge(token, spec(token))
	require.NoError(t, err)
	return m[1], token, ac
}

func (e *authEnv) fidoURL(path string) string {
	return e.srv.URL + "/vts-auth/fido/" + path + "?apikey=" + authTestAPIKey + "&clientAppID=" + authTestAppID
}

// options calls the page's options endpoint.
func (e *authEnv) options(t testing.TB, requestID string, ac visa.AuthenticationContext, topOrigin string, cross bool) (int, map[string]any) {
	t.Helper()
	return e.do(t, http.MethodPost, e.fidoURL("options"), map[string]any{
		"requestID": requestID, "authenticationContext": ac, "topOrigin": topOrigin, "crossOrigin": cross}, nil)
}

func (e *authEnv) finishBrowser(t testing.TB, body map[string]any) map[string]any {
	t.Helper()
	status, ev := e.do(t, http.MethodPost, e.fidoURL("finish"), body, nil)
	require.Equal(t, http.StatusOK, status, "%v", ev)
	return ev
}

// browserCeremony plays the browser page's part with a software
// authenticator, in the frame the client describes.
func (e *authEnv) browserCeremony(t testing.TB, dev *fido.Authenticator, requestID string, ac visa.AuthenticationContext, client fido.ClientOrigin) map[string]any {
	t.Helper()
	status, res := e.options(t, requestID, ac, client.TopOrigin, client.CrossOrigin)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, string(ac.Action), res["action"], "%v", res)
	opts, err := json.Marshal(res["publicKey"])
	require.NoError(t, err)
	var cred []byte
	if ac.Action == visa.ActionRegister {
		cred, err = dev.Register(opts, client)
	} else {
		cred, err = dev.Authenticate(opts, client)
	}
	require.NoError(t, err)
	return e.finishBrowser(t, map[string]any{"requestID": requestID, "credential": json.RawMessage(cred)})
}

func TestIframeBrowserCeremonies(t *testing.T) {
	t.Parallel()
	iframe := func(e *authEnv) fido.ClientOrigin {
		return fido.ClientOrigin{Origin: e.base, TopOrigin: authTestParent, CrossOrigin: true}
	}
	popup := func(e *authEnv) fido.ClientOrigin { return fido.ClientOrigin{Origin: e.base} }
	for name, frame := range map[string]func(*authEnv) fido.ClientOrigin{"cross-origin iframe": iframe, "popup": popup} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newAuthEnv(t)
			dev, err := fido.NewAuthenticator()
			require.NoError(t, err)
			device := authDevice(1)

			id, token, ac := e.browserSession(t, device, func(string) ChallengeSpec { return registerSpec("TOK-1") })
			blob, rpID, identifier := assurance(t, e.browserCeremony(t, dev, id, ac, frame(e)))
			assert.Equal(t, "localhost", rpID)
			assert.Equal(t, ac.Identifier, identifier)
			_, err = e.auth.Session(token)
			require.ErrorIs(t, err, errSessionInvalid)
			_, err = e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-1", Identifier: identifier, Kinds: []string{BlobAttestation}})
			require.NoError(t, err)
			assert.True(t, e.auth.HasPasskey("TOK-1", device))

			id, _, ac = e.browserSession(t, device, func(string) ChallengeSpec { return paySpec("TOK-1", "129.99") })
			blob, _, identifier2 := assurance(t, e.browserCeremony(t, dev, id, ac, frame(e)))
			assert.Equal(t, identifier, identifier2)
			got, err := e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-1", Identifier: identifier, Kinds: []string{BlobAssertion}})
			require.NoError(t, err)
			assert.Equal(t, "129.99", got.Amount)
			assert.Equal(t, AuthStats{Sessions: 2, Registrations: 1, Assertions: 1, BlobsMinted: 2, BlobsRedeemed: 2}, e.auth.Stats())
		})
	}
}

func TestIframeBrowserFailures(t *testing.T) {
	t.Parallel()
	reg := func(string) ChallengeSpec { return registerSpec("TOK-1") }

	t.Run("credential from another top origin", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		dev, err := fido.NewAuthenticator()
		require.NoError(t, err)
		id, token, ac := e.browserSession(t, device1, reg)
		status, res := e.options(t, id, ac, authTestParent, true)
		require.Equal(t, http.StatusOK, status)
		opts, err := json.Marshal(res["publicKey"])
		require.NoError(t, err)
		cred, err := dev.Register(opts, fido.ClientOrigin{Origin: e.base, TopOrigin: "http://127.0.0.1:6666", CrossOrigin: true})
		require.NoError(t, err)
		ev := e.finishBrowser(t, map[string]any{"requestID": id, "credential": json.RawMessage(cred)})
		assert.Equal(t, map[string]any{"type": "AUTH_FAILED", "requestID": id, "version": "1", "error": "CEREMONY_FAILED"}, ev)
		_, err = e.auth.Session(token)
		require.ErrorIs(t, err, errSessionInvalid, "a failed ceremony consumes the token")
		assert.False(t, e.auth.HasPasskey("TOK-1", device1))
	})
	t.Run("garbage credential", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, _, ac := e.browserSession(t, device1, reg)
		status, _ := e.options(t, id, ac, authTestParent, true)
		require.Equal(t, http.StatusOK, status)
		ev := e.finishBrowser(t, map[string]any{"requestID": id, "credential": map[string]any{"id": "x"}})
		assert.Equal(t, "CEREMONY_FAILED", ev["error"])
	})
	t.Run("browser outcomes", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		for outcome, want := range map[string]string{"CANCELLED": "AUTH_CANCELLED", "NOT_SUPPORTED": "AUTH_NOT_SUPPORTED", "FAILED": "AUTH_FAILED", "NOT_PERFORMED": "AUTH_NOT_PERFORMED"} {
			id, token, ac := e.browserSession(t, device1, reg)
			status, _ := e.options(t, id, ac, authTestParent, true)
			require.Equal(t, http.StatusOK, status)
			ev := e.finishBrowser(t, map[string]any{"requestID": id, "outcome": outcome})
			assert.Equal(t, want, ev["type"], outcome)
			_, err := e.auth.Session(token)
			require.ErrorIs(t, err, errSessionInvalid)
		}
	})
	t.Run("finish without options", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token, _ := e.browserSession(t, device1, reg)
		ev := e.finishBrowser(t, map[string]any{"requestID": id, "outcome": "CANCELLED"})
		assert.Equal(t, "CHALLENGE_MISMATCH", ev["error"])
		_, err := e.auth.Session(token)
		require.NoError(t, err)
	})
	t.Run("challenge replaced after options", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token, ac := e.browserSession(t, device1, reg)
		status, _ := e.options(t, id, ac, authTestParent, true)
		require.Equal(t, http.StatusOK, status)
		_, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.NoError(t, err)
		ev := e.finishBrowser(t, map[string]any{"requestID": id, "outcome": "CANCELLED"})
		assert.Equal(t, "CHALLENGE_MISMATCH", ev["error"])
	})
	t.Run("challenge expired after options", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, _, ac := e.browserSession(t, device1, reg)
		status, _ := e.options(t, id, ac, authTestParent, true)
		require.Equal(t, http.StatusOK, status)
		e.clock.Advance(DefaultLifetimes.Challenge)
		ev := e.finishBrowser(t, map[string]any{"requestID": id, "outcome": "CANCELLED"})
		assert.Equal(t, "CHALLENGE_EXPIRED", ev["error"])
	})
	t.Run("options for a stale payload", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, _, ac := e.browserSession(t, device1, reg)
		ac.Payload += "x"
		status, res := e.options(t, id, ac, authTestParent, true)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, map[string]any{"type": "AUTH_FAILED", "requestID": id, "version": "1", "error": "CHALLENGE_MISMATCH"}, res["event"])
	})
	t.Run("top origin not allowed", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t, func(d *authDeps) { d.allowedOrigins = []string{"https://merchant.example"} })
		id, _, ac := e.browserSession(t, device1, reg)
		status, body := e.options(t, id, ac, authTestParent, true)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Equal(t, "INVALID_REQUEST", body["responseStatus"].(map[string]any)["code"])
	})
	t.Run("bad finish bodies", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token, _ := e.browserSession(t, device1, reg)
		for _, body := range []any{map[string]any{"requestID": id}, map[string]any{"requestID": id, "outcome": "MAYBE"}, `{"requestID":`} {
			status, res := e.do(t, http.MethodPost, e.fidoURL("finish"), body, nil)
			assert.Equal(t, http.StatusBadRequest, status, "%v", body)
			assert.Equal(t, "INVALID_REQUEST", res["responseStatus"].(map[string]any)["code"])
		}
		_, err := e.auth.Session(token)
		require.NoError(t, err)
	})
}

var device1 = authDevice(1)
