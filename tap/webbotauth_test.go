package tap_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// The Web Bot Auth test vectors of draft-ietf-webbotauth-httpsig-protocol
// (appendix "Test Vectors", editor's copy), over RFC 9421's test-request
// with the RFC's §B.1.4 Ed25519 key, whose JWK thumbprint is the keyid.
const (
	wbaThumbprint = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"
	wbaRequest    = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\nHost: example.com\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n" +
		`{"hello": "world"}`
)

var wbaVectors = []struct {
	name, agent, input, signature string
}{
	{
		name:  "EdDSA, Signature-Agent dictionary",
		agent: `agent2="https://signature-agent.test"`,
		input: `sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="` + wbaThumbprint +
			`";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-auth"`,
		signature: `sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:`,
	},
	{
		name:  "EdDSA, legacy Signature-Agent string",
		agent: `"https://signature-agent.test"`,
		input: `sig2=("@authority" "signature-agent");created=1735689600;keyid="` + wbaThumbprint +
			`";alg="ed25519";expires=1735693200;nonce="e8N7S2MFd/qrd6T2R3tdfAuuANngKI7LFtKYI/vowzk4lAZYadIX6wW25MwG7DCT9RUKAJ0qVkU0mEeLElW1qg==";tag="web-bot-auth"`,
		signature: `sig2=:jdq0SqOwHdyHr9+r5jw3iYZH6aNGKijYp/EstF4RQTQdi5N5YYKrD+mCT1HA1nZDsi6nJKuHxUi/5Syp3rLWBA==:`,
	},
}

// TestWebBotAuthVectors verifies the draft's Ed25519 examples with the
// Verifier (web-bot-auth tag, the long validity the vectors use).
func TestWebBotAuthVectors(t *testing.T) {
	t.Parallel()
	vk, err := httpsig.NewVerifyingKey(httpsig.Ed25519, rfcEdKey(t).Public())
	require.NoError(t, err)
	for _, tc := range wbaVectors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := tap.NewVerifier(tap.StaticKeys{wbaThumbprint: vk}, tap.WithTags(tap.TagWebBotAuth),
				tap.WithClock(func() time.Time { return time.Unix(1735689660, 0) }), tap.WithMaxValidity(100*365*24*time.Hour))
			require.NoError(t, err)
			r := readRequest(t, wbaRequest)
			r.Header.Set("Signature-Agent", tc.agent)
			r.Header.Set("Signature-Input", tc.input)
			r.Header.Set("Signature", tc.signature)
			id, err := v.Verify(r)
			require.NoError(t, err)
			assert.Equal(t, tap.TagWebBotAuth, id.Tag)
			assert.Equal(t, "https://signature-agent.test", id.Agent)

			// Another Signature-Agent breaks the signature.
			r.Header.Set("Signature-Agent", strings.Replace(tc.agent, "signature-agent.test", "impostor.test", 1))
			_, err = v.Verify(r)
			assert.ErrorIs(t, err, tap.ErrInvalidSignature)
		})
	}
}

// TestThumbprintRFC7638 computes the thumbprint of the RFC 9421 §B.1.4
// Ed25519 key as RFC 7638 §3 (with RFC 8037 §A.3 for OKP keys) defines it:
// SHA-256 over the required members in lexicographic order, no
// whitespace, base64url without padding.
func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	pub := []byte(rfcEdKey(t).Public().(ed25519.PublicKey))
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	assert.Equal(t, `{"crv":"Ed25519","kty":"OKP","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}`, canonical)
	sum := sha256.Sum256([]byte(canonical))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	assert.Equal(t, wbaThumbprint, want)
	got, err := tap.Thumbprint(rfcEdKey(t).Public())
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// directoryServer serves a Signer's directory over TLS and counts fetches.
func directoryServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestWebBotAuthDirectory: an agent publishes its key directory and signs
// with the Web Bot Auth profile; a merchant resolves the key from the
// Signature-Agent directory (cached) and learns the agent's identity.
func TestWebBotAuthDirectory(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	c := newClock()
	mux := http.NewServeMux()
	srv, fetches := directoryServer(t, mux)
	s, err := tap.NewSigner(ed, tap.WithSignerClock(c.Now), tap.WithSignatureAgent(srv.URL), tap.WithKeyID("registry-id"))
	require.NoError(t, err)
	mux.Handle(tap.DirectoryPath, s.DirectoryHandler())

	dirs, err := tap.NewDirectories(tap.WithHTTPClient(srv.Client()), tap.WithFetchClock(c.Now))
	require.NoError(t, err)
	v, err := tap.NewVerifier(dirs, tap.WithClock(c.Now), tap.WithTags(tap.TagWebBotAuth))
	require.NoError(t, err)
	for i := range 3 {
		h, err := s.Headers(http.MethodGet, "https://shop.example/catalog", tap.TagWebBotAuth)
		require.NoError(t, err)
		assert.Equal(t, `sig1="`+srv.URL+`"`, h.Get("Signature-Agent"))
		assert.Contains(t, h.Get("Signature-Input"), `"signature-agent";key="sig1"`)
		assert.Contains(t, h.Get("Signature-Input"), `keyid="`+s.Thumbprint()+`"`, "Web Bot Auth uses the thumbprint, whatever WithKeyID says")
		r := httptest.NewRequest(http.MethodGet, "https://shop.example/catalog", nil)
		r.Header = h
		id, err := v.Verify(r)
		require.NoError(t, err, "request %d", i)
		assert.Equal(t, srv.URL+tap.DirectoryPath, id.Source)
		assert.Equal(t, srv.URL, id.Agent)
	}
	assert.Equal(t, int32(1), fetches.Load(), "the directory is fetched once and cached")

	// The directory answers with its media type and the thumbprint as kid.
	resp, err := srv.Client().Get(srv.URL + tap.DirectoryPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, tap.DirectoryMediaType, resp.Header.Get("Content-Type"))
	var set struct{ Keys []struct{ Kid, Kty string } }
	require.NoError(t, jsonDecode(resp.Body, &set))
	require.Len(t, set.Keys, 1)
	assert.Equal(t, s.Thumbprint(), set.Keys[0].Kid)
}

// TestDirectoryRefusals: a directory that redirects, is too large, is not a
// JWKS, fails, lacks the key or is not an https origin is refused, and the
// failure is cached for a while.
func TestDirectoryRefusals(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	for _, tc := range []struct {
		name   string
		serve  http.HandlerFunc
		reason error
	}{
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example"+tap.DirectoryPath, http.StatusFound)
		}, tap.ErrDirectoryRedirect},
		{"oversized", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tap.DirectoryMediaType)
			_, _ = w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", tap.DefaultMaxKeySetBytes) + `"}`))
		}, tap.ErrKeyUnavailable},
		{"not json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tap.DirectoryMediaType)
			_, _ = w.Write([]byte(`<html>`))
		}, tap.ErrKeyUnavailable},
		{"wrong media type", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`{"keys":[]}`))
		}, tap.ErrKeyUnavailable},
		{"server error", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, tap.ErrKeyUnavailable},
		{"key absent", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tap.DirectoryMediaType)
			_, _ = w.Write([]byte(`{"keys":[]}`))
		}, tap.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			srv, fetches := directoryServer(t, tc.serve)
			s, err := tap.NewSigner(ed, tap.WithSignerClock(c.Now), tap.WithSignatureAgent(srv.URL))
			require.NoError(t, err)
			dirs, err := tap.NewDirectories(tap.WithHTTPClient(srv.Client()), tap.WithFetchClock(c.Now))
			require.NoError(t, err)
			v, err := tap.NewVerifier(dirs, tap.WithClock(c.Now), tap.WithTags(tap.TagWebBotAuth))
			require.NoError(t, err)
			for range 2 {
				h, err := s.Headers(http.MethodGet, "https://shop.example/", tap.TagWebBotAuth)
				require.NoError(t, err)
				r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
				r.Header = h
				_, err = v.Verify(r)
				require.ErrorIs(t, err, tc.reason)
				assert.Equal(t, http.StatusUnauthorized, tap.Status(err))
			}
			assert.Equal(t, int32(1), fetches.Load(), "a failure is remembered, not refetched at once")
		})
	}
	t.Run("not https", func(t *testing.T) {
		t.Parallel()
		dirs, err := tap.NewDirectories()
		require.NoError(t, err)
		_, err = dirs.ResolveKey(t.Context(), tap.KeyQuery{KeyID: "k", Agent: "http://agent.example"})
		require.ErrorIs(t, err, tap.ErrUnknownKey)
		_, err = dirs.ResolveKey(t.Context(), tap.KeyQuery{KeyID: "k", Agent: "https://agent.example/path"})
		require.ErrorIs(t, err, tap.ErrUnknownKey)
	})
	t.Run("origin not allowed", func(t *testing.T) {
		t.Parallel()
		dirs, err := tap.NewDirectories(tap.WithAllowedAgents("https://good.example"))
		require.NoError(t, err)
		_, err = dirs.ResolveKey(t.Context(), tap.KeyQuery{KeyID: "k", Agent: "https://evil.example"})
		require.ErrorIs(t, err, tap.ErrUnknownKey)
	})
}

// TestKeyRotation: a keyid missing from a cached set is fetched again
// after the refresh interval, so a rotated key starts to verify.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	ed, ec, _ := testKeys(t)
	c := newClock()
	var current atomic.Value
	srv, fetches := directoryServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().(http.Handler).ServeHTTP(w, r)
	}))
	old, err := tap.DirectoryHandler(ed.Public())
	require.NoError(t, err)
	current.Store(old)
	jwks, err := tap.NewJWKS(srv.URL+tap.DirectoryPath, tap.WithHTTPClient(srv.Client()), tap.WithFetchClock(c.Now))
	require.NoError(t, err)
	newTP, err := tap.Thumbprint(ec.Public())
	require.NoError(t, err)
	q := tap.KeyQuery{KeyID: newTP, Alg: httpsig.ECDSAP256SHA256}
	_, err = jwks.ResolveKey(t.Context(), q)
	require.ErrorIs(t, err, tap.ErrUnknownKey)
	both, err := tap.DirectoryHandler(ed.Public(), ec.Public())
	require.NoError(t, err)
	current.Store(both)
	_, err = jwks.ResolveKey(t.Context(), q)
	require.ErrorIs(t, err, tap.ErrUnknownKey, "within the refresh interval the cached set answers")
	c.Add(tap.DefaultRefreshInterval)
	k, err := jwks.ResolveKey(t.Context(), q)
	require.NoError(t, err)
	assert.Equal(t, httpsig.ECDSAP256SHA256, k.Key.Algorithm())
	assert.Equal(t, int32(2), fetches.Load())
}

// TestResolvers: the first resolver that knows the key answers.
func TestResolvers(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	vk, err := httpsig.NewVerifyingKey("", ed.Public())
	require.NoError(t, err)
	rs := tap.Resolvers{tap.StaticKeys{}, tap.StaticKeys{"b": vk}}
	k, err := rs.ResolveKey(t.Context(), tap.KeyQuery{KeyID: "b"})
	require.NoError(t, err)
	assert.Same(t, vk, k.Key)
	_, err = rs.ResolveKey(t.Context(), tap.KeyQuery{KeyID: "c"})
	assert.ErrorIs(t, err, tap.ErrUnknownKey)
	_, err = tap.NewJWKS("http://keys.example/jwks")
	assert.Error(t, err, "plain http only on loopback")
	_, err = tap.NewJWKS(fmt.Sprintf("http://127.0.0.1:%d/jwks", 1))
	assert.NoError(t, err)
}
