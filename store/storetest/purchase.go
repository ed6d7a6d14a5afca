package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

// purchaseCreator is s as a store.PurchaseCreator; the test is skipped when
// s is not one (the interface is optional).
func purchaseCreator(t *testing.T, s store.Store) store.PurchaseCreator {
	t.Helper()
	pc, ok := s.(store.PurchaseCreator)
	if !ok {
		t.Skip("the Store does not implement store.PurchaseCreator")
	}
	return pc
}

// purchaseJourney is a purchase journey as the agent starts one.
func purchaseJourney(id, userID, key string) store.Journey {
	j := journey(id, userID, store.JourneyPurchase, key)
	j.Status, j.Step, j.NextAction, j.State, j.ExpiresAt = store.JourneyRunning, "authenticate", "", nil, time.Time{}
	j.LeaseOwner, j.LeaseExpiresAt = "replica-1", time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	return j
}

// purchaseTx is j's transaction, with the idempotency key key.
func purchaseTx(j store.Journey, tokenID, key string) store.Transaction {
	x := tx(j.ID, j.UserID, tokenID)
	x.IdempotencyKey = key
	return x
}

// countRecords is how many journeys and transactions userID has.
func countRecords(t *testing.T, e *env, userID string) (journeys, txs int) {
	t.Helper()
	return len(collect(t, e.s.ListJourneys(e.ctx, store.JourneyFilter{UserID: userID}))),
		len(collect(t, e.s.ListTransactions(e.ctx, store.TxFilter{UserID: userID})))
}

func testCreatePurchase(t *testing.T, e *env) {
	pc := purchaseCreator(t, e.s)
	e.seed(t, "alice", "tok-1")
	j := purchaseJourney("p-1", "alice", "order-1")
	at := store.Stamp(e.clock.Peek())
	got, err := pc.CreatePurchase(e.ctx, j, purchaseTx(j, "tok-1", "order-1"))
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version)
	assert.Equal(t, noJourneyTimes(j), noJourneyTimes(got))
	assert.False(t, got.CreatedAt.Before(at), "CreatedAt from the Store's clock")
	back, err := e.s.GetJourney(e.ctx, "p-1")
	require.NoError(t, err)
	assert.Equal(t, got, back, "the journey reads back as returned")
	x, err := e.s.GetTransaction(e.ctx, "p-1")
	require.NoError(t, err)
	assert.Equal(t, noTimes(purchaseTx(j, "tok-1", "order-1")), noTimes(x))
	assert.False(t, x.CreatedAt.IsZero())
	byKey, err := e.s.GetTransactionByKey(e.ctx, "alice", "order-1")
	require.NoError(t, err)
	assert.Equal(t, "p-1", byKey.ID)

	// The transaction moves on as any other.
	_, err = e.s.TransitionTransaction(e.ctx, "p-1", store.TxPending, store.TxAuthenticated, store.TxUpdate{})
	require.NoError(t, err)
}

func testCreatePurchaseConflicts(t *testing.T, e *env) {
	pc := purchaseCreator(t, e.s)
	e.seed(t, "alice", "tok-1")
	first := purchaseJourney("p-1", "alice", "order-1")
	_, err := pc.CreatePurchase(e.ctx, first, purchaseTx(first, "tok-1", "order-1"))
	require.NoError(t, err)

	for _, c := range []struct {
		name  string
		setup func(t *testing.T)
		j     store.Journey
		txKey string
		want  error
	}{
		{name: "journey id taken", j: purchaseJourney("p-1", "alice", "order-2"), txKey: "order-2", want: store.ErrConflict},
		{name: "journey key taken", j: purchaseJourney("p-2", "alice", "order-1"), txKey: "order-9", want: store.ErrDuplicateKey},
		{name: "transaction key taken", j: purchaseJourney("p-3", "alice", "order-3"), txKey: "order-1", want: store.ErrDuplicateKey},
		{name: "transaction id taken", setup: func(t *testing.T) {
			require.NoError(t, e.s.CreateTransaction(e.ctx, tx("p-4", "alice", "tok-1")))
		}, j: purchaseJourney("p-4", "alice", "order-4"), txKey: "order-4", want: store.ErrConflict},
		{name: "user missing", j: purchaseJourney("p-5", "nobody", "order-5"), txKey: "order-5", want: store.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			jBefore, txBefore := countRecords(t, e, c.j.UserID)
			_, err := pc.CreatePurchase(e.ctx, c.j, purchaseTx(c.j, "tok-1", c.txKey))
			require.ErrorIs(t, err, c.want)
			noEcho(t, err)
			jAfter, txAfter := countRecords(t, e, c.j.UserID)
			assert.Equal(t, jBefore, jAfter, "no journey left behind")
			assert.Equal(t, txBefore, txAfter, "no transaction left behind")
			if c.j.IdempotencyKey != first.IdempotencyKey {
				_, err = e.s.GetJourneyByKey(e.ctx, c.j.UserID, store.JourneyPurchase, c.j.IdempotencyKey)
				require.ErrorIs(t, err, store.ErrNotFound, "the journey's key stays free")
			}
		})
	}
	// The first purchase is as it was.
	got, err := e.s.GetJourney(e.ctx, "p-1")
	require.NoError(t, err)
	assert.Equal(t, "order-1", got.IdempotencyKey)
	assert.Equal(t, int64(1), got.Version)
}

func testCreatePurchaseValidation(t *testing.T, e *env) {
	pc := purchaseCreator(t, e.s)
	e.seed(t, "alice", "tok-1")
	j := purchaseJourney("p-1", "alice", "")
	x := purchaseTx(j, "tok-1", "")
	addCard := j
	addCard.Kind = store.JourneyAddCard
	otherID, otherUser, badTx, badJ := x, x, x, j
	otherID.ID, otherUser.UserID, badTx.Currency, badJ.Step = "p-2", "bob", "usd1", ""
	for _, c := range []struct {
		j     store.Journey
		x     store.Transaction
		field string
	}{
		{addCard, x, "Kind"}, {j, otherID, "ID"}, {j, otherUser, "UserID"}, {j, badTx, "Currency"}, {badJ, x, "Step"},
	} {
		_, err := pc.CreatePurchase(e.ctx, c.j, c.x)
		isValidation(t, err, c.field)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := pc.CreatePurchase(ctx, j, x)
	require.ErrorIs(t, err, context.Canceled)
	js, txs := countRecords(t, e, "alice")
	assert.Zero(t, js+txs, "nothing written")
}

// testSharedRacePurchase: Racers goroutines, half on each Store, create a
// purchase with one idempotency key, then with one id: exactly one wins,
// the losers get ErrConflict (ErrDuplicateKey for the key) and leave
// nothing.
func testSharedRacePurchase(t *testing.T, a, b *env) {
	purchaseCreator(t, a.s)
	a.seed(t, "alice", "tok-1")
	create := func(i int, id, key string) error {
		j := purchaseJourney(id, "alice", key)
		_, err := pick(a, b, i).(store.PurchaseCreator).CreatePurchase(a.ctx, j, purchaseTx(j, "tok-1", key))
		return err
	}
	winners := race(t, func(i int) error { return create(i, fmt.Sprintf("p-%02d", i), "order-1") })
	require.Len(t, winners, 1, "create with one idempotency key")
	want := fmt.Sprintf("p-%02d", winners[0])
	for _, s := range []*env{a, b} {
		j, err := s.s.GetJourneyByKey(s.ctx, "alice", store.JourneyPurchase, "order-1")
		require.NoError(t, err)
		assert.Equal(t, want, j.ID)
		x, err := s.s.GetTransactionByKey(s.ctx, "alice", "order-1")
		require.NoError(t, err)
		assert.Equal(t, want, x.ID)
		js, txs := countRecords(t, s, "alice")
		assert.Equal(t, 1, js, "the losers left no journey")
		assert.Equal(t, 1, txs, "the losers left no transaction")
	}

	winners = race(t, func(i int) error { return create(i, "p-same", fmt.Sprintf("k-%02d", i)) })
	require.Len(t, winners, 1, "create with one id")
	x, err := b.s.GetTransaction(b.ctx, "p-same")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("k-%02d", winners[0]), x.IdempotencyKey, "the winner's transaction is the stored one")
	j, err := a.s.GetJourney(a.ctx, "p-same")
	require.NoError(t, err)
	assert.Equal(t, x.IdempotencyKey, j.IdempotencyKey, "journey and transaction of one creator")
	js, txs := countRecords(t, a, "alice")
	assert.Equal(t, 2, js)
	assert.Equal(t, 2, txs)
}
