// Package retry is the SDK's one retry classifier: every HTTP exchange
// (signed VIC and VTS calls, the Auth iFrame handshake, the merchant, the
// signedPayload JWKS) and visa.APIError.Retryable ask Classify whether
// another attempt may be made. It imports nothing of the SDK, so the root
// package and internal/transport share it.
//
// The table (status × method × idempotency × provably unsent):
//
//	answer                         read or idempotent write   other write
//	no answer, not sent (no conn)  retry                      retry
//	no answer, may have been sent  retry                      no
//	certificate/TLS/protocol error no                         no
//	429 Too Many Requests          retry                      retry
//	408, 500, 502, 503, 504, 5xx*  retry                      no
//	501, 505, any other status     no                         no
//
// (*every 5xx but 501 and 505.) A 429 means the gateway throttled the
// request before processing it, so a write is repeated too. The caller
// (the transport) adds the limits: attempts, the call's deadline, and a
// Retry-After above the policy's cap.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
)

// Reasons Classify gives, in a few words (they reach the Observer).
const (
	ReasonThrottled     = "throttled"
	ReasonServerError   = "server error"
	ReasonNetwork       = "network error"
	ReasonUnsent        = "not sent"
	ReasonWriteReached  = "write may have reached the server"
	ReasonPermanent     = "permanent error"
	ReasonStatus        = "status not retried"
	ReasonCanceled      = "canceled"
	ReasonSuccess       = "success"
	ReasonAttempts      = "attempts exhausted"
	ReasonDeadline      = "deadline before next attempt"
	ReasonRetryAfter    = "retry-after above cap"
	ReasonResponseError = "response unusable"
)

// Decision is Classify's answer.
type Decision struct {
	// Retry says whether another attempt may be made.
	Retry bool
	// Reason says why, in a few words (one of the Reason constants).
	Reason string
}

// Safe reports the methods this SDK repeats without server-side
// deduplication (RFC 9110 safe methods).
func Safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// Classify decides about one attempt. status is the HTTP status (0 when
// no answer came, then err is the failure); idempotent marks a safe
// method or a write the server deduplicates; unsent says the request
// provably never reached the server (no connection was obtained).
func Classify(status int, idempotent, unsent bool, err error) Decision {
	if status == 0 {
		switch {
		case err == nil:
			return Decision{false, ReasonSuccess}
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return Decision{false, ReasonCanceled}
		case Permanent(err):
			return Decision{false, ReasonPermanent}
		case unsent:
			return Decision{true, ReasonUnsent}
		case idempotent:
			return Decision{true, ReasonNetwork}
		}
		return Decision{false, ReasonWriteReached}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return Decision{true, ReasonThrottled}
	case !RetryableStatus(status):
		if status >= 200 && status < 300 {
			return Decision{false, ReasonSuccess}
		}
		return Decision{false, ReasonStatus}
	case idempotent:
		return Decision{true, ReasonServerError}
	}
	return Decision{false, ReasonWriteReached}
}

// RetryableStatus reports the statuses a repeat may cure: 408, 429 and
// every 5xx but 501 (Not Implemented) and 505 (HTTP Version Not
// Supported). Whether a given request is repeated also depends on its
// idempotency (Classify).
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500 && status <= 599
}

// Permanent reports transport failures no new attempt cures: certificate
// and hostname verification, TLS alerts from the server and malformed TLS
// records.
func Permanent(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidCert) || errors.As(err, &recErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "remote error" // a TLS alert from the server
}
