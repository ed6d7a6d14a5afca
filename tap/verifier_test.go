package tap_test

import (
	"crypto"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

type env struct {
	clock  *clock
	signer *tap.Signer
	nonces *tap.MemoryNonceStore
	v      *tap.Verifier
	key    crypto.Signer
}

func newEnv(t *testing.T, key crypto.Signer, sopts []tap.SignerOption, vopts ...tap.VerifierOption) *env {
	t.Helper()
	e := &env{clock: newClock(), key: key}
	var err error
	e.signer, err = tap.NewSigner(key, append([]tap.SignerOption{tap.WithSignerClock(e.clock.Now)}, sopts...)...)
	require.NoError(t, err)
	vk, err := httpsig.NewVerifyingKey(e.signer.Algorithm(), key.Public())
	require.NoError(t, err)
	e.nonces = tap.NewMemoryNonceStore(e.clock.Now, 0)
	e.v, err = tap.NewVerifier(tap.StaticKeys{e.signer.KeyID(): vk},
		append([]tap.VerifierOption{tap.WithClock(e.clock.Now), tap.WithNonceStore(e.nonces)}, vopts...)...)
	require.NoError(t, err)
	return e
}

func (e *env) signed(t *testing.T, tag tap.Tag) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", strings.NewReader(`{}`))
	require.NoError(t, e.signer.Sign(r, tag))
	return r
}

// TestRoundTripAlgorithms signs with each asymmetric algorithm and both TAP
// tags through the RoundTripper, and verifies in the middleware.
func TestRoundTripAlgorithms(t *testing.T) {
	t.Parallel()
	ed, ec, rs := testKeys(t)
	for _, tc := range []struct {
		key crypto.Signer
		alg httpsig.Algorithm
	}{
		{ed, httpsig.Ed25519}, {ec, httpsig.ECDSAP256SHA256}, {rs, httpsig.RSAPSSSHA256},
		{rs, httpsig.RSAPSSSHA512}, {rs, httpsig.RSAV15SHA256},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.key, []tap.SignerOption{tap.WithAlgorithm(tc.alg), tap.WithKeyID("agent-1")})
			require.Equal(t, tc.alg, e.signer.Algorithm())
			var got []*tap.Identity
			srv := httptest.NewServer(e.v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, ok := tap.IdentityFrom(r.Context())
				require.True(t, ok)
				got = append(got, id)
			})))
			defer srv.Close()
			hc := &http.Client{Transport: e.signer.Transport(srv.Client().Transport)}
			defer hc.CloseIdleConnections()
			for _, tag := range []tap.Tag{tap.TagBrowser, tap.TagPayer} {
				req, err := http.NewRequestWithContext(tap.WithTag(t.Context(), tag), http.MethodGet, srv.URL+"/p/1?x=y", nil)
				require.NoError(t, err)
				resp, err := hc.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Empty(t, req.Header.Get("Signature"), "the caller's request is not modified")
			}
			require.Len(t, got, 2)
			assert.Equal(t, tap.TagBrowser, got[0].Tag)
			assert.Equal(t, tap.TagPayer, got[1].Tag)
			assert.Equal(t, "agent-1", got[1].KeyID)
			assert.Equal(t, tc.alg, got[1].Algorithm)
			assert.Equal(t, 8*time.Minute, got[1].Expires.Sub(got[1].Created))
			assert.NotEqual(t, got[0].Nonce, got[1].Nonce)
		})
	}
}

// TestSignedFields pins the TAP profile's wire form.
func TestSignedFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rfcEdKey(t), []tap.SignerOption{tap.WithRandom(zeroReader{})})
	h, err := e.signer.Headers(http.MethodGet, "https://shop.example/p/1?x=y", tap.TagBrowser)
	require.NoError(t, err)
	assert.Equal(t, `sig1=("@authority" "@path");created=1767225600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=1767226080;nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";tag="agent-browser-auth"`,
		h.Get("Signature-Input"))
	assert.Empty(t, h.Get("Signature-Agent"))
	// Ed25519 is deterministic: the signature is a golden value.
	assert.Equal(t, "sig1=:"+goldenTAP+":", h.Get("Signature"))
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/p/1?x=y", nil)
	r.Header = h
	id, err := e.v.Verify(r)
	require.NoError(t, err)
	assert.Equal(t, "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U", id.KeyID)
}

// goldenTAP was produced by this package with the RFC 9421 §B.1.4 key, the
// clock of newClock and an all-zero nonce; TestSignedFields verifies it too.
const goldenTAP = "z6y1nTItgKR9P1WI6CCF2IZPOdJDIv+QCLNSXzLF+SaOhh28p0P4nh3F9y9fi2Eu6UucLqyBdrR/KcE+SpmpCQ=="

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestRefusals: each way a request can fail is refused with its Reason and
// status, and records no nonce.
func TestRefusals(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	for _, tc := range []struct {
		name    string
		tag     tap.Tag
		accept  []tap.Tag
		sopts   []tap.SignerOption
		vopts   []tap.VerifierOption
		mutate  func(e *env, r *http.Request)
		reason  *tap.Reason
		status  int
		nonces  int
		verifyN int
	}{
		{name: "tampered authority", mutate: func(_ *env, r *http.Request) { r.Host = "evil.example" }, reason: tap.ErrInvalidSignature, status: 401},
		{name: "tampered path", mutate: func(_ *env, r *http.Request) { r.URL.Path = "/checkout/43" }, reason: tap.ErrInvalidSignature, status: 401},
		{name: "tampered tag parameter", mutate: func(_ *env, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), string(tap.TagBrowser), string(tap.TagPayer), 1))
		}, reason: tap.ErrInvalidSignature, status: 401},
		{name: "tampered created", mutate: func(_ *env, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "created=1767225600", "created=1767225601", 1))
		}, reason: tap.ErrInvalidSignature, status: 401},
		{name: "tampered signature", mutate: func(_ *env, r *http.Request) {
			s := r.Header.Get("Signature")
			r.Header.Set("Signature", s[:10]+flip(s[10])+s[11:])
		}, reason: tap.ErrInvalidSignature, status: 401},
		{name: "replayed", verifyN: 2, reason: tap.ErrReplay, status: 401, nonces: 1},
		{name: "expired", mutate: func(e *env, _ *http.Request) { e.clock.Add(8*time.Minute + tap.DefaultSkew + time.Second) }, reason: tap.ErrExpired, status: 401},
		{name: "created in the future", mutate: func(e *env, _ *http.Request) { e.clock.Add(-tap.DefaultSkew - time.Second) }, reason: tap.ErrNotYetValid, status: 401},
		{name: "wrong tag", accept: []tap.Tag{tap.TagPayer}, reason: tap.ErrTag, status: 401},
		{name: "unknown key", mutate: func(e *env, r *http.Request) {
			resign(e, r, nil, func(p *httpsig.Params) { p.KeyID = "someone-else" })
		}, reason: tap.ErrUnknownKey, status: 401},
		{name: "validity too long", sopts: []tap.SignerOption{tap.WithValidity(9 * time.Minute)}, reason: tap.ErrValidityTooLong, status: 401},
		{name: "no signature", mutate: func(_ *env, r *http.Request) { r.Header.Del("Signature"); r.Header.Del("Signature-Input") }, reason: tap.ErrNoSignature, status: 401},
		{name: "signature without input", mutate: func(_ *env, r *http.Request) { r.Header.Del("Signature-Input") }, reason: tap.ErrMalformed, status: 400},
		{name: "malformed input", mutate: func(_ *env, r *http.Request) { r.Header.Set("Signature-Input", `sig1=("@authority" "@path";created=1`) }, reason: tap.ErrMalformed, status: 400},
		{name: "malformed signature", mutate: func(_ *env, r *http.Request) { r.Header.Set("Signature", `sig1=:not base64:`) }, reason: tap.ErrMalformed, status: 400},
		{name: "oversized input", mutate: func(_ *env, r *http.Request) {
			r.Header.Add("Signature-Input", "x="+`("`+strings.Repeat("a", 9000)+`")`)
		}, reason: tap.ErrTooLarge, status: 400},
		{name: "too many signatures", mutate: func(_ *env, r *http.Request) {
			for i := range 9 {
				l := string(rune('a' + i))
				r.Header.Add("Signature-Input", l+`=("@authority");created=1`)
				r.Header.Add("Signature", l+`=:AAAA:`)
			}
		}, reason: tap.ErrTooLarge, status: 400},
		{name: "unsupported component", mutate: func(e *env, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@path")`, `"@path" "x-thing";tr)`, 1))
		}, reason: tap.ErrMalformed, status: 400},
		{name: "path not covered", mutate: func(e *env, r *http.Request) {
			resign(e, r, httpsig.MustComponents(`"@authority"`), nil)
		}, reason: tap.ErrComponents, status: 400},
		{name: "no nonce", mutate: func(e *env, r *http.Request) {
			resign(e, r, nil, func(p *httpsig.Params) { p.Nonce = "" })
		}, reason: tap.ErrMissingParameter, status: 400},
		{name: "no expires", mutate: func(e *env, r *http.Request) {
			resign(e, r, nil, func(p *httpsig.Params) { p.Expires = time.Time{} })
		}, reason: tap.ErrMissingParameter, status: 400},
		{name: "algorithm mismatch", mutate: func(e *env, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `alg="ed25519"`, `alg="rsa-pss-sha512"`, 1))
		}, reason: tap.ErrInvalidSignature, status: 401},
		{name: "covered header removed", mutate: func(e *env, r *http.Request) {
			r.Header.Set("X-Cart", "42")
			resign(e, r, httpsig.MustComponents(`"@authority"`, `"@path"`, `"x-cart"`), nil)
			r.Header.Del("X-Cart")
		}, reason: tap.ErrInvalidSignature, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, ed, tc.sopts, tc.vopts...)
			tag := tc.tag
			if tag == "" {
				tag = tap.TagBrowser
			}
			r := e.signed(t, tag)
			if tc.mutate != nil {
				tc.mutate(e, r)
			}
			n := max(tc.verifyN, 1)
			var err error
			for range n {
				_, err = e.v.Verify(r, tc.accept...)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.reason)
			var ve *tap.VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.reason, ve.Reason)
			assert.Equal(t, tc.status, tap.Status(err))
			assert.Equal(t, tc.nonces, e.nonces.Len(), "a refused request records no nonce")

			// The middleware answers the same, naming the reason, never
			// echoing the signature.
			w := httptest.NewRecorder()
			e.v.Middleware(tc.accept...)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("refused request reached the handler")
			})).ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			var body struct{ Error, Message string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, tc.reason.Code(), body.Error)
			if sig := r.Header.Get("Signature"); len(sig) > 20 {
				assert.NotContains(t, w.Body.String(), sig[6:26])
			}
		})
	}
}

func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}

// resign replaces r's signature by one made with httpsig directly, with
// other components or parameters.
func resign(e *env, r *http.Request, comps []httpsig.Component, edit func(*httpsig.Params)) {
	sigs, err := httpsig.Parse(r.Header)
	if err != nil {
		panic(err)
	}
	p := sigs[0].Params
	if comps == nil {
		comps = sigs[0].Components
	}
	if edit != nil {
		edit(&p)
	}
	r.Header.Del("Signature")
	r.Header.Del("Signature-Input")
	k, err := httpsig.NewSigningKey(e.signer.Algorithm(), e.key)
	if err != nil {
		panic(err)
	}
	if err := httpsig.SignRequest(r, "sig1", comps, p, k); err != nil {
		panic(err)
	}
}

// TestWithinSkew: a created slightly ahead of the verifier's clock, and a
// signature just past expires, are still accepted within the skew.
func TestWithinSkew(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	e := newEnv(t, ed, nil)
	r := e.signed(t, tap.TagBrowser)
	e.clock.Add(-tap.DefaultSkew + time.Second)
	_, err := e.v.Verify(r)
	require.NoError(t, err)
	r = e.signed(t, tap.TagBrowser)
	e.clock.Add(8*time.Minute + tap.DefaultSkew - time.Second)
	_, err = e.v.Verify(r)
	require.NoError(t, err)
}

// TestNonceExpires: once a signature has expired, its nonce is forgotten.
func TestNonceExpires(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := tap.NewMemoryNonceStore(c.Now, 2)
	ctx := t.Context()
	require.NoError(t, s.Use(ctx, "a", c.Now().Add(time.Minute)))
	require.ErrorIs(t, s.Use(ctx, "a", c.Now().Add(time.Minute)), tap.ErrReplay)
	require.NoError(t, s.Use(ctx, "b", c.Now().Add(time.Minute)))
	require.ErrorIs(t, s.Use(ctx, "c", c.Now().Add(time.Minute)), tap.ErrStoreFull)
	c.Add(time.Minute)
	require.NoError(t, s.Use(ctx, "a", c.Now().Add(time.Minute)))
	require.NoError(t, s.Use(ctx, "c", c.Now().Add(time.Minute)))
}

// TestNonceFarExpiry: an expiry beyond what Unix nanoseconds hold (after
// the year 2262) keeps the nonce rather than wrapping into the past, and
// one before 1678 is already expired.
func TestNonceFarExpiry(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := tap.NewMemoryNonceStore(c.Now, 0)
	ctx := t.Context()
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Use(ctx, "future", far))
	require.ErrorIs(t, s.Use(ctx, "future", far), tap.ErrReplay)
	c.Add(100 * 365 * 24 * time.Hour)
	require.ErrorIs(t, s.Use(ctx, "future", far), tap.ErrReplay, "still within its expiry")
	past := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Use(ctx, "past", past))
	require.NoError(t, s.Use(ctx, "past", past), "an expired nonce is not a replay")
	require.NoError(t, s.Use(ctx, "zero", time.Time{}))
	require.NoError(t, s.Use(ctx, "zero", time.Time{}))
}

// TestSignRejectsBadInput: bad tags and options fail and leave the request
// unchanged.
func TestSignRejectsBadInput(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	s, err := tap.NewSigner(ed)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	require.Error(t, s.Sign(r, "agent-thief"))
	require.Error(t, s.Sign(r, tap.TagWebBotAuth), "web-bot-auth needs a Signature-Agent")
	assert.Empty(t, r.Header)
	r.Header.Set("Signature-Input", "(((")
	require.Error(t, s.Sign(r, tap.TagBrowser))
	assert.Equal(t, []string{"((("}, r.Header.Values("Signature-Input"))
	assert.Empty(t, r.Header.Get("Signature"))

	for _, o := range []tap.SignerOption{
		tap.WithKeyID(""), tap.WithLabel("Sig"), tap.WithValidity(0), tap.WithSignerClock(nil),
		tap.WithRandom(nil), tap.WithDefaultTag("x"), tap.WithSignatureAgent("http://agent.example"),
		tap.WithSignatureAgent("https://agent.example/keys"), tap.WithAlgorithm(httpsig.HMACSHA256),
		tap.WithAlgorithm(httpsig.ECDSAP256SHA256),
	} {
		_, err := tap.NewSigner(ed, o)
		assert.Error(t, err)
	}
	_, err = tap.NewSigner(nil)
	assert.ErrorIs(t, err, httpsig.ErrInvalidKey)
}

// TestResignReplaces: signing twice replaces the Signer's own signature and
// keeps another signer's.
func TestResignReplaces(t *testing.T) {
	t.Parallel()
	ed, ec, _ := testKeys(t)
	other, err := tap.NewSigner(ec, tap.WithLabel("other"))
	require.NoError(t, err)
	e := newEnv(t, ed, nil)
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	require.NoError(t, other.Sign(r, tap.TagBrowser))
	require.NoError(t, e.signer.Sign(r, tap.TagBrowser))
	require.NoError(t, e.signer.Sign(r, tap.TagPayer))
	sigs, err := httpsig.Parse(r.Header)
	require.NoError(t, err)
	require.Len(t, sigs, 2)
	assert.Equal(t, "other", sigs[0].Label)
	assert.Equal(t, "sig1", sigs[1].Label)
	id, err := e.v.Verify(r, tap.TagPayer)
	require.NoError(t, err)
	assert.Equal(t, "sig1", id.Label)
}

// TestTransportSignError: a request the Signer cannot sign fails before it
// is sent.
func TestTransportSignError(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	s, err := tap.NewSigner(ed)
	require.NoError(t, err)
	sent := false
	rt := s.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) { sent = true; return nil, errors.New("unreachable") }))
	req, err := http.NewRequestWithContext(tap.WithTag(t.Context(), tap.TagWebBotAuth), http.MethodGet, "https://shop.example/", io.NopCloser(strings.NewReader("x")))
	require.NoError(t, err)
	_, err = rt.RoundTrip(req)
	require.Error(t, err)
	assert.False(t, sent)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
