package tap_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// TestNoKeyMaterialInOutput: keys, signers, logs, errors and refusals never
// show a private key or an HMAC secret, in any format.
func TestNoKeyMaterialInOutput(t *testing.T) {
	t.Parallel()
	ed, _, rs := testKeys(t)
	secrets := testutil.NewSecrets()
	seed := ed.(ed25519.PrivateKey).Seed()
	secrets.Add("ed25519 seed (hex)", hex.EncodeToString(seed))
	secrets.Add("ed25519 seed (base64)", base64.StdEncoding.EncodeToString(seed)[:40])
	secrets.Add("ed25519 seed (base64url)", base64.RawURLEncoding.EncodeToString(seed)[:40])
	der, err := x509.MarshalPKCS8PrivateKey(rs)
	require.NoError(t, err)
	secrets.Add("RSA private key (PKCS#8)", base64.StdEncoding.EncodeToString(der)[200:260])
	secrets.Add("RSA private exponent", rs.(*rsa.PrivateKey).D.String())
	hmacSecret := bytes.Repeat([]byte{0x5a, 0xc3, 0x11, 0x7e}, 10)
	secrets.Add("HMAC secret (base64)", base64.StdEncoding.EncodeToString(hmacSecret))
	secrets.Add("HMAC secret (hex)", hex.EncodeToString(hmacSecret))
	secrets.Add("HMAC secret (raw)", string(hmacSecret))

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	edKey, err := httpsig.NewSigningKey("", ed)
	require.NoError(t, err)
	rsKey, err := httpsig.NewSigningKey(httpsig.RSAPSSSHA256, rs)
	require.NoError(t, err)
	hm, err := httpsig.NewHMACKey(hmacSecret)
	require.NoError(t, err)
	signer, err := tap.NewSigner(rs, tap.WithKeyID("agent"))
	require.NoError(t, err)
	var out bytes.Buffer
	for _, v := range []any{edKey, rsKey, hm, hm.VerifyingKey(), signer} {
		fmt.Fprintf(&out, "%v %+v %#v %s\n", v, v, v, v)
		logger.Info("key", "k", v)
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out.Write(b)
	}

	// A refused request, logged and answered.
	v, err := tap.NewVerifier(tap.StaticKeys{}, tap.WithLogger(logger))
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	require.NoError(t, signer.Sign(r, tap.TagPayer))
	w := httptest.NewRecorder()
	v.Middleware()(http.NotFoundHandler()).ServeHTTP(w, r)
	out.Write(w.Body.Bytes())
	_, verr := v.Verify(r)
	fmt.Fprintf(&out, "%v %+v\n", verr, verr)

	require.NotEmpty(t, secrets.Find("x"+hex.EncodeToString(seed), testutil.LongOnly), "the scanner finds a leak")
	long, _, _ := secrets.Counts()
	require.Positive(t, long)
	secrets.Check(t, "printed keys and signers", out.String(), testutil.LongOnly)
	secrets.Check(t, "logs", logs.String(), testutil.LongOnly)
	require.NotContains(t, logs.String(), r.Header.Get("Signature")[6:40], "the log never shows a signature")
}
