package httpsig_test

import (
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap/httpsig"
)

// TestComponentValues: the derived components and field parameters of RFC
// 9421 §2.1–§2.2 (values as the RFC's examples give them).
func TestComponentValues(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "https://www.Example.com:443/path%2Fa?param=value&foo=bar&baz=batman&qux=&var=this%20is%20a%20big%0Aand%20long", nil)
	r.Header.Add("X-Empty-Header", "")
	r.Header.Add("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
	r.Header.Add("Cache-Control", "max-age=60")
	r.Header.Add("Cache-Control", "   must-revalidate")
	r.Header.Add("Signature-Agent", `a="https://one.example", b="https://two.example"`)
	r.Header.Add("Content-Digest", `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,  sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:`)
	for id, want := range map[string]string{
		`"@method"`:                      "POST",
		`"@scheme"`:                      "https",
		`"@authority"`:                   "www.example.com",
		`"@target-uri"`:                  "https://www.Example.com:443/path%2Fa?param=value&foo=bar&baz=batman&qux=&var=this%20is%20a%20big%0Aand%20long",
		`"@request-target"`:              "/path%2Fa?param=value&foo=bar&baz=batman&qux=&var=this%20is%20a%20big%0Aand%20long",
		`"@path"`:                        "/path%2Fa",
		`"@query"`:                       "?param=value&foo=bar&baz=batman&qux=&var=this%20is%20a%20big%0Aand%20long",
		`"@query-param";name="baz"`:      "batman",
		`"@query-param";name="qux"`:      "",
		`"@query-param";name="var"`:      "this%20is%20a%20big%0Aand%20long",
		`"x-empty-header"`:               "",
		`"cache-control"`:                "max-age=60, must-revalidate",
		`"example-dict"`:                 "a=1,    b=2;x=1;y=2,   c=(a   b   c)",
		`"signature-agent";key="b"`:      `"https://two.example"`,
		`"signature-agent";sf`:           `a="https://one.example", b="https://two.example"`,
		`"content-digest";key="sha-256"`: ":X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
		`"cache-control";bs`:             ":bWF4LWFnZT02MA==:, :bXVzdC1yZXZhbGlkYXRl:",
	} {
		c, err := httpsig.ParseComponent(id)
		require.NoError(t, err, id)
		s, err := httpsig.Sign(httpsig.Message{Request: r}, "x", []httpsig.Component{c}, httpsig.Params{}, hmacKey(t))
		require.NoError(t, err, id)
		base, err := s.Base(httpsig.Message{Request: r})
		require.NoError(t, err)
		line, _, _ := strings.Cut(string(base), "\n")
		assert.Equal(t, id+": "+want, line)
	}
	plain := httptest.NewRequest(http.MethodGet, "http://shop.example:80/", nil)
	plain.URL.Scheme, plain.URL.Host = "", "" // as a server sees it
	for id, want := range map[string]string{`"@authority"`: "shop.example", `"@scheme"`: "http", `"@query"`: "?", `"@path"`: "/"} {
		s, err := httpsig.Sign(httpsig.Message{Request: plain}, "x", httpsig.MustComponents(id), httpsig.Params{}, hmacKey(t))
		require.NoError(t, err)
		base, _ := s.Base(httpsig.Message{Request: plain})
		assert.True(t, strings.HasPrefix(string(base), id+": "+want+"\n"), "%s: %q", id, base)
	}
}

func hmacKey(t *testing.T) *httpsig.SigningKey {
	k, err := httpsig.NewHMACKey([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	return k
}

// TestBadComponents: what cannot be covered is an error, and signing
// leaves the request unchanged.
func TestBadComponents(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/?a=1&a=2", nil)
	r.Header.Set("Example", "v")
	for id, want := range map[string]error{
		`"@unknown"`:                httpsig.ErrUnsupportedComponent,
		`"Example"`:                 httpsig.ErrMalformed,
		`"example";tr`:              httpsig.ErrUnsupportedComponent,
		`"example";sf`:              httpsig.ErrUnsupportedComponent,
		`"example";key="a"`:         httpsig.ErrUnsupportedComponent,
		`"@query-param"`:            httpsig.ErrMalformed,
		`"@query-param";name="a"`:   httpsig.ErrMissingComponent,
		`"@query-param";name="zz"`:  httpsig.ErrMissingComponent,
		`"@status"`:                 httpsig.ErrMissingComponent,
		`"missing"`:                 httpsig.ErrMissingComponent,
		`"@method";sf`:              httpsig.ErrMalformed,
		`"example";bs;sf`:           httpsig.ErrMalformed,
		`"signature-agent";key="x"`: httpsig.ErrMissingComponent,
		`42`:                        httpsig.ErrMalformed,
		`"x";sf=?0`:                 httpsig.ErrMalformed,
		`"x";key=1`:                 httpsig.ErrMalformed,
	} {
		c, err := httpsig.ParseComponent(id)
		if err == nil {
			err = httpsig.SignRequest(r, "x", []httpsig.Component{c}, httpsig.Params{}, hmacKey(t))
		}
		assert.ErrorIs(t, err, want, id)
	}
	assert.Empty(t, r.Header.Get("Signature-Input"))
	err := httpsig.SignRequest(r, "x", httpsig.MustComponents(`"example"`, `"example"`), httpsig.Params{}, hmacKey(t))
	assert.ErrorIs(t, err, httpsig.ErrMalformed, "duplicate components")
	for _, l := range []string{"", "Sig", "1a", strings.Repeat("a", 65)} {
		assert.ErrorIs(t, httpsig.SignRequest(r, l, nil, httpsig.Params{}, hmacKey(t)), httpsig.ErrMalformed, l)
	}
	require.NoError(t, httpsig.SignRequest(r, "x", nil, httpsig.Params{}, hmacKey(t)))
	assert.ErrorIs(t, httpsig.SignRequest(r, "x", nil, httpsig.Params{}, hmacKey(t)), httpsig.ErrMalformed, "label taken")
	assert.ErrorIs(t, httpsig.SignRequest(r, "y", nil, httpsig.Params{Alg: httpsig.Ed25519}, hmacKey(t)), httpsig.ErrAlgorithmMismatch)
	assert.Panics(t, func() { httpsig.MustComponents(`"@nope"`) })
}

// TestKeys: keys must fit their algorithm.
func TestKeys(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(nil)
	_, err := httpsig.NewSigningKey(httpsig.RSAPSSSHA512, ed)
	assert.ErrorIs(t, err, httpsig.ErrInvalidKey)
	_, err = httpsig.NewSigningKey("nope", ed)
	assert.ErrorIs(t, err, httpsig.ErrUnsupportedAlgorithm)
	_, err = httpsig.NewHMACKey([]byte("short"))
	assert.ErrorIs(t, err, httpsig.ErrInvalidKey)
	_, err = httpsig.NewVerifyingKey(httpsig.HMACSHA256, ed.Public())
	assert.ErrorIs(t, err, httpsig.ErrInvalidKey)
	_, err = httpsig.NewVerifyingKey("", "not a key")
	assert.ErrorIs(t, err, httpsig.ErrInvalidKey)
	k, err := httpsig.NewSigningKey("", ed)
	require.NoError(t, err)
	assert.Equal(t, httpsig.Ed25519, k.Algorithm())
	assert.Len(t, httpsig.Algorithms(), 6)
	assert.ErrorIs(t, k.VerifyingKey().Verify([]byte("base"), []byte("short")), httpsig.ErrInvalidSignature)
}
