package store

import "context"

// PurchaseCreator is implemented by Stores that record a purchase journey
// and its transaction in one atomic step. The agent uses it when its Store
// has it, and otherwise calls CreateJourney, then CreateTransaction: one
// write instead of two for every purchase, and no journey left behind
// without its transaction when the transaction's insert fails. memstore's
// and sqlstore's Stores implement it; storetest.Run checks it on Stores that
// do.
type PurchaseCreator interface {
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
