package visa

import (
	"context"
	"time"
)

// Observer is told about every Visa operation and every HTTP attempt the
// SDK makes. The one transport calls it; an implementation must be safe for
// concurrent use and return quickly. The otel module implements it with
// OpenTelemetry spans and metrics.
//
// The events carry names, numbers and identifiers only: never a secret, a
// request or response body, or a URL query string.
type Observer interface {
	// OperationStart is called once per operation (for example
	// vic.CreateInstruction) before its first attempt. The returned context
	// is used for the operation's attempts and is passed to OperationEnd,
	// so an implementation can carry a span in it.
	OperationStart(ctx context.Context, op OperationInfo) context.Context
	// AttemptStart is called before each HTTP attempt; the returned context
	// is the attempt's and is passed to AttemptEnd.
	AttemptStart(ctx context.Context, a AttemptInfo) context.Context
	// AttemptEnd is called after each HTTP attempt, answered or not.
	AttemptEnd(ctx context.Context, a AttemptInfo, r AttemptResult)
	// OperationEnd is called once when the operation has its final result.
	OperationEnd(ctx context.Context, op OperationInfo, r OperationResult)
}

// OperationInfo names one operation.
type OperationInfo struct {
	// Operation is the package-qualified method, such as
	// "vic.CreateInstruction", "vts.ProvisionToken", "authframe.Direct",
	// "merchant.Authorize" or "vic.FetchJWKS".
	Operation string
	// Product is the Visa surface called.
	Product Product
	// Method is the HTTP method.
	Method string
	// Route is the request path with identifiers replaced by their
	// placeholders (for example "/vacp/v1/instructions/{instructionId}"):
	// low-cardinality, and never a query string.
	Route string
	// Host is the server's host name (and port, if not the default).
	Host string
}

// AttemptInfo describes one HTTP attempt of an operation.
type AttemptInfo struct {
	OperationInfo
	// Attempt is 1 for the first attempt.
	Attempt int
}

// AttemptResult is the outcome of one attempt.
type AttemptResult struct {
	// StatusCode is the HTTP status, 0 when no answer was received.
	StatusCode int
	// Code is Visa's error code or reason, when the answer was an error.
	Code string
	// CorrelationID is the X-CORRELATION-ID of the answer, if any.
	CorrelationID string
	// Duration is how long the attempt took.
	Duration time.Duration
	// Retry reports whether the SDK will make another attempt, and
	// RetryReason why (or why not), in a few words.
	Retry       bool
	RetryReason string
	// Err is the attempt's error (network or API), nil on success.
	Err error
}

// OperationResult is the outcome of a whole operation.
type OperationResult struct {
	// Meta is the metadata of the last answer.
	Meta ResponseMeta
	// Duration is the operation's duration, retries and back-off included.
	Duration time.Duration
	// Err is the error returned to the caller, nil on success.
	Err error
}

// ResponseMeta is what every vts and vic call reports besides its body,
// on success and on failure alike. The transport fills it.
type ResponseMeta struct {
	// Operation is the operation's name, such as "vic.CreateInstruction".
	Operation string
	// StatusCode is the HTTP status of the last answer, 0 if none came.
	StatusCode int
	// CorrelationID is Visa's X-CORRELATION-ID of the last answer; quote it
	// to Visa support.
	CorrelationID string
	// Attempts is how many HTTP attempts were made.
	Attempts int
}

// NopObserver is an Observer that does nothing; it is what a nil
// Config.Observer means.
type NopObserver struct{}

// OperationStart implements Observer.
func (NopObserver) OperationStart(ctx context.Context, _ OperationInfo) context.Context { return ctx }

// AttemptStart implements Observer.
func (NopObserver) AttemptStart(ctx context.Context, _ AttemptInfo) context.Context { return ctx }

// AttemptEnd implements Observer.
func (NopObserver) AttemptEnd(context.Context, AttemptInfo, AttemptResult) {}

// OperationEnd implements Observer.
func (NopObserver) OperationEnd(context.Context, OperationInfo, OperationResult) {}

var _ Observer = NopObserver{}
