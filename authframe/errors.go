package authframe

import (
	"errors"
	"fmt"
)

// Typed failures of a session or ceremony. A *FrameError matches one of
// them with errors.Is.
var (
	// ErrUserCancelled: the cardholder dismissed the passkey prompt
	// (AUTH_CANCELLED).
	ErrUserCancelled = errors.New("authframe: cancelled by the user")
	// ErrNotSupported: the device has no usable platform authenticator
	// (AUTH_NOT_SUPPORTED).
	ErrNotSupported = errors.New("authframe: passkeys not supported on this device")
	// ErrFailed: the ceremony failed (AUTH_FAILED, AUTH_NOT_PERFORMED).
	ErrFailed = errors.New("authframe: authentication failed")
	// ErrTimeout: no answer from the iFrame in time.
	ErrTimeout = errors.New("authframe: timed out")
	// ErrSessionExpired: the session, its requestID or its challenge
	// expired (SESSION_EXPIRED, CHALLENGE_EXPIRED).
	ErrSessionExpired = errors.New("authframe: session expired")
	// ErrSecureTokenReused: the session's single-use secureToken was
	// already consumed by a ceremony (SESSION_CONSUMED).
	ErrSecureTokenReused = errors.New("authframe: secureToken already used")
	// ErrProtocol: the iFrame answered something the protocol does not
	// allow here (unknown requestID, challenge mismatch, wrong type).
	ErrProtocol = errors.New("authframe: protocol error")
)

// FrameError is a failure event of the iFrame: its type and error code,
// and the sentinel it maps to.
type FrameError struct {
	// Op is the step: "open", "authenticate" or "close".
	Op string
	// Event is the iFrame event type, e.g. AUTH_FAILED.
	Event string
	// Code is the event's error string, e.g. SESSION_CONSUMED.
	Code  string
	kind  error
	cause error // the transport's error behind a timeout, if any
}

// Error returns one line, e.g.
// "authframe: authenticate: AUTH_FAILED SESSION_CONSUMED: secureToken already used".
func (e *FrameError) Error() string {
	s := "authframe: " + e.Op + ": " + e.Event
	if e.Code != "" {
		s += " " + e.Code
	}
	return s + ": " + trimPrefix(e.kind.Error())
}

// Unwrap returns the sentinel and, for a timeout, the transport's
// *visa.RequestError.
func (e *FrameError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func trimPrefix(s string) string {
	const p = "authframe: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// eventError maps a failure event to a *FrameError.
func eventError(op string, m *Message) error {
	e := &FrameError{Op: op, Event: m.Type, Code: printable(m.Error)}
	switch m.Type {
	case TypeAuthCancelled:
		e.kind = ErrUserCancelled
	case TypeAuthNotSupported:
		e.kind = ErrNotSupported
	case TypeAuthNotPerformed:
		e.kind = ErrFailed
	case TypeAuthFailed:
		switch m.Error {
		case "SESSION_EXPIRED", "CHALLENGE_EXPIRED":
			e.kind = ErrSessionExpired
		case "SESSION_CONSUMED":
			e.kind = ErrSecureTokenReused
		case "UNKNOWN_REQUEST_ID", "CHALLENGE_MISMATCH":
			e.kind = ErrProtocol
		default:
			e.kind = ErrFailed
		}
	default:
		e.kind = ErrProtocol
		e.Code = fmt.Sprintf("unexpected event %s", printable(m.Type))
	}
	return e
}

// printable bounds an iFrame-chosen string before it goes into an error.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "?"
		}
	}
	return s
}
