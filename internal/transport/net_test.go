package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// closedPortURL returns a loopback URL nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func TestDoWriteRetriedOnlyWhenItNeverLeft(t *testing.T) {
	t.Parallel()
	t.Run("POST to a closed port is retried", func(t *testing.T) {
		t.Parallel()
		w := &waits{}
		c := newClient(t, testConfig(closedPortURL(t)), visa.ProductVTS, withWaitHook(w.hook))
		res, err := c.Do(bg, &Request{Op: "vts.EnrollPAN", Method: http.MethodPost, Path: "/vts/panEnrollments", Body: map[string]string{"a": "b"}}, nil)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.Equal(t, 3, res.Attempts)
		assert.Len(t, w.all(), 2)
	})
	t.Run("POST after one failed dial succeeds on the second attempt", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisa(t, true, func(int, recorded) reply { return reply{Status: 200, Body: `{"id":"x"}`, Encrypt: true} })
		var dials atomic.Int32
		d := &net.Dialer{}
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return d.DialContext(ctx, network, addr)
		}}
		t.Cleanup(tr.CloseIdleConnections)
		cfg := testConfig(f.URL())
		cfg.HTTPClient = &http.Client{Transport: tr}
		c := newClient(t, cfg, visa.ProductVIC, withWaitHook((&waits{}).hook))
		var out struct{ ID string }
		res, err := c.Do(bg, &Request{Op: "vic.EnrollCard", Method: http.MethodPost, Path: "/vacp/v1/cards", Body: map[string]string{"a": "b"}}, &out)
		require.NoError(t, err)
		assert.Equal(t, "x", out.ID)
		assert.Equal(t, 2, res.Attempts)
		assert.Len(t, f.requests(), 1, "the server saw the write once")
	})

	// A connection that dies after the request was sent: a reset in the
	// middle of the response body, or no response at all.
	resetMidBody := func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
		_ = buf.Flush()
		_ = conn.Close()
	}
	hangUp := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	cases := []struct {
		name       string
		raw        func(http.ResponseWriter, *http.Request)
		method     string
		idempotent bool
		attempts   int
	}{
		{"POST reset mid-response", resetMidBody, http.MethodPost, false, 1},
		{"POST hang-up without response", hangUp, http.MethodPost, false, 1},
		{"PUT reset mid-response", resetMidBody, http.MethodPut, false, 1},
		{"GET reset mid-response", resetMidBody, http.MethodGet, false, 3},
		{"GET hang-up", hangUp, http.MethodGet, false, 3},
		{"idempotent POST reset mid-response", resetMidBody, http.MethodPost, true, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, false, func(int, recorded) reply { return reply{Raw: tc.raw} })
			c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook((&waits{}).hook))
			var body any
			if tc.method != http.MethodGet {
				body = map[string]string{"k": "v"}
			}
			var out map[string]any
			res, err := c.Do(bg, &Request{Op: "op", Method: tc.method, Path: "/vts/x", Body: body, Idempotent: tc.idempotent}, &out)
			var re *visa.RequestError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.attempts, res.Attempts)
			assert.Len(t, f.requests(), tc.attempts)
			assert.NotContains(t, err.Error(), testVTSKey)
		})
	}
}

// tlsServer starts an httptest TLS server with cfg applied.
func tlsServer(t *testing.T, cfg *tls.Config) (*httptest.Server, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Correlation-Id", "tls-ok")
		_, _ = w.Write([]byte(`{"v":"` + tls.VersionName(r.TLS.Version) + `"}`))
	}))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, caPEM
}

func TestDoTLS(t *testing.T) {
	t.Parallel()
	get := func(c *Client) (string, visa.ResponseMeta, error) {
		var out struct{ V string }
		res, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/x"}, &out)
		return out.V, res, err
	}
	t.Run("trusted roots", func(t *testing.T) {
		t.Parallel()
		srv, ca := tlsServer(t, &tls.Config{})
		cfg := testConfig(srv.URL)
		cfg.TLS.RootCAsPEM = ca
		v, _, err := get(newClient(t, cfg, visa.ProductVTS))
		require.NoError(t, err)
		assert.Contains(t, []string{"TLS 1.2", "TLS 1.3"}, v)
	})
	t.Run("TLS 1.3 minimum", func(t *testing.T) {
		t.Parallel()
		srv, ca := tlsServer(t, &tls.Config{MaxVersion: tls.VersionTLS12})
		cfg := testConfig(srv.URL)
		cfg.TLS.RootCAsPEM = ca
		cfg.TLS.MinVersion = tls.VersionTLS13
		_, res, err := get(newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook)))
		var re *visa.RequestError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, res.Attempts, "a protocol mismatch is permanent")
	})
	t.Run("server limited to TLS 1.1 is refused", func(t *testing.T) {
		t.Parallel()
		// Go 1.26 still lets a server be configured for TLS 1.0–1.1; the
		// client's floor of TLS 1.2 refuses it.
		srv, ca := tlsServer(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		cfg := testConfig(srv.URL)
		cfg.TLS.RootCAsPEM = ca
		_, res, err := get(newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook)))
		var re *visa.RequestError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, res.Attempts)
		assert.Contains(t, err.Error(), "protocol version")
	})
	t.Run("unknown authority is refused and not retried", func(t *testing.T) {
		t.Parallel()
		srv, _ := tlsServer(t, &tls.Config{})
		_, res, err := get(newClient(t, testConfig(srv.URL), visa.ProductVTS, withWaitHook((&waits{}).hook)))
		var certErr *tls.CertificateVerificationError
		require.ErrorAs(t, err, &certErr)
		assert.Equal(t, 1, res.Attempts)
	})
	t.Run("mutual TLS", func(t *testing.T) {
		t.Parallel()
		caCert, clientCertPEM, clientKeyPEM := clientCA(t)
		pool := x509.NewCertPool()
		pool.AddCert(caCert)
		srv, ca := tlsServer(t, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})

		cfg := testConfig(srv.URL)
		cfg.TLS.RootCAsPEM = ca
		cfg.TLS.ClientCertPEM = clientCertPEM
		cfg.TLS.ClientKeyPEM = visa.NewSecret(string(clientKeyPEM))
		_, res, err := get(newClient(t, cfg, visa.ProductVTS))
		require.NoError(t, err)
		assert.Equal(t, "tls-ok", res.CorrelationID)

		cfg.TLS.ClientCertPEM, cfg.TLS.ClientKeyPEM = nil, visa.Secret{}
		_, res, err = get(newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook)))
		var re *visa.RequestError
		require.ErrorAs(t, err, &re, "no client certificate: the server refuses the handshake")
		assert.Equal(t, 1, res.Attempts)
		assert.NotContains(t, err.Error(), string(clientKeyPEM))
	})
}

// clientCA returns a CA and a client certificate and key it signed.
func clientCA(t *testing.T) (*x509.Certificate, []byte, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return caCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func TestNewCopiesTheCallersHTTPClient(t *testing.T) {
	t.Parallel()
	theirTLS := &tls.Config{MinVersion: tls.VersionTLS10}
	theirs := &http.Transport{TLSClientConfig: theirTLS}
	hc := &http.Client{Transport: theirs, Timeout: 7 * time.Second}
	cfg := testConfig("https://example.test")
	cfg.HTTPClient = hc
	c := newClient(t, cfg, visa.ProductVTS)

	assert.Nil(t, hc.CheckRedirect, "the caller's client is not modified")
	assert.Same(t, theirs, hc.Transport)
	assert.Equal(t, uint16(tls.VersionTLS10), theirTLS.MinVersion)

	assert.NotSame(t, hc, c.hc)
	assert.Equal(t, 7*time.Second, c.hc.Timeout)
	assert.NotNil(t, c.hc.CheckRedirect)
	ours, ok := c.hc.Transport.(*http.Transport)
	require.True(t, ok)
	assert.NotSame(t, theirs, ours, "cloned to raise the TLS floor")
	assert.Equal(t, uint16(tls.VersionTLS12), ours.TLSClientConfig.MinVersion)

	// Without TLS changes to make, the caller's transport is shared as is.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{}}
	c2 := newClient(t, cfg, visa.ProductVTS)
	assert.Same(t, cfg.HTTPClient.Transport, c2.hc.Transport)

	// A foreign RoundTripper cannot take our TLS settings.
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })}
	cfg.TLS.RootCAsPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mustCA(t).Raw})
	_, err := New(cfg, visa.ProductVTS)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
}

func mustCA(t *testing.T) *x509.Certificate {
	ca, _, _ := clientCA(t)
	return ca
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewDefaultTransport(t *testing.T) {
	t.Parallel()
	c := newClient(t, testConfig("https://example.test"), visa.ProductVIC)
	tr, ok := c.hc.Transport.(*http.Transport)
	require.True(t, ok)
	assert.Equal(t, uint16(tls.VersionTLS12), tr.TLSClientConfig.MinVersion)
	assert.Equal(t, 10*time.Second, tr.TLSHandshakeTimeout)
	assert.Equal(t, 90*time.Second, tr.IdleConnTimeout)
	assert.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 16)
	assert.NotNil(t, c.hc.CheckRedirect)
	assert.Equal(t, http.ErrUseLastResponse, c.hc.CheckRedirect(nil, nil))
}

func TestHTTPClient(t *testing.T) {
	t.Parallel()
	srv, ca := tlsServer(t, &tls.Config{})
	cfg := testConfig(srv.URL)
	cfg.TLS.RootCAsPEM = ca
	hc, err := HTTPClient(cfg)
	require.NoError(t, err)
	resp, err := hc.Get(srv.URL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, http.ErrUseLastResponse, hc.CheckRedirect(nil, nil))

	hc2, err := HTTPClient(cfg)
	require.NoError(t, err)
	assert.NotSame(t, hc, hc2, "a new client each time, the caller's to adjust")
	hc.CloseIdleConnections()

	cfg.TLS.MinVersion = tls.VersionTLS10
	_, err = HTTPClient(cfg)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
}

// TestFailedCallKeepsPooledConnections: retryablehttp closes its client's
// idle connections after a call that failed with an error; the transport
// hides that method, so concurrent callers keep their warm connections.
func TestFailedCallKeepsPooledConnections(t *testing.T) {
	t.Parallel()
	rt := &closeCounter{}
	cfg := testConfig("https://sandbox.api.visa.com")
	cfg.HTTPClient = &http.Client{Transport: rt}
	c := newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook))
	_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/x"}, nil)
	require.ErrorIs(t, err, syscall.ECONNRESET)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = c.Do(ctx, &Request{Op: "op", Method: http.MethodGet, Path: "/x"}, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 0, rt.closes.Load(), "a failed call must not close the shared pool")
	c.CloseIdleConnections()
	assert.EqualValues(t, 1, rt.closes.Load(), "the owner still can")
}

// closeCounter fails every request and counts CloseIdleConnections.
type closeCounter struct{ closes atomic.Int32 }

func (c *closeCounter) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

func (c *closeCounter) CloseIdleConnections() { c.closes.Add(1) }
