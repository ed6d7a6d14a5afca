package transport

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDoVTSGetSignsExactlyWhatIsSent(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, func(int, recorded) reply {
		return reply{Status: 200, Body: `{"tokenInfo":{"tokenStatus":"ACTIVE"}}`}
	})
	cfg := testConfig(f.URL())
	cfg.UserAgentSuffix = "acme-agent/1.4"
	now := time.Unix(1767225600, 0)
	c := newClient(t, cfg, visa.ProductVTS, WithClock(func() time.Time { return now }))

	var out struct {
		TokenInfo struct {
			TokenStatus string `json:"tokenStatus"`
		} `json:"tokenInfo"`
	}
	res, err := c.Do(bg, &Request{
		Op: "vts.GetToken", Method: http.MethodGet,
		Path:       "/vts/provisionedTokens/{}",
		PathParams: []string{"TOK 1+é"},
		Query:      []QueryParam{{"reasonCode", "DEVICE BINDING"}, {"a&b", "c=d"}},
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "ACTIVE", out.TokenInfo.TokenStatus)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "corr-1", res.CorrelationID)
	assert.Equal(t, 1, res.Attempts)

	reqs := f.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/vts/provisionedTokens/TOK%201+%C3%A9", r.Path)
	assert.Equal(t, "apikey="+testVTSKey+"&reasonCode=DEVICE+BINDING&a%26b=c%3Dd", r.RawQuery, "apikey first, extras in order, form-escaped")
	assert.True(t, r.SigOK, "X-Pay-Token must verify over the exact path, raw query and body")
	assert.Equal(t, now.Unix(), r.SigTS)
	assert.Empty(t, r.Body)

	// The exact signed string, recomputed by hand.
	pre := "1767225600" + "vts/provisionedTokens/TOK%201+%C3%A9" + r.RawQuery
	m := hmac.New(sha256.New, []byte(testVTSSecret))
	m.Write([]byte(pre))
	assert.Equal(t, "xv2:1767225600:"+hex.EncodeToString(m.Sum(nil)), r.Header.Get("X-Pay-Token"))

	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Empty(t, r.Header.Get("Content-Type"), "no body, no content type")
	assert.Empty(t, r.Header.Get("keyId"), "VTS has no MLE")
	assert.Regexp(t, uuidV4, r.Header.Get("X-Request-Id"))
	assert.Equal(t, "vicgo/"+Version+" ("+runtime.Version()+") acme-agent/1.4", r.Header.Get("User-Agent"))
	assert.Empty(t, r.Header.Get("Authorization"))
}

func TestDoXPayVectorFromWireSpec(t *testing.T) {
	t.Parallel()
	// docs/wire.md §2.1 VTS POST vector, through the whole transport.
	f := newFakeVisa(t, false, nil)
	cfg := testConfig(f.URL())
	cfg.VTS.APIKey = visa.NewSecret("SBXVTSAPIKEY01")
	cfg.VTS.SharedSecret = visa.NewSecret("sbx-vts-shared-secret")
	c := newClient(t, cfg, visa.ProductVTS, WithClock(func() time.Time { return time.Unix(1767225600, 0) }))
	_, err := c.Do(bg, &Request{Op: "vts.DeviceBinding", Method: http.MethodPost,
		Path: "/vts/provisionedTokens/{}/deviceBinding", PathParams: []string{"TOK-0001"},
		Query: []QueryParam{{"reasonCode", "DEVICE_BINDING"}}, Body: map[string]string{"intent": "FIDO"}}, nil)
	require.NoError(t, err)
	r := f.requests()[0]
	assert.Equal(t, `{"intent":"FIDO"}`, string(r.Body))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "xv2:1767225600:69b5d653019abe9b002cbcb1182e412e4013a86de1b37338750e6e028a397da8", r.Header.Get("X-Pay-Token"))
}

func TestDoVICPostMLERoundTrip(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, true, func(_ int, rec recorded) reply {
		return reply{Status: 201, Body: `{"instructionId":"INS-1","echo":` + string(rec.Plain) + `}`, Encrypt: true}
	})
	now := time.UnixMilli(1767225600123)
	c := newClient(t, testConfig(f.URL()), visa.ProductVIC, WithClock(func() time.Time { return now }))
	in := map[string]string{"consumerPrompt": "buy <shoes> & socks — ünïcode"}
	var out struct {
		InstructionID string            `json:"instructionId"`
		Echo          map[string]string `json:"echo"`
	}
	res, err := c.Do(bg, &Request{Op: "vic.InitiatePurchaseInstruction", Method: http.MethodPost, Path: "/vacp/v1/instructions", Body: in}, &out)
	require.NoError(t, err)
	assert.Equal(t, 201, res.StatusCode)
	assert.Equal(t, "INS-1", out.InstructionID)
	assert.Equal(t, in, out.Echo)

	r := f.requests()[0]
	assert.Equal(t, "apikey="+testVICKey, r.RawQuery)
	assert.True(t, r.SigOK, "X-Pay over the envelope bytes with vacp/ stripped")
	assert.Equal(t, testMLEKeyID, r.Header.Get("keyId"))
	// Envelope shape: exactly {"encData":"<5-part compact JWE>"}.
	var env map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &env))
	require.Len(t, env, 1)
	compact, ok := env["encData"].(string)
	require.True(t, ok)
	assert.Len(t, strings.Split(compact, "."), 5)
	assert.Equal(t, "RSA-OAEP-256", r.JWEHeader.Alg)
	assert.Equal(t, "A128GCM", r.JWEHeader.Enc)
	assert.Equal(t, testMLEKeyID, r.JWEHeader.KeyID)
	assert.Equal(t, now.UnixMilli(), r.JWEHeader.IssuedAt.UnixMilli(), "iat in milliseconds")
	assert.JSONEq(t, `{"consumerPrompt":"buy <shoes> & socks — ünïcode"}`, string(r.Plain))
	assert.Contains(t, string(r.Plain), "<shoes> &", "HTML escaping is off")
}

func TestDoHeaderSpelling(t *testing.T) {
	t.Parallel()
	var got http.Header
	cfg := testConfig("https://sandbox.api.visa.com")
	cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})}
	c := newClient(t, cfg, visa.ProductVIC)
	_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodPost, Path: "/vacp/v1/cards", Body: map[string]string{}}, nil)
	require.NoError(t, err)
	var spelled []string
	for k, v := range got {
		if strings.EqualFold(k, "keyid") {
			spelled = append(spelled, k+"="+strings.Join(v, ","))
		}
	}
	assert.Equal(t, []string{"keyId=" + testMLEKeyID}, spelled, "keyId exactly as Visa spells it, once")
	assert.NotEmpty(t, got["X-Pay-Token"])
	assert.NotEmpty(t, got["X-Request-Id"])
}

func TestDoEmptySuccessBodies(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "{}", " {} ", "null"} {
		f := newFakeVisa(t, false, func(int, recorded) reply { return reply{Status: 200, Body: body} })
		c := newClient(t, testConfig(f.URL()), visa.ProductVTS)
		var out struct{ A string }
		_, err := c.Do(bg, &Request{Op: "vts.ValidateOTP", Method: http.MethodPost, Path: "/vts/x", Body: map[string]string{}}, &out)
		assert.NoError(t, err, "body %q", body)
	}
}

func TestDoRetryCountPerMethodAndStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method     string
		idempotent bool
		status     int
		attempts   int
	}{
		{http.MethodGet, false, 503, 3},
		{http.MethodGet, false, 500, 3},
		{http.MethodGet, false, 502, 3},
		{http.MethodGet, false, 429, 3},
		{http.MethodGet, false, 501, 1},
		{http.MethodGet, false, 400, 1},
		{http.MethodGet, false, 404, 1},
		{http.MethodGet, false, 200, 1},
		{http.MethodPost, false, 503, 1},
		{http.MethodPost, false, 500, 1},
		{http.MethodPost, false, 429, 3}, // throttled before processing: a write is retried
		{http.MethodPut, false, 429, 3},
		{http.MethodPost, false, 408, 1},
		{http.MethodGet, false, 408, 3},
		{http.MethodGet, false, 505, 1},
		{http.MethodPut, false, 503, 1},
		{http.MethodDelete, false, 503, 1},
		{http.MethodPost, true, 503, 3},
		{http.MethodPost, true, 429, 3},
		{http.MethodPost, true, 409, 1},
		{http.MethodPut, true, 500, 3},
	}
	for _, tc := range cases {
		name := tc.method + "_" + http.StatusText(tc.status)
		if tc.idempotent {
			name += "_idempotent"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, false, func(int, recorded) reply {
				return reply{Status: tc.status, Body: `{"errorResponse":{"status":` + itoa(tc.status) + `,"reason":"x"}}`}
			})
			w := &waits{}
			c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook(w.hook))
			var body any
			if tc.method != http.MethodGet {
				body = map[string]string{"k": "v"}
			}
			res, err := c.Do(bg, &Request{Op: "op", Method: tc.method, Path: "/vts/x", Body: body, Idempotent: tc.idempotent}, nil)
			assert.Len(t, f.requests(), tc.attempts)
			assert.Equal(t, tc.attempts, res.Attempts)
			assert.Len(t, w.all(), tc.attempts-1)
			if tc.status >= 300 {
				var apiErr *visa.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.status, apiErr.HTTPStatus)
				assert.Equal(t, "corr-"+itoa(tc.attempts), apiErr.CorrelationID, "the last attempt's correlation id")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDoRetrySucceedsAfterTransient503(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, true, func(n int, _ recorded) reply {
		if n < 3 {
			return reply{Status: 503, Body: `{"responseStatus":{"status":503,"code":"BUSY"}}`}
		}
		return reply{Status: 200, Body: `{"ok":"yes"}`, Encrypt: true}
	})
	clock := &stepClock{t: time.Unix(1767225600, 0), step: time.Second}
	w := &waits{}
	c := newClient(t, testConfig(f.URL()), visa.ProductVIC, WithClock(clock.Now), withWaitHook(w.hook))
	var out struct{ OK string }
	res, err := c.Do(bg, &Request{Op: "vic.Confirm", Method: http.MethodPost, Path: "/vacp/v1/instructions/{}/confirmations",
		PathParams: []string{"INS-1"}, Body: map[string]string{"transactionReferenceId": "T1"}, Idempotent: true}, &out)
	require.NoError(t, err)
	assert.Equal(t, "yes", out.OK)
	assert.Equal(t, 3, res.Attempts)

	reqs := f.requests()
	require.Len(t, reqs, 3)
	seenTS := map[int64]bool{}
	seenID := map[string]bool{}
	for i, r := range reqs {
		assert.True(t, r.SigOK, "attempt %d signed", i+1)
		assert.Equal(t, reqs[0].Body, r.Body, "the same envelope bytes on every attempt")
		seenTS[r.SigTS] = true
		seenID[r.Header.Get("X-Request-Id")] = true
		assert.Regexp(t, uuidV4, r.Header.Get("X-Request-Id"))
	}
	assert.Len(t, seenTS, 3, "every attempt has its own X-Pay timestamp")
	assert.Len(t, seenID, 3, "every attempt has its own x-request-id")
	// Full jitter within [min, min(max, min·2^(n-1))].
	require.Len(t, w.all(), 2)
	for _, d := range w.all() {
		assert.GreaterOrEqual(t, d, time.Millisecond)
		assert.LessOrEqual(t, d, 2*time.Millisecond)
	}
}

func TestJitterBounds(t *testing.T) {
	t.Parallel()
	c := &Client{policy: visa.RetryPolicy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.WithDefaults(), jitter: cryptoJitter}
	for attempt := 1; attempt <= 8; attempt++ {
		cl := &call{c: c, attempt: attempt}
		ceil := min(time.Second, 100*time.Millisecond<<(attempt-1))
		for range 50 {
			d := cl.jittered()
			require.GreaterOrEqual(t, d, 100*time.Millisecond)
			require.LessOrEqual(t, d, ceil)
		}
	}
	// The extremes of the random source map onto the bounds.
	lo := &call{c: &Client{policy: c.policy, jitter: func(int64) int64 { return 0 }}, attempt: 3}
	hi := &call{c: &Client{policy: c.policy, jitter: func(n int64) int64 { return n - 1 }}, attempt: 3}
	assert.Equal(t, 100*time.Millisecond, lo.jittered())
	assert.Equal(t, 400*time.Millisecond, hi.jittered())
}

func TestDoRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("honoured", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisa(t, false, func(n int, _ recorded) reply {
			if n == 1 {
				return reply{Status: 429, Header: map[string]string{"Retry-After": "1"}}
			}
			return reply{Status: 200, Body: `{}`}
		})
		w := &waits{}
		c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook(w.hook))
		res, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Attempts)
		assert.Equal(t, []time.Duration{time.Second}, w.all(), "the wait is the server's Retry-After, not the jittered backoff")
	})
	t.Run("503 too", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisa(t, false, func(n int, _ recorded) reply {
			if n == 1 {
				return reply{Status: 503, Header: map[string]string{"Retry-After": "2"}}
			}
			return reply{Status: 200}
		})
		w := &waits{}
		c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook(w.hook))
		_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{2 * time.Second}, w.all())
	})
	t.Run("above the cap is not waited for", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisa(t, false, func(int, recorded) reply {
			return reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: `{"responseStatus":{"status":429,"code":"RATE_LIMITED"}}`}
		})
		w := &waits{}
		c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook(w.hook))
		res, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
		var apiErr *visa.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.ErrorIs(t, err, visa.ErrRateLimited)
		assert.Equal(t, time.Hour, apiErr.RetryAfter)
		assert.True(t, apiErr.Retryable)
		assert.Equal(t, 1, res.Attempts)
		assert.Empty(t, w.all())
	})
	t.Run("longer than the call deadline is not waited for", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisa(t, false, func(int, recorded) reply {
			return reply{Status: 503, Header: map[string]string{"Retry-After": "20"}}
		})
		cfg := testConfig(f.URL())
		cfg.Timeout = 5 * time.Second
		w := &waits{}
		c := newClient(t, cfg, visa.ProductVTS, withWaitHook(w.hook))
		res, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
		var apiErr *visa.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 503, apiErr.HTTPStatus)
		assert.Equal(t, 1, res.Attempts)
		assert.Empty(t, w.all())
	})
}

func TestDoCancelDuringBackoffReturnsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, func(int, recorded) reply {
		return reply{Status: 429, Header: map[string]string{"Retry-After": "10"}}
	})
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	waiting := make(chan time.Duration, 1)
	// The hook observes the real 10 s wait and lets it happen.
	c := newClient(t, testConfig(f.URL()), visa.ProductVTS, withWaitHook(func(d time.Duration) time.Duration {
		waiting <- d
		return d
	}))
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
		done <- err
	}()
	assert.Equal(t, 10*time.Second, <-waiting)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		var re *visa.RequestError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, re.Attempts)
	case <-time.After(5 * time.Second): // a guard, not a speed assert: the backoff is 10 s
		t.Fatal("Do did not return when ctx was cancelled during the backoff")
	}
	assert.Len(t, f.requests(), 1)
}

func TestDoContextAlreadyCancelled(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, nil)
	c := newClient(t, testConfig(f.URL()), visa.ProductVTS)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := c.Do(ctx, &Request{Op: "op", Method: http.MethodGet, Path: "/vts/x"}, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, f.requests())
}

func TestDoErrorBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		mle      bool
		rp       reply
		product  visa.Product
		code     string
		reason   string
		sentinel error
	}{
		{"VTS plain errorResponse", false,
			reply{Status: 400, Body: `{"errorResponse":{"status":400,"reason":"invalidOtp","message":"wrong code"}}`},
			visa.ProductVTS, "", "invalidOtp", visa.ErrOTPInvalid},
		{"VTS gateway responseStatus", false,
			reply{Status: 401, Body: `{"responseStatus":{"status":401,"code":"XPAY_INVALID","severity":"ERROR","message":"bad token"}}`},
			visa.ProductGateway, "XPAY_INVALID", "", visa.ErrUnauthorized},
		{"VIC encrypted responseStatus", true,
			reply{Status: 400, Body: `{"responseStatus":{"status":400,"code":"INSTRUCTION_NOT_ACTIVE","severity":"ERROR","message":"expired","info":"i"}}`, Encrypt: true},
			visa.ProductVIC, "INSTRUCTION_NOT_ACTIVE", "", visa.ErrInstructionExpired},
		{"VIC plain gateway error", true,
			reply{Status: 400, Body: `{"responseStatus":{"status":400,"code":"MLE_KEYID_UNKNOWN","message":"who?"}}`},
			visa.ProductGateway, "MLE_KEYID_UNKNOWN", "", visa.ErrEncryption},
		{"VIC encrypted 404", true,
			reply{Status: 404, Body: `{"responseStatus":{"status":404,"code":"INSTRUCTION_NOT_FOUND"}}`, Encrypt: true},
			visa.ProductVIC, "INSTRUCTION_NOT_FOUND", "", visa.ErrNotFound},
		{"neither format", false,
			reply{Status: 409, Body: `<html>conflict</html>`},
			visa.ProductVTS, "", "", visa.ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, tc.mle, func(int, recorded) reply { return tc.rp })
			p := visa.ProductVTS
			if tc.mle {
				p = visa.ProductVIC
			}
			c := newClient(t, testConfig(f.URL()), p)
			res, err := c.Do(bg, &Request{Op: "svc.Op", Method: http.MethodPost, Path: "/x", Body: map[string]string{"a": "b"}}, nil)
			var apiErr *visa.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.rp.Status, apiErr.HTTPStatus)
			assert.Equal(t, tc.product, apiErr.Product)
			assert.Equal(t, tc.code, apiErr.Code)
			assert.Equal(t, tc.reason, apiErr.Reason)
			var opErr *visa.OperationError
			require.ErrorAs(t, err, &opErr)
			assert.Equal(t, "svc.Op", opErr.Operation)
			assert.Equal(t, "corr-1", opErr.Meta.CorrelationID)
			assert.Equal(t, "corr-1", apiErr.CorrelationID)
			assert.Equal(t, "corr-1", res.CorrelationID)
			assert.ErrorIs(t, err, tc.sentinel)
			assert.NotErrorIs(t, err, visa.ErrMalformedResponse)
		})
	}
}

func TestDoMalformedAndOversize(t *testing.T) {
	t.Parallel()
	const limit = 4096
	cases := []struct {
		name      string
		mle       bool
		rp        reply
		chunked   bool
		sentinels []error
		apiStatus int // non-zero: an *APIError is reachable too
	}{
		{"malformed JSON", false, reply{Status: 200, Body: `{"a":`}, false, []error{visa.ErrMalformedResponse}, 0},
		{"wrong JSON type", false, reply{Status: 200, Body: `{"a":12}`}, false, []error{visa.ErrMalformedResponse}, 0},
		{"garbage MLE envelope", true, reply{Status: 200, Body: `{"encData":"not.a.jwe"}`}, false, []error{visa.ErrMalformedResponse, jwe.ErrMalformed}, 0},
		{"MLE for another key", true, reply{Status: 200, Raw: func(w http.ResponseWriter, _ *http.Request) {
			enc, _ := jwe.NewMLEEncrypter(&keys().server.PublicKey, testMLEKeyID, "")
			compact, _ := enc.Encrypt([]byte(`{}`), time.Now())
			_, _ = w.Write(jwe.MarshalEnvelope(compact))
		}}, false, []error{visa.ErrMalformedResponse, jwe.ErrDecrypt}, 0},
		{"MLE for an unknown key id", true, reply{Status: 200, Raw: func(w http.ResponseWriter, _ *http.Request) {
			enc, _ := jwe.NewMLEEncrypter(&keys().client.PublicKey, "k", "")
			compact, _ := enc.Encrypt([]byte(`{}`), time.Now())
			_, _ = w.Write(jwe.MarshalEnvelope(compact))
		}}, false, []error{visa.ErrMalformedResponse, jwe.ErrKeyID}, 0},
		{"undecryptable error body", true, reply{Status: 400, Body: `{"encData":"a.b.c.d.e"}`}, false, []error{visa.ErrMalformedResponse}, 400},
		{"oversize by one byte", false, reply{Status: 200, Body: `"` + strings.Repeat("x", limit-1) + `"`}, false, []error{visa.ErrResponseTooLarge}, 0},
		{"oversize chunked", false, reply{Raw: func(w http.ResponseWriter, _ *http.Request) {
			for range limit/100 + 2 {
				_, _ = w.Write([]byte(strings.Repeat("y", 100)))
				w.(http.Flusher).Flush()
			}
		}}, true, []error{visa.ErrResponseTooLarge}, 0},
		{"oversize error body", false, reply{Status: 500, Body: strings.Repeat("z", limit+1)}, false, []error{visa.ErrResponseTooLarge}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, tc.mle, func(int, recorded) reply { return tc.rp })
			cfg := testConfig(f.URL())
			cfg.MaxResponseBytes = limit
			p := visa.ProductVTS
			if tc.mle {
				p = visa.ProductVIC
			}
			c := newClient(t, cfg, p, withWaitHook((&waits{}).hook))
			var out struct{ A string }
			_, err := c.Do(bg, &Request{Op: "svc.Op", Method: http.MethodPost, Path: "/x", Body: map[string]string{}}, &out)
			require.Error(t, err)
			for _, s := range tc.sentinels {
				assert.ErrorIs(t, err, s)
			}
			var apiErr *visa.APIError
			if tc.apiStatus != 0 {
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.apiStatus, apiErr.HTTPStatus)
			} else {
				assert.NotErrorAs(t, err, &apiErr)
			}
			assert.Contains(t, err.Error(), "svc.Op")
		})
	}
	t.Run("exactly the limit is fine", func(t *testing.T) {
		t.Parallel()
		body := `"` + strings.Repeat("x", limit-2) + `"`
		f := newFakeVisa(t, false, func(int, recorded) reply { return reply{Status: 200, Body: body} })
		cfg := testConfig(f.URL())
		cfg.MaxResponseBytes = limit
		c := newClient(t, cfg, visa.ProductVTS)
		var out string
		_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/x"}, &out)
		require.NoError(t, err)
		assert.Len(t, out, limit-2)
	})
	t.Run("default limit is 1 MiB", func(t *testing.T) {
		t.Parallel()
		body := `"` + strings.Repeat("x", visa.DefaultMaxResponseBytes-1) + `"`
		f := newFakeVisa(t, false, func(int, recorded) reply { return reply{Status: 200, Body: body} })
		c := newClient(t, testConfig(f.URL()), visa.ProductVTS)
		_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/x"}, nil)
		require.ErrorIs(t, err, visa.ErrResponseTooLarge)
	})
}

func TestDoRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	other := newFakeVisa(t, false, nil)
	f := newFakeVisa(t, false, func(int, recorded) reply {
		return reply{Status: http.StatusTemporaryRedirect, Header: map[string]string{"Location": other.URL() + "/steal"}}
	})
	c := newClient(t, testConfig(f.URL()), visa.ProductVTS)
	_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodPost, Path: "/vts/x", Body: map[string]string{"a": "b"}}, nil)
	var apiErr *visa.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTemporaryRedirect, apiErr.HTTPStatus)
	assert.Len(t, f.requests(), 1)
	assert.Empty(t, other.requests(), "the signed request must not go to the Location")
}

func TestDoRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, nil)
	c := newClient(t, testConfig(f.URL()), visa.ProductVTS)
	cases := []struct {
		name string
		req  *Request
	}{
		{"nil request", nil},
		{"bad method", &Request{Method: "TRACE", Path: "/x"}},
		{"lower-case method", &Request{Method: "get", Path: "/x"}},
		{"relative path", &Request{Method: "GET", Path: "x"}},
		{"too few params", &Request{Method: "GET", Path: "/x/{}/{}", PathParams: []string{"a"}}},
		{"too many params", &Request{Method: "GET", Path: "/x/{}", PathParams: []string{"a", "b"}}},
		{"empty param", &Request{Method: "GET", Path: "/x/{}", PathParams: []string{""}}},
		{"dot param", &Request{Method: "GET", Path: "/x/{}", PathParams: []string{"."}}},
		{"dot-dot param", &Request{Method: "GET", Path: "/x/{}/y", PathParams: []string{".."}}},
		{"slash param", &Request{Method: "GET", Path: "/x/{}", PathParams: []string{"../../admin"}}},
		{"owned header", &Request{Method: "GET", Path: "/x", Header: http.Header{"x-pay-token": {"forged"}}}},
		{"unencodable body", &Request{Method: "POST", Path: "/x", Body: map[string]any{"f": func() {}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Do(bg, tc.req, nil)
			require.ErrorIs(t, err, visa.ErrInvalidInput)
			var ie *visa.InputError
			assert.ErrorAs(t, err, &ie)
			assert.Zero(t, res.Attempts)
		})
	}
	assert.Empty(t, f.requests(), "nothing is sent for refused input")
}

func TestBuildPathEscapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		tmpl   string
		params []string
		want   string
	}{
		{"/vts/panEnrollments/{}/provisionedTokens", []string{"ENR-1"}, "/vts/panEnrollments/ENR-1/provisionedTokens"},
		{"/a/{}/b/{}", []string{"x y", "q?r#s"}, "/a/x%20y/b/q%3Fr%23s"},
		{"/a/{}", []string{"%2F"}, "/a/%252F"},
		{"/a/{}", []string{"..."}, "/a/..."},
		{"/a", nil, "/a"},
		{"/vacp/v1/instructions/{instructionId}/cancel", []string{"I 1"}, "/vacp/v1/instructions/I%201/cancel"},
	}
	for _, tc := range cases {
		got, err := buildPath(tc.tmpl, tc.params, false)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

func TestDoExtraHeadersAndBasicAuth(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, nil)
	cfg := testConfig(f.URL())
	cfg.TLS.UserID = "user1"
	cfg.TLS.Password = visa.NewSecret(testBasicPass)
	c := newClient(t, cfg, visa.ProductVTS)
	_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodGet, Path: "/x", Header: http.Header{"X-Extra": {"1"}}}, nil)
	require.NoError(t, err)
	r := f.requests()[0]
	assert.Equal(t, "1", r.Header.Get("X-Extra"))
	u, p, ok := (&http.Request{Header: r.Header}).BasicAuth()
	require.True(t, ok)
	assert.Equal(t, "user1", u)
	assert.Equal(t, testBasicPass, p)
}

func TestDoRequestErrorUnwraps(t *testing.T) {
	t.Parallel()
	c := newClient(t, testConfig(closedPortURL(t)), visa.ProductVTS, withWaitHook((&waits{}).hook))
	_, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/provisionedTokens/{}", PathParams: []string{"T1"}}, nil)
	var re *visa.RequestError
	require.ErrorAs(t, err, &re)
	var opErr *visa.OperationError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "vts.GetToken", opErr.Operation)
	assert.Equal(t, 3, re.Attempts)
	assert.Contains(t, re.URL, "apikey=REDACTED")
	var netErr *net.OpError
	assert.ErrorAs(t, err, &netErr, "the cause stays reachable")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.NotContains(t, err.Error(), testVTSKey)
	assert.Contains(t, err.Error(), "(3 attempts)")
}

// TestDoConcurrent runs many calls at once on one Client (pooled call
// state, shared connection pool) and checks that no answer crosses over
// to another call.
func TestDoConcurrent(t *testing.T) {
	t.Parallel()
	for _, p := range []visa.Product{visa.ProductVTS, visa.ProductVIC} {
		var seen sync.Map
		f := newFakeVisa(t, p == visa.ProductVIC, func(_ int, rec recorded) reply {
			if _, again := seen.LoadOrStore(rec.Path, true); !again && strings.HasSuffix(rec.Path, "-c0") {
				return reply{Status: 503} // the first call of each worker retries once
			}
			return reply{Status: 200, Body: `{"echo":` + string(rec.Plain) + `}`, Encrypt: p == visa.ProductVIC}
		})
		c := newClient(t, testConfig(f.URL()), p, withWaitHook((&waits{}).hook))
		workers, calls := 16, 6
		if p == visa.ProductVIC {
			workers, calls = 4, 3 // RSA is slow under -race
		}
		errs := make(chan error, workers*calls)
		for w := range workers {
			go func() {
				for i := range calls {
					id := fmt.Sprintf("w%d-c%d", w, i)
					var out struct {
						Echo struct{ ID string } `json:"echo"`
					}
					_, err := c.Do(bg, &Request{Op: "op", Method: http.MethodPost, Path: "/x/{}", PathParams: []string{id},
						Body: map[string]string{"ID": id}, Idempotent: true}, &out)
					if err == nil && out.Echo.ID != id {
						err = fmt.Errorf("call %s got the answer of %s", id, out.Echo.ID)
					}
					errs <- err
				}
			}()
		}
		for range workers * calls {
			assert.NoError(t, <-errs)
		}
		for _, r := range f.requests() {
			assert.True(t, r.SigOK)
		}
	}
}

func TestDoTimeoutBoundsTheCall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeVisa(t, false, func(int, recorded) reply {
		return reply{Raw: func(w http.ResponseWriter, r *http.Request) {
			select { // hold the request until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
		}}
	})
	t.Cleanup(func() { close(release) })
	cfg := testConfig(f.URL())
	cfg.Timeout = 50 * time.Millisecond
	c := newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook))
	res, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/x"}, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var re *visa.RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, res.Attempts, "no retry once the call's deadline has passed")
	assert.NotContains(t, err.Error(), testVTSKey)
}
