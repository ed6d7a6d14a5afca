package vts

import (
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// Visa's answers need no mapping here: the transport returns a
// *visa.APIError whose Is method matches the sentinels by VTS reason
// (invalidOtp → visa.ErrOTPInvalid, otpExpired → visa.ErrOTPExpired,
// otpAttemptsExceeded and otpRequestsExceeded → visa.ErrOTPLimitExceeded,
// notFound → visa.ErrNotFound, tokenDeleted and tokenSuspended →
// visa.ErrTokenInactive, enrollmentExpired → visa.ErrEnrollmentExpired,
// provisioningDeclined → visa.ErrCardDeclined, ...). This file adds the
// errors the package makes itself: refused input, local encryption
// failures and replies that miss what the wire promises.

// finish completes a call: on success it records the response metadata
// in m (out's) and checks that the reply holds what the wire promises
// (ok); a reply without it is a *visa.ResponseError (malformed) wrapped in
// the operation's *visa.OperationError.
func finish[P any](out P, m *visa.ResponseMeta, res visa.ResponseMeta, err error, ok bool) (P, error) {
	var zero P
	if err != nil {
		return zero, err
	}
	*m = res
	if !ok {
		return zero, &visa.OperationError{Operation: res.Operation, Meta: res, Err: &visa.ResponseError{
			StatusCode: res.StatusCode, CorrelationID: res.CorrelationID, Kind: visa.ErrMalformedResponse,
			Detail: "a required member is missing"}}
	}
	return out, nil
}

// fail names the operation of an error found before the exchange
// (refused input, a local encryption failure), as the transport names the
// errors of the exchange: one *visa.OperationError.
func fail(op string, err error) error {
	return &visa.OperationError{Operation: op, Meta: visa.ResponseMeta{Operation: op}, Err: err}
}

// encrypt makes one enc* field. The error wraps visa.ErrEncryption and
// the jwe sentinel, and never carries the plaintext.
func (c *Client) encrypt(op, field string, v any) (string, error) {
	s, err := c.cipher.EncryptJSON(v)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w: %w", op, field, visa.ErrEncryption, err)
	}
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Every caller-supplied id, reference, email and URL is checked with the
// SDK's one validation vocabulary (internal/check) before anything is
// sent. A value holding a card number is refused whatever the field, and
// a refusal names the field, never the value.

// maxIDLen bounds an id that goes into a path or a body (docs/wire.md
// §11.7: opaque strings of at most 64 characters; twice that is allowed).
const maxIDLen = check.MaxID

// rule turns a check reason into a *visa.InputError for field.
func rule(field, reason string) error {
	if reason == "" {
		return nil
	}
	return visa.NewInputError(field, reason)
}

// required refuses an empty, over-long, non-ASCII or card-number id.
func required(field, v string) error { return rule(field, check.ID(v, maxIDLen)) }

// checkEmail refuses an address that cannot be one, or that holds a card
// number: the error says why, never what.
func checkEmail(field, e string) error { return rule(field, check.Email(e)) }

// checkSession refuses a missing secureToken.
func checkSession(sc visa.SessionContext) error {
	if sc.SecureToken.IsZero() {
		return visa.NewInputError("SessionContext.SecureToken", "is required (from the Auth iFrame session)")
	}
	return nil
}

// checkBrowserData refuses an empty browserData.
func checkBrowserData(b visa.BrowserData) error {
	if b == (visa.BrowserData{}) {
		return visa.NewInputError("BrowserData", "is required (from the Auth iFrame session)")
	}
	return nil
}
