package agent

import (
	"context"
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

// hold starts renewing the lease of journey id until release.
func (a *Agent) hold(ctx context.Context, id string) *lease {
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
			_, err := a.store.ClaimJourney(rctx, id, a.owner, a.now().Add(a.leaseTTL))
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
