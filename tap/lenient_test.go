package tap_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// visaSampleRequest signs a request the way Visa's TAP sample agent does:
// Signature-Input in a non-canonical form (spaces after ';', camelCase
// keyId), the signature base built from that text as sent, @path carrying
// the query string, and RSA-PSS with the longest salt the key allows.
func visaSampleRequest(t *testing.T, key crypto.Signer, alg string, c *clock) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "https://merchant.example/product/1?ref=agent", nil)
	created := c.Now().Unix()
	params := fmt.Sprintf(`("@authority" "@path"); created=%d; expires=%d; keyId="primary"; alg="%s"; nonce="5d4a8c1e-4b7e-4f43-9a55-0c6f5e1c2d3b"; tag="agent-browser-auth"`,
		created, created+480, alg)
	base := "\"@authority\": merchant.example\n\"@path\": /product/1?ref=agent\n\"@signature-params\": " + params
	var sig []byte
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		d := sha256.Sum256([]byte(base))
		sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(base))
	}
	require.NoError(t, err)
	r.Header.Set("Signature-Input", "sig2="+params)
	r.Header.Set("Signature", "sig2=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return r
}

// TestLenientVisaSample: the lenient mode verifies what Visa's sample
// sends; the default mode refuses it as malformed.
func TestLenientVisaSample(t *testing.T) {
	t.Parallel()
	ed, _, rs := testKeys(t)
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{"rsa-pss-sha256", rs}, {"ed25519", ed}} {
		t.Run(tc.alg, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			vk, err := httpsig.NewVerifyingKey(httpsig.Algorithm(tc.alg), tc.key.Public())
			require.NoError(t, err)
			keys := tap.StaticKeys{"primary": vk}
			strict, err := tap.NewVerifier(keys, tap.WithClock(c.Now))
			require.NoError(t, err)
			lenient, err := tap.NewVerifier(keys, tap.WithClock(c.Now), tap.WithLenient())
			require.NoError(t, err)

			_, err = strict.Verify(visaSampleRequest(t, tc.key, tc.alg, c))
			require.ErrorIs(t, err, tap.ErrMalformed)
			assert.Equal(t, http.StatusBadRequest, tap.Status(err))

			r := visaSampleRequest(t, tc.key, tc.alg, c)
			id, err := lenient.Verify(r)
			require.NoError(t, err)
			assert.Equal(t, "primary", id.KeyID)
			assert.Equal(t, tap.TagBrowser, id.Tag)
			_, err = lenient.Verify(r)
			require.ErrorIs(t, err, tap.ErrReplay, "lenient mode checks nonces too")

			// Lenient is not lax: tampering still fails.
			r = visaSampleRequest(t, tc.key, tc.alg, c)
			r.URL.RawQuery = "ref=other"
			_, err = lenient.Verify(r)
			require.ErrorIs(t, err, tap.ErrInvalidSignature)
			c.Add(9 * time.Minute)
			_, err = lenient.Verify(visaSampleRequest(t, tc.key, tc.alg, newClock()))
			require.ErrorIs(t, err, tap.ErrExpired)

			// The lenient verifier still takes canonical signatures.
			s, err := tap.NewSigner(tc.key, tap.WithKeyID("primary"), tap.WithAlgorithm(httpsig.Algorithm(tc.alg)), tap.WithSignerClock(c.Now))
			require.NoError(t, err)
			r = httptest.NewRequest(http.MethodGet, "https://merchant.example/product/1?ref=agent", nil)
			require.NoError(t, s.Sign(r, tap.TagPayer))
			_, err = lenient.Verify(r)
			require.NoError(t, err)
		})
	}
}

// TestLenientRejectsDuplicates: the relaxed parser still refuses a
// parameter given twice.
func TestLenientRejectsDuplicates(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`sig2=("@authority" "@path"); tag="agent-browser-auth"; Tag="agent-payer-auth"`,
		`sig2=("@authority" "@path"`,
		`sig2=("@authority" "@path") created=1`,
		`=("@authority")`,
		`sig2=("@authority");created=1, sig2=("@path");created=2`,
	} {
		h := http.Header{"Signature-Input": {in}, "Signature": {"sig2=:AAAA:"}}
		_, err := httpsig.Parser{Lenient: true}.Parse(h)
		assert.ErrorIs(t, err, httpsig.ErrMalformed, in)
	}
}
