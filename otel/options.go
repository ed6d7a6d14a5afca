package otel

import (
	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter this
// package creates.
const ScopeName = "github.com/vicgo/visa/otel"

// Option configures NewObserver and WrapTransport.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp          trace.TracerProvider
	mp          metric.MeterProvider
	filter      func(attribute.KeyValue) bool
	propagators propagation.TextMapPropagator
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tp == nil {
		c.tp = gotel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = gotel.GetMeterProvider()
	}
	if c.propagators == nil {
		// Visa does not take part in the caller's traces: by default no
		// trace context is sent to it.
		c.propagators = propagation.NewCompositeTextMapPropagator()
	}
	return c
}

// WithTracerProvider sets the TracerProvider spans are created with. The
// default is the global one (go.opentelemetry.io/otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets the MeterProvider metrics are recorded with. The
// default is the global one (go.opentelemetry.io/otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// WithAttributeFilter keeps only the attributes for which keep returns
// true, on the Observer's spans and metrics (for example to leave out
// visa.correlation_id, or server.address). The operation and product
// names used in span names are kept whatever the filter says. It does not
// apply to WrapTransport, whose attributes otelhttp sets.
func WithAttributeFilter(keep func(attribute.KeyValue) bool) Option {
	return optionFunc(func(c *config) { c.filter = keep })
}

// WithPropagators makes WrapTransport inject trace context into the
// requests sent to Visa with p (for example
// go.opentelemetry.io/otel.GetTextMapPropagator()). By default none is
// injected: Visa does not take part in the caller's traces, and its
// requests carry only the headers the SDK signs and sends.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.propagators = p
		}
	})
}

// handle reports an error to the global OpenTelemetry error handler.
func handle(err error) { gotel.Handle(err) }
