package store

import (
	"context"
	"iter"
	"time"
)

// Store persists users, cards (tokens), passkeys (sealed) and transactions,
// and nothing else. Every method takes a context first and honours its
// cancellation: a call with a done context returns an error and writes
// nothing. Implementations are safe for concurrent use, by many goroutines
// and, where the backing store is shared, many processes.
//
// Writes validate their input first; a bad record gives a *ValidationError
// (errors.Is ErrInvalid) and writes nothing. Time stamps are set by the Store
// from its clock, normalised with Stamp; those in the input are ignored.
//
// storetest.Run checks an implementation against this contract.
type Store interface {
	// PutUser creates or replaces a user, keeping CreatedAt on replace.
	PutUser(ctx context.Context, u User) error
	// GetUser returns the user, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)

	// PutCard creates or replaces a card (keyed by TokenID), keeping
	// CreatedAt on replace. The user must exist (else ErrNotFound); a card
	// that exists for another user is ErrConflict. PutCard writes TokenStatus
	// as given; UpdateCardStatus is the compare-and-swap for status changes.
	PutCard(ctx context.Context, c Card) error
	// GetCard returns the card with that vProvisionedTokenID, or ErrNotFound.
	GetCard(ctx context.Context, tokenID string) (Card, error)
	// ListCards yields the user's cards, oldest first. An empty userID
	// yields every user's cards (Resume looks for unfinished onboardings).
	ListCards(ctx context.Context, userID string) iter.Seq2[Card, error]
	// UpdateCardStatus moves a card's token status from → to atomically:
	// ErrNotFound if there is no such card, ErrConflict if its status is not
	// from or CanTransitionToken refuses the move. It returns the updated card.
	UpdateCardStatus(ctx context.Context, tokenID string, from, to TokenStatus) (Card, error)
	// DeleteCard deletes the card and its passkeys (ErrNotFound if absent).
	// Transactions paid with it stay.
	DeleteCard(ctx context.Context, tokenID string) error

	// PutPasskey creates or replaces the passkey of (TokenID, DeviceID). The
	// card must exist (else ErrNotFound) and belong to UserID (else ErrConflict).
	PutPasskey(ctx context.Context, p Passkey) error
	// GetPasskey returns the passkey for a token on a device, or ErrNotFound.
	GetPasskey(ctx context.Context, tokenID, deviceID string) (Passkey, error)
	// ListPasskeys yields the token's passkeys, oldest first.
	ListPasskeys(ctx context.Context, tokenID string) iter.Seq2[Passkey, error]
	// DeletePasskeys deletes every passkey of the token and returns how many.
	DeletePasskeys(ctx context.Context, tokenID string) (int, error)

	// CreateTransaction stores a new transaction. A transaction with that ID
	// already existing is ErrConflict; one of the same user with the same
	// IdempotencyKey is ErrDuplicateKey (which also matches ErrConflict); a
	// missing user is ErrNotFound. Of racing creators exactly one succeeds.
	CreateTransaction(ctx context.Context, t Transaction) error
	// GetTransaction returns the transaction, or ErrNotFound.
	GetTransaction(ctx context.Context, id string) (Transaction, error)
	// TransitionTransaction is the compare-and-swap of the journey: if the
	// transaction's status is from, it becomes to and upd's fields are set,
	// in one atomic step; the updated transaction is returned. CheckTransition
	// is applied first. ErrNotFound if there is no such transaction;
	// ErrConflict if its status is not from (another step won the race, or
	// this step is a replay), or if upd.Confirmed and the outcome was already
	// confirmed. Entering a final status sets CompletedAt.
	TransitionTransaction(ctx context.Context, id string, from, to TxStatus, upd TxUpdate) (Transaction, error)
	// GetTransactionByKey returns the user's transaction with that
	// IdempotencyKey, or ErrNotFound.
	GetTransactionByKey(ctx context.Context, userID, key string) (Transaction, error)
	// ListTransactions yields the transactions that match the filter, in its
	// Order (newest first by default: CreatedAt, then ID), starting after its
	// Cursor. CursorAfter(f, t) makes the cursor that continues after t.
	ListTransactions(ctx context.Context, f TxFilter) iter.Seq2[Transaction, error]

	// CreateJourney stores a new journey; the Store sets Version to 1 and
	// the time stamps. A journey with that ID already existing is
	// ErrConflict; one of the same user and kind with the same
	// IdempotencyKey is ErrDuplicateKey (which also matches ErrConflict). Of
	// racing creators exactly one succeeds.
	CreateJourney(ctx context.Context, j Journey) (Journey, error)
	// GetJourney returns the journey, or ErrNotFound.
	GetJourney(ctx context.Context, id string) (Journey, error)
	// GetJourneyByKey returns the user's journey of that kind with that
	// IdempotencyKey, or ErrNotFound.
	GetJourneyByKey(ctx context.Context, userID string, kind JourneyKind, key string) (Journey, error)
	// UpdateJourney is the compare-and-swap of a journey: if the stored
	// journey's Version is j.Version, its Status, Step, NextAction, State,
	// ResultID, FailureCode, FailureReason, LeaseOwner, LeaseExpiresAt and
	// ExpiresAt become j's, Version grows by one, and the updated journey is
	// returned. Kind, UserID, IdempotencyKey and RequestHash never change.
	// ErrNotFound if there is no such journey; ErrConflict if the Version
	// differs (another replica moved or claimed it) or the journey is final.
	UpdateJourney(ctx context.Context, j Journey) (Journey, error)
	// ClaimJourney takes or renews the lease of a journey that is not final:
	// it succeeds when nobody holds the lease, owner holds it, or the lease
	// has lapsed (LeaseExpiresAt at or before the Store's clock), and sets
	// LeaseOwner to owner and LeaseExpiresAt to until. Taking the journey from
	// another owner grows Version (so that owner's next UpdateJourney fails);
	// renewing one's own lease does not. ErrNotFound if there is no such
	// journey; ErrConflict if another owner's lease is live or the journey is
	// final.
	ClaimJourney(ctx context.Context, id, owner string, until time.Time) (Journey, error)
	// ListJourneys yields the journeys that match the filter, oldest first.
	ListJourneys(ctx context.Context, f JourneyFilter) iter.Seq2[Journey, error]

	// Close releases the Store's resources. Later calls fail with ErrClosed;
	// a second Close returns nil.
	Close() error
}
