package visa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests are internal to reach parseAPIError's clock.

var testNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func TestParseAPIErrorFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		product Product
		status  int
		body    string
		want    APIError
	}{
		{
			name: "gateway responseStatus numeric status", product: ProductVTS, status: 401,
			body: `{"responseStatus":{"status":401,"code":"XPAY_INVALID","severity":"ERROR","message":"bad token","info":""}}`,
			want: APIError{Product: ProductGateway, HTTPStatus: 401, Code: "XPAY_INVALID", Severity: "ERROR", Message: "bad token"},
		},
		{
			name: "VIC responseStatus string status", product: ProductVIC, status: 400,
			body: `{"responseStatus":{"status":"400","code":"INSTRUCTION_NOT_ACTIVE","severity":"ERROR","message":"expired","info":"instruction expired at 12:00"}}`,
			want: APIError{Product: ProductVIC, HTTPStatus: 400, Code: "INSTRUCTION_NOT_ACTIVE", Severity: "ERROR", Message: "expired", Info: "instruction expired at 12:00"},
		},
		{
			name: "responseStatus word status and odd types", product: ProductVIC, status: 400,
			body: `{"responseStatus":{"status":"BAD_REQUEST","code":"INVALID_REQUEST","message":{"x":1},"info":null,"severity":3}}`,
			want: APIError{Product: ProductVIC, HTTPStatus: 400, Code: "INVALID_REQUEST", Severity: "3"},
		},
		{
			name: "VTS errorResponse", product: ProductVTS, status: 400,
			body: `{"errorResponse":{"status":400,"reason":"invalidOtp","message":"wrong code","ref":null,"details":[{"location":"otpValue"}]}}`,
			want: APIError{Product: ProductVTS, HTTPStatus: 400, Reason: "invalidOtp", Message: "wrong code"},
		},
		{
			name: "status from body when unknown", product: ProductVTS, status: 0,
			body: `{"errorResponse":{"status":"404","reason":"notFound","message":"no such token"}}`,
			want: APIError{Product: ProductVTS, HTTPStatus: 404, Reason: "notFound", Message: "no such token"},
		},
		{
			name: "gateway code on VIC", product: ProductVIC, status: 400,
			body: `{"responseStatus":{"status":400,"code":"MLE_DECRYPT_FAILED","message":"cannot decrypt"}}`,
			want: APIError{Product: ProductGateway, HTTPStatus: 400, Code: "MLE_DECRYPT_FAILED", Message: "cannot decrypt"},
		},
		{name: "empty body", product: ProductVTS, status: 502, body: ``, want: APIError{Product: ProductVTS, HTTPStatus: 502, Retryable: true}},
		{name: "html", product: ProductVIC, status: 503, body: `<html><body>Service Unavailable 4111111111111111</body></html>`, want: APIError{Product: ProductVIC, HTTPStatus: 503, Retryable: true}},
		{name: "undecrypted MLE envelope", product: ProductVIC, status: 400, body: `{"encData":"eyJhbGciOi..."}`, want: APIError{Product: ProductVIC, HTTPStatus: 400}},
		{name: "array", product: ProductVIC, status: 500, body: `[1,2,3]`, want: APIError{Product: ProductVIC, HTTPStatus: 500, Retryable: true}},
		{name: "null members", product: ProductVTS, status: 400, body: `{"responseStatus":null,"errorResponse":{"reason":"cardExpired"}}`, want: APIError{Product: ProductVTS, HTTPStatus: 400, Reason: "cardExpired"}},
		{name: "truncated json", product: ProductVTS, status: 400, body: `{"errorResponse":{"reason":"invalidOtp"`, want: APIError{Product: ProductVTS, HTTPStatus: 400}},
		{name: "rate limited", product: ProductVTS, status: 429, body: `{}`, want: APIError{Product: ProductVTS, HTTPStatus: 429, Retryable: true}},
		{name: "request timeout", product: ProductVTS, status: 408, body: ``, want: APIError{Product: ProductVTS, HTTPStatus: 408, Retryable: true}},
		{name: "not implemented", product: ProductVTS, status: 501, body: ``, want: APIError{Product: ProductVTS, HTTPStatus: 501}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseAPIError("op", tt.product, tt.status, nil, []byte(tt.body), testNow)
			want := tt.want
			want.Operation = "op"
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
	e := parseAPIError("vts.ValidateOTP", ProductVTS, 429, h, nil, testNow)
	assert.Equal(t, "1f2e3d", e.CorrelationID)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	assert.True(t, e.Retryable)

	h = http.Header{"x-correlation-id": {"lower"}} // not canonicalised
	h.Set("Retry-After", testNow.Add(90*time.Second).Format(http.TimeFormat))
	e = parseAPIError("", ProductVTS, 503, h, nil, testNow)
	assert.Equal(t, 90*time.Second, e.RetryAfter)
	assert.Empty(t, e.CorrelationID, "http.Header.Get needs canonical keys; net/http canonicalises received headers")

	// The exported entry point uses the wall clock; a delta is exact.
	e = ParseAPIError("", ProductVTS, 503, http.Header{"Retry-After": {"3"}}, nil)
	assert.Equal(t, 3*time.Second, e.RetryAfter)
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
		assert.Equal(t, want, ParseRetryAfter(in, testNow), "%q", in)
	}
}

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	all := []error{
		ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrRateLimited, ErrInvalidRequest,
		ErrServerUnavailable, ErrOTPInvalid, ErrOTPExpired, ErrOTPLimitExceeded, ErrTokenInactive,
		ErrInstructionExpired, ErrEnrollmentExpired, ErrCardDeclined, ErrCardExpired, ErrSessionInvalid,
		ErrStepUpRequired, ErrAssuranceInvalid, ErrAmountExceeded, ErrEncryption, ErrInvalidInput,
	}
	tests := []struct {
		status       int
		code, reason string
		want         []error
	}{
		{401, "", "", []error{ErrUnauthorized}},
		{401, "XPAY_INVALID", "", []error{ErrUnauthorized}},
		{401, "APIKEY_UNKNOWN", "", []error{ErrUnauthorized}},
		{403, "APIKEY_WRONG_PRODUCT", "", []error{ErrForbidden}},
		{403, "", "", []error{ErrForbidden}},
		{404, "", "notFound", []error{ErrNotFound}},
		{404, "INSTRUCTION_NOT_FOUND", "", []error{ErrNotFound}},
		{404, "", "enrollmentNotFound", []error{ErrNotFound}},
		{409, "DUPLICATE_TRANSACTION_REFERENCE", "", []error{ErrConflict}},
		{409, "", "enrollmentAlreadyUsed", []error{ErrConflict}},
		{429, "", "", []error{ErrRateLimited}},
		{400, "INVALID_REQUEST", "", []error{ErrInvalidRequest}},
		{422, "", "", []error{ErrInvalidRequest}},
		{413, "", "", []error{ErrInvalidRequest}},
		{400, "", "invalidOtp", []error{ErrInvalidRequest, ErrOTPInvalid}},
		{400, "", "otpExpired", []error{ErrInvalidRequest, ErrOTPExpired}},
		{400, "", "otpAttemptsExceeded", []error{ErrInvalidRequest, ErrOTPLimitExceeded}},
		{400, "", "otpRequestsExceeded", []error{ErrInvalidRequest, ErrOTPLimitExceeded}},
		{400, "", "tokenSuspended", []error{ErrInvalidRequest, ErrTokenInactive}},
		{400, "", "tokenDeleted", []error{ErrInvalidRequest, ErrTokenInactive}},
		{400, "", "invalidTokenState", []error{ErrInvalidRequest, ErrTokenInactive}},
		{400, "TOKEN_NOT_ACTIVE", "", []error{ErrInvalidRequest, ErrTokenInactive}},
		{400, "TOKEN_NOT_ENROLLED", "", []error{ErrInvalidRequest, ErrTokenInactive}},
		{400, "INSTRUCTION_NOT_ACTIVE", "", []error{ErrInvalidRequest, ErrInstructionExpired}},
		{400, "", "enrollmentExpired", []error{ErrInvalidRequest, ErrEnrollmentExpired}},
		{400, "", "provisioningDeclined", []error{ErrInvalidRequest, ErrCardDeclined}},
		{400, "", "cardExpired", []error{ErrInvalidRequest, ErrCardExpired}},
		{400, "", "sessionInvalid", []error{ErrInvalidRequest, ErrSessionInvalid}},
		{400, "", "stepUpRequired", []error{ErrInvalidRequest, ErrStepUpRequired}},
		{400, "", "stepUpRequestNotFound", []error{ErrInvalidRequest, ErrNotFound}},
		{400, "ASSURANCE_INVALID", "", []error{ErrInvalidRequest, ErrAssuranceInvalid}},
		{400, "AMOUNT_EXCEEDS_MANDATE", "", []error{ErrInvalidRequest, ErrAmountExceeded}},
		{400, "AMOUNT_EXCEEDS_AUTHENTICATION", "", []error{ErrInvalidRequest, ErrAmountExceeded}},
		{400, "UNKNOWN_TRANSACTION_REFERENCE", "", []error{ErrInvalidRequest, ErrNotFound}},
		{400, "MLE_DECRYPT_FAILED", "", []error{ErrInvalidRequest, ErrEncryption}},
		{400, "", "invalidEncryptedData", []error{ErrInvalidRequest, ErrEncryption}},
		{400, "", "clientReferenceMismatch", []error{ErrInvalidRequest}},
		{500, "", "", []error{ErrServerUnavailable}},
		{503, "", "", []error{ErrServerUnavailable}},
		{200, "", "", nil},
	}
	for _, tt := range tests {
		e := &APIError{HTTPStatus: tt.status, Code: tt.code, Reason: tt.reason}
		wrapped := fmt.Errorf("vts: %w", e)
		for _, s := range all {
			want := false
			for _, w := range tt.want {
				want = want || w == s
			}
			assert.Equal(t, want, errors.Is(wrapped, s), "%d %s%s is %v", tt.status, tt.code, tt.reason, s)
		}
		got, ok := errors.AsType[*APIError](wrapped)
		require.True(t, ok)
		assert.Same(t, e, got)
	}
}

func TestAPIErrorErrorLine(t *testing.T) {
	t.Parallel()
	e := &APIError{
		Operation: "vts.ValidateOTP", Product: ProductVTS, HTTPStatus: 400, Reason: "invalidOtp",
		Message: "wrong\ncode\r\tentered\u2028twice\u0085now\x00", CorrelationID: "abc\n123", Info: "not shown",
	}
	assert.Equal(t, "visa: vts.ValidateOTP: VTS 400 invalidOtp: wrong code  entered twice now  (correlation id abc 123)", e.Error())

	e = &APIError{HTTPStatus: 503}
	assert.Equal(t, "visa: 503 Service Unavailable", e.Error())
	e = &APIError{HTTPStatus: 401, Product: ProductGateway, Code: "XPAY_INVALID"}
	assert.Equal(t, "visa: Gateway 401 XPAY_INVALID", e.Error())

	long := &APIError{HTTPStatus: 400, Message: strings.Repeat("é", 400)}
	line := long.Error()
	assert.Less(t, len(line), 400)
	assert.True(t, strings.HasSuffix(line, "..."))
	assert.True(t, isValidUTF8(line), "truncation keeps whole runes")
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestIsRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{&APIError{HTTPStatus: 503, Retryable: true}, true},
		{fmt.Errorf("wrapped: %w", &APIError{HTTPStatus: 429, Retryable: true}), true},
		{&APIError{HTTPStatus: 400}, false},
		{fmt.Errorf("dial: %w", ErrServerUnavailable), true},
		{fmt.Errorf("%w", ErrRateLimited), true},
		{fmt.Errorf("%w: %w", ErrServerUnavailable, context.Canceled), false},
		{context.DeadlineExceeded, false},
		{NewInputError("PAN", "is empty"), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsRetryable(tt.err), "%v", tt.err)
	}
}
