package transport

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/vicgo/visa"
)

var testNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func TestParseAPIErrorFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		product visa.Product
		status  int
		body    string
		want    visa.APIError
	}{
		{
			name: "gateway responseStatus numeric status", product: visa.ProductVTS, status: 401,
			body: `{"responseStatus":{"status":401,"code":"XPAY_INVALID","severity":"ERROR","message":"bad token","info":""}}`,
			want: visa.APIError{Product: visa.ProductGateway, HTTPStatus: 401, Code: "XPAY_INVALID", Severity: "ERROR", Message: "bad token"},
		},
		{
			name: "VIC responseStatus string status", product: visa.ProductVIC, status: 400,
			body: `{"responseStatus":{"status":"400","code":"INSTRUCTION_NOT_ACTIVE","severity":"ERROR","message":"expired","info":"instruction expired at 12:00"}}`,
			want: visa.APIError{Product: visa.ProductVIC, HTTPStatus: 400, Code: "INSTRUCTION_NOT_ACTIVE", Severity: "ERROR", Message: "expired", Info: "instruction expired at 12:00"},
		},
		{
			name: "responseStatus word status and odd types", product: visa.ProductVIC, status: 400,
			body: `{"responseStatus":{"status":"BAD_REQUEST","code":"INVALID_REQUEST","message":{"x":1},"info":null,"severity":3}}`,
			want: visa.APIError{Product: visa.ProductVIC, HTTPStatus: 400, Code: "INVALID_REQUEST", Severity: "3"},
		},
		{
			name: "VTS errorResponse", product: visa.ProductVTS, status: 400,
			body: `{"errorResponse":{"status":400,"reason":"invalidOtp","message":"wrong code","ref":null,"details":[{"location":"otpValue"}]}}`,
			want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 400, Reason: "invalidOtp", Message: "wrong code"},
		},
		{
			name: "status from body when unknown", product: visa.ProductVTS, status: 0,
			body: `{"errorResponse":{"status":"404","reason":"notFound","message":"no such token"}}`,
			want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 404, Reason: "notFound", Message: "no such token"},
		},
		{
			name: "gateway code on VIC", product: visa.ProductVIC, status: 400,
			body: `{"responseStatus":{"status":400,"code":"MLE_DECRYPT_FAILED","message":"cannot decrypt"}}`,
			want: visa.APIError{Product: visa.ProductGateway, HTTPStatus: 400, Code: "MLE_DECRYPT_FAILED", Message: "cannot decrypt"},
		},
		{name: "empty body", product: visa.ProductVTS, status: 502, body: ``, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 502, Retryable: true}},
		{name: "html", product: visa.ProductVIC, status: 503, body: `<html><body>Service Unavailable 4111111111111111</body></html>`, want: visa.APIError{Product: visa.ProductVIC, HTTPStatus: 503, Retryable: true}},
		{name: "undecrypted MLE envelope", product: visa.ProductVIC, status: 400, body: `{"encData":"eyJhbGciOi..."}`, want: visa.APIError{Product: visa.ProductVIC, HTTPStatus: 400}},
		{name: "array", product: visa.ProductVIC, status: 500, body: `[1,2,3]`, want: visa.APIError{Product: visa.ProductVIC, HTTPStatus: 500, Retryable: true}},
		{name: "null members", product: visa.ProductVTS, status: 400, body: `{"responseStatus":null,"errorResponse":{"reason":"cardExpired"}}`, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 400, Reason: "cardExpired"}},
		{name: "truncated json", product: visa.ProductVTS, status: 400, body: `{"errorResponse":{"reason":"invalidOtp"`, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 400}},
		{name: "rate limited", product: visa.ProductVTS, status: 429, body: `{}`, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 429, Retryable: true}},
		{name: "request timeout", product: visa.ProductVTS, status: 408, body: ``, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 408, Retryable: true}},
		{name: "not implemented", product: visa.ProductVTS, status: 501, body: ``, want: visa.APIError{Product: visa.ProductVTS, HTTPStatus: 501}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseAPIError(tt.product, tt.status, nil, []byte(tt.body), testNow)
			want := tt.want
			assert.Equal(t, &want, got)
			line := got.Error()
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "4111111111111111", "the body beyond the message fields never reaches Error()")
			assert.NotContains(t, line, "encData")
		})
	}
}

func TestParseAPIErrorHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-CORRELATION-ID", "1f2e3d")
	h.Set("Retry-After", "7")
	e := parseAPIError(visa.ProductVTS, 429, h, nil, testNow)
	assert.Equal(t, "1f2e3d", e.CorrelationID)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	assert.True(t, e.Retryable)

	h = http.Header{"x-correlation-id": {"lower"}} // not canonicalised
	h.Set("Retry-After", testNow.Add(90*time.Second).Format(http.TimeFormat))
	e = parseAPIError(visa.ProductVTS, 503, h, nil, testNow)
	assert.Equal(t, 90*time.Second, e.RetryAfter)
	assert.Empty(t, e.CorrelationID, "http.Header.Get needs canonical keys; net/http canonicalises received headers")
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := map[string]time.Duration{
		"":         0,
		"0":        0,
		"5":        5 * time.Second,
		" 12 ":     12 * time.Second,
		"-3":       0,
		"1.5":      0,
		"soon":     0,
		"99999999": 24 * time.Hour,
		testNow.Add(2 * time.Minute).Format(http.TimeFormat):  2 * time.Minute,
		testNow.Add(-2 * time.Minute).Format(http.TimeFormat): 0,
		testNow.Add(72 * time.Hour).Format(http.TimeFormat):   24 * time.Hour,
		testNow.Add(30 * time.Second).Format(time.RFC850):     30 * time.Second,
	}
	for in, want := range tests {
		assert.Equal(t, want, parseRetryAfter(in, testNow), "%q", in)
	}
}

func FuzzParseAPIError(f *testing.F) {
	f.Add(400, []byte(`{"responseStatus":{"status":400,"code":"INSTRUCTION_NOT_ACTIVE","message":"m","info":"i","severity":"ERROR"}}`), "7")
	f.Add(400, []byte(`{"errorResponse":{"status":"400","reason":"invalidOtp","message":"line\none"}}`), "")
	f.Add(0, []byte(`{"errorResponse":{"status":"404"}}`), "Wed, 25 Nov 2026 08:01:00 GMT")
	f.Add(503, []byte(`<html>`), "-1")
	f.Add(429, []byte(``), "99999999999999999999")
	f.Add(401, []byte(`{"responseStatus":{"code":"XPAY_\u2028X","message":"\u0085"}}`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("X-Correlation-Id", string(body[:min(len(body), 40)]))
		e := parseAPIError(visa.ProductVIC, status, h, body, testNow)
		line := e.Error()
		if strings.ContainsAny(line, "\n\r\v\f\u0085\u2028\u2029") {
			t.Fatalf("Error() is not one line: %q", line)
		}
		if utf8.ValidString(string(body)) && !utf8.ValidString(line) {
			t.Fatalf("Error() broke a rune: %q", line)
		}
		if len(line) > 6*300 {
			t.Fatalf("Error() is %d bytes", len(line))
		}
		if e.RetryAfter < 0 || e.RetryAfter > 24*60*60*1e9 {
			t.Fatalf("RetryAfter %v", e.RetryAfter)
		}
		_ = e.Is(visa.ErrNotFound)
	})
}
