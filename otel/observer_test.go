package otel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	votel "github.com/vicgo/visa/otel"
)

var getInstruction = visa.OperationInfo{
	Operation: "vic.GetInstruction", Product: visa.ProductVIC, Method: "GET",
	Route: "/vacp/v1/instructions/{instructionId}", Host: "sandbox.api.visa.com",
}

// TestObserverRetryIsSiblingAttempts drives the Observer as the transport
// does for an operation answered 503, retried, then 200.
func TestObserverRetryIsSiblingAttempts(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts()...)

	ctx := o.OperationStart(context.Background(), getInstruction)
	a1 := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
	actx := o.AttemptStart(ctx, a1)
	o.AttemptEnd(actx, a1, visa.AttemptResult{StatusCode: 503, Code: "SERVICE_UNAVAILABLE", CorrelationID: "corr-1",
		Duration: 20 * time.Millisecond, Retry: true, RetryReason: "status 503", Err: &visa.APIError{HTTPStatus: 503}})
	a2 := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 2}
	actx = o.AttemptStart(ctx, a2)
	o.AttemptEnd(actx, a2, visa.AttemptResult{StatusCode: 200, CorrelationID: "corr-2", Duration: 10 * time.Millisecond})
	o.OperationEnd(ctx, getInstruction, visa.OperationResult{
		Meta:     visa.ResponseMeta{Operation: getInstruction.Operation, StatusCode: 200, CorrelationID: "corr-2", Attempts: 2},
		Duration: 150 * time.Millisecond})

	spans := tel.ended()
	require.Len(t, spans, 3)
	ops := byName(spans, "vic.GetInstruction")
	require.Len(t, ops, 1)
	op := ops[0]
	assert.Equal(t, trace.SpanKindInternal, op.SpanKind())
	assert.Equal(t, codes.Unset, op.Status().Code)
	oa := attrs(op)
	assert.Equal(t, "vic.GetInstruction", oa["visa.operation"].AsString())
	assert.Equal(t, "VIC", oa["visa.product"].AsString())
	assert.Equal(t, "GET", oa["http.request.method"].AsString())
	assert.Equal(t, "sandbox.api.visa.com", oa["server.address"].AsString())
	assert.Equal(t, "/vacp/v1/instructions/{instructionId}", oa["url.template"].AsString())
	assert.Equal(t, int64(2), oa["visa.attempts"].AsInt64())
	assert.Equal(t, int64(200), oa["http.response.status_code"].AsInt64())
	assert.Equal(t, "corr-2", oa["visa.correlation_id"].AsString())
	assert.NotContains(t, oa, attribute.Key("error.type"))
	assert.Equal(t, votel.ScopeName, op.InstrumentationScope().Name)

	tries := byName(spans, "GET /vacp/v1/instructions/{instructionId}")
	require.Len(t, tries, 2, "one span per attempt")
	for i, s := range tries {
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		assert.Equal(t, op.SpanContext().SpanID(), s.Parent().SpanID(), "attempt %d is a child of the operation", i+1)
		assert.Equal(t, op.SpanContext().TraceID(), s.SpanContext().TraceID())
		assert.Equal(t, int64(i+1), attrs(s)["visa.attempt"].AsInt64())
	}
	first, second := attrs(tries[0]), attrs(tries[1])
	assert.Equal(t, int64(503), first["http.response.status_code"].AsInt64())
	assert.Equal(t, "503", first["error.type"].AsString())
	assert.Equal(t, "SERVICE_UNAVAILABLE", first["visa.error_code"].AsString())
	assert.True(t, first["visa.retry"].AsBool())
	assert.Equal(t, "status 503", first["visa.retry_reason"].AsString())
	assert.Equal(t, codes.Error, tries[0].Status().Code)
	assert.Equal(t, "503", tries[0].Status().Description, "the status says the class, never the error text")
	assert.NotContains(t, first, attribute.Key("http.request.resend_count"))

	assert.Equal(t, int64(200), second["http.response.status_code"].AsInt64())
	assert.False(t, second["visa.retry"].AsBool())
	assert.Equal(t, int64(1), second["http.request.resend_count"].AsInt64())
	assert.NotContains(t, second, attribute.Key("error.type"))
	assert.Equal(t, codes.Unset, tries[1].Status().Code)

	rm := tel.metrics(t)
	op1 := attribute.String("visa.operation", "vic.GetInstruction")
	attempts := find(t, rm, votel.AttemptsMetric)
	assert.Equal(t, "{attempt}", attempts.Unit)
	assert.Equal(t, int64(2), sumWhere(t, attempts, op1))
	assert.Equal(t, int64(1), sumWhere(t, attempts, op1, attribute.Int("http.response.status_code", 503), attribute.Bool("visa.retry", true)))
	assert.Equal(t, int64(1), sumWhere(t, attempts, op1, attribute.Int("http.response.status_code", 200), attribute.Bool("visa.retry", false)))
	dur := find(t, rm, votel.OperationDurationMetric)
	assert.Equal(t, "s", dur.Unit)
	assert.Equal(t, uint64(1), histCountWhere(t, dur, op1, attribute.String("visa.product", "VIC")))
	assert.Equal(t, uint64(2), histCountWhere(t, find(t, rm, votel.AttemptDurationMetric), op1))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			assert.NotEqual(t, votel.ErrorsMetric, m.Name, "no error recorded for a successful operation")
		}
	}
}

// TestObserverFailure: an operation that ends in Visa's error has an Error
// status, error.type and the Visa code, and is counted by code.
func TestObserverFailure(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts()...)
	op := visa.OperationInfo{Operation: "vts.ValidateOTP", Product: visa.ProductVTS, Method: "POST",
		Route: "/vts/provisionedTokens/{vProvisionedTokenId}/stepUpOptions/validateOTP", Host: "127.0.0.1:8443"}
	apiErr := &visa.APIError{Product: visa.ProductVTS, HTTPStatus: 400, Reason: "invalidOtp",
		Message: "wrong code", CorrelationID: "corr-9"}

	ctx := o.OperationStart(context.Background(), op)
	a := visa.AttemptInfo{OperationInfo: op, Attempt: 1}
	actx := o.AttemptStart(ctx, a)
	o.AttemptEnd(actx, a, visa.AttemptResult{StatusCode: 400, CorrelationID: "corr-9", RetryReason: "not retryable", Err: apiErr})
	o.OperationEnd(ctx, op, visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 400, CorrelationID: "corr-9", Attempts: 1}, Err: apiErr})

	spans := tel.ended()
	require.Len(t, spans, 2)
	s := byName(spans, "vts.ValidateOTP")[0]
	assert.Equal(t, codes.Error, s.Status().Code)
	sa := attrs(s)
	assert.Equal(t, "400", sa["error.type"].AsString())
	assert.Equal(t, "invalidOtp", sa["visa.error_code"].AsString())
	assert.Equal(t, "127.0.0.1", sa["server.address"].AsString())
	assert.Equal(t, int64(8443), sa["server.port"].AsInt64())
	assert.Empty(t, s.Events(), "no exception event: an error's text is not telemetry")
	try := byName(spans, "POST /vts/provisionedTokens/{vProvisionedTokenId}/stepUpOptions/validateOTP")
	require.Len(t, try, 1)
	assert.Equal(t, "invalidOtp", attrs(try[0])["visa.error_code"].AsString(), "the attempt's code from its APIError")

	rm := tel.metrics(t)
	errs := find(t, rm, votel.ErrorsMetric)
	assert.Equal(t, int64(1), sumWhere(t, errs, attribute.String("visa.operation", "vts.ValidateOTP"),
		attribute.String("visa.error_code", "invalidOtp"), attribute.String("error.type", "400")))
	assert.Equal(t, uint64(1), histCountWhere(t, find(t, rm, votel.OperationDurationMetric), attribute.String("error.type", "400")))
}

// TestObserverErrorTypes: failures without an answer get a class, never
// the error's text.
func TestObserverErrorTypes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("visa: vts.EnrollPAN: %w: connection reset", visa.ErrNetwork), "network"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("call: %w", context.Canceled), "canceled"},
		{visa.NewInputError("Card.PAN", "not a card number"), "invalid_input"},
		{fmt.Errorf("x: %w", visa.ErrMalformedResponse), "malformed_response"},
		{fmt.Errorf("x: %w", visa.ErrResponseTooLarge), "response_too_large"},
		{fmt.Errorf("x: %w", visa.ErrEncryption), "encryption"},
		{errors.New("something else"), "_OTHER"},
		{fmt.Errorf("wrapped: %w", &visa.APIError{HTTPStatus: 400, Code: "MLE_DECRYPTION_FAILED"}), "400"},
	}
	for _, c := range cases {
		tel := newTelemetry(t)
		o := votel.NewObserver(tel.opts()...)
		ctx := o.OperationStart(context.Background(), getInstruction)
		a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
		o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{Err: c.err})
		o.OperationEnd(ctx, getInstruction, visa.OperationResult{Err: c.err})
		for _, s := range tel.ended() {
			assert.Equal(t, c.want, attrs(s)["error.type"].AsString(), "%s for %v", s.Name(), c.err)
			assert.Equal(t, codes.Error, s.Status().Code)
			assert.Equal(t, c.want, s.Status().Description)
			assert.NotContains(t, attrs(s), attribute.Key("http.response.status_code"))
		}
		assert.Equal(t, int64(1), sumWhere(t, find(t, tel.metrics(t), votel.ErrorsMetric), attribute.String("error.type", c.want)))
	}
}

// TestObserverAttributeFilter: a filter removes attributes from spans and
// metrics.
func TestObserverAttributeFilter(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts(votel.WithAttributeFilter(func(kv attribute.KeyValue) bool {
		return kv.Key != votel.CorrelationIDKey && kv.Key != "server.address"
	}))...)
	ctx := o.OperationStart(context.Background(), getInstruction)
	a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
	o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{StatusCode: 200, CorrelationID: "corr-1"})
	o.OperationEnd(ctx, getInstruction, visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 200, CorrelationID: "corr-1", Attempts: 1}})
	spans := tel.ended()
	require.Len(t, spans, 2)
	for _, s := range spans {
		assert.NotContains(t, attrs(s), votel.CorrelationIDKey)
		assert.NotContains(t, attrs(s), attribute.Key("server.address"))
		assert.Contains(t, attrs(s), votel.OperationKey)
	}

	// Metrics too, the errors counter included.
	tel = newTelemetry(t)
	o = votel.NewObserver(tel.opts(votel.WithAttributeFilter(func(kv attribute.KeyValue) bool {
		return kv.Key != votel.ProductKey
	}))...)
	ctx = o.OperationStart(context.Background(), getInstruction)
	o.OperationEnd(ctx, getInstruction, visa.OperationResult{Err: &visa.APIError{HTTPStatus: 404, Code: "INSTRUCTION_NOT_FOUND"}})
	rm := tel.metrics(t)
	for _, name := range []string{votel.OperationDurationMetric, votel.ErrorsMetric} {
		m := find(t, rm, name)
		assert.NotContains(t, dump(nil, metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{m}}}}), "visa.product", name)
	}
	assert.Equal(t, int64(1), sumWhere(t, find(t, rm, votel.ErrorsMetric), attribute.String("visa.error_code", "INSTRUCTION_NOT_FOUND"),
		attribute.String("error.type", "404"), attribute.String("visa.operation", "vic.GetInstruction")))
}

// TestObserverNoSecrets: secrets inside errors (a careless message, an
// APIError's Visa text) never reach a span or a metric, because neither
// takes an error's text.
func TestObserverNoSecrets(t *testing.T) {
	t.Parallel()
	const pan, cvv, otp, key = "4111111111111111", "917", "456789", "SBXVICAPIKEY01"
	sec := testutil.NewSecrets()
	sec.Add("PAN", pan)
	sec.Add("CVV2", cvv)
	sec.Add("OTP", otp)
	sec.Add("api key", key)

	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts()...)
	leaky := fmt.Errorf("card %s cvv %s otp %s url https://x/?apikey=%s: %w", pan, cvv, otp, key, visa.ErrNetwork)
	apiErr := &visa.APIError{HTTPStatus: 400, Code: "INVALID", Message: "PAN " + pan + " refused", Info: "otp " + otp}
	ctx := o.OperationStart(context.Background(), getInstruction)
	a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
	o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{Err: leaky, Retry: true})
	a.Attempt = 2
	o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{StatusCode: 400, Code: "INVALID", Err: apiErr})
	o.OperationEnd(ctx, getInstruction, visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 400, Attempts: 2}, Err: apiErr})

	text := dump(tel.ended(), tel.metrics(t))
	require.Contains(t, text, "visa.error_code=INVALID", "the dump holds the telemetry")
	sec.Check(t, "spans and metrics", text, testutil.Text)
}

// TestObserverNoProviders: with the global (no-op) providers, every call
// is harmless.
func TestObserverNoProviders(t *testing.T) {
	t.Parallel()
	o := votel.NewObserver()
	ctx := o.OperationStart(context.Background(), getInstruction)
	a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
	o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{StatusCode: 200})
	o.OperationEnd(ctx, getInstruction, visa.OperationResult{})
	assert.False(t, trace.SpanFromContext(ctx).IsRecording())
}

// TestObserverConcurrent: one Observer shared by concurrent calls (run
// with -race) records every span and every attempt.
func TestObserverConcurrent(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts()...)
	const workers, calls = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				ctx := o.OperationStart(context.Background(), getInstruction)
				a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
				o.AttemptEnd(o.AttemptStart(ctx, a), a, visa.AttemptResult{StatusCode: 200})
				o.OperationEnd(ctx, getInstruction, visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 200, Attempts: 1}})
			}
		}()
	}
	wg.Wait()
	assert.Len(t, tel.ended(), 2*workers*calls)
	rm := tel.metrics(t)
	assert.Equal(t, int64(workers*calls), sumWhere(t, find(t, rm, votel.AttemptsMetric)))
	assert.Equal(t, uint64(workers*calls), histCountWhere(t, find(t, rm, votel.OperationDurationMetric)))
}
