package sandbox

import (
	"testing"
	"time"

	"github.com/vicgo/visa/jwe"
)

// BenchmarkRetainedHeap drives b.N whole purchases (passkey assertion,
// instruction, credentials, merchant authorization, confirmation) through
// one sandbox whose manual clock advances 125 ms per purchase (8 a second,
// the rate of a long-running cmd/visa-sandbox under the fleet test), a new
// card onboarding every 8th purchase, and reports the heap in use at the
// end (retained-MiB) and the records evicted by count. Run it with a fixed
// count, e.g. -benchtime=15000x, to compare WithMaxRetained settings:
// sub-benchmark "time-only" is the retention of 30 minutes alone,
// "default" adds DefaultMaxRetained. It is count-driven: the clock, not
// the wall, decides what expires, so the figure does not depend on the
// machine's speed. Requests go over loopback HTTP.
func BenchmarkRetainedHeap(b *testing.B) {
	for _, c := range []struct {
		name string
		max  int
	}{{"time-only", 0}, {"default", DefaultMaxRetained}} {
		b.Run(c.name, func(b *testing.B) {
			clk := NewManualClock(time.Now())
			sb := Start(b, WithPlainHTTP(), WithClock(clk), WithMaxRetained(c.max))
			w := newWire(b, sb, jwe.EncA128GCM)
			base := heapInUse()
			var tok, device string
			b.ResetTimer()
			for i := range b.N {
				if i%8 == 0 {
					tok, device = w.onboard(CardHappy)
				}
				blob, ident := w.assertion(tok, device, "25.00", "Best Buy")
				w.purchase(tok, device, blob, ident, "25.00")
				clk.Advance(125 * time.Millisecond)
			}
			b.StopTimer()
			end := heapInUse()
			b.ReportMetric(float64(end)/(1<<20), "retained-MiB")
			b.ReportMetric(float64(base)/(1<<20), "start-MiB")
			b.ReportMetric(float64(sb.Inspect().Evicted), "evicted")
		})
	}
}
