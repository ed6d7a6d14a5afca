package sandbox

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

// workerTB lets the raw test client run on a worker goroutine: a failed
// assertion records the error and ends only that goroutine.
type workerTB struct {
	testing.TB
	errs  *atomic.Int64
	first *sync.Once
	msg   *string
}

func (w workerTB) Errorf(format string, args ...any) {
	w.errs.Add(1)
	w.first.Do(func() { *w.msg = fmt.Sprintf(format, args...) })
}
func (w workerTB) Error(args ...any)                 { w.Errorf("%s", fmt.Sprint(args...)) }
func (w workerTB) Fatalf(format string, args ...any) { w.Errorf(format, args...); w.FailNow() }
func (w workerTB) Fatal(args ...any)                 { w.Error(args...); w.FailNow() }
func (w workerTB) FailNow()                          { runtime.Goexit() }
func (w workerTB) Fail()                             { w.errs.Add(1) }
func (w workerTB) Helper()                           {}
func (w workerTB) Cleanup(func())                    {}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestSoak runs whole purchases (iFrame session, attestation options,
// passkey assertion, instruction, credentials, merchant authorization,
// confirmation) from 64 concurrent workers over loopback for a bounded time,
// expects zero errors, and checks that the heap stays flat: the manual
// clock runs 20x faster than real time (5x under -race), so the janitors of both halves
// purge finished state while the load goes on.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped under -short")
	}
	const workers = 64
	duration, warmup, tick := 25*time.Second, 6*time.Second, 80*time.Millisecond
	if raceEnabled { // everything is several times slower: slow the clock too
		duration, warmup, tick = 12*time.Second, 4*time.Second, 250*time.Millisecond
	}
	clk := NewManualClock(time.Now())
	life := Lifetimes{RequestID: 2 * time.Minute, SecureToken: 2 * time.Minute, Challenge: 2 * time.Minute, Blob: 2 * time.Minute,
		Instruction: time.Minute, Credential: 2 * time.Minute}
	sb := Start(t, WithPlainHTTP(), WithClock(clk), WithLifetimes(life), WithRetention(time.Minute))

	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				clk.Advance(time.Second)
			}
		}
	})

	var (
		errs      atomic.Int64
		ops       atomic.Int64
		once      sync.Once
		msg       string
		wg        sync.WaitGroup
		onboarded sync.WaitGroup
		until     time.Time
		start     = make(chan struct{})
	)
	// The clock of the purchases starts once every worker has onboarded,
	// so a slow machine shortens no purchase time (64 onboardings under
	// -race on a busy machine took the whole duration once).
	onboarded.Add(workers)
	for range workers {
		wg.Go(func() {
			tb := workerTB{TB: t, errs: &errs, first: &once, msg: &msg}
			w := newWire(tb, sb, jwe.EncA128GCM)
			defer w.hc.CloseIdleConnections()
			ready := sync.OnceFunc(onboarded.Done)
			defer ready() // a worker that failed to onboard does not hold the others
			tok, device := w.onboard(CardHappy)
			ready()
			<-start
			for time.Now().Before(until) && errs.Load() == 0 {
				blob, ident := w.assertion(tok, device, "25.00", "Best Buy")
				w.purchase(tok, device, blob, ident, "25.00")
				ops.Add(1)
			}
		})
	}
	onboarded.Wait()
	until = time.Now().Add(duration)
	close(start)       // publishes until to the workers
	time.Sleep(warmup) // let the state reach its steady size
	base := heapInUse()
	baseOps := ops.Load()
	wg.Wait()
	end := heapInUse()
	close(stop)
	ticker.Wait()

	require.Zero(t, errs.Load(), "first error: %s", msg)
	snap := sb.Inspect()
	total := ops.Load()
	t.Logf("soak: %d workers, %d purchases in %s (%.0f/s); heap in use %.1f MiB after warm-up, %.1f MiB at the end; retained instructions %d",
		workers, total, duration, float64(total)/duration.Seconds(), float64(base)/(1<<20), float64(end)/(1<<20), len(snap.CredentialsPerInstruction))
	assert.Greater(t, total, baseOps, "work continued after the warm-up")
	assert.Equal(t, int(total), snap.ApprovalsTotal, "every purchase charged exactly once")
	for dd, n := range snap.ApprovalsPerCredential {
		assert.Equal(t, 1, n, dd)
	}
	assert.Less(t, end, 2*base+16<<20, "heap stays flat")
}
