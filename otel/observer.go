package otel

import (
	"context"
	"errors"
	"net"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/vicgo/visa"
)

// Attribute keys of vicgo's own attributes. The HTTP ones follow the
// OpenTelemetry semantic conventions (http.request.method,
// http.response.status_code, server.address, server.port, url.template,
// http.request.resend_count, error.type).
const (
	// ProductKey is the Visa surface called: VIC, VTS, Auth or Gateway.
	ProductKey = attribute.Key("visa.product")
	// OperationKey is the SDK operation, such as vic.CreateInstruction.
	OperationKey = attribute.Key("visa.operation")
	// AttemptKey is the attempt number, 1 for the first.
	AttemptKey = attribute.Key("visa.attempt")
	// AttemptsKey is how many attempts an operation made.
	AttemptsKey = attribute.Key("visa.attempts")
	// ErrorCodeKey is Visa's error code or reason (responseStatus.code or
	// errorResponse.reason).
	ErrorCodeKey = attribute.Key("visa.error_code")
	// CorrelationIDKey is the X-CORRELATION-ID of Visa's answer.
	CorrelationIDKey = attribute.Key("visa.correlation_id")
	// RetryKey says whether the SDK makes another attempt after this one.
	RetryKey = attribute.Key("visa.retry")
	// RetryReasonKey says why the SDK retries, or why not, in a few words.
	RetryReasonKey = attribute.Key("visa.retry_reason")
)

// Metric names.
const (
	// OperationDurationMetric is a histogram of whole operations in
	// seconds, retries and back-off included.
	OperationDurationMetric = "visa.client.operation.duration"
	// AttemptDurationMetric is a histogram of single HTTP attempts in
	// seconds.
	AttemptDurationMetric = "visa.client.attempt.duration"
	// AttemptsMetric counts HTTP attempts.
	AttemptsMetric = "visa.client.attempts"
	// ErrorsMetric counts operations that ended in an error, by Visa error
	// code and error.type.
	ErrorsMetric = "visa.client.errors"
)

// durationBuckets are the histogram boundaries in seconds: those the
// semantic conventions advise for HTTP durations, extended to a minute
// because an operation includes its retries and back-off.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}

// Observer implements visa.Observer with OpenTelemetry: a span per Visa
// operation with a child span per HTTP attempt, and the metrics named by
// the *Metric constants. Set it as visa.Config.Observer. It is safe for
// concurrent use; make one and share it among clients.
//
// The operation span (named after the operation, such as
// "vic.CreateInstruction") has kind Internal: it is the logical call.
// Each attempt span (named "{method} {url.template}", such as
// "POST /vts/panEnrollments") has kind Client, so that a tracing backend
// counts one client call per HTTP request sent, and retries show as
// sibling attempt spans under their operation.
//
// Attributes hold names, numbers, codes and identifiers only, never a
// secret, a body, a URL query or an error message.
type Observer struct {
	tracer   trace.Tracer
	filter   func(attribute.KeyValue) bool
	opDur    metric.Float64Histogram
	tryDur   metric.Float64Histogram
	attempts metric.Int64Counter
	errs     metric.Int64Counter
}

var _ visa.Observer = (*Observer)(nil)

// NewObserver returns an Observer using the global TracerProvider and
// MeterProvider unless options name others. Instruments that cannot be
// created are reported to the global OpenTelemetry error handler and left
// out.
func NewObserver(opts ...Option) *Observer {
	c := newConfig(opts)
	o := &Observer{
		tracer: c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(visa.Version), trace.WithSchemaURL(semconv.SchemaURL)),
		filter: c.filter,
	}
	m := c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(visa.Version), metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	if o.opDur, err = m.Float64Histogram(OperationDurationMetric, metric.WithUnit("s"),
		metric.WithDescription("Duration of Visa operations, retries and back-off included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		handle(err)
	}
	if o.tryDur, err = m.Float64Histogram(AttemptDurationMetric, metric.WithUnit("s"),
		metric.WithDescription("Duration of single HTTP attempts to Visa."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		handle(err)
	}
	if o.attempts, err = m.Int64Counter(AttemptsMetric, metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts made to Visa.")); err != nil {
		handle(err)
	}
	if o.errs, err = m.Int64Counter(ErrorsMetric, metric.WithUnit("{error}"),
		metric.WithDescription("Visa operations that ended in an error.")); err != nil {
		handle(err)
	}
	return o
}

// keep applies the attribute filter, into a new slice: kvs is left as it
// was, for a caller that adds to it and filters again.
func (o *Observer) keep(kvs []attribute.KeyValue) []attribute.KeyValue {
	if o.filter == nil {
		return kvs
	}
	out := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		if o.filter(kv) {
			out = append(out, kv)
		}
	}
	return out
}

// OperationStart starts the operation's span.
func (o *Observer) OperationStart(ctx context.Context, op visa.OperationInfo) context.Context {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, OperationKey.String(op.Operation), ProductKey.String(string(op.Product)))
	attrs = appendRequestAttrs(attrs, op)
	ctx, _ = o.tracer.Start(ctx, spanName(op.Operation, "visa"),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(o.keep(attrs)...))
	if op.Route != "" {
		// For WrapTransport's span, when both are used: its name and
		// url.template.
		ctx = context.WithValue(ctx, routeKey{}, op.Route)
	}
	return ctx
}

// AttemptStart starts the attempt's span as a child of the operation's.
func (o *Observer) AttemptStart(ctx context.Context, a visa.AttemptInfo) context.Context {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, OperationKey.String(a.Operation), ProductKey.String(string(a.Product)), AttemptKey.Int(a.Attempt))
	attrs = appendRequestAttrs(attrs, a.OperationInfo)
	if a.Attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(a.Attempt-1))
	}
	ctx, _ = o.tracer.Start(ctx, attemptSpanName(a.OperationInfo),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(o.keep(attrs)...))
	return ctx
}

// AttemptEnd ends the attempt's span and counts the attempt.
func (o *Observer) AttemptEnd(ctx context.Context, a visa.AttemptInfo, r visa.AttemptResult) {
	errType := attemptErrorType(r)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 6)
		if r.StatusCode > 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(r.StatusCode))
		}
		if code := attemptCode(r); code != "" {
			attrs = append(attrs, ErrorCodeKey.String(code))
		}
		if r.CorrelationID != "" {
			attrs = append(attrs, CorrelationIDKey.String(r.CorrelationID))
		}
		attrs = append(attrs, RetryKey.Bool(r.Retry))
		if r.RetryReason != "" {
			attrs = append(attrs, RetryReasonKey.String(r.RetryReason))
		}
		if errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
			span.SetStatus(codes.Error, errType)
		}
		span.SetAttributes(o.keep(attrs)...)
	}
	span.End()

	if o.attempts == nil && o.tryDur == nil {
		return
	}
	mattrs := make([]attribute.KeyValue, 0, 6)
	mattrs = append(mattrs, OperationKey.String(a.Operation), ProductKey.String(string(a.Product)), RetryKey.Bool(r.Retry))
	if r.StatusCode > 0 {
		mattrs = append(mattrs, semconv.HTTPResponseStatusCode(r.StatusCode))
	}
	if errType != "" {
		mattrs = append(mattrs, semconv.ErrorTypeKey.String(errType))
	}
	set := metric.WithAttributeSet(attribute.NewSet(o.keep(mattrs)...))
	if o.attempts != nil {
		o.attempts.Add(ctx, 1, set)
	}
	if o.tryDur != nil {
		o.tryDur.Record(ctx, r.Duration.Seconds(), set)
	}
}

// OperationEnd ends the operation's span and records its duration and,
// on failure, its error.
func (o *Observer) OperationEnd(ctx context.Context, op visa.OperationInfo, r visa.OperationResult) {
	errType, code := operationError(r)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 5)
		if r.Meta.Attempts > 0 {
			attrs = append(attrs, AttemptsKey.Int(r.Meta.Attempts))
		}
		if r.Meta.StatusCode > 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(r.Meta.StatusCode))
		}
		if r.Meta.CorrelationID != "" {
			attrs = append(attrs, CorrelationIDKey.String(r.Meta.CorrelationID))
		}
		if code != "" {
			attrs = append(attrs, ErrorCodeKey.String(code))
		}
		if errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
			span.SetStatus(codes.Error, errType)
		}
		span.SetAttributes(o.keep(attrs)...)
	}
	span.End()

	mattrs := make([]attribute.KeyValue, 0, 5)
	mattrs = append(mattrs, OperationKey.String(op.Operation), ProductKey.String(string(op.Product)))
	if errType != "" {
		mattrs = append(mattrs, semconv.ErrorTypeKey.String(errType))
	}
	if o.opDur != nil {
		o.opDur.Record(ctx, r.Duration.Seconds(), metric.WithAttributeSet(attribute.NewSet(o.keep(mattrs)...)))
	}
	if errType != "" && o.errs != nil {
		if code != "" {
			mattrs = append(mattrs, ErrorCodeKey.String(code))
		}
		o.errs.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(o.keep(mattrs)...)))
	}
}

// appendRequestAttrs adds the semantic-convention request attributes of
// op: method, server address and port, URL template.
func appendRequestAttrs(attrs []attribute.KeyValue, op visa.OperationInfo) []attribute.KeyValue {
	if op.Method != "" {
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String(op.Method))
	}
	if op.Host != "" {
		host, port := splitHost(op.Host)
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if op.Route != "" {
		attrs = append(attrs, semconv.URLTemplate(op.Route))
	}
	return attrs
}

// splitHost splits "host:port"; port is 0 when absent.
func splitHost(h string) (string, int) {
	host, p, err := net.SplitHostPort(h)
	if err != nil {
		return h, 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return host, 0
	}
	return host, port
}

func spanName(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}

// attemptSpanName is "{method} {url.template}", or the method alone
// without a template (the semantic conventions' HTTP client span name).
func attemptSpanName(op visa.OperationInfo) string {
	m := op.Method
	if m == "" {
		m = "HTTP"
	}
	if op.Route == "" {
		return m
	}
	return m + " " + op.Route
}

// attemptErrorType is error.type for an attempt: empty on success, the
// status code for an HTTP error answer, a class of failure otherwise.
func attemptErrorType(r visa.AttemptResult) string {
	if r.StatusCode >= 400 {
		return strconv.Itoa(r.StatusCode)
	}
	if r.Err == nil {
		return ""
	}
	return errorClass(r.Err)
}

// attemptCode is Visa's error code of an attempt: AttemptResult.Code, or
// the code or reason of its *visa.APIError.
func attemptCode(r visa.AttemptResult) string {
	if r.Code != "" || r.Err == nil {
		return r.Code
	}
	return apiCode(r.Err)
}

// apiCode is the code, or else the reason, of err's *visa.APIError.
func apiCode(err error) string {
	var ae *visa.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	if ae.Code != "" {
		return ae.Code
	}
	return ae.Reason
}

// operationError is error.type and Visa's error code of an operation.
func operationError(r visa.OperationResult) (errType, code string) {
	if r.Err == nil {
		if r.Meta.StatusCode >= 400 {
			return strconv.Itoa(r.Meta.StatusCode), ""
		}
		return "", ""
	}
	return errorClass(r.Err), apiCode(r.Err)
}

// errorClass names a failure without its message: a low-cardinality
// error.type value.
func errorClass(err error) string {
	var ae *visa.APIError
	if errors.As(err, &ae) && ae.HTTPStatus > 0 {
		return strconv.Itoa(ae.HTTPStatus) // Visa answered: its status
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, visa.ErrInvalidInput):
		return "invalid_input"
	case errors.Is(err, visa.ErrNetwork):
		return "network"
	case errors.Is(err, visa.ErrResponseTooLarge):
		return "response_too_large"
	case errors.Is(err, visa.ErrMalformedResponse):
		return "malformed_response"
	case errors.Is(err, visa.ErrEncryption):
		return "encryption"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return "timeout"
		}
		return "network"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
