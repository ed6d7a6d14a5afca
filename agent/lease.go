package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
func (a *Agent) runOwner() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return a.owner + "/" + hex.EncodeToString(b[:])
}

// claim takes journey id's lease for a new run of this process.
func (a *Agent) claim(ctx context.Context, id string) (store.Journey, error) {
	return a.store.ClaimJourney(ctx, id, a.runOwner(), a.now().Add(a.leaseTTL))
}
