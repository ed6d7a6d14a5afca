package tap_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// recorder keeps the last request its base sent.
type recorder struct {
	mu   sync.Mutex
	base http.RoundTripper
	last *http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.last = req
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// TestSandboxMerchantRequiresTAP runs charges against the sandbox's
// merchant authorizer started with WithMerchantTAP, through a plain
// http.Client whose transport is a Signer's: a TAP-signed charge
// (agent-payer-auth) reaches the authorizer, which decides it; an unsigned,
// browsing-tagged or replayed one is refused before it is decided.
func TestSandboxMerchantRequiresTAP(t *testing.T) {
	t.Parallel()
	ed, _, _ := testKeys(t)
	signer, err := tap.NewSigner(ed, tap.WithKeyID("agent-under-test"))
	require.NoError(t, err)
	vk, err := httpsig.NewVerifyingKey("", ed.Public())
	require.NoError(t, err)
	v, err := tap.NewVerifier(tap.StaticKeys{"agent-under-test": vk})
	require.NoError(t, err)
	sb := sandboxtest.Start(t, sandbox.WithMerchantTAP(v))
	base := sb.HTTPClient()
	t.Cleanup(base.CloseIdleConnections)
	rec := &recorder{base: base.Transport}
	agent := &http.Client{Transport: signer.Transport(rec)}

	charge := func(client *http.Client, tag tap.Tag) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{
			"merchantName": "TAP Shop", "merchantCountryCode": "US", "merchantUrl": "https://tap.shop.example",
			"cardNumber": "4111111111111111", "expirationMonth": "12", "expirationYear": "2030", "cvv2": "917",
			"transactionAmount":      map[string]any{"transactionAmount": "10.00", "transactionCurrencyCode": "USD"},
			"transactionReferenceId": "tap-e2e-1",
		})
		ctx := t.Context()
		if tag != "" {
			ctx = tap.WithTag(ctx, tag)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sb.MerchantURL(), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(resp.Body)
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return resp.StatusCode, out
	}

	status, out := charge(agent, tap.TagPayer)
	require.Equal(t, http.StatusOK, status, out)
	assert.Equal(t, "tap-e2e-1", out["transactionReferenceId"])
	assert.Contains(t, []any{"APPROVED", "DECLINED"}, out["status"], "the authorizer decided the charge")
	assert.Equal(t, 1, sb.Inspect().AuthorizationsTotal)

	status, out = charge(base, "")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(mustJSON(out)), "SIGNATURE_MISSING")
	status, out = charge(agent, tap.TagBrowser)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(mustJSON(out)), "SIGNATURE_TAG")

	// Replaying the signed charge's exact headers is refused.
	status, _ = charge(agent, tap.TagPayer)
	require.Equal(t, http.StatusOK, status)
	rec.mu.Lock()
	replay := rec.last.Clone(t.Context())
	rec.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"merchantName": "TAP Shop"})
	replay.Body = io.NopCloser(bytes.NewReader(body))
	replay.ContentLength = int64(len(body))
	resp, err := base.Transport.RoundTrip(replay)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, string(raw), "SIGNATURE_REPLAYED")
	assert.Equal(t, 2, sb.Inspect().AuthorizationsTotal, "refused charges were never decided")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestStaticKeysFromJWKS: a published directory reads back as static keys,
// under kid and thumbprint.
func TestStaticKeysFromJWKS(t *testing.T) {
	t.Parallel()
	ed, ec, rs := testKeys(t)
	h, err := tap.DirectoryHandler(ed.Public(), ec.Public(), rs.Public())
	require.NoError(t, err)
	r, _ := http.NewRequest(http.MethodGet, "https://agent.example"+tap.DirectoryPath, nil)
	w := &bufferWriter{header: http.Header{}}
	h.ServeHTTP(w, r)
	keys, err := tap.StaticKeysFromJWKS(w.buf.Bytes())
	require.NoError(t, err)
	assert.Len(t, keys, 3, "kid is the thumbprint, so one entry per key")
	tp, _ := tap.Thumbprint(rs.Public())
	assert.Equal(t, httpsig.RSAPSSSHA256, keys[tp].Algorithm())
	_, err = tap.StaticKeysFromJWKS([]byte(`{"keys":[]}`))
	assert.Error(t, err)
	_, err = tap.StaticKeysFromJWKS([]byte(`nope`))
	assert.Error(t, err)
}

type bufferWriter struct {
	header http.Header
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufferWriter) WriteHeader(int)             {}
