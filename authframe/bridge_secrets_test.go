package authframe_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/internal/testutil"
)

// readmeSecrets returns the variables the README's configuration table
// calls secret.
func readmeSecrets(t *testing.T) (names []string, readme string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `(VISA_[A-Z0-9_]+)` \\|.*\\(secret\\) \\|$")
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	require.Contains(t, names, "VISA_VTS_API_KEY", "the README's table is where the test looks")
	return names, string(b)
}

// bridgeOutputs renders everything the Bridge serves to the browser for
// one channel: the page with its headers, its script and its style.
func bridgeOutputs(t *testing.T, cfg visa.Config) string {
	t.Helper()
	b, err := authframe.NewBridge(cfg)
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	ch, err := b.NewChannel()
	require.NoError(t, err)
	var all strings.Builder
	for _, path := range []string{"/page?channel=" + ch, "/bridge.js", "/bridge.css"} {
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		for k, v := range rec.Header() {
			all.WriteString(k + ": " + strings.Join(v, ", ") + "\n")
		}
		all.WriteString(rec.Body.String() + "\n")
	}
	return all.String()
}

// configWithEverySecret sets every variable the README calls secret to a
// distinctive value, plus what a Bridge needs.
func configWithEverySecret(t *testing.T, names []string, extra map[string]string) (visa.Config, *testutil.Secrets) {
	t.Helper()
	sec := testutil.NewSecrets()
	env := map[string]string{
		"VISA_AUTH_BASE_URL": "https://sbx.vts.auth.visa.com",
		"VISA_CLIENT_APP_ID": "SBXAPP01",
	}
	// Keys must be well formed (every client validates the whole Config
	// once, with visa.Config.ValidateFor): fresh PEM keys and a matching
	// certificate, each a distinctive secret too.
	mleKey, tlsKey, tlsCert := testPEMs(t)
	wellFormed := map[string]string{"VISA_MLE_CLIENT_KEY": mleKey, "VISA_TLS_CLIENT_KEY": tlsKey}
	env["VISA_TLS_CLIENT_CERT"] = tlsCert
	env["VISA_TLS_USER_ID"] = "readme-user"
	for _, n := range names {
		v := "readme-secret-" + strings.ToLower(strings.TrimPrefix(n, "VISA_")) + "-7f3a9c"
		if w, ok := wellFormed[n]; ok {
			v = w
		}
		env[n] = v
		sec.Add(n, v)
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := visa.ConfigFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	return cfg, sec
}

// TestBridgePageHoldsNoReadmeSecret is the leak it guards against: the page served
// to the cardholder carried the VTS api key, which the README calls
// secret. With the iFrame's own key configured, nothing the README calls
// secret reaches the browser.
func TestBridgePageHoldsNoReadmeSecret(t *testing.T) {
	t.Parallel()
	names, _ := readmeSecrets(t)
	const frameKey = "SBX-IFRAME-SCOPED-KEY-0042"
	cfg, sec := configWithEverySecret(t, names, map[string]string{"VISA_AUTH_FRAME_API_KEY": frameKey})
	out := bridgeOutputs(t, cfg)
	sec.Check(t, "the Bridge page", out, testutil.Text)
	assert.True(t, strings.Contains(out, "apikey="+frameKey), "the iFrame URL carries the iFrame's key")

	// The server-side frame uses the same key.
	u, err := authframe.FrameURL(cfg)
	require.NoError(t, err)
	assert.Contains(t, u, "apikey="+frameKey)
	sec.Check(t, "the iFrame URL", u, testutil.Text)
}

// TestBridgeDefaultKeyIsDisclosed: unset, the iFrame's key is the VTS api
// key, and the README says plainly that the browser then sees it.
func TestBridgeDefaultKeyIsDisclosed(t *testing.T) {
	t.Parallel()
	names, readme := readmeSecrets(t)
	cfg, _ := configWithEverySecret(t, names, nil)
	out := bridgeOutputs(t, cfg)
	assert.True(t, strings.Contains(out, "apikey="+cfg.VTS.APIKey.Reveal()), "unset, the iFrame's key is the VTS api key")
	vtsRow := regexp.MustCompile("(?m)^\\| `VISA_VTS_API_KEY` \\|.*$").FindString(readme)
	assert.Contains(t, vtsRow, "browser", "the README's row says the browser sees the VTS key when it is the iFrame's")
	assert.Contains(t, vtsRow, "VISA_AUTH_FRAME_API_KEY")
	frameRow := regexp.MustCompile("(?m)^\\| `VISA_AUTH_FRAME_API_KEY` \\|.*$").FindString(readme)
	require.NotEmpty(t, frameRow, "the README documents VISA_AUTH_FRAME_API_KEY")
	assert.NotContains(t, frameRow, "(secret)", "a key every cardholder's browser sees is not called secret")
	for _, k := range visa.EnvVars {
		if k.Name == "VISA_AUTH_FRAME_API_KEY" {
			assert.False(t, k.Secret)
		}
	}
}

// testPEMs returns a fresh RSA private key (PKCS#8 PEM) for MLE, and a
// mutual-TLS key with its self-signed certificate.
func testPEMs(t *testing.T) (mleKey, tlsKey, tlsCert string) {
	t.Helper()
	keyPEM := func() (*rsa.PrivateKey, string) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	_, mleKey = keyPEM()
	k, tlsKey := keyPEM()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	return mleKey, tlsKey, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
