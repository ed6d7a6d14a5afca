package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vicgo/visa/store"
)

// lease keeps a journey's lease alive while this process works on it: a
// goroutine renews it every third of the lease's life, and notes when
// another owner has taken the journey (the lease lapsed, say after a long
// pause), so the work stops before its next side effect.
type lease struct {
	lost atomic.Bool
	stop chan struct{}
	done sync.WaitGroup
}

// hold starts renewing j's lease (held by j.LeaseOwner) until release.
func (a *Agent) hold(ctx context.Context, j store.Journey) *lease {
	id, owner := j.ID, j.LeaseOwner
	l := &lease{stop: make(chan struct{})}
	every := a.leaseTTL / 3
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			_, err := a.store.ClaimJourney(rctx, id, owner, a.now().Add(a.leaseTTL))
			cancel()
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				l.lost.Store(true)
				a.logger.WarnContext(ctx, "agent: lost the lease of a journey", "journey", id)
				return
			}
		}
	}()
	return l
}

// release stops renewing; it is safe to call more than once.
func (l *lease) release() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

// runOwner names one run of a journey on this process: the agent's owner
// name and a random suffix. Leases are held per run, not per process, so
// two goroutines of one process (a purchase and the reconciler, or two
// requests with one idempotency key) exclude each other as two replicas do.
func (a *Agent) runOwner() string { return a.owner + "/" + randomLetters(8) }

// randomLetters returns n random lowercase letters. Lease owners end with
// them rather than with hex digits: a suffix without digits never makes an
// owner look like a card number to the store's screen (random hex digits
// after a name ending in digits did, now and then, and the store refused
// the journey).
func randomLetters(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

// claim takes journey id's lease for a new run of this process.
func (a *Agent) claim(ctx context.Context, id string) (store.Journey, error) {
	return a.store.ClaimJourney(ctx, id, a.runOwner(), a.now().Add(a.leaseTTL))
}
