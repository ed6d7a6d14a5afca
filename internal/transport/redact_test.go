package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vicgo/visa/internal/testutil"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// Card data sent in request bodies: it must never reach a log or an error.
const (
	testPAN = "4111111111111111"
	testCVV = "987"
	testOTP = "456789"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"https://h/p?apikey=K1&reasonCode=X", "https://h/p?apikey=REDACTED&reasonCode=X"},
		{"https://h/p?apiKey=K1", "https://h/p?apiKey=REDACTED"},
		{"https://h/p?a=1&api_key=K1&b=2", "https://h/p?a=1&api_key=REDACTED&b=2"},
		{"https://h/p?clientSecret=S&accessToken=T&password=P&sig=1", "https://h/p?clientSecret=REDACTED&accessToken=REDACTED&password=REDACTED&sig=1"},
		{"https://h/p?api%4Bey=K1", "https://h/p?api%4Bey=REDACTED"},
		{"https://h/p?apikey", "https://h/p?apikey=REDACTED"},
		{"https://user:pw@h/p", "https://user:REDACTED@h/p"},
		{"https://h/p?apikey=K#frag", "https://h/p?apikey=REDACTED"},
		{"https://h/p", "https://h/p"},
		{"://bad", "[unparseable URL]"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, RedactURL(tc.in), tc.in)
	}
}

// TestRedaction drives requests carrying every secret through every
// outcome (success, API errors, retries, network failures, oversize,
// malformed, redirect, cancellation, a foreign RoundTripper quoting the
// URL) and asserts that no secret appears in any slog record or error
// string.
func TestRedaction(t *testing.T) {
	t.Parallel()
	k := keys()
	secrets := map[string]string{
		"VIC api key": testVICKey, "VIC shared secret": testVICSecret,
		"VTS api key": testVTSKey, "VTS shared secret": testVTSSecret,
		"enc api key": testEncAPIKey, "enc secret": testEncSecret, "hash secret": testHashSecret,
		"basic password":  testBasicPass,
		"MLE private key": string(k.clientPrivPEM)[40:120], // a slice of the base64 body
		"PAN":             testPAN, "CVV2": testCVV, "OTP": testOTP,
	}
	body := map[string]string{"pan": testPAN, "cvv2": testCVV, "otpValue": testOTP}

	sink := &testutil.LogBuffer{}
	var errTexts []string
	client := func(t *testing.T, cfg visa.Config, p visa.Product) *Client {
		cfg.Logger = debugLogger(sink)
		cfg.TLS.UserID = "user1"
		cfg.TLS.Password = visa.NewSecret(testBasicPass)
		cfg.MaxResponseBytes = 4096
		return newClient(t, cfg, p, withWaitHook((&waits{}).hook))
	}
	call := func(c *Client, ctx context.Context, req *Request) {
		var out map[string]any
		_, err := c.Do(ctx, req, &out)
		if err != nil {
			errTexts = append(errTexts, err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%s", err))
			for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
				errTexts = append(errTexts, e.Error())
			}
		}
	}
	run := func(t *testing.T, cfg visa.Config, p visa.Product, ctx context.Context, req *Request) {
		t.Helper()
		call(client(t, cfg, p), ctx, req)
	}
	post := func(op string, idem bool) *Request {
		return &Request{Op: op, Method: http.MethodPost, Path: "/vts/x/{}", PathParams: []string{"T1"},
			Query: []QueryParam{{"reasonCode", "DEVICE_BINDING"}}, Body: body, Idempotent: idem}
	}
	hangUp := func(w http.ResponseWriter, _ *http.Request) { c, _, _ := w.(http.Hijacker).Hijack(); _ = c.Close() }
	replies := map[string]reply{
		"200":        {Status: 200, Body: `{"ok":true}`},
		"200 MLE":    {Status: 200, Body: `{"ok":true}`, Encrypt: true},
		"400 VTS":    {Status: 400, Body: `{"errorResponse":{"status":400,"reason":"invalidOtp","message":"wrong code"}}`},
		"400 VIC":    {Status: 400, Body: `{"responseStatus":{"status":400,"code":"INVALID_REQUEST"}}`, Encrypt: true},
		"503":        {Status: 503, Body: `{}`},
		"429 long":   {Status: 429, Header: map[string]string{"Retry-After": "999"}},
		"malformed":  {Status: 200, Body: `{"ok":`},
		"bad MLE":    {Status: 200, Body: `{"encData":"x.y.z.w.v"}`},
		"oversize":   {Status: 200, Body: strings.Repeat("a", 5000)},
		"redirect":   {Status: 302, Header: map[string]string{"Location": "https://elsewhere.test/?apikey=" + testVTSKey}},
		"reset":      {Raw: hangUp},
		"cancelled":  {Status: 200},
		"idem reset": {Raw: hangUp},
	}
	// One server and one client per product; the scenario travels in a
	// header.
	for _, p := range []visa.Product{visa.ProductVTS, visa.ProductVIC} {
		f := newFakeVisa(t, p == visa.ProductVIC, func(_ int, rec recorded) reply { return replies[rec.Header.Get("X-Scenario")] })
		c := client(t, testConfig(f.URL()), p)
		for name := range replies {
			ctx := bg
			if name == "cancelled" {
				cctx, cancel := context.WithCancel(bg)
				cancel()
				ctx = cctx
			}
			h := http.Header{"X-Scenario": {name}}
			req := post("svc."+name, name == "idem reset")
			req.Header = h
			call(c, ctx, req)
			call(c, ctx, &Request{Op: "svc.get " + name, Method: http.MethodGet, Path: "/vts/x", Query: []QueryParam{{"q", "1"}}, Header: h})
		}
	}
	// Network failure, and a deadline.
	for _, p := range []visa.Product{visa.ProductVTS, visa.ProductVIC} {
		run(t, testConfig(closedPortURL(t)), p, bg, post("svc.dial", false))
		ctx, cancel := context.WithTimeout(bg, time.Nanosecond)
		run(t, testConfig(closedPortURL(t)), p, ctx, post("svc.deadline", false))
		cancel()
	}
	// A foreign RoundTripper (httpmock) whose error quotes the full URL.
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("mock refused %s with key %s", r.URL.String(), r.URL.Query().Get("apikey"))
	})
	for _, p := range []visa.Product{visa.ProductVTS, visa.ProductVIC} {
		cfg := testConfig("https://sandbox.api.visa.com")
		cfg.HTTPClient = &http.Client{Transport: mt}
		run(t, cfg, p, bg, post("svc.mock", false))
	}

	logs := sink.String()
	require.NotEmpty(t, errTexts)
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	require.Greater(t, len(lines), 40, "every attempt is logged")
	for _, line := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "a structured record")
	}
	assert.Contains(t, logs, "apikey=REDACTED")
	assert.Contains(t, logs, `"msg":"visa http attempt"`)
	assert.Contains(t, logs, `"msg":"visa http call failed"`)
	assert.Contains(t, strings.Join(errTexts, "\n"), "apikey=REDACTED")
	allErrs := strings.Join(errTexts, "\n")
	for what, s := range secrets {
		assert.False(t, containsToken(logs, s), "%s in a log record", what)
		assert.False(t, containsToken(allErrs, s), "%s in an error string", what)
	}
	// No body ever: its field names never show either.
	for _, field := range []string{"cvv2", "otpValue", `\"pan\"`, "encData", "errorResponse", "responseStatus"} {
		assert.NotContains(t, logs, field)
	}
}

// containsToken reports whether s holds secret; an all-digit secret (CVV2,
// OTP) counts only when not part of a longer number such as a duration.
func containsToken(s, secret string) bool {
	if strings.Trim(secret, "0123456789") != "" {
		return strings.Contains(s, secret)
	}
	return regexp.MustCompile(`(^|[^0-9])` + secret + `([^0-9]|$)`).MatchString(s)
}

func TestAttemptLogRecord(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, false, func(n int, _ recorded) reply {
		if n == 1 {
			return reply{Status: 503}
		}
		return reply{Status: 200}
	})
	sink := &testutil.LogBuffer{}
	cfg := testConfig(f.URL())
	cfg.Logger = debugLogger(sink)
	c := newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook))
	_, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/provisionedTokens/{}", PathParams: []string{"T1"}}, nil)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	require.Len(t, lines, 2, "one record per attempt, none for a successful call")
	for i, line := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		assert.Equal(t, "DEBUG", rec["level"])
		assert.Equal(t, "visa http attempt", rec["msg"])
		assert.Equal(t, "vts.GetToken", rec["op"])
		assert.Equal(t, "GET", rec["method"])
		assert.Equal(t, f.URL()+"/vts/provisionedTokens/T1?apikey=REDACTED", rec["url"])
		assert.EqualValues(t, i+1, rec["attempt"])
		assert.Equal(t, fmt.Sprintf("corr-%d", i+1), rec["correlation_id"])
		assert.Contains(t, rec, "duration")
		assert.Equal(t, i == 0, rec["retry"])
	}
	assert.EqualValues(t, 503, mustJSON(t, lines[0])["status"])
	assert.EqualValues(t, 200, mustJSON(t, lines[1])["status"])
}

func mustJSON(t *testing.T, s string) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

func TestDoWithHTTPMock(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	var n atomic.Int32
	mt.RegisterResponder(http.MethodGet, "=~^https://cert\\.api\\.visa\\.com/vts/provisionedTokens/T1\\?apikey=",
		func(r *http.Request) (*http.Response, error) {
			if n.Add(1) < 3 {
				return httpmock.NewStringResponse(503, `{}`), nil
			}
			resp := httpmock.NewStringResponse(200, `{"tokenInfo":{"tokenStatus":"ACTIVE"}}`)
			resp.Header.Set("X-Correlation-Id", "mock-1")
			return resp, nil
		})
	cfg := testConfig("")
	cfg.VTSBaseURL = ""
	cfg.HTTPClient = &http.Client{Transport: mt}
	c := newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook))
	var out struct {
		TokenInfo struct{ TokenStatus string } `json:"tokenInfo"`
	}
	res, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/provisionedTokens/{}", PathParams: []string{"T1"}}, &out)
	require.NoError(t, err)
	assert.Equal(t, "ACTIVE", out.TokenInfo.TokenStatus)
	assert.Equal(t, 3, res.Attempts)
	assert.Equal(t, "mock-1", res.CorrelationID)
	assert.Equal(t, 3, mt.GetTotalCallCount())
}

func FuzzRedactURL(f *testing.F) {
	f.Add("SBXVTSAPIKEY01", "DEVICE_BINDING", "/vts/x")
	f.Add("k&y=1", "a b", "/p%2F")
	f.Fuzz(func(t *testing.T, key, other, path string) {
		u := "https://h.example" + "/" + url.PathEscape(path) + "?q=" + url.QueryEscape(other) + "&apikey=" + url.QueryEscape(key)
		got := RedactURL(u)
		esc := url.QueryEscape(key)
		if len(key) >= 6 && !strings.Contains(got[:strings.Index(got, "?")+1]+url.QueryEscape(other), esc) {
			if strings.Contains(got, esc) {
				t.Fatalf("api key left in %q", got)
			}
		}
		if !strings.HasSuffix(got, "&apikey=REDACTED") {
			t.Fatalf("not redacted: %q", got)
		}
	})
}
