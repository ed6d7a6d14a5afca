package store

import "context"

// PurchaseWriter is implemented by Stores that write a purchase's journey
// and its transaction together: created in one atomic step, and the last
// status move made with the journey's close. The agent uses it when its
// Store has it, and otherwise makes the same writes one by one
// (CreateJourney, CreateTransaction; TransitionTransaction, UpdateJourney):
// two writes fewer per purchase (on SQLite two commits, each a sync of the
// log to the disk), and no journey left behind without its transaction when
// the transaction's insert fails. memstore's and sqlstore's Stores
// implement it; storetest.Run checks it on Stores that do.
type PurchaseWriter interface {
	// CreatePurchase stores a new purchase journey j and its transaction t
	// together: both or neither. t must have j's ID and UserID, and j must
	// be of kind JourneyPurchase (else a *ValidationError). The journey is
	// stored as CreateJourney stores it and returned; the transaction as
	// CreateTransaction stores it. Errors are theirs: the journey's first
	// (ErrConflict for its ID, ErrDuplicateKey for its user's key), then
	// the transaction's (ErrConflict, ErrDuplicateKey, ErrNotFound for a
	// missing user); on any error nothing is written. Of racing creators
	// exactly one succeeds.
	CreatePurchase(ctx context.Context, j Journey, t Transaction) (Journey, error)

	// FinishPurchase moves the purchase's transaction (ID j.ID) from → to
	// with upd, as TransitionTransaction does, and only if that move is
	// made updates the journey to j, as UpdateJourney does (its
	// compare-and-swap on j.Version), in one atomic step: the journey is
	// never closed without the move. The move does not depend on the
	// journey's update: when the move is made but the journey's
	// compare-and-swap fails, the move stands, the moved transaction is
	// returned with the journey's error (ErrConflict, ErrNotFound) and a
	// zero Journey. When the move is not made, nothing is written: a zero
	// Transaction and TransitionTransaction's error. A bad j is a
	// *ValidationError, a move CheckTransition refuses its error; neither
	// writes anything.
	FinishPurchase(ctx context.Context, j Journey, from, to TxStatus, upd TxUpdate) (Transaction, Journey, error)
}

// ValidatePurchase reports what CreatePurchase refuses in j and t before
// anything is written, as a *ValidationError, or nil.
func ValidatePurchase(j Journey, t Transaction) error {
	if err := j.Validate(); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	switch {
	case j.Kind != JourneyPurchase:
		return invalid("journey", "Kind", "must be PURCHASE for a purchase")
	case t.ID != j.ID:
		return invalid("transaction", "ID", "must be the journey's ID")
	case t.UserID != j.UserID:
		return invalid("transaction", "UserID", "must be the journey's UserID")
	}
	return nil
}
