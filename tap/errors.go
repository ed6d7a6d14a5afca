package tap

import (
	"errors"
	"net/http"

	"github.com/vicgo/visa/tap/httpsig"
)

// Reason is why a verification failed: a sentinel to compare with
// errors.Is, with a stable code and the HTTP status a merchant answers.
type Reason struct {
	code   string
	status int
	text   string
}

// Error returns the reason's text.
func (r *Reason) Error() string { return "tap: " + r.text }

// Code returns a stable snake_case code for the reason, as the answers of
// Middleware carry it.
func (r *Reason) Code() string { return r.code }

// Status returns the HTTP status the reason calls for: 400 for a request
// that is malformed, 401 for one that does not prove who sent it, 503 when
// the verifier itself cannot decide.
func (r *Reason) Status() int { return r.status }

// The reasons a verification fails.
var (
	// ErrNoSignature: the request is not signed.
	ErrNoSignature = &Reason{"signature_missing", http.StatusUnauthorized, "no signature"}
	// ErrMalformed: Signature-Input, Signature or Signature-Agent cannot be
	// parsed, or a covered component cannot be computed.
	ErrMalformed = &Reason{"signature_malformed", http.StatusBadRequest, "malformed signature"}
	// ErrTooLarge: the signature fields are over the verifier's limits.
	ErrTooLarge = &Reason{"signature_too_large", http.StatusBadRequest, "signature fields too large"}
	// ErrMissingParameter: a parameter the profile requires (created,
	// expires, keyid, nonce) is absent, or expires is not after created.
	ErrMissingParameter = &Reason{"signature_parameter_missing", http.StatusBadRequest, "signature parameter missing or invalid"}
	// ErrComponents: the signature does not cover what the profile
	// requires (@authority and @path; Signature-Agent for Web Bot Auth).
	ErrComponents = &Reason{"signature_components", http.StatusBadRequest, "required components not covered"}
	// ErrTag: no signature carries a tag the route accepts.
	ErrTag = &Reason{"signature_tag", http.StatusUnauthorized, "tag not accepted"}
	// ErrNotYetValid: created is in the future, beyond the allowed skew.
	ErrNotYetValid = &Reason{"signature_not_yet_valid", http.StatusUnauthorized, "signature created in the future"}
	// ErrExpired: the signature expired.
	ErrExpired = &Reason{"signature_expired", http.StatusUnauthorized, "signature expired"}
	// ErrValidityTooLong: expires is too far after created (TAP: 8 min).
	ErrValidityTooLong = &Reason{"signature_validity_too_long", http.StatusUnauthorized, "signature validity too long"}
	// ErrUnknownKey: no key is known for the keyid.
	ErrUnknownKey = &Reason{"signature_key_unknown", http.StatusUnauthorized, "unknown key"}
	// ErrKeyUnavailable: the keys could not be fetched (a JWKS or Web Bot
	// Auth directory failed, answered badly or redirected).
	ErrKeyUnavailable = &Reason{"signature_key_unavailable", http.StatusUnauthorized, "key unavailable"}
	// ErrInvalidSignature: the signature does not verify: a covered
	// component was altered or removed, the key or algorithm differs.
	ErrInvalidSignature = &Reason{"signature_invalid", http.StatusUnauthorized, "invalid signature"}
	// ErrReplay: the nonce was already used within the window.
	ErrReplay = &Reason{"signature_replayed", http.StatusUnauthorized, "nonce replayed"}
	// ErrNonceStore: the nonce store failed, so replay cannot be ruled out.
	ErrNonceStore = &Reason{"nonce_store_unavailable", http.StatusServiceUnavailable, "nonce store unavailable"}
)

// ErrDirectoryRedirect is a key directory or JWKS that answered with a
// redirect, which is never followed. It wraps ErrKeyUnavailable.
var ErrDirectoryRedirect error = &wrapped{ErrKeyUnavailable, "key directory answered with a redirect"}

type wrapped struct {
	*Reason
	text string
}

func (w *wrapped) Error() string { return "tap: " + w.text }
func (w *wrapped) Unwrap() error { return w.Reason }

// VerifyError is a failed verification: the Reason, the label of the
// signature concerned (if one was chosen) and a detail that names the
// component or parameter at fault. It never quotes a signature value.
type VerifyError struct {
	Reason *Reason
	Label  string
	Detail string
	Err    error
}

// Error returns one line: the reason, the label and the detail.
func (e *VerifyError) Error() string {
	s := e.Reason.Error()
	if e.Label != "" {
		s += " (signature " + e.Label + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the reason and the cause, for errors.Is and errors.As.
func (e *VerifyError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

// Status returns the HTTP status of err's Reason: 400, 401 or 503; 500 for
// an error without one.
func Status(err error) int {
	var r *Reason
	if errors.As(err, &r) {
		return r.status
	}
	return http.StatusInternalServerError
}

// fromHTTPSig maps an httpsig error to its Reason.
func fromHTTPSig(err error) *Reason {
	switch {
	case errors.Is(err, httpsig.ErrNoSignature):
		return ErrNoSignature
	case errors.Is(err, httpsig.ErrTooLarge):
		return ErrTooLarge
	case errors.Is(err, httpsig.ErrInvalidSignature), errors.Is(err, httpsig.ErrAlgorithmMismatch),
		errors.Is(err, httpsig.ErrMissingComponent), errors.Is(err, httpsig.ErrInvalidKey):
		return ErrInvalidSignature
	}
	return ErrMalformed
}
