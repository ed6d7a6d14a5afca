package agent

import (
	"context"
	"errors"

	"github.com/vicgo/visa/store"
)

// The purchase as a declared table. Each row is one step of Phases 4 and 5
// of the journey: the status the record must stand at, the status recorded
// before a side effect that must not repeat, the effect, and what a failure
// of the effect means for the money. The runner (purchase.exec) does the
// compare-and-swap of every status, the lease, the step log and the crash
// hook; the reconciler reads the same rows (recover) to settle a record its
// process left behind. store/status.go remains the one status graph: every
// move here is one it allows.
type purchaseStep struct {
	name  string
	steps string // journey step numbers (docs/journey.md)
	// from is where the record stands when the step starts; confirmed
	// tells the two DECLINED rows apart (only an unconfirmed decline has
	// a step left).
	from store.TxStatus
	// pending is recorded before the effect when the effect must not
	// repeat ("" when it may).
	pending store.TxStatus
	effect  func(*purchase, context.Context) (store.TxStatus, store.TxUpdate, error)
	// onFailure says what a failed effect means.
	onFailure failure
	// recover is what the reconciler does with a record found at from,
	// and recoverPending with one found at pending, when no live process
	// holds the purchase.
	recover, recoverPending recovery
	// Crash boundaries (agenttest.WithInterrupt): after the pending
	// status is recorded, after the effect, after the status it leads to.
	pendingBoundary, effectBoundary, doneBoundary boundary
}

// failure is what a failed step means.
type failure int

const (
	// failNothingCharged: nothing chargeable exists or was used; the
	// record becomes FAILED (CANCELLED when the cardholder or the caller
	// cancelled), and trying again is safe.
	failNothingCharged failure = iota
	// failAbandon: a credential may exist but will never be charged; its
	// instruction is cancelled and the record becomes CANCELLED.
	failAbandon
	// failMerchantUnknown: the merchant may have charged; the record stays
	// AUTHORIZING for the reconciler (ErrOutcomeUnknown).
	failMerchantUnknown
	// failChargedUnconfirmed: the merchant charged; the confirmation is
	// pending and the record stays AUTHORIZED for the reconciler
	// (ErrChargedUnconfirmed).
	failChargedUnconfirmed
	// failDeclineUnconfirmed: the merchant declined (nothing charged); the
	// confirmation is left to the reconciler.
	failDeclineUnconfirmed
)

// recovery is what the reconciler does with a record its process left.
type recovery int

const (
	// recoverNone: not a status the row leaves a record at.
	recoverNone recovery = iota
	// recoverCancel: nothing chargeable exists: CANCELLED.
	recoverCancel
	// recoverAbandon: a credential may exist but was never charged (it is
	// never stored, so it is never used): cancel the instruction, then
	// CANCELLED.
	recoverAbandon
	// recoverAskMerchant: the charge may have happened: ask the merchant
	// (Merchant.Lookup) and record its answer; "never seen" settles as
	// CANCELLED only once the charge can no longer be in flight.
	recoverAskMerchant
	// recoverConfirm: the merchant answered; send the confirmation again
	// (it is idempotent) and record it.
	recoverConfirm
)

// boundary names a crash point of a purchase (agenttest.Boundary).
type boundary string

const (
	boundaryAfterPending boundary = "after-pending"
)

var purchaseSteps = []purchaseStep{
	{
		name: "authenticate", steps: "10-12", from: store.TxPending,
		effect: (*purchase).authenticate, onFailure: failNothingCharged, recover: recoverCancel,
		effectBoundary: "after-assertion", doneBoundary: "after-authenticated",
	},
	{
		name: "instruct", steps: "13", from: store.TxAuthenticated,
		effect: (*purchase).instruct, onFailure: failNothingCharged, recover: recoverCancel,
		effectBoundary: "after-instruction-created", doneBoundary: "after-instructed",
	},
	{
		name: "credentials", steps: "14", from: store.TxInstructed, pending: store.TxCredentialsRequested,
		effect: (*purchase).credentials, onFailure: failAbandon, recover: recoverAbandon, recoverPending: recoverAbandon,
		pendingBoundary: "after-credentials-requested", effectBoundary: "after-credentials-received",
		doneBoundary: "after-credentials-issued",
	},
	{
		name: "charge", steps: "15", from: store.TxCredentialsIssued, pending: store.TxAuthorizing,
		effect: (*purchase).charge, onFailure: failMerchantUnknown, recover: recoverAbandon, recoverPending: recoverAskMerchant,
		pendingBoundary: "after-authorizing", effectBoundary: "after-charge", doneBoundary: "after-authorized",
	},
	{
		name: "confirm", steps: "16", from: store.TxAuthorized,
		effect: (*purchase).confirm, onFailure: failChargedUnconfirmed, recover: recoverConfirm,
		effectBoundary: "after-confirmed",
	},
	{
		name: "confirm-decline", steps: "16", from: store.TxDeclined,
		effect: (*purchase).confirm, onFailure: failDeclineUnconfirmed, recover: recoverConfirm,
		effectBoundary: "after-decline-confirmed",
	},
}

// purchaseStepAt returns the row to run for a record, or nil when the
// purchase has nothing left to do.
func purchaseStepAt(tx store.Transaction) *purchaseStep {
	if tx.Status == store.TxDeclined && !tx.ConfirmedAt.IsZero() {
		return nil
	}
	for i := range purchaseSteps {
		if purchaseSteps[i].from == tx.Status {
			return &purchaseSteps[i]
		}
	}
	return nil
}

// recoveryAt returns what the reconciler does with a record at its status.
func recoveryAt(tx store.Transaction) recovery {
	if tx.Status == store.TxDeclined && !tx.ConfirmedAt.IsZero() {
		return recoverNone
	}
	for _, s := range purchaseSteps {
		switch tx.Status {
		case s.from:
			return s.recover
		case s.pending:
			return s.recoverPending
		}
	}
	return recoverNone
}

// afterMerchant reports whether the step runs once the merchant may have
// been called: such a step goes on even when the lease was lost, since
// stopping would only leave the money's outcome unrecorded.
func (s *purchaseStep) afterMerchant() bool {
	return merchantCalled(s.from) || s.from == store.TxDeclined
}

// merchantCalled reports whether a record at st may have been charged.
func merchantCalled(st store.TxStatus) bool {
	return st == store.TxAuthorizing || st == store.TxAuthorized
}

// purchaseBoundaries lists the crash boundaries of a purchase in order.
func purchaseBoundaries() []string {
	out := []string{string(boundaryAfterPending)}
	for _, s := range purchaseSteps {
		for _, b := range []boundary{s.pendingBoundary, s.effectBoundary, s.doneBoundary} {
			if b != "" {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// errDeferred ends a run whose remaining work (confirming a decline) is
// left to the reconciler without being an error for the caller.
var errDeferred = errors.New("agent: deferred to the reconciler")
