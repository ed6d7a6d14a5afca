package visa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		Product: ProductVTS, HTTPStatus: 400, Reason: "invalidOtp",
		Message: "wrong\ncode\r\tentered\u2028twice\u0085now\x00", CorrelationID: "abc\n123", Info: "not shown",
	}
	assert.Equal(t, "visa: VTS 400 invalidOtp: wrong code  entered twice now  (correlation id abc 123)", e.Error())

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
