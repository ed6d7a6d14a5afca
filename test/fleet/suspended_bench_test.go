package fleet

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vts"
)

// BenchmarkStepAPISuspendedAtOTP measures what journeys waiting for the
// cardholder's code cost the agent process: 10,000 add-card journeys
// (VICGO_SUSPENDED=n for another count) are started with StartAddCard and
// answered up to the OTP step (the method chosen, the code sent: step 7 of
// the journey), on a SQLite store, against cmd/visa-sandbox running as its
// own process, so that only the agent's memory is counted. It reports the
// Go heap in use after a GC (runtime.MemStats.HeapAlloc) and the
// goroutines (runtime.NumGoroutine) in excess of those before the journeys
// started (after a warm-up that opened the HTTP connections), in total and
// per suspended journey. A journey that waits is a row, not a goroutine:
// the goroutines must not grow, and the heap must stay under 10 MiB.
func BenchmarkStepAPISuspendedAtOTP(b *testing.B) {
	n := 10000
	if v := os.Getenv("VICGO_SUSPENDED"); v != "" {
		_, err := fmt.Sscan(v, &n)
		require.NoError(b, err)
	}
	if testing.Short() {
		n = 300
	}
	const conc = 16
	dir := b.TempDir()
	sbBin := build(b, dir, "github.com/vicgo/visa/cmd/visa-sandbox", "visa-sandbox", false)
	hc := &http.Client{Transport: &http.Transport{}}
	sb := startSandbox(b, sbBin, hc)
	b.Cleanup(func() {
		_ = sb.stop(5 * time.Second)
		hc.CloseIdleConnections()
	})
	ctx := context.Background()

	for b.Loop() {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "agent.db"))
		require.NoError(b, err)
		cfg, err := visa.ConfigFromLookup(func(name string) (string, bool) {
			v, ok := sb.env[name]
			return v, ok
		})
		require.NoError(b, err)
		sealer, err := fido.ParseKeyring(sealerKeys())
		require.NoError(b, err)
		a, err := agent.New(cfg, st, sealer, agent.WithOwner("bench"))
		require.NoError(b, err)

		var next atomic.Int64
		suspend := func(count int) []string {
			ids := make([]string, count)
			var wg sync.WaitGroup
			var failed atomic.Int64
			var firstErr atomic.Value
			sem := make(chan struct{}, conc)
			for i := range count {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					id, err := suspendOne(ctx, a, int(next.Add(1)))
					if err != nil {
						if failed.Add(1) == 1 {
							firstErr.Store(err)
						}
						return
					}
					ids[i] = id
				})
			}
			wg.Wait()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d journeys did not reach the OTP step; the first: %v", f, count, firstErr.Load())
			}
			return ids
		}
		suspend(2 * conc) // warm-up: connections open, caches filled

		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		ids := suspend(n)
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()

		heap := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
		b.ReportMetric(heap/(1<<20), "heap-MiB")
		b.ReportMetric(heap/float64(n), "heap-B/journey")
		b.ReportMetric(float64(g1-g0), "goroutines")
		b.ReportMetric(float64(n), "journeys")
		if heap > 10<<20 {
			b.Errorf("%d suspended journeys hold %.1f MiB of heap, over 10 MiB", n, heap/(1<<20))
		}
		if g1 > g0 {
			b.Errorf("%d suspended journeys hold %d goroutines (%d before, %d after)", n, g1-g0, g0, g1)
		}

		// They are all there, waiting for the code, in the store.
		for _, id := range []string{ids[0], ids[n/2], ids[n-1]} {
			j, err := a.GetJourney(ctx, id)
			require.NoError(b, err)
			require.Equal(b, store.JourneyWaiting, j.Status)
			require.Equal(b, agent.ActionEnterOTP, j.Next.Action)
		}
		require.NoError(b, st.Close())
	}
}

// suspendOne starts an add-card journey and answers it up to the OTP
// prompt; it returns the journey's id.
func suspendOne(ctx context.Context, a *agent.Agent, i int) (string, error) {
	pan, err := visa.ParsePAN(sandbox.CardHappy)
	if err != nil {
		return "", err
	}
	cvv, err := visa.ParseCVV2(testCVV2)
	if err != nil {
		return "", err
	}
	dev := fmt.Sprintf("bench-device-%011d", i)
	j, err := a.StartAddCard(ctx, agent.AddCardRequest{
		User: store.User{ID: fmt.Sprintf("bench-user-%d", i), Email: fmt.Sprintf("bench%d@example.com", i), Country: "US", Language: "en"},
		Card: vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}, Name: "Bench Shopper"},
		Device: agent.Device{ClientDeviceID: dev, AppInstance: visa.AppInstance{
			ClientDeviceID: dev, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Bench Agent",
			CountryCode: "US", IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
		}},
	})
	if err != nil {
		return "", err
	}
	for range 3 {
		if j.Status != store.JourneyWaiting || j.Next == nil {
			return "", fmt.Errorf("journey %s is %s, not waiting", j.ID, j.Status)
		}
		switch j.Next.Action {
		case agent.ActionEnterOTP:
			return j.ID, nil
		case agent.ActionChooseOTPMethod:
			method := j.Next.Methods[0].Identifier
			for _, m := range j.Next.Methods {
				if strings.EqualFold(m.Method, "OTPSMS") {
					method = m.Identifier
				}
			}
			if j, err = a.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: method}); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("journey %s waits for %s", j.ID, j.Next.Action)
		}
	}
	return "", fmt.Errorf("journey %s never reached the OTP step", j.ID)
}
