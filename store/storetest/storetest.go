package storetest

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

// NewStore returns a fresh, empty Store that takes its time stamps from
// clock. Run and Benchmark call it once per subtest or benchmark, possibly
// from parallel subtests, and close the Store when it ends; the factory
// registers any other clean-up (a temporary database, say) with tb.Cleanup.
type NewStore func(tb testing.TB, clock store.Clock) store.Store

// Run checks that the Store newStore builds meets the store.Store contract.
// Each check is a parallel subtest with its own Store:
//
//   - Users, Cards, Passkeys, Transactions: create, read back, replace,
//     references (a card needs its user), not found, and validation (a bad
//     record is refused with a *store.ValidationError and nothing is
//     written, and the error does not echo the value).
//   - CAS: wrong from is ErrConflict and changes nothing, the same transition
//     twice loses the second time, final statuses are frozen, Confirmed is
//     recorded once, and the state machine is enforced.
//   - Race: 32 goroutines race one transition (and one card status change, one
//     create, one confirmation): exactly one wins, the rest get ErrConflict.
//   - Iteration: order, filters, limits, early break, writes from inside the
//     loop, and more rows than an implementation is likely to page by.
//   - Context: a cancelled context fails every call and writes nothing.
//   - SealedBlob: the bytes round trip exactly, and a fidoBlob sealed with
//     fido.Sealer opens again after the trip.
//   - Timestamps: taken from the clock, in UTC, at microsecond precision.
//   - Close: later calls fail with store.ErrClosed.
//   - Idempotency keys: a user's transactions (and journeys of a kind) never
//     share a key, even when 32 creators race; ErrDuplicateKey says so.
//   - Cursors: newest and oldest first, paging with CursorAfter visits every
//     row once, and a cursor from another listing or altered is refused.
//   - Journeys: create, read by id and by key, compare-and-swap on the
//     version, leases (claim, renew, lapse, take-over), final journeys
//     frozen, and races on one create, one claim and one update.
//   - CreatePurchase and FinishPurchase (Stores that implement
//     store.PurchaseWriter): the journey and its transaction stored
//     together; a taken id or key of either, or a missing user, leaves
//     neither; bad pairs refused. The last move and the journey's close
//     made together; a refused move writes nothing; a journey that moved
//     on or ended leaves the move standing and is not touched.
//   - ListJourneys: all and non-final journeys, oldest first across pages,
//     by user, with a limit.
//
// RunShared checks two Stores over one database racing each other.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	h := func(f func(t *testing.T, e *env)) func(t *testing.T) {
		return func(t *testing.T) {
			t.Parallel()
			clock := newTickingClock()
			s := newStore(t, clock.Now)
			require.NotNil(t, s, "NewStore returned nil")
			t.Cleanup(func() { _ = s.Close() })
			f(t, &env{s: s, clock: clock, ctx: t.Context()})
		}
	}
	t.Run("Users", h(testUsers))
	t.Run("UserValidation", h(testUserValidation))
	t.Run("Cards", h(testCards))
	t.Run("CardValidation", h(testCardValidation))
	t.Run("CardStatusCAS", h(testCardStatusCAS))
	t.Run("DeleteCard", h(testDeleteCard))
	t.Run("Passkeys", h(testPasskeys))
	t.Run("PasskeyValidation", h(testPasskeyValidation))
	t.Run("Transactions", h(testTransactions))
	t.Run("TransactionValidation", h(testTransactionValidation))
	t.Run("TransitionCAS", h(testTransitionCAS))
	t.Run("TransitionJourney", h(testTransitionJourney))
	t.Run("FinalFrozen", h(testFinalFrozen))
	t.Run("Confirmed", h(testConfirmed))
	t.Run("RaceTransition", h(testRaceTransition))
	t.Run("RaceOthers", h(testRaceOthers))
	t.Run("ListTransactions", h(testListTransactions))
	t.Run("ListEarlyBreak", h(testListEarlyBreak))
	t.Run("ListWriteInsideLoop", h(testListWriteInsideLoop))
	t.Run("ListMany", h(testListMany))
	t.Run("ListCardsAndPasskeys", h(testListCardsAndPasskeys))
	t.Run("ContextCancelled", h(testContextCancelled))
	t.Run("ContextCancelledMidIteration", h(testContextCancelledMidIteration))
	t.Run("SealedBlobBytes", h(testSealedBlobBytes))
	t.Run("SealedBlobFido", h(testSealedBlobFido))
	t.Run("Timestamps", h(testTimestamps))
	t.Run("Close", h(testClose))
	t.Run("TxIdempotencyKey", h(testTxIdempotencyKey))
	t.Run("Cursor", h(testCursor))
	t.Run("Unconfirmed", h(testUnconfirmed))
	t.Run("Journeys", h(testJourneys))
	t.Run("JourneyValidation", h(testJourneyValidation))
	t.Run("JourneyUpdate", h(testJourneyUpdate))
	t.Run("JourneyClaim", h(testJourneyClaim))
	t.Run("RaceJourneys", h(testRaceJourneys))
	t.Run("CreatePurchase", h(testCreatePurchase))
	t.Run("CreatePurchaseConflicts", h(testCreatePurchaseConflicts))
	t.Run("CreatePurchaseValidation", h(testCreatePurchaseValidation))
	t.Run("FinishPurchase", h(testFinishPurchase))
	t.Run("FinishPurchaseConflicts", h(testFinishPurchaseConflicts))
	t.Run("ListJourneys", h(testListJourneys))
}

type env struct {
	s     store.Store
	clock *tickingClock
	ctx   context.Context
}

// tickingClock advances one second (plus some nanoseconds, which a Store
// truncates) on every reading, in a zone other than UTC, so records made one
// after another have distinct, ordered time stamps.
type tickingClock struct {
	mu   sync.Mutex
	next time.Time
}

func newTickingClock() *tickingClock {
	return &tickingClock{next: time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+2", 2*3600))}
}

// Now returns the current reading and advances the clock.
func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.next
	c.next = c.next.Add(time.Second + 1001*time.Nanosecond)
	return t
}

// Peek returns what the next Now will return, without advancing.
func (c *tickingClock) Peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next
}

// Fixtures.

func user(id string) store.User {
	return store.User{ID: id, Email: id + "@example.com", Country: "US", Language: "en"}
}

func card(userID, tokenID string) store.Card {
	return store.Card{
		TokenID: tokenID, UserID: userID, TokenReferenceID: "DNITHE" + tokenID,
		Last4: "1111", ExpiryMonth: 12, ExpiryYear: 2029,
		CardArtURL:  "https://art.example.com/" + tokenID + ".png",
		TokenStatus: store.TokenInactive, VICEnrollment: store.VICNone,
	}
}

func passkey(userID, tokenID, deviceID string) store.Passkey {
	return store.Passkey{
		UserID: userID, TokenID: tokenID, DeviceID: deviceID,
		Identifier: "ID-" + deviceID, SealedBlob: store.SealedBlob("sealed:" + deviceID), RPID: "localhost",
	}
}

func tx(id, userID, tokenID string) store.Transaction {
	return store.Transaction{
		ID: id, UserID: userID, TokenID: tokenID, ClientReferenceID: "CR-" + id,
		MandateID: "mandate-" + id, Amount: "129.99", Currency: "USD",
		MerchantName: "Best Buy", MerchantURL: "https://www.bestbuy.com", Status: store.TxPending,
	}
}

// seed puts a user and an INACTIVE card for it.
func (e *env) seed(t *testing.T, userID, tokenID string) {
	t.Helper()
	require.NoError(t, e.s.PutUser(e.ctx, user(userID)))
	if tokenID != "" {
		require.NoError(t, e.s.PutCard(e.ctx, card(userID, tokenID)))
	}
}

func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// sameTime checks a stored time stamp: the instant, in UTC, and no finer than
// a microsecond.
func sameTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	assert.Truef(t, want.Equal(got), "%s: want %v, got %v", what, want, got)
	assert.Equalf(t, time.UTC, got.Location(), "%s: location", what)
	assert.Zerof(t, got.Nanosecond()%1000, "%s: finer than a microsecond", what)
}

func noTimes[T any](v T) T {
	switch r := any(&v).(type) {
	case *store.User:
		r.CreatedAt, r.UpdatedAt = time.Time{}, time.Time{}
	case *store.Card:
		r.CreatedAt, r.UpdatedAt = time.Time{}, time.Time{}
	case *store.Passkey:
		r.CreatedAt = time.Time{}
	case *store.Transaction:
		r.CreatedAt, r.UpdatedAt, r.CompletedAt, r.ConfirmedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	}
	return v
}

func isValidation(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, store.ErrInvalid)
	var ve *store.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, field, ve.Field)
}

// panLike is a test card number; no error may ever echo it.
const panLike = "4111 1111 1111 1111"

func noEcho(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		assert.NotContains(t, err.Error(), "4111", "an error echoes a rejected value")
	}
}
