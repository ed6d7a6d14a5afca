package otel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vicgo/visa"
	votel "github.com/vicgo/visa/otel"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/vts"
)

// BenchmarkSandboxCall measures one VTS call (GET of an enrollment, MLE
// and X-Pay included) against the in-process TLS sandbox, without
// telemetry, with the Observer, and with the Observer and WrapTransport.
// The providers are the SDK's, sampling every span and exporting to a
// no-op exporter, with a metric reader that is never collected: the cost
// of recording, not of shipping.
//
//	cd otel && go test -run '^$' -bench SandboxCall -benchmem -count 10 .
func BenchmarkSandboxCall(b *testing.B) {
	sb := sandboxtest.Start(b)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	opts := []votel.Option{votel.WithTracerProvider(tp), votel.WithMeterProvider(mp)}

	for _, bc := range []struct {
		name string
		set  func(*visa.Config)
	}{
		{"plain", func(*visa.Config) {}},
		{"observer", func(c *visa.Config) { c.Observer = votel.NewObserver(opts...) }},
		{"observer+wrap", func(c *visa.Config) {
			c.Observer = votel.NewObserver(opts...)
			c.WrapTransport = votel.WrapTransport(opts...)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := sb.Config()
			bc.set(&cfg)
			c, err := vts.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			pan, _ := visa.ParsePAN(sandbox.CardHappy)
			cvv, _ := visa.ParseCVV2(cvv2)
			enr, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv,
				ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}}})
			if err != nil {
				b.Fatal(err)
			}
			req := vts.GetPANEnrollmentRequest{VPanEnrollmentID: enr.VPanEnrollmentID}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetPANEnrollment(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObserver measures the Observer alone: one operation with one
// attempt, on the SDK's providers as above.
func BenchmarkObserver(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	o := votel.NewObserver(votel.WithTracerProvider(tp), votel.WithMeterProvider(mp))
	a := visa.AttemptInfo{OperationInfo: getInstruction, Attempt: 1}
	ar := visa.AttemptResult{StatusCode: 200, CorrelationID: "corr-1", Duration: time.Millisecond}
	or := visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 200, CorrelationID: "corr-1", Attempts: 1}, Duration: time.Millisecond}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		octx := o.OperationStart(ctx, getInstruction)
		o.AttemptEnd(o.AttemptStart(octx, a), a, ar)
		o.OperationEnd(octx, getInstruction, or)
	}
}

// BenchmarkHTTPCall measures one GET with an api key query over TLS to an
// httptest server, through the transport alone and through WrapTransport
// (otelhttp and the query stripping), on the SDK's providers as above.
func BenchmarkHTTPCall(b *testing.B) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(srv.Close)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	base := srv.Client().Transport
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"plain", base},
		{"wrapped", votel.WrapTransport(votel.WithTracerProvider(tp), votel.WithMeterProvider(mp))(base)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &http.Client{Transport: bc.rt}
			u := srv.URL + "/vacp/v1/instructions/ins-1?apikey=" + testAPIKey
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
		})
	}
}
