package reliability

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// testCA is a throwaway certificate authority for TLS tests.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a leaf certificate and key (PEM) for a server (loopback
// names) or a client.
func (ca *testCA) issue(t *testing.T, cn string, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// countingHandler counts the requests that reached h.
type countingHandler struct {
	n atomic.Int64
	h http.Handler
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// tlsServer serves h over TLS with a certificate of ca and the given
// settings.
func tlsServer(t *testing.T, ca *testCA, h http.Handler, mod func(*tls.Config)) *httptest.Server {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "localhost", false)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if mod != nil {
		mod(srv.TLS)
	}
	// The handshake failures these tests provoke are expected; keep them
	// out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// vtsAt is a VTS client for the sandbox's credentials pointed at url.
func vtsAt(t *testing.T, base visa.Config, url string, mod func(*visa.Config)) *vts.Client {
	t.Helper()
	cfg := base
	cfg.VTSBaseURL, cfg.VICBaseURL, cfg.AuthBaseURL = url, url, url
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 1}
	if mod != nil {
		mod(&cfg)
	}
	c, err := vts.New(cfg)
	require.NoError(t, err)
	return c
}

func enrollReq(t *testing.T) vts.EnrollPANRequest {
	return vts.EnrollPANRequest{Card: card(t, sandbox.CardHappy)}
}

// TestTransportRefusesOldTLS: a server that speaks at most TLS 1.1 gets no
// request; the same server at TLS 1.2 does (the control). A Config asking
// for less than TLS 1.2 is refused before anything is sent.
func TestTransportRefusesOldTLS(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	ca := newTestCA(t, "old-tls-ca")
	for _, tc := range []struct {
		name    string
		max     uint16
		refused bool
	}{
		{"TLS 1.0", tls.VersionTLS10, true},
		{"TLS 1.1", tls.VersionTLS11, true},
		{"TLS 1.2", tls.VersionTLS12, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &countingHandler{h: sbx.Handler()}
			srv := tlsServer(t, ca, h, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tc.max })
			c := vtsAt(t, sbx.Config(), srv.URL, func(cfg *visa.Config) { cfg.TLS.RootCAsPEM = ca.certPEM })
			_, err := c.EnrollPAN(ctxTimeout(t, 10*time.Second), enrollReq(t))
			if !tc.refused {
				require.NoError(t, err)
				assert.Equal(t, int64(1), h.n.Load())
				return
			}
			require.Error(t, err)
			var re *visa.RequestError
			require.ErrorAs(t, err, &re, "a typed transport error: %v", err)
			assert.Contains(t, strings.ToLower(err.Error()), "protocol version")
			assert.Zero(t, h.n.Load(), "no request reached the server")
			assert.NotContains(t, err.Error(), sandbox.VTSAPIKey)
		})
	}
	t.Run("Config below TLS 1.2", func(t *testing.T) {
		t.Parallel()
		cfg := sbx.Config()
		cfg.TLS.MinVersion = tls.VersionTLS11
		_, err := vts.New(cfg)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
		hc, err := transport.HTTPClient(sbx.Config())
		require.NoError(t, err)
		if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			assert.GreaterOrEqual(t, tr.TLSClientConfig.MinVersion, uint16(tls.VersionTLS12))
		}
	})
}

// TestTransportMutualTLS serves the sandbox's handler behind a TLS server
// that requires a client certificate of its own client CA (so that a
// certificate from a rogue CA can be tried too; sandbox.WithMutualTLS is
// covered by agent.TestJourneyOverMutualTLS): the configured identity
// gets through; none, or one from another CA, is refused before any
// request reaches the sandbox, with a typed error.
func TestTransportMutualTLS(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	serverCA, clientCA, rogueCA := newTestCA(t, "server-ca"), newTestCA(t, "client-ca"), newTestCA(t, "rogue-ca")
	h := &countingHandler{h: sbx.Handler()}
	srv := tlsServer(t, serverCA, h, func(c *tls.Config) {
		c.ClientAuth, c.ClientCAs, c.MinVersion = tls.RequireAndVerifyClientCert, clientCA.pool(), tls.VersionTLS12
	})
	goodCert, goodKey := clientCA.issue(t, "agent", true)
	rogueCert, rogueKey := rogueCA.issue(t, "agent", true)

	// The subtests run in order (not in parallel): they share the counter.
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		wantServed bool
	}{
		{"with the client certificate", goodCert, goodKey, true},
		{"without a client certificate", nil, nil, false},
		{"with a certificate of another CA", rogueCert, rogueKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.n.Load()
			c := vtsAt(t, sbx.Config(), srv.URL, func(cfg *visa.Config) {
				cfg.TLS.RootCAsPEM = serverCA.certPEM
				cfg.TLS.ClientCertPEM, cfg.TLS.ClientKeyPEM = tc.cert, visa.NewSecret(string(tc.key))
			})
			res, err := c.EnrollPAN(ctxTimeout(t, 10*time.Second), enrollReq(t))
			if tc.wantServed {
				require.NoError(t, err)
				assert.NotEmpty(t, res.VPanEnrollmentID)
				assert.Equal(t, before+1, h.n.Load())
				return
			}
			require.Error(t, err)
			var re *visa.RequestError
			require.ErrorAs(t, err, &re, "a typed transport error: %v", err)
			assert.Equal(t, before, h.n.Load(), "no request reached the sandbox")
			assert.NotContains(t, err.Error(), string(goodKey))
		})
	}
}

// TestTransportOversizeResponse: a body above MaxResponseBytes ends the
// call with visa.ErrResponseTooLarge, for a success and for an error
// status.
func TestTransportOversizeResponse(t *testing.T) {
	t.Parallel()
	huge := `{"vProvisionedTokenID":"` + strings.Repeat("A", 256<<10) + `"}`
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(huge))
		}))
		t.Cleanup(srv.Close)
		c := vtsAt(t, sandboxConfig(), srv.URL, func(cfg *visa.Config) { cfg.MaxResponseBytes = 64 << 10 })
		_, err := c.GetToken(ctxTimeout(t, 10*time.Second), vts.GetTokenRequest{VProvisionedTokenID: "tok-1"})
		require.Error(t, err, "status %d", status)
		assert.ErrorIs(t, err, visa.ErrResponseTooLarge, "status %d: %v", status, err)
		assert.Less(t, len(err.Error()), 1024, "the body is not in the error")

		// VIC: the bound applies before the MLE envelope is decrypted.
		sc := vicSandboxConfig(t)
		sc.VICBaseURL = srv.URL
		sc.MaxResponseBytes = 64 << 10
		sc.Retry = visa.RetryPolicy{MaxAttempts: 1}
		vc, err := vic.New(sc, vic.WithoutVerification())
		require.NoError(t, err)
		_, err = vc.CancelInstruction(ctxTimeout(t, 10*time.Second), vic.CancelRequest{InstructionID: "INS-1", AppInstance: device(1).AppInstance})
		require.Error(t, err, "VIC status %d", status)
		assert.ErrorIs(t, err, visa.ErrResponseTooLarge, "VIC status %d: %v", status, err)
	}
}

// vicSandboxConfig is a running sandbox's Config (its MLE keys).
func vicSandboxConfig(t *testing.T) visa.Config {
	return sandboxtest.Start(t, sandbox.WithPlainHTTP()).Config()
}

// sandboxConfig is the sandbox's credentials without a running sandbox.
func sandboxConfig() visa.Config {
	return visa.Config{
		VTS: visa.VTSCredentials{APIKey: visa.NewSecret(sandbox.VTSAPIKey), SharedSecret: visa.NewSecret(sandbox.VTSSharedSecret),
			ClientAppID: sandbox.ClientAppID, ClientWalletAccountID: sandbox.ClientWalletAccountID,
			EncAPIKey: visa.NewSecret(sandbox.EncAPIKey), EncSharedSecret: visa.NewSecret(sandbox.EncSharedSecret),
			HashSecret: visa.NewSecret(sandbox.HashSecret)},
	}
}

// TestTransportSlowLoris: a server that trickles its answer (or never
// sends headers) is cut off by Config.Timeout with a typed error whose
// chain holds context.DeadlineExceeded.
func TestTransportSlowLoris(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"body trickles", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000000")
			w.WriteHeader(http.StatusOK)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-r.Context().Done():
					return
				case <-tick.C:
					_, _ = w.Write([]byte(" "))
					_ = http.NewResponseController(w).Flush()
				}
			}
		}},
		{"headers never come", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c := vtsAt(t, sandboxConfig(), srv.URL, func(cfg *visa.Config) {
				cfg.Timeout = 300 * time.Millisecond
				cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
			})
			done := make(chan error, 1)
			go func() {
				_, err := c.GetToken(context.Background(), vts.GetTokenRequest{VProvisionedTokenID: "tok-1"})
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.ErrorIs(t, err, context.DeadlineExceeded, "%v", err)
				var re *visa.RequestError
				assert.ErrorAs(t, err, &re)
			case <-time.After(10 * time.Second):
				t.Fatal("the call outlived its 300 ms timeout by far")
			}
		})
	}
}

// TestTransportRedirectElsewhere: a 3xx pointing at another host is not
// followed by any client (VTS, Auth iFrame, merchant): the caller gets a
// typed error, and the other host sees nothing, least of all the api key.
func TestTransportRedirectElsewhere(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int64
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		leaked.Store(r.URL.RawQuery + " " + r.Header.Get("X-Pay-Token"))
	}))
	t.Cleanup(other.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)

	cfg := sandboxConfig()
	vicConfig := vicSandboxConfig(t)
	vicConfig.Retry = visa.RetryPolicy{MaxAttempts: 1}
	calls := map[string]func(context.Context) error{
		"vts GET": func(ctx context.Context) error {
			_, err := vtsAt(t, cfg, redirect.URL, nil).GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "tok-1"})
			return err
		},
		"vts POST": func(ctx context.Context) error {
			_, err := vtsAt(t, cfg, redirect.URL, nil).EnrollPAN(ctx, enrollReq(t))
			return err
		},
		"authframe Open": func(ctx context.Context) error {
			c := cfg
			c.AuthBaseURL, c.VTSBaseURL = redirect.URL, redirect.URL
			d, err := authframe.NewDirect(c)
			if err != nil {
				return err
			}
			_, err = d.Open(ctx, authframe.OpenRequest{ClientDeviceID: device(1).ClientDeviceID})
			return err
		},
		"vic PUT": func(ctx context.Context) error {
			c := vicConfig
			c.VICBaseURL = redirect.URL
			vc, err := vic.New(c, vic.WithoutVerification())
			if err != nil {
				return err
			}
			_, err = vc.CancelInstruction(ctx, vic.CancelRequest{InstructionID: "INS-1", AppInstance: device(1).AppInstance})
			return err
		},
		"merchant Lookup": func(ctx context.Context) error {
			m, err := agenttest.NewSandboxMerchant(redirect.URL+"/sandbox/v1/merchant/authorizations", cfg)
			if err != nil {
				return err
			}
			_, err = m.Lookup(ctx, "ref-1")
			return err
		},
	}
	for name, call := range calls {
		err := call(ctxTimeout(t, 10*time.Second))
		require.Error(t, err, name)
		var api *visa.APIError
		if assert.True(t, errors.As(err, &api), "%s: typed error, got %T %v", name, err, err) {
			assert.Equal(t, http.StatusTemporaryRedirect, api.HTTPStatus, name)
		}
		assert.NotContains(t, err.Error(), sandbox.VTSAPIKey, name)
		assert.NotContains(t, err.Error(), sandbox.VICAPIKey, name)
	}
	assert.Zero(t, elsewhere.Load(), "the other host was contacted: %v", leaked.Load())
}
