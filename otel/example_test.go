package otel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vicgo/visa"
	votel "github.com/vicgo/visa/otel"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vts"
)

// Instrument every Visa call: the Observer makes a span per operation
// with a child per HTTP attempt, and metrics; WrapTransport adds
// otelhttp's HTTP-level spans. Both work with Config.TLS (here the
// sandbox's roots). In a program, pass your TracerProvider and
// MeterProvider (or set the globals and pass no option).
func ExampleNewObserver() {
	sb, err := sandbox.New()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	cfg := sb.Config() // Config.TLS holds the sandbox's roots
	cfg.Observer = votel.NewObserver(votel.WithTracerProvider(tp))
	cfg.WrapTransport = votel.WrapTransport(votel.WithTracerProvider(tp))
	c, err := vts.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetPANEnrollment(context.Background(), vts.GetPANEnrollmentRequest{VPanEnrollmentID: "no-such-enrollment"})
	fmt.Println("not found:", errors.Is(err, visa.ErrNotFound))

	ended := spans.Ended()
	sort.SliceStable(ended, func(i, j int) bool { return ended[i].StartTime().Before(ended[j].StartTime()) })
	for _, s := range ended {
		a := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			a[kv.Key] = kv.Value
		}
		switch {
		case s.InstrumentationScope().Name != votel.ScopeName: // otelhttp's
			full := a["url.full"].AsString()
			fmt.Println("  HTTP span:", s.SpanKind(), "query recorded:", strings.Contains(full, "?"))
		case a[votel.AttemptKey].Type() != attribute.EMPTY:
			fmt.Println("  attempt", a[votel.AttemptKey].AsInt64(), s.SpanKind(), a["http.response.status_code"].AsInt64(), s.Status().Code)
		default:
			fmt.Println(s.Name(), s.SpanKind(), a["error.type"].AsString(), a[votel.ErrorCodeKey].AsString())
		}
	}
	// Output:
	// not found: true
	// vts.GetPANEnrollment internal 404 enrollmentNotFound
	//   attempt 1 client 404 Error
	//   HTTP span: client query recorded: false
}

// WrapTransport on any http.Client: the span's url.full has no query, so
// the api key that VIC and VTS calls carry there is never recorded.
func ExampleWrapTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("server got query:", r.URL.RawQuery != "")
	}))
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	client := &http.Client{Transport: votel.WrapTransport(votel.WithTracerProvider(tp))(http.DefaultTransport)}
	res, err := client.Get(srv.URL + "/vacp/v1/instructions?apikey=SECRET")
	if err != nil {
		log.Fatal(err)
	}
	_ = res.Body.Close()

	for _, s := range spans.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "url.full" {
				fmt.Println(s.Name(), strings.TrimPrefix(kv.Value.AsString(), srv.URL))
			}
		}
	}
	// Output:
	// server got query: true
	// GET /vacp/v1/instructions
}
