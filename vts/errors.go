package vts

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/vicgo/visa"
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

// required refuses an empty identifier.
func required(field, v string) error {
	switch {
	case v == "":
		return visa.NewInputError(field, "is required")
	case len(v) > 256:
		return visa.NewInputError(field, "is longer than 256 bytes")
	}
	return nil
}

// checkEmail refuses an address that cannot be one: the error says why,
// never what.
func checkEmail(field, e string) error {
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case e == "":
		return visa.NewInputError(field, "is required")
	case len(e) > 254:
		return visa.NewInputError(field, "must be at most 254 bytes")
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@"):
		return visa.NewInputError(field, "must be an address of the form local@domain")
	case strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return visa.NewInputError(field, "must not contain spaces or control characters")
	}
	return nil
}

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
