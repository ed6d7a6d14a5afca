package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

// faultWire is a wire whose client never reuses connections, so Go's
// transport cannot transparently retry a request a fault broke.
func faultWire(t *testing.T, sb *Sandbox) *wire {
	w := newWire(t, sb, jwe.EncA128GCM)
	tr := w.hc.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	w.hc = &http.Client{Transport: tr}
	return w
}

func (w *wire) enrollCount() int { return w.sb.Inspect().EnrollmentsCreated }

func TestFaultKinds(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		name := "http"
		opts := []Option{}
		if !useTLS {
			opts = append(opts, WithPlainHTTP())
		} else {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := Start(t, opts...)
			w := faultWire(t, sb)
			enroll := "POST /vts/panEnrollments"
			once := func(k FaultKind) {
				require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: enroll, Kind: k, Count: 1}}}))
			}
			try := func() (reply, error) {
				b := mustJSON(t, enrollBody(w, CardHappy))
				q := "apikey=" + VTSAPIKey
				return w.try(http.MethodPost, "/vts/panEnrollments", q, b, map[string]string{"x-pay-token": w.sign(VTSSharedSecret, "/vts/panEnrollments", q, b)})
			}

			t.Run("latency", func(t *testing.T) {
				once(Latency(30 * time.Millisecond))
				start := time.Now()
				r, err := try()
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, r.status)
				assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
			})
			for _, tc := range []struct {
				kind   FaultKind
				status int
				code   string
			}{
				{RateLimited(1500 * time.Millisecond), 429, "RATE_LIMITED"},
				{Status500, 500, "INTERNAL_ERROR"},
				{Status503, 503, "SERVICE_UNAVAILABLE"},
			} {
				t.Run(string(tc.kind.Type), func(t *testing.T) {
					once(tc.kind)
					before := w.enrollCount()
					r, err := try()
					require.NoError(t, err)
					assert.Equal(t, tc.status, r.status)
					assert.Equal(t, tc.code, gatewayCode(r))
					assert.Len(t, r.header.Get(correlationHeader), 36)
					if tc.status == 429 {
						assert.Equal(t, "2", r.header.Get("Retry-After"))
					}
					assert.Equal(t, before, w.enrollCount(), "not processed")
					r, err = try()
					require.NoError(t, err)
					assert.Equal(t, http.StatusOK, r.status, "count 1: the next request is served")
				})
			}
			t.Run("reset before processing", func(t *testing.T) {
				once(ResetBeforeProcessing)
				before := w.enrollCount()
				_, err := try()
				require.Error(t, err)
				assert.Equal(t, before, w.enrollCount(), "not processed")
			})
			t.Run("drop after processing", func(t *testing.T) {
				once(DropAfterProcessing)
				before := w.enrollCount()
				_, err := try()
				require.Error(t, err)
				assert.Equal(t, before+1, w.enrollCount(), "processed, response lost")
			})
			t.Run("truncated body", func(t *testing.T) {
				once(TruncatedBody)
				before := w.enrollCount()
				r, err := try()
				require.Error(t, err, "unexpected EOF")
				assert.Equal(t, http.StatusOK, r.status)
				assert.Equal(t, before+1, w.enrollCount())
			})
			t.Run("malformed JSON", func(t *testing.T) {
				once(MalformedJSON)
				r, err := try()
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, r.status)
				assert.False(t, json.Valid(r.raw), string(r.raw))
			})
			t.Run("invalid MLE", func(t *testing.T) {
				require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "POST /vacp/", Kind: InvalidMLE, Count: 1}}}))
				compact, err := w.mleEnc.Encrypt(mustJSON(t, credentialsBody("TOK-x", "T", "1.00")), w.now())
				require.NoError(t, err)
				r := w.vicRaw(http.MethodPost, "/vacp/v1/instructions/INS-x/credentials", jwe.MarshalEnvelope(compact), nil)
				env, ok := jwe.ParseEnvelope(r.raw)
				require.True(t, ok, string(r.raw))
				_, _, err = w.mleDec.Decrypt(env)
				assert.Error(t, err)
			})
			counts := sb.Inspect().FaultsInjected
			for _, ft := range []FaultType{FaultLatency, FaultRateLimited, FaultStatus500, FaultStatus503, FaultResetBeforeProcessing,
				FaultDropAfterProcessing, FaultTruncatedBody, FaultMalformedJSON, FaultInvalidMLE} {
				assert.Equal(t, 1, counts[string(ft)], ft)
			}
		})
	}
}

func TestFaultMatchingAndSeed(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithPlainHTTP())
	w := faultWire(t, sb)
	jwks := func() int {
		r, err := w.try(http.MethodGet, "/.well-known/jwks.json", "", nil, nil)
		require.NoError(t, err)
		return r.status
	}
	// Endpoint forms: exact pattern, method+path prefix, path prefix, any.
	for _, ep := range []string{"GET /.well-known/jwks.json", "GET /.well", "/.well-known/", ""} {
		require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: ep, Kind: Status503, Count: 2}}}))
		assert.Equal(t, 503, jwks(), ep)
		assert.Equal(t, 503, jwks(), ep)
		assert.Equal(t, 200, jwks(), ep)
	}
	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "POST /vts/", Kind: Status503}}}))
	assert.Equal(t, 200, jwks(), "other endpoints untouched")

	// Random faults replay identically for the same seed.
	seq := func(seed int64) string {
		require.NoError(t, sb.SetFaults(FaultPlan{Rate: 0.5, Kinds: []FaultKind{Status500, Status503}, Seed: seed}))
		var b strings.Builder
		for range 40 {
			b.WriteString(http.StatusText(jwks())[:1])
		}
		return b.String()
	}
	a, b, c := seq(7), seq(7), seq(8)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	assert.Contains(t, a, "O")
	assert.Contains(t, a, "I")
	assert.Contains(t, a, "S")

	// Probability 0 < p < 1 with a seed.
	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Kind: Status500, Probability: 0.3}}, Seed: 1}))
	n := 0
	for range 100 {
		if jwks() == 500 {
			n++
		}
	}
	assert.Greater(t, n, 10)
	assert.Less(t, n, 60)
	sb.ClearFaults()
	assert.Equal(t, 200, jwks())

	assert.Error(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Kind: FaultKind{Type: "nope"}}}}))
	assert.Error(t, sb.SetFaults(FaultPlan{Rate: 0.5}))
	assert.Error(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Kind: Latency(0)}}}))
	_, err := New(WithFaults(FaultPlan{Rate: 2}))
	assert.Error(t, err)
}

func TestFaultsFromOptionsAndAdmin(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithPlainHTTP(), WithSeed(3), WithFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "GET /.well-known/jwks.json", Kind: Status500, Count: 1}}}))
	w := faultWire(t, sb)
	assert.Equal(t, 500, w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil).status)
	assert.Equal(t, 200, w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil).status)

	plan := []byte(`{"rules":[{"endpoint":"GET /.well-known/jwks.json","kind":{"type":"rate_limited","retryAfter":"3s"},"count":1},
		{"endpoint":"/vts/","kind":{"type":"latency","delay":"1ms"}}],"seed":9}`)
	r := w.send(http.MethodPost, "/sandbox/v1/admin/faults", "", plan, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	r = w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil)
	assert.Equal(t, 429, r.status)
	assert.Equal(t, "3", r.header.Get("Retry-After"))
	w.sb.faults.mu.Lock()
	assert.Equal(t, 2, len(w.sb.faults.plan.Rules))
	w.sb.faults.mu.Unlock()

	r = w.send(http.MethodPost, "/sandbox/v1/admin/faults", "", []byte(`{"rules":[{"kind":{"type":"bogus"}}]}`), nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = w.send(http.MethodPost, "/sandbox/v1/admin/faults", "", []byte(`{"rules":[{"kind":{"type":"latency","delay":"soon"}}]}`), nil)
	assert.Equal(t, http.StatusBadRequest, r.status)

	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Kind: Status500}}}))
	r = w.send(http.MethodGet, "/sandbox/v1/admin/state", "", nil, nil)
	require.Equal(t, http.StatusOK, r.status, "admin endpoints are never faulted")
	assert.EqualValues(t, 1, r.body["faultsInjected"].(map[string]any)["rate_limited"])
	r = w.send(http.MethodDelete, "/sandbox/v1/admin/faults", "", nil, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, 200, w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil).status)
}
