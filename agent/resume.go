package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/store"
)

// ResumeReport counts what Resume did.
type ResumeReport struct {
	// Completed purchases were charged and are now confirmed.
	Completed int
	// Declined purchases were declined by the merchant and are confirmed.
	Declined int
	// Cancelled purchases never reached the merchant; their instruction,
	// if any, was cancelled.
	Cancelled int
	// CardsRemoved are half-added cards whose token was deleted.
	CardsRemoved int
	// Failed lists transactions Resume could not settle this time (the
	// merchant or Visa unreachable); calling Resume again retries them.
	Failed map[string]error
}

// ResumeOption configures Resume.
type ResumeOption func(*resumeOptions)

type resumeOptions struct{ olderThan time.Duration }

// ResumeOlderThan limits Resume to records not updated for d, so that in
// a fleet it never races a purchase another replica is running. Without
// it Resume takes every unfinished record: call it at start-up, before
// taking traffic.
func ResumeOlderThan(d time.Duration) ResumeOption {
	return func(o *resumeOptions) { o.olderThan = d }
}

// Resume brings every interrupted purchase to a final state and removes
// half-added cards. It never obtains a second credential and never
// charges twice:
//
//   - PENDING, AUTHENTICATED: nothing chargeable exists → CANCELLED;
//   - INSTRUCTED, CREDENTIALS_REQUESTED, CREDENTIALS_ISSUED: a credential
//     may exist but was never charged (it is never stored, and never
//     requested again) → the instruction is cancelled → CANCELLED;
//   - AUTHORIZING: the merchant is asked what happened (Merchant.Lookup):
//     charged → confirmed → COMPLETED; declined → confirmed → DECLINED;
//     never seen → CANCELLED;
//   - AUTHORIZED: the confirmation is sent again (it is idempotent) →
//     COMPLETED.
//
// Every move is a compare-and-swap, so concurrent Resumes (or a Resume
// racing a live purchase) settle each record once.
func (a *Agent) Resume(ctx context.Context, opts ...ResumeOption) (*ResumeReport, error) {
	var o resumeOptions
	for _, opt := range opts {
		opt(&o)
	}
	cutoff := a.now().Add(-o.olderThan)
	rep := &ResumeReport{Failed: map[string]error{}}
	var pending []store.Transaction
	for tx, err := range a.store.ListTransactions(ctx, store.TxFilter{NonFinalOnly: true}) {
		if err != nil {
			return rep, fmt.Errorf("agent: listing transactions: %w", err)
		}
		if o.olderThan > 0 && tx.UpdatedAt.After(cutoff) {
			continue
		}
		pending = append(pending, tx)
	}
	for _, tx := range pending {
		outcome, err := a.resumeOne(ctx, tx)
		switch {
		case errors.Is(err, store.ErrConflict):
			// Someone else settled it first.
		case err != nil:
			rep.Failed[tx.ID] = err
		case outcome == store.TxCompleted:
			rep.Completed++
		case outcome == store.TxDeclined:
			rep.Declined++
		case outcome == store.TxCancelled:
			rep.Cancelled++
		}
	}
	n, err := a.removeHalfAddedCards(ctx, cutoff, o.olderThan > 0)
	rep.CardsRemoved = n
	if err != nil {
		return rep, err
	}
	return rep, nil
}

func (a *Agent) resumeOne(ctx context.Context, tx store.Transaction) (store.TxStatus, error) {
	reason := "interrupted at " + string(tx.Status) + "; resumed"
	cancel := func() (store.TxStatus, error) {
		a.cancelInstruction(ctx, &tx, a.resumeAppInstance(ctx, tx))
		_, err := a.store.TransitionTransaction(ctx, tx.ID, tx.Status, store.TxCancelled, store.TxUpdate{FailureReason: &reason})
		return store.TxCancelled, err
	}
	switch tx.Status {
	case store.TxPending, store.TxAuthenticated, store.TxInstructed, store.TxCredentialsRequested, store.TxCredentialsIssued:
		return cancel()
	case store.TxAuthorizing:
		if a.merchant == nil {
			return "", ErrNoMerchant
		}
		auth, err := a.merchant.Lookup(ctx, tx.TransactionReferenceID)
		if errors.Is(err, ErrNoAuthorization) {
			return cancel()
		}
		if err != nil {
			return "", err
		}
		upd := store.TxUpdate{ResponseCode: &auth.ResponseCode, AuthorizationCode: &auth.AuthorizationCode}
		if auth.Approved {
			t, err := a.store.TransitionTransaction(ctx, tx.ID, store.TxAuthorizing, store.TxAuthorized, upd)
			if err != nil {
				return "", err
			}
			return a.finishAuthorized(ctx, t, auth)
		}
		if err := a.confirm(ctx, &tx, auth, ""); err != nil {
			return "", err
		}
		r := "declined " + auth.ResponseCode
		upd.FailureReason, upd.Confirmed = &r, true
		_, err = a.store.TransitionTransaction(ctx, tx.ID, store.TxAuthorizing, store.TxDeclined, upd)
		return store.TxDeclined, err
	case store.TxAuthorized:
		auth := &Authorization{Approved: true, Status: "APPROVED", ResponseCode: tx.ResponseCode, AuthorizationCode: tx.AuthorizationCode}
		if a.merchant != nil {
			if got, err := a.merchant.Lookup(ctx, tx.TransactionReferenceID); err == nil && got.Approved {
				auth = got
			}
		}
		return a.finishAuthorized(ctx, tx, auth)
	}
	return "", fmt.Errorf("agent: transaction %s has unknown status %q", tx.ID, tx.Status)
}

func (a *Agent) finishAuthorized(ctx context.Context, tx store.Transaction, auth *Authorization) (store.TxStatus, error) {
	if err := a.confirm(ctx, &tx, auth, ""); err != nil {
		return "", err
	}
	_, err := a.store.TransitionTransaction(ctx, tx.ID, store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
	return store.TxCompleted, err
}

// resumeAppInstance describes the agent for calls Resume makes without
// the original device: the device of the card's passkey when known.
func (a *Agent) resumeAppInstance(ctx context.Context, tx store.Transaction) visa.AppInstance {
	ai := visa.AppInstance{UserAgent: "vicgo-agent (resume)", ApplicationName: a.appName, CountryCode: "US",
		IPAddress: "127.0.0.1", ClientDeviceID: "vicgo-resume-00000000000", DeviceData: visa.DeviceData{Type: "Server", Brand: "vicgo"}}
	if u, err := a.store.GetUser(ctx, tx.UserID); err == nil && len(u.Country) == 2 {
		ai.CountryCode = u.Country
	}
	for pk, err := range a.store.ListPasskeys(ctx, tx.TokenID) {
		if err == nil && visa.ValidClientDeviceID(pk.DeviceID) {
			ai.ClientDeviceID = pk.DeviceID
		}
		break
	}
	return ai
}

// removeHalfAddedCards deletes cards that AddCard never finished (not
// enrolled in VIC): their token at VTS and their records.
func (a *Agent) removeHalfAddedCards(ctx context.Context, cutoff time.Time, useCutoff bool) (int, error) {
	var stale []string
	for c, err := range a.store.ListCards(ctx, "") { // every user's cards
		if err != nil {
			return 0, err
		}
		if c.VICEnrollment == store.VICEnrolled || (useCutoff && c.UpdatedAt.After(cutoff)) {
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
