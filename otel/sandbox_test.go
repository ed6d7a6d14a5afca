package otel_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	attr "go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
	votel "github.com/vicgo/visa/otel"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

const cvv2 = "917"

// observed returns a TLS sandbox's Config (its roots in Config.TLS) with
// the Observer and WrapTransport on tel, and fast retries.
func observed(t *testing.T, tel *telemetry, opts ...sandbox.Option) (*sandbox.Sandbox, visa.Config) {
	t.Helper()
	sb := sandboxtest.Start(t, opts...)
	require.True(t, sb.TLS())
	cfg := sb.Config()
	require.NotEmpty(t, cfg.TLS.RootCAsPEM, "the sandbox's roots are in Config.TLS")
	cfg.Retry = visa.RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	cfg.Observer = votel.NewObserver(tel.opts()...)
	cfg.WrapTransport = votel.WrapTransport(tel.opts()...)
	return sb, cfg
}

// observerSpans are the spans of the Observer (the operation and attempt
// spans), without otelhttp's.
func observerSpans(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.InstrumentationScope().Name == votel.ScopeName {
			out = append(out, s)
		}
	}
	return out
}

// requireWired fails the test when the SDK's transport did not call the
// Observer at all, so the checks that follow cannot pass vacuously.
func requireWired(t *testing.T, tel *telemetry) {
	t.Helper()
	if len(observerSpans(tel.ended())) == 0 {
		t.Fatal("the transport did not call the Observer: no span recorded")
	}
}

// TestSandboxRetryShowsSiblingAttempts: a GET answered 503 once is
// retried; the operation span has two attempt children, and otelhttp's
// HTTP spans (with Config.TLS set) sit under them.
func TestSandboxRetryShowsSiblingAttempts(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	sb, cfg := observed(t, tel)
	c, err := vts.New(cfg)
	require.NoError(t, err, "WrapTransport with Config.TLS")
	ctx := context.Background()
	pan, _ := visa.ParsePAN(sandbox.CardHappy)
	cvv, _ := visa.ParseCVV2(cvv2)
	enr, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv,
		ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}}})
	require.NoError(t, err)
	requireWired(t, tel)

	require.NoError(t, sb.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{
		{Endpoint: "GET /vts/panEnrollments/{id}", Kind: sandbox.Status503, Count: 1}}}))
	_, err = c.GetPANEnrollment(ctx, vts.GetPANEnrollmentRequest{VPanEnrollmentID: enr.VPanEnrollmentID})
	require.NoError(t, err)

	spans := tel.ended()
	ops := byName(spans, "vts.GetPANEnrollment")
	require.Len(t, ops, 1)
	op := ops[0]
	assert.Equal(t, trace.SpanKindInternal, op.SpanKind())
	oa := attrs(op)
	assert.Equal(t, "VTS", oa["visa.product"].AsString())
	assert.Equal(t, int64(2), oa["visa.attempts"].AsInt64())
	assert.Equal(t, int64(200), oa["http.response.status_code"].AsInt64())
	base, err := url.Parse(sb.BaseURL())
	require.NoError(t, err)
	assert.Equal(t, base.Hostname(), oa["server.address"].AsString())
	assert.Equal(t, base.Port(), strconv.FormatInt(oa["server.port"].AsInt64(), 10))
	route := oa["url.template"].AsString()
	assert.True(t, strings.HasPrefix(route, "/vts/panEnrollments/"), "url.template %q", route)
	assert.NotContains(t, route, enr.VPanEnrollmentID, "the template holds a placeholder, not the id")
	assert.NotContains(t, route, "?")

	var tries []sdktrace.ReadOnlySpan
	for _, s := range observerSpans(spans) {
		if s.Parent().SpanID() == op.SpanContext().SpanID() {
			tries = append(tries, s)
		}
	}
	require.Len(t, tries, 2, "one child per attempt")
	if tries[1].StartTime().Before(tries[0].StartTime()) {
		tries[0], tries[1] = tries[1], tries[0]
	}
	first, second := attrs(tries[0]), attrs(tries[1])
	assert.Equal(t, trace.SpanKindClient, tries[0].SpanKind())
	assert.Equal(t, "GET "+route, tries[0].Name())
	assert.Equal(t, int64(503), first["http.response.status_code"].AsInt64())
	assert.True(t, first["visa.retry"].AsBool())
	assert.Equal(t, "503", first["error.type"].AsString())
	assert.Equal(t, int64(200), second["http.response.status_code"].AsInt64())
	assert.False(t, second["visa.retry"].AsBool())
	assert.NotEmpty(t, second["visa.correlation_id"].AsString())

	// otelhttp's spans: one per attempt, in the operation's trace (under
	// the attempt span when the transport sends each attempt with the
	// attempt's context, else under the operation span).
	var http1 []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if _, ok := attrs(s)["url.full"]; ok {
			http1 = append(http1, s)
		}
	}
	require.Len(t, http1, 3, "otelhttp's spans: the enrollment and both attempts")
	parents := map[trace.SpanID]bool{op.SpanContext().SpanID(): true, tries[0].SpanContext().SpanID(): true, tries[1].SpanContext().SpanID(): true}
	var under int
	for _, s := range http1 {
		full := attrs(s)["url.full"].AsString()
		assert.True(t, strings.HasPrefix(full, sb.BaseURL()+"/vts/panEnrollments"), "url.full %q", full)
		assert.NotContains(t, full, "?", "no query in url.full")
		if parents[s.Parent().SpanID()] {
			under++
			assert.Equal(t, op.SpanContext().TraceID(), s.SpanContext().TraceID())
			assert.Equal(t, "GET "+route, s.Name(), "named after the operation's template")
			assert.Equal(t, route, attrs(s)["url.template"].AsString())
		}
	}
	assert.Equal(t, 2, under, "both attempts' HTTP spans are in the operation's trace")

	rm := tel.metrics(t)
	get := attr.String("visa.operation", "vts.GetPANEnrollment")
	assert.Equal(t, int64(2), sumWhere(t, find(t, rm, votel.AttemptsMetric), get))
	assert.Equal(t, uint64(1), histCountWhere(t, find(t, rm, votel.OperationDurationMetric), get))
}

// TestSandboxJourneyLeaksNoSecret runs a whole journey (add a card with an
// OTP, a purchase) with both routes over mutual TLS, then scans every
// span and metric for the credentials, the card, the OTP and the one-time
// credential.
func TestSandboxJourneyLeaksNoSecret(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	sb, cfg := observed(t, tel, sandbox.WithMutualTLS())
	require.NotEmpty(t, cfg.TLS.ClientCertPEM)
	ctx := context.Background()

	st, err := memstore.New()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	merchant, err := agenttest.NewSandboxMerchant(sb.MerchantURL(), cfg)
	require.NoError(t, err)
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(merchant))
	require.NoError(t, err)

	user := store.User{ID: "alice", Email: "alice@example.com", Country: "US", Language: "en"}
	device := agent.Device{ClientDeviceID: "alice-laptop-00000000001", AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0", ApplicationName: "Shopping Agent", CountryCode: "US", IPAddress: "203.0.113.7",
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}}
	pan, _ := visa.ParsePAN(sandbox.CardHappy)
	cvv, _ := visa.ParseCVV2(cvv2)
	added, err := a.AddCard(ctx, agent.AddCardRequest{User: user, Device: device,
		Card:       vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}},
		Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{sandbox.GoldenOTP}}})
	require.NoError(t, err)
	receipt, err := a.Purchase(ctx, agent.PurchaseRequest{IdempotencyKey: "order-1001", UserID: user.ID, TokenID: added.Card.TokenID,
		Device: device, Amount: visa.MustParseAmount("25.00", "USD"), Description: "A book",
		Merchant: agent.MerchantInfo{Name: "Bookshop", URL: "https://books.example", CountryCode: "US"}})
	require.NoError(t, err)
	requireWired(t, tel)

	sec := testutil.NewSecrets()
	for name, v := range map[string]string{
		"VIC api key": sandbox.VICAPIKey, "VIC shared secret": sandbox.VICSharedSecret,
		"VTS api key": sandbox.VTSAPIKey, "VTS shared secret": sandbox.VTSSharedSecret,
		"Auth iFrame api key": sandbox.AuthFrameAPIKey, "enc api key": sandbox.EncAPIKey,
		"enc shared secret": sandbox.EncSharedSecret, "hash secret": sandbox.HashSecret,
		"PAN": sandbox.CardHappy, "CVV2": cvv2, "OTP": sandbox.GoldenOTP,
		"token PAN": receipt.Credential.PaymentToken.Reveal(),
	} {
		sec.Add(name, v)
	}
	sec.AddDynamic("dynamic CVV2", receipt.Credential.DynamicDataValue.Reveal())

	spans := tel.ended()
	text := dump(spans, tel.metrics(t))
	for _, op := range []string{"vts.EnrollPAN", "vts.ValidateOTP", "vic.CreateInstruction"} {
		assert.NotEmpty(t, byName(spans, op), "the journey made a %s span", op)
	}
	require.Contains(t, text, "url.full=", "otelhttp's spans are in the scan")
	sec.Check(t, "spans and metrics of a journey", text, testutil.Text)
	assert.NotContains(t, text, "apikey", "no query string anywhere")
}
