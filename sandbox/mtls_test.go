package sandbox

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMutualTLS: with WithMutualTLS the sandbox requires a client
// certificate from its CA; its Config and HTTPClient carry one.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithMutualTLS())
	cfg := sb.Config()
	require.NotEmpty(t, cfg.TLS.ClientCertPEM)
	require.False(t, cfg.TLS.ClientKeyPEM.IsZero())
	require.NoError(t, cfg.Validate())

	resp, err := sb.HTTPClient().Get(sb.JWKSURL())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// Trusting the CA is not enough: no client certificate, no handshake.
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(sb.CACertPEM()))
	bare := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	_, err = bare.Get(sb.JWKSURL())
	require.Error(t, err)

	_, err = New(WithMutualTLS(), WithPlainHTTP())
	assert.Error(t, err, "mutual TLS needs TLS")
}
