package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
)

// beginJourney records a new journey of kind for userID, running on this
// process, or finds the one an earlier request with the same idempotency
// key started (replay true). A key reused with another request is
// ErrIdempotencyMismatch, and changes nothing. Of racing requests with one
// key, exactly one creates the journey (the Store's unique key); the others
// replay it.
//
// twin, when not nil, is a purchase's transaction: if the Store is a
// store.PurchaseWriter, it is recorded with the journey in one write (its
// ID set to the journey's) and recorded reports it; otherwise the caller
// records it.
func (a *Agent) beginJourney(ctx context.Context, kind store.JourneyKind, userID, key, hash, step string, twin *store.Transaction) (j store.Journey, replay, recorded bool, err error) {
	if key != "" {
		j, err := a.store.GetJourneyByKey(ctx, userID, kind, key)
		switch {
		case err == nil:
			j, replay, err := a.sameRequest(j, hash)
			return j, replay, false, err
		case !errors.Is(err, store.ErrNotFound):
			return store.Journey{}, false, false, fmt.Errorf("agent: looking up the idempotency key: %w", err)
		}
	}
	j = store.Journey{
		ID: check.NewUUID(), Kind: kind, UserID: userID, IdempotencyKey: key, RequestHash: hash,
		Status: store.JourneyRunning, Step: step, LeaseOwner: a.runOwner(), LeaseExpiresAt: a.now().Add(a.leaseTTL),
	}
	pc, both := a.store.(store.PurchaseWriter)
	both = both && twin != nil
	if both {
		twin.ID = j.ID
		j, err = pc.CreatePurchase(ctx, j, *twin)
	} else {
		j, err = a.store.CreateJourney(ctx, j)
	}
	if errors.Is(err, store.ErrDuplicateKey) && key != "" {
		// Another request with the same key won the race.
		if got, gerr := a.store.GetJourneyByKey(ctx, userID, kind, key); gerr == nil {
			j, replay, err := a.sameRequest(got, hash)
			return j, replay, false, err
		}
	}
	if err != nil {
		if both {
			return store.Journey{}, false, false, fmt.Errorf("agent: recording the purchase: %w", err)
		}
		return store.Journey{}, false, false, fmt.Errorf("agent: recording the journey: %w", err)
	}
	return j, false, both, nil
}

func (a *Agent) sameRequest(j store.Journey, hash string) (store.Journey, bool, error) {
	if j.RequestHash != hash {
		return store.Journey{}, false, fmt.Errorf("%w (journey %s)", ErrIdempotencyMismatch, j.ID)
	}
	return j, true, nil
}

// closeJourney ends a purchase journey as its transaction stands: final
// with a final transaction (or a decline), otherwise RUNNING with the lease
// released, for the reconciler to take at once.
func (a *Agent) closeJourney(ctx context.Context, j *store.Journey, tx store.Transaction, cause error) {
	switch tx.Status {
	case store.TxCompleted, store.TxDeclined:
		a.endJourney(ctx, j, store.JourneySucceeded, tx.ID, nil)
	case store.TxFailed:
		a.endJourney(ctx, j, store.JourneyFailed, tx.ID, cause)
	case store.TxCancelled:
		a.endJourney(ctx, j, store.JourneyCancelled, tx.ID, cause)
	default:
		a.releaseJourney(ctx, j, tx.ID)
	}
}

// endJourney records a journey's end: final status, result, failure, no
// lease. A journey another process took meanwhile is left to it.
func (a *Agent) endJourney(ctx context.Context, j *store.Journey, status store.JourneyStatus, resultID string, cause error) {
	a.saveJourney(ctx, j, ended(*j, status, resultID, cause))
}

// ended is j at its end: final status, result, failure, no lease.
func ended(j store.Journey, status store.JourneyStatus, resultID string, cause error) store.Journey {
	j.Status, j.NextAction, j.ResultID = status, "", resultID
	j.LeaseOwner, j.LeaseExpiresAt = "", zeroTime
	if cause != nil && status != store.JourneySucceeded {
		j.FailureCode, j.FailureReason = failureCode(cause), reasonOf(cause)
	}
	return j
}

// releaseJourney leaves a journey RUNNING without an owner: the reconciler
// takes it on its next pass.
func (a *Agent) releaseJourney(ctx context.Context, j *store.Journey, resultID string) {
	next := *j
	next.Status, next.ResultID, next.LeaseOwner, next.LeaseExpiresAt = store.JourneyRunning, resultID, "", zeroTime
	a.saveJourney(ctx, j, next)
}

// unclaim gives back the lease this process has just taken on a journey
// it must not work on after all, leaving its status as it is (a WAITING
// journey stays WAITING for its human).
func (a *Agent) unclaim(ctx context.Context, j *store.Journey) {
	next := *j
	next.LeaseOwner, next.LeaseExpiresAt = "", zeroTime
	a.saveJourney(ctx, j, next)
}

func (a *Agent) saveJourney(ctx context.Context, j *store.Journey, next store.Journey) {
	got, err := a.store.UpdateJourney(ctx, next)
	if err != nil {
		a.journeyNotSaved(ctx, j.ID, err)
		return
	}
	*j = got
}

// journeyNotSaved logs a journey write that failed: the journey is left
// to whoever took it meanwhile, or to the reconciler.
func (a *Agent) journeyNotSaved(ctx context.Context, id string, err error) {
	a.logger.WarnContext(ctx, "agent: recording the journey failed; the reconciler will see it",
		"journey", id, "error", err.Error())
}

// replayPurchase answers a request that repeats the idempotency key of the
// purchase journey j.
func (a *Agent) replayPurchase(ctx context.Context, j store.Journey) (*Receipt, error) {
	if !j.Status.Final() {
		if j.Leased("", a.now()) {
			rec, _ := a.storedReceipt(ctx, j.ID)
			return rec, fmt.Errorf("%w (journey %s)", ErrInProgress, j.ID)
		}
		// Its process died or left it to the reconciler: settle it now.
		if claimed, err := a.claim(ctx, j.ID); err == nil {
			_ = a.recoverJourney(ctx, claimed, &ReconcileReport{Failed: map[string]error{}})
		}
		var err error
		if j, err = a.store.GetJourney(ctx, j.ID); err != nil {
			return nil, fmt.Errorf("agent: journey %s: %w", j.ID, err)
		}
	}
	rec, err := a.storedReceipt(ctx, j.ID)
	if errors.Is(err, store.ErrNotFound) {
		// The journey ended before its transaction was recorded.
		if j.Status.Final() {
			return nil, replayed(j.FailureCode, j.FailureReason)
		}
		return nil, fmt.Errorf("%w (journey %s)", ErrInProgress, j.ID)
	}
	if err != nil {
		return nil, err
	}
	return rec, outcomeOf(rec.Transaction)
}

// outcomeOf is the error Purchase returns for a purchase whose record
// stands at tx (nil for COMPLETED).
func outcomeOf(tx store.Transaction) error {
	switch tx.Status {
	case store.TxCompleted:
		return nil
	case store.TxDeclined:
		return declineOf(nil, tx)
	case store.TxFailed, store.TxCancelled:
		return replayed(tx.FailureCode, tx.FailureReason)
	case store.TxAuthorized:
		return &OutcomeError{Outcome: ErrChargedUnconfirmed, TransactionID: tx.ID, Status: tx.Status}
	case store.TxAuthorizing:
		return &OutcomeError{Outcome: ErrOutcomeUnknown, TransactionID: tx.ID, Status: tx.Status}
	}
	return fmt.Errorf("%w (transaction %s is %s)", ErrInProgress, tx.ID, tx.Status)
}

// storedReceipt is the Receipt the store can give for a purchase.
func (a *Agent) storedReceipt(ctx context.Context, id string) (*Receipt, error) {
	tx, err := a.store.GetTransaction(ctx, id)
	if err != nil {
		return nil, err
	}
	rec := &Receipt{Transaction: tx, Replayed: true}
	if tx.ResponseCode != "" {
		rec.Authorization = storedAuthorization(tx)
	}
	return rec, nil
}

// inputs gathers every problem of a request, so one error names them all.
type inputs struct{ errs []error }

func (in *inputs) add(field, reason string) {
	in.errs = append(in.errs, visa.NewInputError(field, reason))
}

func (in *inputs) rule(field, reason string) {
	if reason != "" {
		in.add(field, reason)
	}
}

func (in *inputs) err(err error) {
	if err != nil {
		in.errs = append(in.errs, err)
	}
}

// result is nil, the one problem, or every problem joined (each an
// *visa.InputError, so errors.Is(err, visa.ErrInvalidInput) holds).
func (in *inputs) result() error {
	switch len(in.errs) {
	case 0:
		return nil
	case 1:
		return in.errs[0]
	}
	return errors.Join(in.errs...)
}

func (in *inputs) id(field, v string, max int) { in.rule(field, check.ID(v, max)) }

func (in *inputs) text(field, v string, max int, required bool) {
	in.rule(field, check.Text(v, max, required))
}

func (in *inputs) url(field, v string) { in.rule(field, check.URL(v, check.MaxURL)) }

var zeroTime time.Time
