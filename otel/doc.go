// Package otel instruments the vicgo SDK with OpenTelemetry. It is a
// module of its own (github.com/vicgo/visa/otel), so that the SDK's core
// does not depend on OpenTelemetry.
//
// Two routes, which can be used together:
//
//   - NewObserver returns a visa.Observer for visa.Config.Observer: one
//     span per Visa operation (such as vic.CreateInstruction) with a child
//     span per HTTP attempt, so retries show as sibling attempts; the
//     semantic-convention HTTP attributes (http.request.method,
//     http.response.status_code, server.address, url.template,
//     error.type) and vicgo's (visa.product, visa.operation,
//     visa.attempt, visa.error_code, visa.correlation_id, visa.retry);
//     and the metrics visa.client.operation.duration (seconds),
//     visa.client.attempt.duration, visa.client.attempts and
//     visa.client.errors (by Visa error code).
//   - WrapTransport returns a function for visa.Config.WrapTransport that
//     wraps the SDK's HTTP transport with otelhttp, for HTTP-level spans
//     and otelhttp's metrics. The SDK applies it after building its TLS
//     transport, so it works with Config.TLS.
//
// Neither puts a secret, a request or response body, a URL query (where
// VIC and VTS calls carry their api key) or an error message into a span
// or a metric: operation names, routes with placeholders, status codes,
// Visa error codes and correlation ids only.
//
// Usage:
//
//	cfg.Observer = otel.NewObserver()           // global providers
//	cfg.WrapTransport = otel.WrapTransport()    // optional, HTTP-level spans
//	c, err := vic.New(cfg)
package otel
