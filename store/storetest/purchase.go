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

// purchaseWriter is s as a store.PurchaseWriter; the test is skipped when
// s is not one (the interface is optional).
func purchaseWriter(t *testing.T, s store.Store) store.PurchaseWriter {
	t.Helper()
	pc, ok := s.(store.PurchaseWriter)
	if !ok {
		t.Skip("the Store does not implement store.PurchaseWriter")
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
	pc := purchaseWriter(t, e.s)
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
	pc := purchaseWriter(t, e.s)
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
	pc := purchaseWriter(t, e.s)
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
	purchaseWriter(t, a.s)
	a.seed(t, "alice", "tok-1")
	create := func(i int, id, key string) error {
		j := purchaseJourney(id, "alice", key)
		_, err := pick(a, b, i).(store.PurchaseWriter).CreatePurchase(a.ctx, j, purchaseTx(j, "tok-1", key))
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

// startedPurchase creates a purchase through w and moves its transaction to
// AUTHORIZED, as a purchase stands before its confirmation.
func startedPurchase(t *testing.T, e *env, w store.PurchaseWriter, id string) store.Journey {
	t.Helper()
	j, err := w.CreatePurchase(e.ctx, purchaseJourney(id, "alice", ""), purchaseTx(purchaseJourney(id, "alice", ""), "tok-1", ""))
	require.NoError(t, err)
	_, err = e.s.TransitionTransaction(e.ctx, id, store.TxPending, store.TxAuthorized, store.TxUpdate{ResponseCode: store.Ptr("00")})
	require.NoError(t, err)
	return j
}

// closed is j as the agent closes it after its purchase completed.
func closed(j store.Journey) store.Journey {
	j.Status, j.ResultID, j.LeaseOwner, j.LeaseExpiresAt = store.JourneySucceeded, j.ID, "", time.Time{}
	return j
}

func testFinishPurchase(t *testing.T, e *env) {
	w := purchaseWriter(t, e.s)
	e.seed(t, "alice", "tok-1")
	j := startedPurchase(t, e, w, "p-1")
	at := store.Stamp(e.clock.Peek())
	x, got, err := w.FinishPurchase(e.ctx, closed(j), store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
	require.NoError(t, err)
	assert.Equal(t, store.TxCompleted, x.Status)
	assert.Equal(t, "00", x.ResponseCode)
	assert.False(t, x.CompletedAt.Before(at))
	assert.False(t, x.ConfirmedAt.IsZero())
	assert.Equal(t, store.JourneySucceeded, got.Status)
	assert.Equal(t, j.Version+1, got.Version)
	assert.False(t, got.CompletedAt.IsZero())
	assert.Empty(t, got.LeaseOwner)
	back, err := e.s.GetJourney(e.ctx, "p-1")
	require.NoError(t, err)
	assert.Equal(t, got, back, "the journey reads back as returned")
	backTx, err := e.s.GetTransaction(e.ctx, "p-1")
	require.NoError(t, err)
	assert.Equal(t, x, backTx, "the transaction reads back as returned")
}

func testFinishPurchaseConflicts(t *testing.T, e *env) {
	w := purchaseWriter(t, e.s)
	e.seed(t, "alice", "tok-1")

	t.Run("move refused: nothing written", func(t *testing.T) {
		j := startedPurchase(t, e, w, "p-move")
		x, got, err := w.FinishPurchase(e.ctx, closed(j), store.TxAuthorizing, store.TxAuthorized, store.TxUpdate{})
		require.ErrorIs(t, err, store.ErrConflict)
		assert.Zero(t, x, "no move")
		assert.Zero(t, got)
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, j, cur, "the journey is untouched")
		tx, err := e.s.GetTransaction(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, store.TxAuthorized, tx.Status)
	})
	t.Run("confirmed twice: nothing written", func(t *testing.T) {
		j := startedPurchase(t, e, w, "p-twice")
		_, err := e.s.TransitionTransaction(e.ctx, j.ID, store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.NoError(t, err)
		x, _, err := w.FinishPurchase(e.ctx, closed(j), store.TxCompleted, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.ErrorIs(t, err, store.ErrConflict)
		assert.Zero(t, x)
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, j, cur, "the journey is untouched")
	})
	t.Run("no transaction", func(t *testing.T) {
		j, err := e.s.CreateJourney(e.ctx, purchaseJourney("p-none", "alice", ""))
		require.NoError(t, err)
		x, _, err := w.FinishPurchase(e.ctx, closed(j), store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Zero(t, x)
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, j, cur, "the journey is untouched")
	})
	t.Run("journey moved on: the move stands", func(t *testing.T) {
		j := startedPurchase(t, e, w, "p-stale")
		moved := j
		moved.Step = "elsewhere"
		moved, err := e.s.UpdateJourney(e.ctx, moved)
		require.NoError(t, err)
		x, got, err := w.FinishPurchase(e.ctx, closed(j), store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.ErrorIs(t, err, store.ErrConflict)
		assert.Equal(t, store.TxCompleted, x.Status, "the moved transaction is returned")
		assert.Zero(t, got)
		tx, err := e.s.GetTransaction(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, x, tx, "the move stands")
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, moved, cur, "the journey is as the other writer left it")
	})
	t.Run("journey final: the move stands", func(t *testing.T) {
		j := startedPurchase(t, e, w, "p-final")
		ended := j
		ended.Status, ended.LeaseOwner, ended.LeaseExpiresAt = store.JourneyFailed, "", time.Time{}
		_, err := e.s.UpdateJourney(e.ctx, ended)
		require.NoError(t, err)
		j.Version++ // even with the right version, a final journey never changes
		x, _, err := w.FinishPurchase(e.ctx, closed(j), store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.ErrorIs(t, err, store.ErrConflict)
		assert.Equal(t, store.TxCompleted, x.Status)
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, store.JourneyFailed, cur.Status)
	})
	t.Run("refused input writes nothing", func(t *testing.T) {
		j := startedPurchase(t, e, w, "p-bad")
		bad := closed(j)
		bad.Step = ""
		_, _, err := w.FinishPurchase(e.ctx, bad, store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		isValidation(t, err, "Step")
		_, _, err = w.FinishPurchase(e.ctx, closed(j), store.TxAuthorized, store.TxPending, store.TxUpdate{})
		require.ErrorIs(t, err, store.ErrConflict, "a move the status graph refuses")
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		_, _, err = w.FinishPurchase(ctx, closed(j), store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true})
		require.ErrorIs(t, err, context.Canceled)
		tx, err := e.s.GetTransaction(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, store.TxAuthorized, tx.Status)
		cur, err := e.s.GetJourney(e.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, j, cur)
	})
}

// testSharedRaceFinish: racers on both Stores finish one purchase: exactly
// one moves it and closes the journey; the others get ErrConflict and
// write nothing.
func testSharedRaceFinish(t *testing.T, a, b *env) {
	w := purchaseWriter(t, a.s)
	a.seed(t, "alice", "tok-1")
	j := startedPurchase(t, a, w, "p-race")
	winners := race(t, func(i int) error {
		next := closed(j)
		next.Step = fmt.Sprintf("done-%02d", i)
		_, _, err := pick(a, b, i).(store.PurchaseWriter).FinishPurchase(a.ctx, next, store.TxAuthorized, store.TxCompleted,
			store.TxUpdate{Confirmed: true, AuthorizationCode: store.Ptr(fmt.Sprintf("A%02d", i))})
		return err
	})
	require.Len(t, winners, 1, "finish")
	for _, s := range []*env{a, b} {
		x, err := s.s.GetTransaction(s.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, store.TxCompleted, x.Status)
		assert.Equal(t, fmt.Sprintf("A%02d", winners[0]), x.AuthorizationCode, "the winner's move is the stored one")
		cur, err := s.s.GetJourney(s.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("done-%02d", winners[0]), cur.Step, "the winner's close is the stored one")
		assert.Equal(t, j.Version+1, cur.Version)
	}
}
