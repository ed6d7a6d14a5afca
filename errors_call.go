package visa

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/vicgo/visa/internal/retry"
)

// OperationError names the SDK operation an error came from. Every error a
// service method of vts, vic, authframe or the agent's merchant returns is
// one, so errors.As(err, &opErr) gives the operation and the metadata of
// the last answer, and errors.Is and errors.As see the cause (*APIError,
// *RequestError, *ResponseError, *InputError, ...).
type OperationError struct {
	// Operation is the package-qualified method, e.g.
	// "vic.CreateInstruction".
	Operation string
	// Meta is the metadata of the last answer (zero when nothing was
	// sent).
	Meta ResponseMeta
	// Err is the cause.
	Err error
}

// Error returns one line: "visa: " + operation + ": " + the cause without
// its own "visa: " prefix, e.g.
// `visa: vts.ValidateOTP: VTS 400 invalidOtp: wrong code`.
func (e *OperationError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "visa: ")
		// A cause that names the operation itself (vic.PendingError, say)
		// is not prefixed twice.
		if rest, ok := strings.CutPrefix(msg, e.Operation+": "); ok {
			msg = strings.TrimPrefix(rest, "visa: ")
		}
	}
	return "visa: " + oneLine(e.Operation) + ": " + msg
}

// Unwrap returns the cause.
func (e *OperationError) Unwrap() error { return e.Err }

// RequestError reports a call that got no usable HTTP answer: a network
// failure after any retries, a failed body read, or cancellation. It
// matches ErrNetwork (unless the cause is the caller's cancellation or
// deadline) and unwraps to the cause, so errors.Is(err,
// context.Canceled) and errors.As(err, &netErr) work. Its URL is
// redacted, and no part of it carries a credential.
type RequestError struct {
	// Method and URL (redacted: apikey=REDACTED) of the request.
	Method string
	URL    string
	// Attempts is the number of HTTP attempts made.
	Attempts int
	// Unsent reports that the last attempt provably never reached the
	// server (no connection was obtained).
	Unsent bool
	// Err is the cause.
	Err error
}

// Error returns one line, e.g. `visa: GET
// https://cert.api.visa.com/vts/provisionedTokens/T1?apikey=REDACTED:
// dial tcp 10.0.0.1:443: connect: connection refused (3 attempts)`.
func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString("visa: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Err.Error()))
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt)")
	} else {
		b.WriteString(" attempts)")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNetwork) true for every cause but the
// caller's own cancellation or deadline.
func (e *RequestError) Is(target error) bool {
	return target == ErrNetwork && !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
}

// ResponseError reports an answer that could not be used: larger than
// Config.MaxResponseBytes (matches ErrResponseTooLarge) or undecodable:
// bad JSON, bad MLE, a required member missing (matches
// ErrMalformedResponse). No part of the body is quoted.
type ResponseError struct {
	// StatusCode and CorrelationID are those of the answer.
	StatusCode    int
	CorrelationID string
	// Kind is ErrResponseTooLarge or ErrMalformedResponse.
	Kind error
	// Detail says what was wrong, e.g. "JSON: invalid JSON at byte
	// offset 3".
	Detail string
	// Err is the decoder's error, if any.
	Err error
}

// Error returns one line, e.g. `visa: malformed response (HTTP 200): MLE:
// ... (correlation id 1f2e)`.
func (e *ResponseError) Error() string {
	var b strings.Builder
	kind := e.Kind
	if kind == nil {
		kind = ErrMalformedResponse
	}
	b.WriteString(kind.Error())
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(')')
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Detail))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Err.Error()))
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id ")
		b.WriteString(oneLine(e.CorrelationID))
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the kind and the decoder's error.
func (e *ResponseError) Unwrap() []error {
	kind := e.Kind
	if kind == nil {
		kind = ErrMalformedResponse
	}
	if e.Err == nil {
		return []error{kind}
	}
	return []error{kind, e.Err}
}

// IsRetryable reports whether repeating the call that returned err may
// succeed, by the SDK's one retry classifier (docs/wire.md §10.3): an
// *APIError marked Retryable (408, 429, 5xx but 501 and 505), a
// *RequestError whose request provably never left, or an error matching
// ErrRateLimited or ErrServerUnavailable. Cancellation and deadlines are
// never retryable; a network failure after the request may have reached
// Visa is not either, since repeating a write could repeat its effect.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Retryable
	}
	if re, ok := errors.AsType[*RequestError](err); ok {
		return retry.Classify(0, retry.Safe(re.Method), re.Unsent, re.Err).Retry
	}
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrServerUnavailable)
}

// ErrInsecureTLS is matched by an *InsecureTLSError.
var ErrInsecureTLS = errors.New("visa: TLS certificate verification switched off")

// InsecureTLSError refuses a Config.HTTPClient whose TLS settings switch
// certificate verification off (InsecureSkipVerify, or an empty root
// pool) where that is not allowed: always in production, and in sandbox
// mode for every host but a loopback one (SECURITY.md, "TLS"). It matches
// ErrInsecureTLS and ErrInvalidInput.
type InsecureTLSError struct {
	// Setting names what switched verification off, e.g.
	// "InsecureSkipVerify".
	Setting string
	// Host is the host the client would have talked to.
	Host string
	// Reason says why it is refused.
	Reason string
}

// Error returns one line, e.g. `visa: TLS certificate verification
// switched off: InsecureSkipVerify for api.visa.com: certificate
// verification cannot be switched off in production`.
func (e *InsecureTLSError) Error() string {
	return ErrInsecureTLS.Error() + ": " + e.Setting + " for " + oneLine(e.Host) + ": " + e.Reason
}

// Is makes errors.Is match ErrInsecureTLS and ErrInvalidInput.
func (e *InsecureTLSError) Is(target error) bool {
	return target == ErrInsecureTLS || target == ErrInvalidInput
}
