package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// The Auth half's tests build authDeps themselves (a test clock, an RSA
// key for the payload JWS, fixed credentials) and mount Routes on an
// httptest server; they do not need the server half.

const (
	authTestAPIKey = "SBXVTSAPIKEY01"
	authTestAppID  = "SBXAPP01"
	authTestEmail  = "alice@example.com"
)

// authTestKey is one RSA key for every test (generation is slow).
var authTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// authClock is a settable test clock.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *authClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is an Auth half on an httptest server.
type authEnv struct {
	clock *authClock
	auth  *authState
	srv   *httptest.Server
	base  string // http://localhost:port: the RP id must be a host name
	url   string // the iFrame URL (JSON mode), with credentials
}

func authSign(claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: authTestKey(), KeyID: "sbx-sig-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(body)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func authVerifier(now func() time.Time) func(string, any) error {
	return func(token string, dst any) error {
		obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			return err
		}
		body, err := obj.Verify(&authTestKey().PublicKey)
		if err != nil {
			return err
		}
		var std struct {
			Exp int64 `json:"exp"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			return err
		}
		if now().Unix() >= std.Exp {
			return errors.New("token expired")
		}
		return json.Unmarshal(body, dst)
	}
}

func authWriteGatewayError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"responseStatus": map[string]any{
		"status": status, "code": code, "severity": "ERROR", "message": message, "info": "",
	}})
}

func newAuthEnv(t testing.TB, mod ...func(*authDeps)) *authEnv {
	t.Helper()
	e := &authEnv{clock: &authClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	d := authDeps{
		now:               e.clock.Now,
		baseURL:           func() string { return e.base },
		sign:              authSign,
		verify:            authVerifier(e.clock.Now),
		apiKeyOK:          func(k string) bool { return k == authTestAPIKey },
		appIDOK:           func(id string) bool { return id == authTestAppID },
		writeGatewayError: authWriteGatewayError,
	}
	for _, m := range mod {
		m(&d)
	}
	e.auth = newAuthority(d)
	mux := http.NewServeMux()
	e.auth.Routes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	u, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	e.base = "http://localhost:" + u.Port()
	e.url = e.srv.URL + "/vts-auth/authenticate?apikey=" + authTestAPIKey + "&clientAppID=" + authTestAppID
	return e
}

// authDevice returns a valid 24-character clientDeviceId.
func authDevice(n int) string { return fmt.Sprintf("device-%017d", n) }

// do sends a request and decodes a JSON response.
func (e *authEnv) do(t testing.TB, method, target string, body any, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, target, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	return res.StatusCode, out
}

// command posts a JSON mode command and requires HTTP 200.
func (e *authEnv) command(t testing.TB, cmd any, hdr map[string]string) map[string]any {
	t.Helper()
	status, ev := e.do(t, http.MethodPost, e.url, cmd, hdr)
	require.Equal(t, http.StatusOK, status, "event %v", ev)
	return ev
}

func (e *authEnv) ready(t testing.TB) string {
	t.Helper()
	status, ev := e.do(t, http.MethodGet, e.url, nil, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "AUTH_READY", ev["type"])
	require.Equal(t, "1", ev["version"])
	id, _ := ev["requestID"].(string)
	require.NotEmpty(t, id)
	return id
}

// session runs AUTH_READY and CREATE_AUTH_SESSION; it returns the
// requestID and the secureToken.
func (e *authEnv) session(t testing.TB, device string) (string, string) {
	t.Helper()
	id := e.ready(t)
	ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": device}}, nil)
	require.Equal(t, "AUTH_SESSION_CREATED", ev["type"], "event %v", ev)
	sc, _ := ev["sessionContext"].(map[string]any)
	token, _ := sc["secureToken"].(string)
	require.NotEmpty(t, token)
	return id, token
}

func (e *authEnv) authenticate(t testing.TB, requestID string, ac visa.AuthenticationContext, outcome string) map[string]any {
	t.Helper()
	var hdr map[string]string
	if outcome != "" {
		hdr = map[string]string{headerAuthOutcome: outcome}
	}
	return e.command(t, map[string]any{"type": "AUTHENTICATE", "requestID": requestID, "version": "1", "authenticationContext": ac}, hdr)
}

// tryAuthenticate is authenticate for goroutines other than the test's:
// it reports errors instead of failing the test.
func (e *authEnv) tryAuthenticate(requestID string, ac visa.AuthenticationContext) (map[string]any, error) {
	body, err := json.Marshal(map[string]any{"type": "AUTHENTICATE", "requestID": requestID, "version": "1", "authenticationContext": ac})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	var ev map[string]any
	return ev, json.NewDecoder(res.Body).Decode(&ev)
}

func registerSpec(token string) ChallengeSpec {
	return ChallengeSpec{TokenID: token, Action: visa.ActionRegister, Amount: "0.00", CurrencyNumeric: "840", MerchantName: "Example Agent", UserEmail: authTestEmail}
}

func paySpec(token, amount string) ChallengeSpec {
	return ChallengeSpec{TokenID: token, Action: visa.ActionAuthenticate, Amount: amount, CurrencyNumeric: "840", MerchantName: "Best Buy", UserEmail: authTestEmail}
}

func assurance(t testing.TB, ev map[string]any) (blob, rpID, identifier string) {
	t.Helper()
	require.Equal(t, "AUTH_COMPLETE", ev["type"], "event %v", ev)
	require.Equal(t, "COMPLETE", ev["result"])
	ad, ok := ev["assuranceData"].(map[string]any)
	require.True(t, ok)
	blob, _ = ad["fidoBlob"].(string)
	rpID, _ = ad["rpID"].(string)
	identifier, _ = ad["identifier"].(string)
	return blob, rpID, identifier
}

// register onboards tokenID on device through JSON mode and returns the
// attestation blob and identifier.
func (e *authEnv) register(t testing.TB, tokenID, device string) (string, string) {
	t.Helper()
	id, token := e.session(t, device)
	ac, err := e.auth.IssueChallenge(token, registerSpec(tokenID))
	require.NoError(t, err)
	blob, _, identifier := assurance(t, e.authenticate(t, id, ac, ""))
	return blob, identifier
}

func TestAuthJSONRegisterThenAuthenticate(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	dev := authDevice(1)

	// Onboarding (journey steps 3, 8, 9).
	id, token := e.session(t, dev)
	sess, err := e.auth.Session(token)
	require.NoError(t, err)
	assert.Equal(t, AuthSession{RequestID: id, DeviceID: dev, DFPSessionID: sess.DFPSessionID, CreatedAt: e.clock.Now()}, sess)
	assert.True(t, strings.HasPrefix(sess.DFPSessionID, "DFP-"))
	assert.False(t, e.auth.HasPasskey("TOK-1", dev))

	ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
	require.NoError(t, err)
	assert.Equal(t, visa.ActionRegister, ac.Action)
	assert.Equal(t, e.base+"/vts-auth/fido", ac.Endpoint)
	assert.Equal(t, "WEB", ac.PlatformType)
	assert.True(t, strings.HasPrefix(ac.Identifier, "ID-"))
	var claims payloadClaims
	require.NoError(t, authVerifier(e.clock.Now)(ac.Payload, &claims))
	assert.Equal(t, "REGISTER", claims.Action)
	assert.Equal(t, ac.Identifier, claims.Identifier)
	assert.Equal(t, "TOK-1", claims.TokenID)
	assert.Equal(t, payloadRP{ID: "localhost", Name: "Visa Sandbox"}, claims.RP)
	assert.Equal(t, authTestEmail, claims.User.Name)
	ch, err := base64.RawURLEncoding.DecodeString(claims.Challenge)
	require.NoError(t, err)
	assert.Len(t, ch, 32)
	assert.Equal(t, e.clock.Now().Add(5*time.Minute).Unix(), claims.ExpiresAt)

	// The session stays usable for any number of VTS calls until the ceremony.
	_, err = e.auth.Session(token)
	require.NoError(t, err)

	ev := e.authenticate(t, id, ac, "")
	blob, rpID, identifier := assurance(t, ev)
	assert.Equal(t, "localhost", rpID)
	assert.Equal(t, ac.Identifier, identifier)
	assert.Equal(t, id, ev["requestID"])
	assert.Len(t, strings.Split(blob, "."), 5, "a compact JWE")
	assert.NotContains(t, blob, "TOK-1")
	assert.True(t, e.auth.HasPasskey("TOK-1", dev))
	_, err = e.auth.Session(token)
	require.ErrorIs(t, err, errSessionInvalid, "the secureToken is consumed")

	got, err := e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-1", Identifier: identifier, Kinds: []string{BlobAttestation, BlobAssertion}})
	require.NoError(t, err)
	assert.Equal(t, BlobClaims{Kind: BlobAttestation, Identifier: identifier, TokenID: "TOK-1", DeviceID: dev, Amount: "0.00",
		CurrencyNumeric: "840", MerchantName: "Example Agent", IssuedAt: e.clock.Now()}, got)

	// Purchases (journey steps 10-12): fresh sessions, the same passkey.
	for i, amount := range []string{"129.99", "5.00"} {
		e.clock.Advance(time.Minute)
		id2, token2 := e.session(t, dev)
		ac2, err := e.auth.IssueChallenge(token2, paySpec("TOK-1", amount))
		require.NoError(t, err)
		assert.Equal(t, visa.ActionAuthenticate, ac2.Action)
		assert.Equal(t, identifier, ac2.Identifier, "the registered identifier")
		blob2, _, identifier2 := assurance(t, e.authenticate(t, id2, ac2, ""))
		assert.Equal(t, identifier, identifier2)
		got2, err := e.auth.RedeemBlob(blob2, BlobWant{TokenID: "TOK-1", Identifier: identifier, Kinds: []string{BlobAssertion}})
		require.NoError(t, err, "purchase %d", i)
		assert.Equal(t, BlobAssertion, got2.Kind)
		assert.Equal(t, amount, got2.Amount)
		assert.Equal(t, "Best Buy", got2.MerchantName)
		assert.Equal(t, dev, got2.DeviceID)
	}
	// The signature counter moved with each assertion.
	e.auth.mu.Lock()
	signCount := e.auth.passkeys[slotKey{"TOK-1", dev}].cred.Authenticator.SignCount
	e.auth.mu.Unlock()
	assert.Equal(t, uint32(2), signCount)

	assert.Equal(t, AuthStats{Sessions: 3, Registrations: 1, Assertions: 2, BlobsMinted: 3, BlobsRedeemed: 3}, e.auth.Stats())
}

func TestAuthSecureTokenSingleUse(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	dev := authDevice(2)
	id, token := e.session(t, dev)
	ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-2"))
	require.NoError(t, err)
	assurance(t, e.authenticate(t, id, ac, ""))

	ev := e.authenticate(t, id, ac, "")
	assert.Equal(t, map[string]any{"type": "AUTH_FAILED", "requestID": id, "version": "1", "error": "SESSION_CONSUMED"}, ev)
	_, err = e.auth.Session(token)
	require.ErrorIs(t, err, errSessionInvalid)
	_, err = e.auth.IssueChallenge(token, registerSpec("TOK-2"))
	require.ErrorIs(t, err, errSessionInvalid)
	ev = e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": dev}}, nil)
	assert.Equal(t, "SESSION_CONSUMED", ev["error"], "one requestID, one session")
}

func TestAuthCreateSessionRetryAndDeviceMismatch(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	id := e.ready(t)
	cmd := map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": authDevice(3)}}
	first := e.command(t, cmd, nil)
	again := e.command(t, cmd, nil)
	assert.Equal(t, first, again, "a retried CREATE_AUTH_SESSION returns the same session")
	cmd["client"] = map[string]any{"id": authDevice(4)}
	assert.Equal(t, "SESSION_CONSUMED", e.command(t, cmd, nil)["error"])
	assert.Equal(t, 1, e.auth.Stats().Sessions)
}

func TestAuthConcurrentAuthenticateRunsOneCeremony(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	id, token := e.session(t, authDevice(5))
	ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-5"))
	require.NoError(t, err)
	const n = 4
	events := make(chan map[string]any, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ev, err := e.tryAuthenticate(id, ac)
			assert.NoError(t, err)
			events <- ev
		})
	}
	wg.Wait()
	close(events)
	byType := map[string]int{}
	for ev := range events {
		byType[fmt.Sprint(ev["type"], "/", ev["error"])]++
	}
	assert.Equal(t, map[string]int{"AUTH_COMPLETE/<nil>": 1, "AUTH_FAILED/SESSION_CONSUMED": n - 1}, byType)
}

func TestAuthConcurrentPurchasesOnOnePasskey(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	dev := authDevice(6)
	e.register(t, "TOK-6", dev)
	const n = 4
	type ready struct {
		id string
		ac visa.AuthenticationContext
	}
	var sessions []ready
	for range n {
		id, token := e.session(t, dev)
		ac, err := e.auth.IssueChallenge(token, paySpec("TOK-6", "10.00"))
		require.NoError(t, err)
		sessions = append(sessions, ready{id, ac})
	}
	types := make(chan any, n)
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			ev, err := e.tryAuthenticate(s.id, s.ac)
			assert.NoError(t, err)
			types <- ev["type"]
		})
	}
	wg.Wait()
	close(types)
	for typ := range types {
		assert.Equal(t, "AUTH_COMPLETE", typ)
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	assert.Equal(t, uint32(n), e.auth.passkeys[slotKey{"TOK-6", dev}].cred.Authenticator.SignCount)
}

func TestAuthExpiry(t *testing.T) {
	t.Parallel()
	life := DefaultLifetimes

	t.Run("requestID before CREATE_AUTH_SESSION", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id := e.ready(t)
		e.clock.Advance(life.RequestID)
		ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": authDevice(1)}}, nil)
		assert.Equal(t, "SESSION_EXPIRED", ev["error"])
	})
	t.Run("secureToken", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token := e.session(t, authDevice(1))
		ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.NoError(t, err)
		e.clock.Advance(life.SecureToken - time.Second)
		_, err = e.auth.Session(token)
		require.NoError(t, err)
		e.clock.Advance(time.Second)
		_, err = e.auth.Session(token)
		require.ErrorIs(t, err, errSessionInvalid)
		_, err = e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.ErrorIs(t, err, errSessionInvalid)
		assert.Equal(t, "SESSION_EXPIRED", e.authenticate(t, id, ac, "")["error"])
	})
	t.Run("challenge", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token := e.session(t, authDevice(1))
		ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.NoError(t, err)
		e.clock.Advance(life.Challenge)
		assert.Equal(t, "CHALLENGE_EXPIRED", e.authenticate(t, id, ac, "")["error"])
		// The session is not consumed: a fresh challenge works.
		_, err = e.auth.Session(token)
		require.NoError(t, err)
		ac, err = e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.NoError(t, err)
		assurance(t, e.authenticate(t, id, ac, ""))
	})
	t.Run("fidoBlob", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		blob, identifier := e.register(t, "TOK-1", authDevice(1))
		e.clock.Advance(life.Blob)
		_, err := e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-1", Identifier: identifier, Kinds: []string{BlobAttestation}})
		require.ErrorIs(t, err, errAssuranceInvalid)
		assert.Contains(t, err.Error(), "expired")
	})
	t.Run("shortened lifetimes", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t, func(d *authDeps) { d.lifetimes = Lifetimes{RequestID: time.Minute, SecureToken: 30 * time.Second} })
		_, token := e.session(t, authDevice(1))
		e.clock.Advance(30 * time.Second)
		_, err := e.auth.Session(token)
		require.ErrorIs(t, err, errSessionInvalid)
	})
}

func TestAuthOutcomeHooks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		outcome, event, code string
	}{
		{"CANCELLED", "AUTH_CANCELLED", "USER_CANCELLED"},
		{"FAILED", "AUTH_FAILED", "CEREMONY_FAILED"},
		{"NOT_SUPPORTED", "AUTH_NOT_SUPPORTED", "PASSKEY_NOT_SUPPORTED"},
		{"NOT_PERFORMED", "AUTH_NOT_PERFORMED", "NOT_PERFORMED"},
	}
	for _, tc := range cases {
		t.Run(tc.outcome, func(t *testing.T) {
			t.Parallel()
			e := newAuthEnv(t)
			dev := authDevice(1)
			id, token := e.session(t, dev)
			ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
			require.NoError(t, err)
			ev := e.authenticate(t, id, ac, tc.outcome)
			assert.Equal(t, map[string]any{"type": tc.event, "requestID": id, "version": "1", "error": tc.code}, ev)
			_, err = e.auth.Session(token)
			require.ErrorIs(t, err, errSessionInvalid, "the hook consumes the secureToken")
			assert.False(t, e.auth.HasPasskey("TOK-1", dev))
			assert.Equal(t, "SESSION_CONSUMED", e.authenticate(t, id, ac, "")["error"])
			st := e.auth.Stats()
			assert.Equal(t, 0, st.Registrations)
			assert.Equal(t, 2, st.Failures)
		})
	}
	t.Run("unknown value", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, token := e.session(t, authDevice(1))
		ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.NoError(t, err)
		status, body := e.do(t, http.MethodPost, e.url, map[string]any{"type": "AUTHENTICATE", "requestID": id, "authenticationContext": ac},
			map[string]string{headerAuthOutcome: "MAYBE"})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "INVALID_REQUEST", body["responseStatus"].(map[string]any)["code"])
		_, err = e.auth.Session(token)
		require.NoError(t, err, "a rejected request changes nothing")
	})
}

func TestAuthChallengeMismatch(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, e *authEnv, token string, ac visa.AuthenticationContext) visa.AuthenticationContext{
		"payload of another session": func(t *testing.T, e *authEnv, _ string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			_, other := e.session(t, authDevice(9))
			oac, err := e.auth.IssueChallenge(other, registerSpec("TOK-1"))
			require.NoError(t, err)
			return oac
		},
		"replaced challenge": func(t *testing.T, e *authEnv, token string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			_, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
			require.NoError(t, err)
			return ac
		},
		"wrong identifier": func(t *testing.T, e *authEnv, _ string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			ac.Identifier = "ID-somethingelse"
			return ac
		},
		"wrong action": func(t *testing.T, e *authEnv, _ string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			ac.Action = visa.ActionAuthenticate
			return ac
		},
		"forged payload": func(t *testing.T, e *authEnv, _ string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			parts := strings.Split(ac.Payload, ".")
			parts[2] = base64.RawURLEncoding.EncodeToString(make([]byte, 256))
			ac.Payload = strings.Join(parts, ".")
			return ac
		},
		"no payload": func(t *testing.T, e *authEnv, _ string, ac visa.AuthenticationContext) visa.AuthenticationContext {
			return visa.AuthenticationContext{}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newAuthEnv(t)
			id, token := e.session(t, authDevice(1))
			ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
			require.NoError(t, err)
			ev := e.authenticate(t, id, mutate(t, e, token, ac), "")
			assert.Equal(t, map[string]any{"type": "AUTH_FAILED", "requestID": id, "version": "1", "error": "CHALLENGE_MISMATCH"}, ev)
			_, err = e.auth.Session(token)
			require.NoError(t, err, "a mismatch does not consume the session")
			assert.False(t, e.auth.HasPasskey("TOK-1", authDevice(1)))
		})
	}
	t.Run("no challenge issued", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		id, _ := e.session(t, authDevice(1))
		assert.Equal(t, "CHALLENGE_MISMATCH", e.authenticate(t, id, visa.AuthenticationContext{Payload: "x.y.z"}, "")["error"])
	})
}

func TestAuthUnknownRequestID(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	readyOnly := e.ready(t)
	for _, cmd := range []map[string]any{
		{"type": "CREATE_AUTH_SESSION", "requestID": "REQ-nope", "client": map[string]any{"id": authDevice(1)}},
		{"type": "AUTHENTICATE", "requestID": "REQ-nope", "authenticationContext": map[string]any{"payload": "a.b.c"}},
		{"type": "AUTHENTICATE", "requestID": readyOnly, "authenticationContext": map[string]any{"payload": "a.b.c"}},
		{"type": "CLOSE_AUTH_SESSION", "requestID": "REQ-nope"},
		{"type": "CLOSE_AUTH_SESSION"},
	} {
		ev := e.command(t, cmd, nil)
		assert.Equal(t, "AUTH_FAILED", ev["type"], "%v", cmd)
		assert.Equal(t, "UNKNOWN_REQUEST_ID", ev["error"], "%v", cmd)
	}
}

func TestAuthCloseSession(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	id, token := e.session(t, authDevice(1))
	ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
	require.NoError(t, err)
	for range 2 { // closing twice is fine
		ev := e.command(t, map[string]any{"type": "CLOSE_AUTH_SESSION", "requestID": id}, nil)
		assert.Equal(t, map[string]any{"type": "AUTH_SESSION_CLOSED", "requestID": id, "version": "1"}, ev)
	}
	_, err = e.auth.Session(token)
	require.ErrorIs(t, err, errSessionInvalid)
	assert.Equal(t, "SESSION_CONSUMED", e.authenticate(t, id, ac, "")["error"])
}

func TestAuthInvalidClientID(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	for _, dev := range []string{"", "short", strings.Repeat("a", 25), "device/0000000000000001!", "device 000000000000000001"} {
		id := e.ready(t)
		ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "client": map[string]any{"id": dev}}, nil)
		assert.Equal(t, map[string]any{"type": "AUTH_FAILED", "requestID": id, "version": "1", "error": "INVALID_CLIENT_ID"}, ev, "%q", dev)
	}
	id := e.ready(t)
	ev := e.command(t, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id}, nil)
	assert.Equal(t, "INVALID_CLIENT_ID", ev["error"], "client missing")
	assert.Equal(t, 0, e.auth.Stats().Sessions)
}

func TestAuthBrowserData(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	create := func(bd any) map[string]any {
		id := e.ready(t)
		cmd := map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": id, "version": "1", "client": map[string]any{"id": authDevice(1)}}
		if bd != nil {
			cmd["browserData"] = bd
		}
		ev := e.command(t, cmd, nil)
		require.Equal(t, "AUTH_SESSION_CREATED", ev["type"])
		assert.Equal(t, map[string]any{"requiresPopupForRegister": false, "requiresPopupForAuthenticate": false}, ev["authenticationPreferencesSupported"])
		return ev["browserData"].(map[string]any)
	}

	ua := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
	got := create(map[string]any{"browserJavaEnabled": false, "browserJavascriptEnabled": true, "browserLanguage": "fr-FR",
		"browserColorDepth": 30, "browserScreenHeight": 900, "browserScreenWidth": 1440, "browserTimeZone": "-60",
		"userAgent": ua, "ipAddress": "203.0.113.7"})
	assert.Equal(t, map[string]any{"browserJavaEnabled": "false", "browserJavascriptEnabled": "true", "browserLanguage": "fr-FR",
		"browserColorDepth": "30", "browserScreenHeight": "900", "browserScreenWidth": "1440", "browserTimeZone": "-60",
		"userAgent": "TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk", "ipAddress": "203.0.113.7"}, got)

	synth := create(nil)
	assert.Equal(t, "true", synth["browserJavascriptEnabled"])
	assert.Equal(t, "127.0.0.1", synth["ipAddress"])
	assert.Regexp(t, `^[A-Za-z0-9_-]+$`, synth["userAgent"], "normalized")
}

func TestAuthGatewayErrors(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	path := e.srv.URL + "/vts-auth/authenticate"
	cases := []struct {
		name, method, target string
		body                 any
		status               int
		code                 string
	}{
		{"no api key", http.MethodGet, path + "?clientAppID=" + authTestAppID, nil, 401, "APIKEY_MISSING"},
		{"unknown api key", http.MethodGet, path + "?apikey=WRONGKEY&clientAppID=" + authTestAppID, nil, 401, "APIKEY_UNKNOWN"},
		{"unknown api key on POST", http.MethodPost, path + "?apikey=WRONGKEY&clientAppID=" + authTestAppID, `{"type":"CLOSE_AUTH_SESSION"}`, 401, "APIKEY_UNKNOWN"},
		{"unknown app id", http.MethodGet, path + "?apikey=" + authTestAPIKey + "&clientAppID=NOPE", nil, 403, "APP_ID_UNKNOWN"},
		{"no app id", http.MethodGet, path + "?apikey=" + authTestAPIKey, nil, 403, "APP_ID_UNKNOWN"},
		{"malformed JSON", http.MethodPost, e.url, `{"type":`, 400, "INVALID_REQUEST"},
		{"JSON of the wrong shape", http.MethodPost, e.url, `{"type":["AUTHENTICATE"]}`, 400, "INVALID_REQUEST"},
		{"unknown type", http.MethodPost, e.url, `{"type":"PING","requestID":"REQ-x"}`, 400, "INVALID_REQUEST"},
		{"body too large", http.MethodPost, e.url, `{"type":"PING","pad":"` + strings.Repeat("x", maxCommandBytes) + `"}`, 400, "INVALID_REQUEST"},
		{"options without credentials", http.MethodPost, e.srv.URL + "/vts-auth/fido/options", `{}`, 401, "APIKEY_MISSING"},
		{"finish without credentials", http.MethodPost, e.srv.URL + "/vts-auth/fido/finish", `{}`, 401, "APIKEY_MISSING"},
		{"unknown iFrame path", http.MethodPost, e.srv.URL + "/vts-auth/fido", `{}`, 404, "NOT_FOUND"},
		{"wrong method", http.MethodPut, e.url, `{}`, 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := e.do(t, tc.method, tc.target, tc.body, nil)
			assert.Equal(t, tc.status, status)
			rs, ok := body["responseStatus"].(map[string]any)
			require.True(t, ok, "%v", body)
			assert.Equal(t, tc.code, rs["code"])
			assert.NotContains(t, fmt.Sprint(body), "WRONGKEY", "the api key is never echoed")
		})
	}
	t.Run("camelCase apiKey and externalAppId", func(t *testing.T) {
		t.Parallel()
		status, ev := e.do(t, http.MethodGet, path+"?apiKey="+authTestAPIKey+"&externalAppId="+authTestAppID, nil, nil)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "AUTH_READY", ev["type"])
	})
}

func TestAuthIssueChallengeErrors(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	_, token := e.session(t, authDevice(1))
	bad := map[string]func(*ChallengeSpec){
		"no token":        func(s *ChallengeSpec) { s.TokenID = "" },
		"long token":      func(s *ChallengeSpec) { s.TokenID = strings.Repeat("T", 65) },
		"bad action":      func(s *ChallengeSpec) { s.Action = "DANCE" },
		"no amount":       func(s *ChallengeSpec) { s.Amount = "" },
		"negative amount": func(s *ChallengeSpec) { s.Amount = "-1.00" },
		"alpha currency":  func(s *ChallengeSpec) { s.CurrencyNumeric = "USD" },
	}
	for name, mut := range bad {
		spec := registerSpec("TOK-1")
		mut(&spec)
		_, err := e.auth.IssueChallenge(token, spec)
		require.ErrorIs(t, err, errBadChallengeSpec, name)
		assert.NotContains(t, err.Error(), token)
	}
	for _, amount := range []string{"0", "710", "0.00", "129.99"} {
		_, err := e.auth.IssueChallenge(token, paySpecRegister(amount))
		require.NoError(t, err, amount)
	}
	_, err := e.auth.IssueChallenge("not-a-token", registerSpec("TOK-1"))
	require.ErrorIs(t, err, errSessionInvalid)
	_, err = e.auth.IssueChallenge(token, paySpec("TOK-1", "1.00"))
	require.ErrorIs(t, err, errNoPasskey)
	_, err = e.auth.Session("not-a-token")
	require.ErrorIs(t, err, errSessionInvalid)

	t.Run("base URL without a host name", func(t *testing.T) {
		t.Parallel()
		e := newAuthEnv(t)
		_, token := e.session(t, authDevice(1))
		e.base = "http://127.0.0.1:1"
		_, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
		require.ErrorIs(t, err, errRP)
	})
}

func paySpecRegister(amount string) ChallengeSpec {
	s := registerSpec("TOK-1")
	s.Amount = amount
	return s
}

func TestAuthHasPasskeyPerTokenAndDevice(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	d1, d2 := authDevice(1), authDevice(2)
	_, identA := e.register(t, "TOK-A", d1)
	assert.True(t, e.auth.HasPasskey("TOK-A", d1))
	assert.False(t, e.auth.HasPasskey("TOK-A", d2))
	assert.False(t, e.auth.HasPasskey("TOK-B", d1))

	_, identB := e.register(t, "TOK-B", d1)
	assert.NotEqual(t, identA, identB)
	_, identA2 := e.register(t, "TOK-A", d2)
	assert.NotEqual(t, identA, identA2)

	// A token on another device cannot authenticate with d1's passkey.
	_, token := e.session(t, authDevice(3))
	_, err := e.auth.IssueChallenge(token, paySpec("TOK-A", "1.00"))
	require.ErrorIs(t, err, errNoPasskey)

	// ForgetToken drops passkeys and outstanding challenges of the token.
	id, token := e.session(t, d1)
	ac, err := e.auth.IssueChallenge(token, paySpec("TOK-A", "1.00"))
	require.NoError(t, err)
	e.auth.ForgetToken("TOK-A")
	assert.False(t, e.auth.HasPasskey("TOK-A", d1))
	assert.False(t, e.auth.HasPasskey("TOK-A", d2))
	assert.True(t, e.auth.HasPasskey("TOK-B", d1))
	assert.Equal(t, "CHALLENGE_MISMATCH", e.authenticate(t, id, ac, "")["error"])
	_, err = e.auth.IssueChallenge(token, paySpec("TOK-A", "1.00"))
	require.ErrorIs(t, err, errNoPasskey)
}

func TestAuthReRegistrationReplacesPasskey(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	dev := authDevice(1)
	_, first := e.register(t, "TOK-1", dev)
	_, second := e.register(t, "TOK-1", dev)
	assert.NotEqual(t, first, second)
	_, token := e.session(t, dev)
	ac, err := e.auth.IssueChallenge(token, paySpec("TOK-1", "1.00"))
	require.NoError(t, err)
	assert.Equal(t, second, ac.Identifier)
}

func TestAuthRedeemBlob(t *testing.T) {
	t.Parallel()
	want := func(mod func(*BlobWant)) BlobWant {
		w := BlobWant{TokenID: "TOK-1", Kinds: []string{BlobAttestation}}
		if mod != nil {
			mod(&w)
		}
		return w
	}
	cases := []struct {
		name   string
		blob   func(blob string) string
		want   func(*BlobWant)
		reason string
	}{
		{"wrong token", nil, func(w *BlobWant) { w.TokenID = "TOK-2" }, "another token"},
		{"wrong identifier", nil, func(w *BlobWant) { w.Identifier = "ID-other" }, "another identifier"},
		{"wrong kind", nil, func(w *BlobWant) { w.Kinds = []string{BlobAssertion} }, "fido-attestation"},
		{"no kinds", nil, func(w *BlobWant) { w.Kinds = nil }, "fido-attestation"},
		{"tampered ciphertext", func(b string) string {
			p := strings.Split(b, ".")
			raw, _ := base64.RawURLEncoding.DecodeString(p[3])
			raw[0] ^= 1
			p[3] = base64.RawURLEncoding.EncodeToString(raw)
			return strings.Join(p, ".")
		}, nil, "not minted by this sandbox"},
		{"tampered header", func(b string) string {
			p := strings.Split(b, ".")
			p[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM","kid":"other"}`))
			return strings.Join(p, ".")
		}, nil, "not minted by this sandbox"},
		{"a JWS", func(string) string { return "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" }, nil, "malformed"},
		{"garbage", func(string) string { return "not a blob" }, nil, "malformed"},
		{"empty", func(string) string { return "" }, nil, "malformed"},
		{"huge", func(string) string { return strings.Repeat("a", maxBlobLen+1) }, nil, "malformed"},
	}
	e := newAuthEnv(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blob, identifier := e.register(t, "TOK-1", authDevice(i))
			bad := blob
			if tc.blob != nil {
				bad = tc.blob(blob)
			}
			_, err := e.auth.RedeemBlob(bad, want(tc.want))
			require.ErrorIs(t, err, errAssuranceInvalid)
			assert.Contains(t, err.Error(), tc.reason)
			assert.NotContains(t, err.Error(), blob)
			// A failed redemption changes nothing: the genuine blob still redeems.
			got, err := e.auth.RedeemBlob(blob, want(func(w *BlobWant) { w.Identifier = identifier }))
			require.NoError(t, err)
			assert.Equal(t, identifier, got.Identifier)
		})
	}
	t.Run("twice", func(t *testing.T) {
		t.Parallel()
		blob, _ := e.register(t, "TOK-1", authDevice(99))
		_, err := e.auth.RedeemBlob(blob, want(nil))
		require.NoError(t, err)
		_, err = e.auth.RedeemBlob(blob, want(nil))
		require.ErrorIs(t, err, errAssuranceInvalid)
		assert.Contains(t, err.Error(), "already redeemed")
	})
	t.Run("another sandbox's blob", func(t *testing.T) {
		t.Parallel()
		other := newAuthEnv(t)
		blob, _ := other.register(t, "TOK-1", authDevice(1))
		_, err := e.auth.RedeemBlob(blob, want(nil))
		require.ErrorIs(t, err, errAssuranceInvalid)
	})
}

func TestAuthSweepForgetsOldSessions(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	old, token := e.session(t, authDevice(1))
	blob, _ := e.register(t, "TOK-1", authDevice(2))
	_, err := e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-1", Kinds: []string{BlobAttestation}})
	require.NoError(t, err)

	e.clock.Advance(DefaultLifetimes.RequestID)
	assert.Equal(t, "SESSION_EXPIRED", e.authenticate(t, old, visa.AuthenticationContext{Payload: "a.b.c"}, "")["error"])
	e.clock.Advance(DefaultLifetimes.RequestID + time.Second)
	e.ready(t) // sweeps
	assert.Equal(t, "UNKNOWN_REQUEST_ID", e.authenticate(t, old, visa.AuthenticationContext{Payload: "a.b.c"}, "")["error"])
	_, err = e.auth.Session(token)
	require.ErrorIs(t, err, errSessionInvalid)
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	assert.Len(t, e.auth.requests, 1)
	assert.Empty(t, e.auth.tokens)
	assert.Empty(t, e.auth.redeemed)
}

// TestAuthSecretsStayOffTheWire checks that no secureToken, fidoBlob or api
// key appears where it does not belong: in errors, or in events other than
// the ones that carry them by definition.
func TestAuthSecretsStayOffTheWire(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	id, token := e.session(t, authDevice(1))
	ac, err := e.auth.IssueChallenge(token, registerSpec("TOK-1"))
	require.NoError(t, err)
	assert.NotContains(t, ac.Payload, token)
	ev := e.authenticate(t, id, ac, "")
	blob, _, _ := assurance(t, ev)
	again := e.authenticate(t, id, ac, "")
	for _, v := range []string{token, blob, authTestAPIKey} {
		assert.NotContains(t, fmt.Sprint(again), v)
	}
	_, err = e.auth.RedeemBlob(blob, BlobWant{TokenID: "TOK-X", Kinds: []string{BlobAttestation}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), blob)
	_, err = e.auth.Session(token)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), token)
}
