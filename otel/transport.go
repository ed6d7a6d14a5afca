package otel

import (
	"context"
	"net/http"
	"net/url"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// WrapTransport returns a function for visa.Config.WrapTransport that
// instruments every HTTP request the SDK sends with otelhttp: a Client
// span per request (with url.full, server.address, network details) and
// otelhttp's http.client.* metrics. The SDK applies it after building its
// own transport, so it works with Config.TLS (trust roots, mutual TLS,
// minimum version).
//
// The URL query never reaches a span: VIC and VTS calls carry their api
// key there (apikey=...), so url.full is recorded without its query (and
// without a fragment or user information), while the request sent keeps
// its URL unchanged. When an Observer of this package runs in the same
// call, the span is a child of the operation's span (or of the attempt's,
// when the request carries the attempt's context), named
// "{method} {url.template}" and with url.template; otherwise it is named
// by the method alone.
//
// By default no trace context is injected into the requests (see
// WithPropagators). WithAttributeFilter does not apply here.
func WrapTransport(opts ...Option) func(http.RoundTripper) http.RoundTripper {
	c := newConfig(opts)
	hopts := []otelhttp.Option{
		otelhttp.WithTracerProvider(c.tp),
		otelhttp.WithMeterProvider(c.mp),
		otelhttp.WithPropagators(c.propagators),
		otelhttp.WithSpanNameFormatter(httpSpanName),
	}
	return func(base http.RoundTripper) http.RoundTripper {
		if base == nil {
			base = http.DefaultTransport
		}
		return &stripQuery{next: otelhttp.NewTransport(&restoreQuery{base: base}, hopts...), base: base}
	}
}

// urlKey holds, in a request's context, the URL stripQuery took the query
// out of, for restoreQuery to send.
type urlKey struct{}

// routeKey holds, in an operation's context, its URL template.
type routeKey struct{}

// stripQuery hands otelhttp a request whose URL has no query, fragment or
// user information, so that url.full holds none of them.
type stripQuery struct {
	next http.RoundTripper // otelhttp over restoreQuery
	base http.RoundTripper // the SDK's transport, for CloseIdleConnections
}

// RoundTrip implements http.RoundTripper.
func (t *stripQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req
	if u := req.URL; u != nil && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil) {
		clean := *u
		clean.RawQuery, clean.ForceQuery, clean.Fragment, clean.RawFragment, clean.User = "", false, "", "", nil
		r = req.WithContext(context.WithValue(req.Context(), urlKey{}, u))
		r.URL = &clean
	}
	resp, err := t.next.RoundTrip(r)
	if resp != nil {
		resp.Request = req // the caller's, as from an uninstrumented transport
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the SDK's
// transport, so that the SDK's CloseIdleConnections works through the
// wrapper.
func (t *stripQuery) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// restoreQuery runs under otelhttp: it puts the request's real URL back
// before the SDK's transport sends it, and names the URL template on
// otelhttp's span.
type restoreQuery struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *restoreQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if route, ok := ctx.Value(routeKey{}).(string); ok && route != "" {
		trace.SpanFromContext(ctx).SetAttributes(semconv.URLTemplate(route))
	}
	if u, ok := ctx.Value(urlKey{}).(*url.URL); ok {
		r := req.WithContext(ctx)
		r.URL = u
		req = r
	}
	return t.base.RoundTrip(req)
}

// httpSpanName names otelhttp's span "{method} {url.template}" when the
// attempt's template is known, the method otherwise.
func httpSpanName(_ string, r *http.Request) string {
	m := r.Method
	if m == "" {
		m = http.MethodGet
	}
	if route, ok := r.Context().Value(routeKey{}).(string); ok && route != "" {
		return m + " " + route
	}
	return m
}
