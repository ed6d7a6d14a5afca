package vic_test

import (
	"context"
	"testing"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vic"
)

// confirmWorld is a world with one instruction whose credential was
// issued, and the confirmation of it, which can be sent again and again
// (the sandbox counts repeats): one VIC call with MLE both ways and X-Pay.
func confirmWorld(b *testing.B, opts ...sandbox.Option) (*world, vic.ConfirmRequest) {
	w := newWorldWith(b, "4111111111111111", opts...)
	ins, err := w.instruction(b, "10.00", nil)
	if err != nil {
		b.Fatal(err)
	}
	cr, err := w.credentials(ins, "10.00", "")
	if err != nil {
		b.Fatal(err)
	}
	cred := cr.Credentials.DynamicData[0]
	return w, vic.ConfirmRequest{ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID,
		Confirmations: []vic.Confirmation{{TransactionReferenceID: cred.TransactionReferenceID, DynamicDataID: cred.DynamicDataID,
			Status: vic.TransactionApproved, Amount: visa.MustParseAmount("10.00", "USD"), ResponseCode: "00", Order: &vic.Order{OrderID: "ORD-1"}}}}
}

// BenchmarkConfirmLoopbackVsInMemory measures one vic.ConfirmTransaction
// against the in-process sandbox over loopback TCP with TLS (the default
// of sandboxtest.Start, what a user's unit test gets) and through
// sandbox.WithInMemory (no socket, no TLS), on a connection kept alive,
// alternating the two in one run (A, B,
// A, B...) and reporting each side's mean wall time and process CPU time
// (user + system, getrusage) per call. Both include the sandbox's work,
// which runs in the same process either way.
func BenchmarkConfirmLoopbackVsInMemory(b *testing.B) {
	wl, reqL := confirmWorld(b)
	wm, reqM := confirmWorld(b, sandbox.WithInMemory())
	ctx := context.Background()
	var tl, tm, cl, cm time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0, c0 := time.Now(), cpu()
		if _, err := wl.vic.ConfirmTransaction(ctx, reqL); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), cpu()
		if _, err := wm.vic.ConfirmTransaction(ctx, reqM); err != nil {
			b.Fatal(err)
		}
		t2, c2 := time.Now(), cpu()
		tl += t1.Sub(t0)
		tm += t2.Sub(t1)
		cl += c1 - c0
		cm += c2 - c1
	}
	n := float64(b.N)
	b.ReportMetric(float64(tl)/n, "loopback-ns/call")
	b.ReportMetric(float64(tm)/n, "inmemory-ns/call")
	b.ReportMetric(float64(cl)/n, "loopback-cpu-ns/call")
	b.ReportMetric(float64(cm)/n, "inmemory-cpu-ns/call")
	b.ReportMetric(float64(cl)/float64(cm), "cpu-loopback/inmemory")
}

// BenchmarkConfirm measures one vic.ConfirmTransaction per transport, for
// benchstat: "loopback-tls" (sandboxtest.Start's default), "loopback-plain"
// (WithPlainHTTP) and "inmemory" (WithInMemory); "*-newclient" builds a
// new vic.Client for each call, as a unit test does, so its connection
// (and TLS handshake) is part of the cost.
func BenchmarkConfirm(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []sandbox.Option
	}{{"loopback-tls", nil}, {"loopback-plain", []sandbox.Option{sandbox.WithPlainHTTP()}}, {"inmemory", []sandbox.Option{sandbox.WithInMemory()}}} {
		for _, fresh := range []bool{false, true} {
			name := c.name
			if fresh {
				name += "-newclient"
			}
			b.Run(name, func(b *testing.B) {
				w, req := confirmWorld(b, c.opts...)
				ctx := context.Background()
				b.ReportAllocs()
				c0 := cpu()
				for b.Loop() {
					cl := w.vic
					if fresh {
						var err error
						if cl, err = vic.New(w.sbx.Config()); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := cl.ConfirmTransaction(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpu is this process's CPU time so far (zero where the platform does not
// report it).
func cpu() time.Duration {
	d, _ := testutil.ProcessCPU()
	return d
}
