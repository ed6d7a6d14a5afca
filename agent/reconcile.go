package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/store"
)

// ReconcileReport counts what one reconciliation pass did.
type ReconcileReport struct {
	// Completed purchases were charged and are now confirmed.
	Completed int
	// Declined purchases were declined by the merchant and are confirmed.
	Declined int
	// Cancelled purchases never reached the merchant (or it never saw
	// them); their instruction, if any, was cancelled.
	Cancelled int
	// Expired journeys waited for a human past their deadline and were
	// cleaned up.
	Expired int
	// CardsRemoved are half-added cards whose token was deleted.
	CardsRemoved int
	// Skipped counts journeys another live process holds, and charges that
	// may still be in flight: a later pass looks again.
	Skipped int
	// Failed lists records this pass could not settle (the merchant or
	// Visa unreachable, say); a later pass retries them.
	Failed map[string]error
}

// ResumeReport is the report of Resume.
//
// Deprecated: use ReconcileReport.
type ResumeReport = ReconcileReport

// Reconcile makes one pass over every journey and purchase that a process
// left unfinished, and settles each one no live process holds:
//
//   - a purchase interrupted before the merchant was called is cancelled
//     (its instruction too, when one exists): nothing was charged;
//   - a purchase whose charge was sent (AUTHORIZING) is settled by asking
//     the merchant (Merchant.Lookup): approved → confirmed → COMPLETED;
//     declined → confirmed → DECLINED; never seen → CANCELLED, but only once
//     the lease has lapsed and the merchant timeout plus its margin have
//     passed since the charge was sent (WithMerchantTimeout), so a slow
//     charge still in flight is never cancelled; the merchant unreachable →
//     left as it is, for a later pass;
//   - a charged purchase whose confirmation is pending (AUTHORIZED), and a
//     decline not yet confirmed, are confirmed to VIC (step 16);
//   - an add-card journey whose process died, and a journey that waited for
//     a human past its deadline, are cleaned up: the provisioned token is
//     deleted at VTS and its records removed, so no usable token is left.
//
// It reads the same declared table as a live purchase (each row's recovery
// rule), never obtains a second credential and never charges. Every
// journey is claimed through its lease first, so any number of replicas
// may run Reconcile at once (RunReconciler does, periodically): each record
// is handled by one of them at a time, and one a live purchase holds is
// skipped.
func (a *Agent) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	return a.reconcile(ctx, 0)
}

// RunReconciler calls Reconcile every interval until ctx is done, logging
// what each pass did. Run it in every replica (it is safe: leases decide
// who handles a record). It returns ctx's error.
func (a *Agent) RunReconciler(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return visa.NewInputError("interval", "must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := a.Reconcile(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.logger.WarnContext(ctx, "agent: reconciliation pass failed", "error", err.Error())
		case rep != nil && (rep.Completed+rep.Declined+rep.Cancelled+rep.Expired+rep.CardsRemoved+len(rep.Failed) > 0):
			a.logger.InfoContext(ctx, "agent: reconciled", "completed", rep.Completed, "declined", rep.Declined,
				"cancelled", rep.Cancelled, "expired", rep.Expired, "cards_removed", rep.CardsRemoved,
				"unsettled", len(rep.Failed))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ResumeOption configures Resume.
//
// Deprecated: leases replace the age threshold; use Reconcile.
type ResumeOption func(*resumeOptions)

type resumeOptions struct{ olderThan time.Duration }

// ResumeOlderThan limits Resume to records not updated for d.
//
// Deprecated: a live journey's lease keeps Reconcile away from it; no
// threshold is needed.
func ResumeOlderThan(d time.Duration) ResumeOption {
	return func(o *resumeOptions) { o.olderThan = d }
}

// Resume is one Reconcile pass.
//
// Deprecated: use Reconcile (one pass) or RunReconciler (periodic).
func (a *Agent) Resume(ctx context.Context, opts ...ResumeOption) (*ResumeReport, error) {
	var o resumeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return a.reconcile(ctx, o.olderThan)
}

// staleCardAfter is how old a card not enrolled in VIC, and named by no
// journey, must be before a pass removes it (cards half-added by versions
// that recorded no journey).
const staleCardAfter = time.Hour

func (a *Agent) reconcile(ctx context.Context, olderThan time.Duration) (*ReconcileReport, error) {
	rep := &ReconcileReport{Failed: map[string]error{}}
	now := a.now()
	old := func(t time.Time) bool { return olderThan <= 0 || !t.After(now.Add(-olderThan)) }

	// Journeys under way: those no live process holds, and waiting ones
	// past their deadline.
	var live []store.Journey
	for j, err := range a.store.ListJourneys(ctx, store.JourneyFilter{NonFinalOnly: true}) {
		if err != nil {
			return rep, fmt.Errorf("agent: listing journeys: %w", err)
		}
		live = append(live, j)
	}
	named := map[string]bool{} // token and transaction ids of journeys under way
	for _, j := range live {
		named[j.ResultID] = true
		if tok := addCardToken(j); tok != "" {
			named[tok] = true
		}
		switch {
		case j.Leased("", now), !old(j.UpdatedAt):
			rep.Skipped++
			continue
		case j.Status == store.JourneyWaiting && (j.ExpiresAt.IsZero() || j.ExpiresAt.After(now)):
			continue // waiting for its human
		}
		claimed, err := a.claim(ctx, j.ID)
		if errors.Is(err, store.ErrConflict) {
			rep.Skipped++ // another replica took it first
			continue
		}
		if err != nil {
			rep.Failed[j.ID] = err
			continue
		}
		if claimed.Status == store.JourneyWaiting && (claimed.ExpiresAt.IsZero() || claimed.ExpiresAt.After(now)) {
			// It suspended for its human between the listing and the
			// claim: it is not ours to end.
			a.unclaim(ctx, &claimed)
			rep.Skipped++
			continue
		}
		if err := a.recoverJourney(ctx, claimed, rep); err != nil {
			rep.Failed[j.ID] = err
		}
	}

	// Transactions with no journey (recorded by a version that had none),
	// and declines whose confirmation is pending.
	var orphans []store.Transaction
	for _, f := range []store.TxFilter{{NonFinalOnly: true, Order: store.OldestFirst}, {Status: []store.TxStatus{store.TxDeclined}, Unconfirmed: true, Order: store.OldestFirst}} {
		for tx, err := range a.store.ListTransactions(ctx, f) {
			if err != nil {
				return rep, fmt.Errorf("agent: listing transactions: %w", err)
			}
			if !named[tx.ID] && old(tx.UpdatedAt) {
				orphans = append(orphans, tx)
			}
		}
	}
	for _, tx := range orphans {
		j, err := a.store.GetJourney(ctx, tx.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Adopt it: a journey of our own makes the other replicas
			// keep away while this one settles it.
			j, err = a.store.CreateJourney(ctx, store.Journey{ID: tx.ID, Kind: store.JourneyPurchase, UserID: tx.UserID,
				Status: store.JourneyRunning, Step: "reconcile", LeaseOwner: a.runOwner(), LeaseExpiresAt: now.Add(a.leaseTTL)})
			if errors.Is(err, store.ErrConflict) {
				rep.Skipped++
				continue
			}
		case err == nil && !j.Status.Final():
			continue // the journey pass above handles it
		}
		if err != nil {
			rep.Failed[tx.ID] = err
			continue
		}
		if _, err := a.recoverPurchase(ctx, &j, tx, rep); err != nil {
			rep.Failed[tx.ID] = err
		}
	}

	n, err := a.removeStaleCards(ctx, now, named)
	rep.CardsRemoved += n
	return rep, err
}

// recoverJourney settles a journey this process has just claimed.
func (a *Agent) recoverJourney(ctx context.Context, j store.Journey, rep *ReconcileReport) error {
	l := a.hold(ctx, j)
	defer l.release()
	expired := j.Status == store.JourneyWaiting
	end := store.JourneyFailed
	cause := fmt.Errorf("%w: its process stopped at %s", ErrInterrupted, j.Step)
	if expired {
		end, cause = store.JourneyExpired, fmt.Errorf("agent: nobody answered %s in time: %w", j.NextAction, context.DeadlineExceeded)
	}
	if j.FailureCode != "" {
		cause = replayed(j.FailureCode, j.FailureReason) // it failed; only its clean-up was left
	}
	if j.Kind == store.JourneyAddCard {
		if tok := addCardToken(j); tok != "" {
			if err := a.removeToken(ctx, tok); err != nil {
				a.releaseJourney(ctx, &j, j.ResultID)
				return err
			}
			rep.CardsRemoved++
		}
		if expired {
			rep.Expired++
		}
		l.release()
		a.endJourney(ctx, &j, end, "", cause)
		return nil
	}
	tx, err := a.store.GetTransaction(ctx, j.ID)
	if errors.Is(err, store.ErrNotFound) {
		// It stopped before recording its transaction: nothing happened.
		l.release()
		a.endJourney(ctx, &j, end, "", cause)
		return nil
	}
	if err != nil {
		a.releaseJourney(ctx, &j, j.ResultID)
		return err
	}
	if expired {
		rep.Expired++
	}
	l.release()
	_, err = a.recoverPurchase(ctx, &j, tx, rep)
	return err
}

// recoverPurchase brings a purchase whose journey this process holds to a
// final status by the table's recovery rules, as far as it can now, then
// closes (or releases) the journey.
func (a *Agent) recoverPurchase(ctx context.Context, j *store.Journey, tx store.Transaction, rep *ReconcileReport) (store.TxStatus, error) {
	move := func(to store.TxStatus, upd store.TxUpdate) error {
		next, err := a.store.TransitionTransaction(ctx, tx.ID, tx.Status, to, upd)
		if err == nil {
			tx = next
		}
		return err
	}
	cancel := func(instruction bool) error {
		if instruction {
			a.cancelInstruction(ctx, &tx, a.resumeAppInstance(ctx, tx))
		}
		reason, code := "interrupted at "+string(tx.Status)+"; reconciled", "interrupted"
		if err := move(store.TxCancelled, store.TxUpdate{FailureReason: &reason, FailureCode: &code}); err != nil {
			return err
		}
		rep.Cancelled++
		return nil
	}
	var err error
loop:
	for err == nil {
		switch recoveryAt(tx) {
		case recoverNone:
			break loop
		case recoverCancel:
			err = cancel(false)
		case recoverAbandon:
			err = cancel(true)
		case recoverAskMerchant:
			var settled bool
			if settled, err = a.askMerchant(ctx, &tx, move, cancel); err == nil && !settled {
				rep.Skipped++
				break loop
			}
		case recoverConfirm:
			auth := storedAuthorization(tx)
			if a.merchant != nil {
				if got, lerr := a.lookup(ctx, tx.TransactionReferenceID); lerr == nil && got.Approved == auth.Approved {
					auth = got // the full answer: reference number, trace number, time
				}
			}
			if err = a.confirm(ctx, &tx, auth, ""); err != nil {
				break
			}
			to := store.TxCompleted
			if tx.Status == store.TxDeclined {
				to = store.TxDeclined
			}
			if err = move(to, store.TxUpdate{Confirmed: true}); err == nil {
				if to == store.TxCompleted {
					rep.Completed++
				} else {
					rep.Declined++
				}
			}
		}
	}
	if j.Status.Final() {
		return tx.Status, err
	}
	a.closeJourney(ctx, j, tx, nil)
	return tx.Status, err
}

// askMerchant settles an AUTHORIZING purchase with the merchant's record.
// settled is false when the merchant has no record yet but the charge may
// still be in flight.
func (a *Agent) askMerchant(ctx context.Context, tx *store.Transaction, move func(store.TxStatus, store.TxUpdate) error, cancel func(bool) error) (bool, error) {
	if a.merchant == nil {
		return false, ErrNoMerchant
	}
	auth, err := a.lookup(ctx, tx.TransactionReferenceID)
	if errors.Is(err, ErrNoAuthorization) {
		// "Never seen" proves nothing while the charge can still arrive:
		// only once the merchant timeout and its margin have passed since
		// the charge was recorded as sent (AUTHORIZING's time stamp).
		if a.now().Before(tx.UpdatedAt.Add(a.merchantTimeout + a.settleMargin)) {
			return false, nil
		}
		return true, cancel(true)
	}
	if err != nil {
		return false, err
	}
	upd := store.TxUpdate{ResponseCode: &auth.ResponseCode, AuthorizationCode: &auth.AuthorizationCode}
	if auth.Approved {
		return true, move(store.TxAuthorized, upd)
	}
	reason, code := declineReason(auth), "declined"
	upd.FailureReason, upd.FailureCode = &reason, &code
	return true, move(store.TxDeclined, upd)
}

// resumeAppInstance describes the agent for calls made without the original
// device: the device of the card's passkey when known.
func (a *Agent) resumeAppInstance(ctx context.Context, tx store.Transaction) visa.AppInstance {
	ai := visa.AppInstance{UserAgent: "vicgo-agent (reconcile)", ApplicationName: a.appName, CountryCode: "US",
		IPAddress: "127.0.0.1", ClientDeviceID: "vicgo-resume-00000000000", DeviceData: visa.DeviceData{Type: "Server", Brand: "vicgo"}}
	if u, err := a.store.GetUser(ctx, tx.UserID); err == nil && len(u.Country) == 2 {
		ai.CountryCode = u.Country
	}
	for pk, err := range a.store.ListPasskeys(ctx, tx.TokenID) {
		if err == nil && validDeviceID(pk.DeviceID) {
			ai.ClientDeviceID = pk.DeviceID
		}
		break
	}
	return ai
}

// removeStaleCards deletes cards that were never enrolled in VIC, are older
// than staleCardAfter and that no journey under way names: cards half-added
// by a process that recorded no journey for them.
func (a *Agent) removeStaleCards(ctx context.Context, now time.Time, named map[string]bool) (int, error) {
	var stale []string
	for c, err := range a.store.ListCards(ctx, "") { // every user's cards
		if err != nil {
			return 0, err
		}
		if c.VICEnrollment == store.VICEnrolled || named[c.TokenID] || c.UpdatedAt.After(now.Add(-staleCardAfter)) {
			continue
		}
		stale = append(stale, c.TokenID)
	}
	n := 0
	for _, id := range stale {
		if err := a.removeToken(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
