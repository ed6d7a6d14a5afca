package otel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	votel "github.com/vicgo/visa/otel"
)

const testAPIKey = "TESTAPIKEYQ7X4ZP"

// server is a TLS test server that records what it received.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	parents []string
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.RawQuery)
		s.parents = append(s.parents, r.Header.Get("Traceparent"))
		s.mu.Unlock()
		w.Header().Set("X-Correlation-Id", "corr-1")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() (queries, parents []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...), append([]string(nil), s.parents...)
}

func get(t *testing.T, ctx context.Context, c *http.Client, url string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// TestWrapTransportStripsQuery: the request reaches the server with its
// query (the api key), the span's url.full has none, over TLS with the
// server's roots (the transport the SDK builds from Config.TLS).
func TestWrapTransportStripsQuery(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tel := newTelemetry(t)
	c := &http.Client{Transport: votel.WrapTransport(tel.opts()...)(srv.Client().Transport)}

	get(t, context.Background(), c, srv.URL+"/vacp/v1/instructions/ins-1?apikey="+testAPIKey+"&x=1#frag")

	queries, parents := srv.received()
	assert.Equal(t, []string{"apikey=" + testAPIKey + "&x=1"}, queries, "the request sent keeps its query")
	assert.Equal(t, []string{""}, parents, "no trace context is sent to Visa by default")
	spans := tel.ended()
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "GET", s.Name())
	assert.Equal(t, trace.SpanKindClient, s.SpanKind())
	a := attrs(s)
	assert.Equal(t, srv.URL+"/vacp/v1/instructions/ins-1", a["url.full"].AsString())
	assert.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
	assert.Equal(t, "127.0.0.1", a["server.address"].AsString())

	sec := testutil.NewSecrets()
	sec.Add("api key", testAPIKey)
	sec.Check(t, "otelhttp spans and metrics", dump(spans, tel.metrics(t)), testutil.Text)
	assert.NotEmpty(t, find(t, tel.metrics(t), "http.client.request.duration").Name, "otelhttp's metrics")
}

// TestPlainOtelhttpLeaksQuery is the control of the test above: otelhttp
// alone records the api key in url.full, and the scanner finds it.
func TestPlainOtelhttpLeaksQuery(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tel := newTelemetry(t)
	c := &http.Client{Transport: otelhttp.NewTransport(srv.Client().Transport, otelhttp.WithTracerProvider(tel.tp))}
	get(t, context.Background(), c, srv.URL+"/vacp/v1/instructions?apikey="+testAPIKey)
	sec := testutil.NewSecrets()
	sec.Add("api key", testAPIKey)
	found := sec.Find(dump(tel.ended(), tel.metrics(t)), testutil.Text)
	assert.NotEmpty(t, found, "otelhttp without WrapTransport puts the query in url.full")
}

// TestWrapTransportUnderObserver: with the Observer, the HTTP span is a
// child of the attempt span and is named after the URL template.
func TestWrapTransportUnderObserver(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tel := newTelemetry(t)
	o := votel.NewObserver(tel.opts()...)
	c := &http.Client{Transport: votel.WrapTransport(tel.opts(votel.WithPropagators(propagation.TraceContext{}))...)(srv.Client().Transport)}

	op := visa.OperationInfo{Operation: "vic.GetInstruction", Product: visa.ProductVIC, Method: "GET",
		Route: "/vacp/v1/instructions/{instructionId}", Host: strings.TrimPrefix(srv.URL, "https://")}
	ctx := o.OperationStart(context.Background(), op)
	a := visa.AttemptInfo{OperationInfo: op, Attempt: 1}
	actx := o.AttemptStart(ctx, a)
	get(t, actx, c, srv.URL+"/vacp/v1/instructions/ins-1?apikey="+testAPIKey)
	o.AttemptEnd(actx, a, visa.AttemptResult{StatusCode: 200})
	o.OperationEnd(ctx, op, visa.OperationResult{Meta: visa.ResponseMeta{StatusCode: 200, Attempts: 1}})

	spans := tel.ended()
	require.Len(t, spans, 3)
	named := byName(spans, "GET /vacp/v1/instructions/{instructionId}")
	require.Len(t, named, 2, "the attempt span and otelhttp's")
	var attempt, http1 = named[0], named[1]
	if _, ok := attrs(attempt)[votel.AttemptKey]; !ok {
		attempt, http1 = http1, attempt
	}
	assert.Equal(t, attempt.SpanContext().SpanID(), http1.Parent().SpanID())
	assert.Equal(t, "/vacp/v1/instructions/{instructionId}", attrs(http1)["url.template"].AsString())
	_, parents := srv.received()
	require.Len(t, parents, 1)
	assert.Contains(t, parents[0], http1.SpanContext().SpanID().String(), "WithPropagators sends trace context")

	// A request sent with the operation's context (not the attempt's):
	// the HTTP span is the operation's child, named after the template.
	before := len(tel.ended())
	ctx = o.OperationStart(context.Background(), op)
	get(t, ctx, c, srv.URL+"/vacp/v1/instructions/ins-1?apikey="+testAPIKey)
	o.OperationEnd(ctx, op, visa.OperationResult{})
	spans = tel.ended()[before:]
	require.Len(t, spans, 2)
	named = byName(spans, "GET /vacp/v1/instructions/{instructionId}")
	require.Len(t, named, 1, "otelhttp's span")
	assert.Equal(t, byName(spans, "vic.GetInstruction")[0].SpanContext().SpanID(), named[0].Parent().SpanID())
	assert.Equal(t, "/vacp/v1/instructions/{instructionId}", attrs(named[0])["url.template"].AsString())

	sec := testutil.NewSecrets()
	sec.Add("api key", testAPIKey)
	sec.Check(t, "spans and metrics", dump(spans, tel.metrics(t)), testutil.Text)
}

// closer counts CloseIdleConnections.
type closer struct {
	http.RoundTripper
	mu     sync.Mutex
	closed int
}

func (c *closer) CloseIdleConnections() { c.mu.Lock(); c.closed++; c.mu.Unlock() }

// TestWrapTransportCloseIdleConnections: http.Client.CloseIdleConnections
// reaches the SDK's transport through the wrapper.
func TestWrapTransportCloseIdleConnections(t *testing.T) {
	t.Parallel()
	base := &closer{RoundTripper: http.DefaultTransport}
	c := &http.Client{Transport: votel.WrapTransport()(base)}
	c.CloseIdleConnections()
	base.mu.Lock()
	defer base.mu.Unlock()
	assert.Equal(t, 1, base.closed)
}

// TestWrapTransportNilBase: a nil base means http.DefaultTransport, as in
// http.Client.
func TestWrapTransportNilBase(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	tel := newTelemetry(t)
	c := &http.Client{Transport: votel.WrapTransport(tel.opts()...)(nil)}
	get(t, context.Background(), c, srv.URL+"/x?apikey="+testAPIKey)
	require.Len(t, tel.ended(), 1)
	assert.Equal(t, srv.URL+"/x", attrs(tel.ended()[0])[attribute.Key("url.full")].AsString())
}
