package otel_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	votel "github.com/vicgo/visa/otel"
)

// telemetry is an in-memory tracer and meter provider pair.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tel := &telemetry{
		spans:  rec,
		reader: reader,
		tp:     sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)),
		mp:     sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	}
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// opts are the options pointing at the in-memory providers.
func (tel *telemetry) opts(more ...votel.Option) []votel.Option {
	return append([]votel.Option{votel.WithTracerProvider(tel.tp), votel.WithMeterProvider(tel.mp)}, more...)
}

func (tel *telemetry) ended() []sdktrace.ReadOnlySpan { return tel.spans.Ended() }

func (tel *telemetry) metrics(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	return rm
}

// attrs returns a span's attributes as a map.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// byName returns the ended spans called name, in start order.
func byName(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime().Before(out[j].StartTime()) })
	return out
}

// find returns the metric called name, or fails.
func find(t testing.TB, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// sumWhere adds the counter points whose attributes include all of want.
func sumWhere(t testing.TB, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is a %T, not an int64 sum", m.Name, m.Data)
	}
	var n int64
	for _, dp := range sum.DataPoints {
		if hasAll(dp.Attributes, want) {
			n += dp.Value
		}
	}
	return n
}

// histCountWhere adds the histogram counts whose attributes include all
// of want.
func histCountWhere(t testing.TB, m metricdata.Metrics, want ...attribute.KeyValue) uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, not a float64 histogram", m.Name, m.Data)
	}
	var n uint64
	for _, dp := range h.DataPoints {
		if hasAll(dp.Attributes, want) {
			n += dp.Count
		}
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// dump writes every span name, attribute, status description, event and
// metric data point attribute as text, one item a line, for the secret
// scanner.
func dump(spans []sdktrace.ReadOnlySpan, rm metricdata.ResourceMetrics) string {
	var b strings.Builder
	kvs := func(prefix string, list []attribute.KeyValue) {
		for _, kv := range list {
			fmt.Fprintf(&b, "%s %s=%s\n", prefix, kv.Key, kv.Value.String())
		}
	}
	for _, s := range spans {
		fmt.Fprintf(&b, "span %s\n", s.Name())
		kvs("  attr", s.Attributes())
		fmt.Fprintf(&b, "  status %s %s\n", s.Status().Code, s.Status().Description)
		for _, e := range s.Events() {
			fmt.Fprintf(&b, "  event %s\n", e.Name)
			kvs("    attr", e.Attributes)
		}
		kvs("  resource", s.Resource().Attributes())
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(&b, "metric %s %s %s\n", m.Name, m.Unit, m.Description)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					kvs("  point", dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					kvs("  point", dp.Attributes.ToSlice())
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					kvs("  point", dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					kvs("  point", dp.Attributes.ToSlice())
				}
			}
		}
	}
	return b.String()
}
