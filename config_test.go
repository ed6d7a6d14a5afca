package visa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// testPEM holds keys and certificates generated once per test binary.
type testPEM struct {
	rsaCert, rsaPKIX, rsaPKCS1Pub []byte // public forms
	rsaPKCS1, rsaPKCS8            []byte // private forms
	ecCert, ecPKCS8               []byte
	otherRSAPKCS1                 []byte
}

var pems = sync.OnceValue(func() testPEM {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	cert := func(pub, priv any) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "visa test"},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
		must(err)
		return enc("CERTIFICATE", der)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	var p testPEM
	p.rsaCert = cert(&rk.PublicKey, rk)
	pkix, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	must(err)
	p.rsaPKIX = enc("PUBLIC KEY", pkix)
	p.rsaPKCS1Pub = enc("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey))
	p.rsaPKCS1 = enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk))
	p8, err := x509.MarshalPKCS8PrivateKey(rk)
	must(err)
	p.rsaPKCS8 = enc("PRIVATE KEY", p8)
	p.ecCert = cert(&ek.PublicKey, ek)
	e8, err := x509.MarshalPKCS8PrivateKey(ek)
	must(err)
	p.ecPKCS8 = enc("PRIVATE KEY", e8)
	p.otherRSAPKCS1 = enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(other))
	return p
})

// fullConfig is a Config every product accepts.
func fullConfig() visa.Config {
	p := pems()
	s := visa.NewSecret
	return visa.Config{
		VIC: visa.VICCredentials{
			APIKey: s("SBXVICAPIKEY01"), SharedSecret: s("sbx-vic-shared-secret"), MLEKeyID: "sbx-mle-1",
			MLEServerCertPEM: p.rsaCert, MLEClientPrivateKeyPEM: s(string(p.rsaPKCS1)),
			ExternalClientID: "SBXCLIENT01", ExternalAppID: "SBXAPP01",
		},
		VTS: visa.VTSCredentials{
			APIKey: s("SBXVTSAPIKEY01"), SharedSecret: s("sbx-vts-shared-secret"), ClientAppID: "SBXAPP01",
			ClientWalletAccountID: "wallet-1", EncAPIKey: s("SBXENCAPIKEY01"), EncSharedSecret: s("sbx-enc-shared-secret"),
			HashSecret: s("sbx-hash-secret"),
		},
	}
}

// fields returns the Field of every *InputError joined in err.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if ie, ok := err.(*visa.InputError); ok {
			out = append(out, ie.Field)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

func TestValidateFull(t *testing.T) {
	t.Parallel()
	require.NoError(t, fullConfig().Validate())

	c := fullConfig()
	p := pems()
	c.VIC.MLEServerCertPEM = p.rsaPKIX
	c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(p.rsaPKCS8))
	c.VIC.MLEEnc = visa.MLEEncA256GCM
	c.VICBaseURL, c.VTSBaseURL, c.AuthBaseURL = "http://localhost:8099", "http://127.0.0.1:8099/prefix", "http://[::1]:8099"
	c.TLS = visa.TLSConfig{RootCAsPEM: p.rsaCert, ClientCertPEM: p.ecCert, ClientKeyPEM: visa.NewSecret(string(p.ecPKCS8)), UserID: "u", Password: visa.NewSecret("p"), MinVersion: tls.VersionTLS13}
	c.SignedPayload = visa.SignedPayloadConfig{JWKSURL: "https://x.example/.well-known/jwks.json?v=1", KeysPEM: append(append([]byte{}, p.rsaCert...), p.rsaPKCS1Pub...), Algorithms: []string{"RS256", "ES256"}, Leeway: time.Minute}
	c.Timeout, c.MaxResponseBytes = 5*time.Second, 1<<10
	c.Retry = visa.RetryPolicy{MaxAttempts: 5, MinBackoff: time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: time.Minute}
	c.UserAgentSuffix = "acme-agent/1.4"
	c.Environment = visa.Production
	require.NoError(t, c.Validate())
}

func TestValidateRequiredPerProduct(t *testing.T) {
	t.Parallel()
	empty := visa.Config{}
	vic := []string{"VIC.APIKey", "VIC.SharedSecret", "VIC.MLEKeyID", "VIC.MLEServerCertPEM", "VIC.MLEClientPrivateKeyPEM", "VIC.ExternalClientID", "VIC.ExternalAppID"}
	vts := []string{"VTS.APIKey", "VTS.ClientAppID", "VTS.SharedSecret", "VTS.ClientWalletAccountID", "VTS.EncAPIKey", "VTS.EncSharedSecret", "VTS.HashSecret"}

	assert.Equal(t, vic, fields(empty.ValidateFor(visa.ProductVIC)))
	assert.Equal(t, vts, fields(empty.ValidateFor(visa.ProductVTS)))
	assert.Equal(t, []string{"VTS.APIKey", "VTS.ClientAppID"}, fields(empty.ValidateFor(visa.ProductAuth)))
	assert.Equal(t, append(append([]string{}, vic...), vts...), fields(empty.Validate()))
	assert.Equal(t, vts, fields(empty.ValidateFor(visa.ProductVTS, visa.ProductAuth, visa.ProductVTS)))
	require.NoError(t, empty.ValidateFor())

	// A VTS-only config needs no VIC credentials.
	c := fullConfig()
	c.VIC = visa.VICCredentials{}
	require.NoError(t, c.ValidateFor(visa.ProductVTS, visa.ProductAuth))
	require.Error(t, c.Validate())

	// Production has no default base URLs.
	c = fullConfig()
	c.Environment = visa.Production
	assert.Equal(t, []string{"VICBaseURL", "VTSBaseURL", "AuthBaseURL"}, fields(c.Validate()))
	assert.Equal(t, []string{"VTSBaseURL"}, fields(c.ValidateFor(visa.ProductVTS)))

	err := empty.ValidateFor(visa.ProductVIC)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	var ie *visa.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "VIC.APIKey", ie.Field)
	assert.Equal(t, "is required (set VISA_VIC_API_KEY)", ie.Reason)
	assert.Contains(t, err.Error(), "VIC.MLEServerCertPEM: is required (set VISA_MLE_SERVER_CERT or VISA_MLE_SERVER_CERT_FILE)")

	assert.Equal(t, []string{"Products"}, fields(empty.ValidateFor(visa.ProductGateway)))
}

func TestValidateMalformed(t *testing.T) {
	t.Parallel()
	p := pems()
	tests := []struct {
		name   string
		field  string
		mutate func(*visa.Config)
	}{
		{"environment", "Environment", func(c *visa.Config) { c.Environment = "prod" }},
		{"http remote", "VICBaseURL", func(c *visa.Config) { c.VICBaseURL = "http://sandbox.api.visa.com" }},
		{"http lookalike", "VICBaseURL", func(c *visa.Config) { c.VICBaseURL = "http://localhost.evil.com" }},
		{"ftp", "VTSBaseURL", func(c *visa.Config) { c.VTSBaseURL = "ftp://cert.api.visa.com" }},
		{"no scheme", "VTSBaseURL", func(c *visa.Config) { c.VTSBaseURL = "cert.api.visa.com" }},
		{"query", "VTSBaseURL", func(c *visa.Config) { c.VTSBaseURL = "https://cert.api.visa.com?apikey=x" }},
		{"empty query", "VTSBaseURL", func(c *visa.Config) { c.VTSBaseURL = "https://cert.api.visa.com?" }},
		{"fragment", "AuthBaseURL", func(c *visa.Config) { c.AuthBaseURL = "https://sbx.vts.auth.visa.com#x" }},
		{"userinfo", "AuthBaseURL", func(c *visa.Config) { c.AuthBaseURL = "https://user:pw@sbx.vts.auth.visa.com" }},
		{"bad url", "AuthBaseURL", func(c *visa.Config) { c.AuthBaseURL = "https://[::1" }},
		{"opaque", "AuthBaseURL", func(c *visa.Config) { c.AuthBaseURL = "https:sbx.vts.auth.visa.com" }},
		{"api key space", "VIC.APIKey", func(c *visa.Config) { c.VIC.APIKey = visa.NewSecret("a b") }},
		{"secret newline", "VTS.SharedSecret", func(c *visa.Config) { c.VTS.SharedSecret = visa.NewSecret("abc\n") }},
		{"key id CRLF", "VIC.MLEKeyID", func(c *visa.Config) { c.VIC.MLEKeyID = "kid\r\nX-Evil: 1" }},
		{"client id control", "VIC.ExternalClientID", func(c *visa.Config) { c.VIC.ExternalClientID = "a\x00" }},
		{"server cert not pem", "VIC.MLEServerCertPEM", func(c *visa.Config) { c.VIC.MLEServerCertPEM = []byte("not pem") }},
		{"server cert EC", "VIC.MLEServerCertPEM", func(c *visa.Config) { c.VIC.MLEServerCertPEM = p.ecCert }},
		{"server cert is a private key", "VIC.MLEServerCertPEM", func(c *visa.Config) { c.VIC.MLEServerCertPEM = p.rsaPKCS1 }},
		{"server cert garbage der", "VIC.MLEServerCertPEM", func(c *visa.Config) {
			c.VIC.MLEServerCertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
		}},
		{"server pkix garbage", "VIC.MLEServerCertPEM", func(c *visa.Config) {
			c.VIC.MLEServerCertPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")})
		}},
		{"server pkcs1 garbage", "VIC.MLEServerCertPEM", func(c *visa.Config) {
			c.VIC.MLEServerCertPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: []byte("junk")})
		}},
		{"client key is a cert", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) { c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(p.rsaCert)) }},
		{"client key EC", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) { c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(p.ecPKCS8)) }},
		{"client key not pem", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) { c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret("MIIE...") }},
		{"client key garbage", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) {
			c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("junk")})))
		}},
		{"client pkcs8 garbage", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) {
			c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})))
		}},
		{"client key encrypted", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) {
			c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")})))
		}},
		{"client key legacy encrypted", "VIC.MLEClientPrivateKeyPEM", func(c *visa.Config) {
			c.VIC.MLEClientPrivateKeyPEM = visa.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte("x")})))
		}},
		{"mle enc", "VIC.MLEEnc", func(c *visa.Config) { c.VIC.MLEEnc = "A192GCM" }},
		{"mle enc lower", "VIC.MLEEnc", func(c *visa.Config) { c.VIC.MLEEnc = "a128gcm" }},
		{"root CAs", "TLS.RootCAsPEM", func(c *visa.Config) { c.TLS.RootCAsPEM = p.rsaPKIX }},
		{"cert without key", "TLS.ClientKeyPEM", func(c *visa.Config) { c.TLS.ClientCertPEM = p.rsaCert }},
		{"key without cert", "TLS.ClientCertPEM", func(c *visa.Config) { c.TLS.ClientKeyPEM = visa.NewSecret(string(p.rsaPKCS1)) }},
		{"cert key mismatch", "TLS.ClientCertPEM", func(c *visa.Config) {
			c.TLS.ClientCertPEM, c.TLS.ClientKeyPEM = p.rsaCert, visa.NewSecret(string(p.otherRSAPKCS1))
		}},
		{"user without password", "TLS.Password", func(c *visa.Config) { c.TLS.UserID = "u" }},
		{"password without user", "TLS.UserID", func(c *visa.Config) { c.TLS.Password = visa.NewSecret("p") }},
		{"user with colon", "TLS.UserID", func(c *visa.Config) { c.TLS.UserID, c.TLS.Password = "a:b", visa.NewSecret("p") }},
		{"tls 1.1", "TLS.MinVersion", func(c *visa.Config) { c.TLS.MinVersion = tls.VersionTLS11 }},
		{"tls unknown", "TLS.MinVersion", func(c *visa.Config) { c.TLS.MinVersion = 0x0305 }},
		{"jwks http", "SignedPayload.JWKSURL", func(c *visa.Config) { c.SignedPayload.JWKSURL = "http://keys.example.com/jwks" }},
		{"keys not pem", "SignedPayload.KeysPEM", func(c *visa.Config) { c.SignedPayload.KeysPEM = []byte("x") }},
		{"keys private", "SignedPayload.KeysPEM", func(c *visa.Config) { c.SignedPayload.KeysPEM = append(append([]byte{}, p.rsaCert...), p.rsaPKCS1...) }},
		{"alg none", "SignedPayload.Algorithms", func(c *visa.Config) { c.SignedPayload.Algorithms = []string{"RS256", "none"} }},
		{"alg hmac", "SignedPayload.Algorithms", func(c *visa.Config) { c.SignedPayload.Algorithms = []string{"HS256"} }},
		{"leeway negative", "SignedPayload.Leeway", func(c *visa.Config) { c.SignedPayload.Leeway = -time.Second }},
		{"leeway huge", "SignedPayload.Leeway", func(c *visa.Config) { c.SignedPayload.Leeway = time.Hour }},
		{"timeout", "Timeout", func(c *visa.Config) { c.Timeout = -1 }},
		{"max response", "MaxResponseBytes", func(c *visa.Config) { c.MaxResponseBytes = -1 }},
		{"attempts negative", "Retry.MaxAttempts", func(c *visa.Config) { c.Retry.MaxAttempts = -1 }},
		{"attempts huge", "Retry.MaxAttempts", func(c *visa.Config) { c.Retry.MaxAttempts = 11 }},
		{"min backoff", "Retry.MinBackoff", func(c *visa.Config) { c.Retry.MinBackoff = -1 }},
		{"max backoff", "Retry.MaxBackoff", func(c *visa.Config) { c.Retry.MaxBackoff = -1 }},
		{"backoff order", "Retry.MaxBackoff", func(c *visa.Config) { c.Retry.MinBackoff, c.Retry.MaxBackoff = time.Second, time.Millisecond }},
		{"retry after", "Retry.MaxRetryAfter", func(c *visa.Config) { c.Retry.MaxRetryAfter = -1 }},
		{"ua newline", "UserAgentSuffix", func(c *visa.Config) { c.UserAgentSuffix = "x\r\nHost: evil" }},
		{"ua long", "UserAgentSuffix", func(c *visa.Config) { c.UserAgentSuffix = strings.Repeat("x", 201) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fullConfig()
			tt.mutate(&c)
			err := c.Validate()
			require.ErrorIs(t, err, visa.ErrInvalidInput)
			assert.Equal(t, []string{tt.field}, fields(err))
			// Also caught with no products: form is always checked.
			assert.Equal(t, []string{tt.field}, fields(c.ValidateFor()))
			// No secret value in the message.
			for _, s := range []string{"sbx-vic-shared-secret", "SBXVICAPIKEY01", "PRIVATE KEY-----\nMII", "evil", "pw@"} {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := fullConfig()
	c.Timeout = -1
	c.VIC.MLEEnc = "x"
	c.VTS.APIKey = visa.Secret{}
	err := c.Validate()
	assert.Equal(t, []string{"VIC.MLEEnc", "Timeout", "VTS.APIKey"}, fields(err))
	var ie *visa.InputError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, "VIC.MLEEnc", ie.Field, "errors.As finds the first")
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"localhost.example.com": false, "10.0.0.1": false, "::": false, "": false, "sandbox.api.visa.com": false,
	} {
		assert.Equal(t, want, check.Loopback(h), h)
	}
}

func TestBaseURLsAndRetryDefaults(t *testing.T) {
	t.Parallel()
	vic, vts, auth := visa.Config{}.BaseURLs()
	assert.Equal(t, []string{visa.SandboxVICBaseURL, visa.SandboxVTSBaseURL, visa.SandboxAuthBaseURL}, []string{vic, vts, auth})
	vic, vts, auth = visa.Config{Environment: visa.Production, VTSBaseURL: "https://vts"}.BaseURLs()
	assert.Equal(t, []string{"", "https://vts", ""}, []string{vic, vts, auth})
	vic, _, _ = visa.Config{VICBaseURL: "http://localhost:1"}.BaseURLs()
	assert.Equal(t, "http://localhost:1", vic)

	p := visa.RetryPolicy{}.WithDefaults()
	assert.Equal(t, visa.RetryPolicy{MaxAttempts: 3, MinBackoff: visa.DefaultMinBackoff, MaxBackoff: visa.DefaultMaxBackoff, MaxRetryAfter: visa.DefaultMaxRetryAfter}, p)
	p = visa.RetryPolicy{MinBackoff: time.Minute}.WithDefaults()
	assert.Equal(t, time.Minute, p.MaxBackoff)
}

func TestTLSClientConfig(t *testing.T) {
	t.Parallel()
	c, err := visa.TLSConfig{}.ClientConfig()
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
	assert.Nil(t, c.RootCAs)
	assert.Empty(t, c.Certificates)

	p := pems()
	c, err = visa.TLSConfig{RootCAsPEM: p.rsaCert, ClientCertPEM: p.rsaCert, ClientKeyPEM: visa.NewSecret(string(p.rsaPKCS1)), MinVersion: tls.VersionTLS13}.ClientConfig()
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS13), c.MinVersion)
	assert.NotNil(t, c.RootCAs)
	require.Len(t, c.Certificates, 1)

	_, err = visa.TLSConfig{MinVersion: tls.VersionTLS10}.ClientConfig()
	assert.Equal(t, []string{"TLS.MinVersion"}, fields(err))
	_, err = visa.TLSConfig{ClientCertPEM: p.rsaCert, ClientKeyPEM: visa.NewSecret(string(p.otherRSAPKCS1))}.ClientConfig()
	assert.Equal(t, []string{"TLS.ClientCertPEM"}, fields(err))
}

func TestConfigLogValue(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", fullConfig())
	out := buf.String()
	assert.Contains(t, out, `"environment":"sandbox"`)
	assert.Contains(t, out, `"vtsBaseURL":"https://cert.api.visa.com"`)
	assert.Contains(t, out, `"VIC.APIKey"`)
	assert.Contains(t, out, `"VTS.HashSecret"`)
	assert.NotContains(t, out, "VIC.MLEKeyID", "only secrets are listed")
	for _, s := range []string{"SBXVICAPIKEY01", "sbx-vic-shared-secret", "sbx-hash-secret", "PRIVATE KEY", "CERTIFICATE"} {
		assert.NotContains(t, out, s)
	}
}
