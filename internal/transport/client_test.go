package transport

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		product visa.Product
		mutate  func(*visa.Config)
	}{
		{"unknown product", "Auth", func(*visa.Config) {}},
		{"empty product", "", func(*visa.Config) {}},
		{"VIC api key", visa.ProductVIC, func(c *visa.Config) { c.VIC.APIKey = visa.Secret{} }},
		{"VIC shared secret", visa.ProductVIC, func(c *visa.Config) { c.VIC.SharedSecret = visa.Secret{} }},
		{"VTS api key", visa.ProductVTS, func(c *visa.Config) { c.VTS.APIKey = visa.Secret{} }},
		{"VTS shared secret", visa.ProductVTS, func(c *visa.Config) { c.VTS.SharedSecret = visa.Secret{} }},
		{"MLE key id", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEKeyID = "" }},
		{"MLE key id line break", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEKeyID = "a\r\nX-Evil: 1" }},
		{"MLE server cert missing", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEServerCertPEM = nil }},
		{"MLE server cert garbage", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEServerCertPEM = []byte("-----BEGIN nothing") }},
		{"MLE private key missing", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEClientPrivateKeyPEM = visa.Secret{} }},
		{"MLE private key garbage", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret("nope") }},
		{"MLE enc", visa.ProductVIC, func(c *visa.Config) { c.VIC.MLEEnc = "A128CBC-HS256" }},
		{"base URL http non-loopback", visa.ProductVTS, func(c *visa.Config) { c.VTSBaseURL = "http://cert.api.visa.com" }},
		{"base URL scheme", visa.ProductVIC, func(c *visa.Config) { c.VICBaseURL = "ftp://x" }},
		{"base URL query", visa.ProductVIC, func(c *visa.Config) { c.VICBaseURL = "https://x/?apikey=1" }},
		{"base URL user info", visa.ProductVIC, func(c *visa.Config) { c.VICBaseURL = "https://u:p@x" }},
		{"base URL no host", visa.ProductVIC, func(c *visa.Config) { c.VICBaseURL = "https://" }},
		{"production without URLs", visa.ProductVTS, func(c *visa.Config) { c.Environment = visa.Production; c.VTSBaseURL = "" }},
		{"TLS 1.1 minimum", visa.ProductVTS, func(c *visa.Config) { c.TLS.MinVersion = tls.VersionTLS11 }},
		{"client cert without key", visa.ProductVTS, func(c *visa.Config) { c.TLS.ClientCertPEM = []byte("x") }},
		{"client key garbage", visa.ProductVTS, func(c *visa.Config) {
			c.TLS.ClientCertPEM = []byte("x")
			c.TLS.ClientKeyPEM = visa.NewSecret("y")
		}},
		{"root CAs garbage", visa.ProductVTS, func(c *visa.Config) { c.TLS.RootCAsPEM = []byte("x") }},
		{"basic user with colon", visa.ProductVTS, func(c *visa.Config) { c.TLS.UserID = "a:b" }},
		{"negative timeout", visa.ProductVTS, func(c *visa.Config) { c.Timeout = -1 }},
		{"negative body limit", visa.ProductVTS, func(c *visa.Config) { c.MaxResponseBytes = -1 }},
		{"negative retry", visa.ProductVTS, func(c *visa.Config) { c.Retry.MaxBackoff = -time.Second }},
		{"user agent line break", visa.ProductVTS, func(c *visa.Config) { c.UserAgentSuffix = "a\nb" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("https://api.example.test")
			tc.mutate(&cfg)
			c, err := New(cfg, tc.product)
			require.ErrorIs(t, err, visa.ErrInvalidInput)
			assert.Nil(t, c)
			assert.NotContains(t, err.Error(), testVICKey)
			assert.NotContains(t, err.Error(), testVTSKey)
		})
	}
	t.Run("jwe cause reachable", func(t *testing.T) {
		t.Parallel()
		// Well formed for visa.Config, refused by jwe: a 1024-bit key.
		small, err := rsa.GenerateKey(rand.Reader, 1024) // too small on purpose
		require.NoError(t, err)
		der, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
		require.NoError(t, err)
		cfg := testConfig("https://api.example.test")
		cfg.VIC.MLEServerCertPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		_, err = New(cfg, visa.ProductVIC)
		require.ErrorIs(t, err, visa.ErrInvalidInput)
		assert.ErrorIs(t, err, jwe.ErrKey)
	})
	t.Run("VIC client fields required", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig("https://api.example.test")
		cfg.VIC.ExternalClientID = ""
		_, err := New(cfg, visa.ProductVIC)
		require.ErrorIs(t, err, visa.ErrInvalidInput)
		// VTS does not need VIC's fields.
		_, err = New(cfg, visa.ProductVTS)
		require.NoError(t, err)
	})
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://api.example.test/", "https://api.example.test/prefix", "http://localhost:8099", "http://127.0.0.1:1", "http://[::1]:9"} {
		cfg := testConfig(base)
		cfg.VIC.MLEEnc = visa.MLEEncA256GCM
		c, err := New(cfg, visa.ProductVIC)
		require.NoError(t, err, base)
		assert.NotEqual(t, '/', c.BaseURL()[len(c.BaseURL())-1])
		assert.Equal(t, visa.ProductVIC, c.Product())
	}
	// The environment's default base URLs.
	cfg := testConfig("")
	c, err := New(cfg, visa.ProductVTS)
	require.NoError(t, err)
	assert.Equal(t, visa.SandboxVTSBaseURL, c.BaseURL())
	assert.Equal(t, visa.DefaultTimeout, c.timeout)
	assert.EqualValues(t, visa.DefaultMaxResponseBytes, c.maxBody)
	now := time.Unix(5, 0)
	c2, err := New(cfg, visa.ProductVTS, WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	assert.Equal(t, now, c2.Now())
}

func TestDoBasePathPrefix(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, nil)
	c := newClient(t, testConfig(f.URL()+"/gw/"), visa.ProductVTS)
	_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
	require.NoError(t, err)
	r := f.requests()[0]
	assert.Equal(t, "/gw/vts/x", r.Path)
	// X-Pay covers the API path, not the gateway prefix.
	ok, _ := checkXPay(r.Header.Get("X-Pay-Token"), testVTSSecret, "vts/x", r.RawQuery, nil)
	assert.True(t, ok)
}
