package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
)

// Outcomes of a purchase that the merchant may have charged. Each comes as
// an *OutcomeError with the Receipt: never retry the purchase on one of
// these (a retry could charge twice); the reconciler (Reconcile,
// RunReconciler) finishes or settles the purchase, and the stored
// transaction says when it has.
var (
	// ErrChargedUnconfirmed: the merchant approved the charge; the
	// confirmation to VIC (step 16 of the journey) failed and is pending.
	// The money moved. The record is AUTHORIZED until the reconciler
	// confirms it and it becomes COMPLETED.
	ErrChargedUnconfirmed = errors.New("agent: charged, confirmation to Visa pending")
	// ErrOutcomeUnknown: the charge was sent to the merchant and its answer
	// was lost, and asking the merchant what happened failed too. The money
	// may have moved. The record stays AUTHORIZING until the reconciler
	// learns the merchant's answer.
	ErrOutcomeUnknown = errors.New("agent: the merchant may have charged; outcome unknown")
	// ErrOwnershipLost: after the merchant was called, another process (a
	// reconciler that took the lapsed lease) moved the purchase first. The
	// money may have moved; that process settles it.
	ErrOwnershipLost = errors.New("agent: another process took over the purchase after the merchant was called")
)

// Idempotency outcomes.
var (
	// ErrIdempotencyMismatch: the idempotency key was used before with a
	// different request. Nothing was started or changed.
	ErrIdempotencyMismatch = errors.New("agent: idempotency key reused with a different request")
	// ErrInProgress: a journey with this idempotency key is still under
	// way on some replica. Nothing new was started; call again later with
	// the same key to get its outcome.
	ErrInProgress = errors.New("agent: a journey with this idempotency key is under way")
)

// OutcomeError reports a purchase whose merchant call may have moved money:
// its Outcome is ErrChargedUnconfirmed, ErrOutcomeUnknown or
// ErrOwnershipLost. errors.Is(err, Outcome) holds; the cause (a network
// error, say) is kept in Cause but deliberately not unwrapped, so a generic
// "retry on network errors" rule can never match it.
type OutcomeError struct {
	// Outcome is the sentinel: ErrChargedUnconfirmed, ErrOutcomeUnknown or
	// ErrOwnershipLost.
	Outcome error
	// TransactionID and Status identify the stored record as it was left.
	TransactionID string
	Status        store.TxStatus
	// Cause is what went wrong.
	Cause error
}

// Error returns one line: the outcome, the record and the cause.
func (e *OutcomeError) Error() string {
	s := fmt.Sprintf("%s (transaction %s, %s; do not retry, the reconciler settles it)", e.Outcome, e.TransactionID, e.Status)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the Outcome only.
func (e *OutcomeError) Unwrap() error { return e.Outcome }

// MayHaveCharged reports whether err says the merchant may have charged:
// an *OutcomeError, or ErrInProgress (a journey with the same key is still
// running). Never retry a purchase when it is true.
func MayHaveCharged(err error) bool {
	return errors.Is(err, ErrChargedUnconfirmed) || errors.Is(err, ErrOutcomeUnknown) ||
		errors.Is(err, ErrOwnershipLost) || errors.Is(err, ErrInProgress)
}

// Failure codes: the stable names under which a journey's failure is stored
// (store.Transaction.FailureCode, store.Journey.FailureCode), so that a
// repeated request with the same idempotency key gets the same typed error
// back. The order matters: the first match names an error.
var failureCodes = []struct {
	code string
	err  error
}{
	{"declined", ErrDeclined},
	{"cancelled", authframe.ErrUserCancelled},
	{"context_canceled", context.Canceled},
	{"deadline_exceeded", context.DeadlineExceeded},
	{"interrupted", ErrInterrupted},
	{"superseded", ErrSuperseded},
	{"invalid_input", visa.ErrInvalidInput},
	{"otp_limit_exceeded", visa.ErrOTPLimitExceeded},
	{"otp_expired", visa.ErrOTPExpired},
	{"otp_invalid", visa.ErrOTPInvalid},
	{"card_declined", visa.ErrCardDeclined},
	{"card_expired", visa.ErrCardExpired},
	{"token_not_active", ErrTokenNotActive},
	{"token_inactive", visa.ErrTokenInactive},
	{"assurance_invalid", visa.ErrAssuranceInvalid},
	{"session_invalid", visa.ErrSessionInvalid},
	{"step_up_required", visa.ErrStepUpRequired},
	{"amount_exceeded", visa.ErrAmountExceeded},
	{"instruction_expired", visa.ErrInstructionExpired},
	{"enrollment_expired", visa.ErrEnrollmentExpired},
	{"frame_timeout", authframe.ErrTimeout},
	{"frame_failed", authframe.ErrFailed},
	{"not_supported", authframe.ErrNotSupported},
	{"frame_session_expired", authframe.ErrSessionExpired},
	{"frame_secure_token_reused", authframe.ErrSecureTokenReused},
	{"frame_protocol", authframe.ErrProtocol},
	{"frame_malformed_message", authframe.ErrMalformedMessage},
	{"keys_unavailable", vic.ErrKeysUnavailable},
	{"payload_invalid", vic.ErrPayloadInvalid},
	{"unauthorized", visa.ErrUnauthorized},
	{"forbidden", visa.ErrForbidden},
	{"not_found", visa.ErrNotFound},
	{"conflict", visa.ErrConflict},
	{"rate_limited", visa.ErrRateLimited},
	{"server_unavailable", visa.ErrServerUnavailable},
	{"invalid_request", visa.ErrInvalidRequest},
	{"encryption", visa.ErrEncryption},
	{"response_too_large", visa.ErrResponseTooLarge},
	{"malformed_response", visa.ErrMalformedResponse},
	{"network", visa.ErrNetwork},
	{"store", store.ErrConflict},
}

// failureCode names err for storage; "error" when no code fits.
func failureCode(err error) string {
	for _, c := range failureCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "error"
}

// ReplayedError is the error of a journey that ended before, returned again
// to a request that repeats its idempotency key. errors.Is matches the same
// sentinel as the original error did (visa.ErrOTPInvalid, ErrDeclined, ...);
// the text is the stored reason.
type ReplayedError struct {
	// Code is the stored failure code.
	Code string
	// Reason is the stored, secret-free reason.
	Reason string
}

// Error returns "agent: replayed outcome: <reason>".
func (e *ReplayedError) Error() string { return "agent: replayed outcome: " + e.Reason }

// Unwrap returns the sentinel the code stands for, if any.
func (e *ReplayedError) Unwrap() error {
	for _, c := range failureCodes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}

// replayed rebuilds a stored failure as an error.
func replayed(code, reason string) error {
	if reason == "" {
		reason = code
	}
	return &ReplayedError{Code: code, Reason: reason}
}
