package store

import "fmt"

// TxStatus is where a transaction stands in the purchase journey (journey steps
// 10 to 16). The agent records a status before the side effect it names
// whenever the effect cannot be safely repeated (CREDENTIALS_REQUESTED,
// AUTHORIZING), so after a crash Resume knows what may have happened.
type TxStatus string

// Transaction statuses, in journey order. See the package documentation for
// the state machine.
const (
	// TxPending: created, nothing sent to Visa yet.
	TxPending TxStatus = "PENDING"
	// TxAuthenticated: the passkey assertion for the amount is in hand (steps 10–12).
	TxAuthenticated TxStatus = "AUTHENTICATED"
	// TxInstructed: VIC accepted the purchase instruction (step 13); InstructionID is set.
	TxInstructed TxStatus = "INSTRUCTED"
	// TxCredentialsRequested: about to retrieve payment credentials (step 14).
	TxCredentialsRequested TxStatus = "CREDENTIALS_REQUESTED"
	// TxCredentialsIssued: VIC issued a credential; TransactionReferenceID is set.
	TxCredentialsIssued TxStatus = "CREDENTIALS_ISSUED"
	// TxAuthorizing: about to ask the merchant to authorize (step 15).
	TxAuthorizing TxStatus = "AUTHORIZING"
	// TxAuthorized: the merchant approved; the confirmation (step 16) is due.
	TxAuthorized TxStatus = "AUTHORIZED"
	// TxDeclined (final): the merchant declined. The confirmation of the
	// decline to VIC is recorded with TxUpdate.Confirmed, not a new status.
	TxDeclined TxStatus = "DECLINED"
	// TxCompleted (final): approved and confirmed to VIC.
	TxCompleted TxStatus = "COMPLETED"
	// TxFailed (final): an error ended the journey; FailureReason says which.
	TxFailed TxStatus = "FAILED"
	// TxCancelled (final): the user or the agent gave up.
	TxCancelled TxStatus = "CANCELLED"
)

// TxStatuses lists every status in journey order.
var TxStatuses = []TxStatus{
	TxPending, TxAuthenticated, TxInstructed, TxCredentialsRequested,
	TxCredentialsIssued, TxAuthorizing, TxAuthorized,
	TxDeclined, TxCompleted, TxFailed, TxCancelled,
}

// rank orders the non-final statuses along the journey.
var rank = map[TxStatus]int{
	TxPending: 1, TxAuthenticated: 2, TxInstructed: 3, TxCredentialsRequested: 4,
	TxCredentialsIssued: 5, TxAuthorizing: 6, TxAuthorized: 7,
}

// Valid reports whether s is one of the statuses above.
func (s TxStatus) Valid() bool {
	switch s {
	case TxDeclined, TxCompleted, TxFailed, TxCancelled:
		return true
	}
	return rank[s] > 0
}

// Final reports whether s ends the journey: COMPLETED, DECLINED, FAILED or
// CANCELLED. A transaction in a final status never changes status again.
func (s TxStatus) Final() bool {
	switch s {
	case TxDeclined, TxCompleted, TxFailed, TxCancelled:
		return true
	}
	return false
}

// String returns the status as stored ("PENDING").
func (s TxStatus) String() string { return string(s) }

// CanTransition reports whether the state machine allows a transaction to move
// from one status to another. The rules:
//
//   - nothing leaves a final status, and from == to is not a move;
//   - any non-final status may become FAILED or CANCELLED;
//   - non-final statuses move forward along the journey, skipping steps the
//     agent does not record (PENDING → INSTRUCTED is allowed);
//   - CREDENTIALS_ISSUED and AUTHORIZING may go back to CREDENTIALS_REQUESTED,
//     to fetch a fresh single-use credential for another attempt;
//   - DECLINED follows CREDENTIALS_ISSUED or AUTHORIZING (a merchant answers
//     once: an approval is never turned into a decline);
//   - COMPLETED follows AUTHORIZED only.
func CanTransition(from, to TxStatus) bool {
	if !from.Valid() || !to.Valid() || from.Final() || from == to {
		return false
	}
	switch to {
	case TxFailed, TxCancelled:
		return true
	case TxCompleted:
		return from == TxAuthorized
	case TxDeclined:
		return from == TxCredentialsIssued || from == TxAuthorizing
	case TxCredentialsRequested:
		if from == TxCredentialsIssued || from == TxAuthorizing {
			return true
		}
	}
	return rank[to] > rank[from]
}

// TokenStatus is the VTS token status (tokenInfo.tokenStatus, docs/wire.md §10.2).
type TokenStatus string

// Token statuses.
const (
	// TokenInactive: provisioned, step-up not yet passed (journey step 2).
	TokenInactive TokenStatus = "INACTIVE"
	// TokenActive: usable (after journey step 7).
	TokenActive TokenStatus = "ACTIVE"
	// TokenSuspended: suspended by the issuer or the user; may be resumed.
	TokenSuspended TokenStatus = "SUSPENDED"
	// TokenDeleted (final): deleted at VTS.
	TokenDeleted TokenStatus = "DELETED"
)

// Valid reports whether s is a known token status.
func (s TokenStatus) Valid() bool {
	switch s {
	case TokenInactive, TokenActive, TokenSuspended, TokenDeleted:
		return true
	}
	return false
}

// String returns the status as stored ("ACTIVE").
func (s TokenStatus) String() string { return string(s) }

// CanTransitionToken reports whether a card's token status may move from one
// status to another: any known status to any other, except out of DELETED.
func CanTransitionToken(from, to TokenStatus) bool {
	return from.Valid() && to.Valid() && from != to && from != TokenDeleted
}

// VICEnrollment is whether a card is enrolled in Visa Intelligent Commerce
// (POST /vacp/v1/cards, docs/wire.md §6.2).
type VICEnrollment string

// VIC enrollment states.
const (
	// VICNone: not enrolled (the zero value stores as NONE).
	VICNone VICEnrollment = "NONE"
	// VICEnrolled: VIC answered status ACTIVE to the enrollment.
	VICEnrolled VICEnrollment = "ENROLLED"
)

// Valid reports whether e is a known enrollment state.
func (e VICEnrollment) Valid() bool { return e == VICNone || e == VICEnrolled }

// String returns the state as stored ("ENROLLED").
func (e VICEnrollment) String() string { return string(e) }

func transitionError(id string, from, to TxStatus) error {
	if from.Final() {
		return fmt.Errorf("store: transaction %s: %s is final: %w", id, from, ErrConflict)
	}
	return fmt.Errorf("store: transaction %s: %s → %s is not a transition: %w", id, from, to, ErrConflict)
}
