package sandbox

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

// TestInMemoryPurchase runs onboarding and a whole purchase through the
// in-memory transport (HTTPClient under WithInMemory): the same handlers,
// X-Pay and MLE, no socket.
func TestInMemoryPurchase(t *testing.T) {
	sb := Start(t, WithInMemory())
	_, isMem := sb.HTTPClient().Transport.(*memTransport)
	require.True(t, isMem)
	cfg := sb.Config()
	require.NotNil(t, cfg.HTTPClient)
	assert.Empty(t, cfg.TLS.RootCAsPEM, "no TLS in memory")
	w := newWire(t, sb, jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	blob, ident := w.assertion(tok, device, "25.00", "Best Buy")
	w.purchase(tok, device, blob, ident, "25.00")
	assert.Equal(t, 1, sb.Inspect().ApprovalsTotal)
}

// TestInMemoryTransportEdges: other hosts are refused, a connection the
// server resets or drops is an error (before the head, or while reading a
// truncated body), a cancelled context ends the wait, and a closed sandbox
// answers nothing.
func TestInMemoryTransportEdges(t *testing.T) {
	sb := Start(t, WithPlainHTTP())
	hc := &http.Client{Transport: sb.Transport()}
	get := func(ctx context.Context, url string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		return hc.Do(req)
	}
	jwks := sb.BaseURL() + "/.well-known/jwks.json"

	resp, err := get(t.Context(), jwks)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, len(body), resp.ContentLength)
	assert.Contains(t, string(body), `"keys"`)

	_, err = get(t.Context(), "http://example.com/")
	require.ErrorContains(t, err, "serves only")

	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "/.well-known/", Kind: ResetBeforeProcessing, Count: 1}}}))
	_, err = get(t.Context(), jwks)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "/.well-known/", Kind: TruncatedBody, Count: 1}}}))
	resp, err = get(t.Context(), jwks)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.NoError(t, resp.Body.Close())

	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "/.well-known/", Kind: FaultKind{Type: FaultLatency, Delay: Duration(time.Minute)}, Count: 1}}}))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = get(ctx, jwks)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, sb.Close())
	_, err = get(t.Context(), jwks)
	require.ErrorContains(t, err, "closed")

	_, err = New(WithInMemory(), WithMutualTLS())
	require.Error(t, err)
}
