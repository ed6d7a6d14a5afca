package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

// NewSharedStores returns two fresh Stores over one empty database, as two
// replicas (two processes) sharing it have: separate connections and
// caches, one set of rows. Both take their time stamps from clock. RunShared
// closes both when a check ends; the factory registers any other clean-up.
type NewSharedStores func(tb testing.TB, clock store.Clock) (a, b store.Store)

// RunShared checks what two Stores over one database must guarantee each
// other, each check a parallel subtest with its own pair:
//
//   - Visible: what one writes, the other reads at once.
//   - Races: Racers goroutines, half on each Store, race one
//     UpdateJourney (one version), one ClaimJourney (different owners), one
//     CreateJourney and one CreateTransaction with one idempotency key (and
//     with one id), and one TransitionTransaction: exactly one wins, the
//     others get ErrConflict (ErrDuplicateKey for the key), and the
//     winner's write is the one both Stores read.
//   - RacePurchase (Stores that implement store.PurchaseWriter): racers
//     create a purchase with one idempotency key, then with one id: exactly
//     one wins, and the losers leave no journey and no transaction; and
//     racers finish one purchase (FinishPurchase): exactly one moves it and
//     closes its journey.
//   - Lease take-over: a lease taken on one Store lapses and the other
//     claims the journey; the first owner's next UpdateJourney then fails.
func RunShared(t *testing.T, newStores NewSharedStores) {
	t.Helper()
	h := func(f func(t *testing.T, a, b *env)) func(t *testing.T) {
		return func(t *testing.T) {
			t.Parallel()
			clock := newTickingClock()
			sa, sb := newStores(t, clock.Now)
			require.NotNil(t, sa, "NewSharedStores returned nil")
			require.NotNil(t, sb, "NewSharedStores returned nil")
			t.Cleanup(func() { _ = sa.Close(); _ = sb.Close() })
			f(t, &env{s: sa, clock: clock, ctx: t.Context()}, &env{s: sb, clock: clock, ctx: t.Context()})
		}
	}
	t.Run("Visible", h(testSharedVisible))
	t.Run("RaceJourney", h(testSharedRaceJourney))
	t.Run("RaceTransaction", h(testSharedRaceTransaction))
	t.Run("LeaseTakeOver", h(testSharedLease))
	t.Run("RacePurchase", h(testSharedRacePurchase))
	t.Run("RaceFinish", h(testSharedRaceFinish))
}

// pick returns the Store racer i uses: even on a, odd on b.
func pick(a, b *env, i int) store.Store {
	if i%2 == 0 {
		return a.s
	}
	return b.s
}

func testSharedVisible(t *testing.T, a, b *env) {
	a.seed(t, "alice", "tok-1")
	c, err := b.s.GetCard(b.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, "alice", c.UserID)
	j, err := b.s.CreateJourney(b.ctx, journey("j-1", "alice", store.JourneyPurchase, "k-1"))
	require.NoError(t, err)
	back, err := a.s.GetJourneyByKey(a.ctx, "alice", store.JourneyPurchase, "k-1")
	require.NoError(t, err)
	assert.Equal(t, j, back)
	require.NoError(t, a.s.CreateTransaction(a.ctx, tx("j-1", "alice", "tok-1")))
	got := collect(t, b.s.ListTransactions(b.ctx, store.TxFilter{UserID: "alice", NonFinalOnly: true}))
	assert.Equal(t, []string{"j-1"}, ids(got))
}

func testSharedRaceJourney(t *testing.T, a, b *env) {
	winners := race(t, func(i int) error {
		_, err := pick(a, b, i).CreateJourney(a.ctx, journey(fmt.Sprintf("j-%02d", i), "alice", store.JourneyPurchase, "one-key"))
		return err
	})
	require.Len(t, winners, 1, "create with one key")
	j, err := b.s.GetJourneyByKey(b.ctx, "alice", store.JourneyPurchase, "one-key")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("j-%02d", winners[0]), j.ID, "the winner's journey is the stored one")
	n := 0
	for range a.s.ListJourneys(a.ctx, store.JourneyFilter{UserID: "alice"}) {
		n++
	}
	assert.Equal(t, 1, n, "the losers wrote nothing")

	winners = race(t, func(i int) error {
		_, err := pick(a, b, i).CreateJourney(a.ctx, journey("j-same", "bob", store.JourneyAddCard, fmt.Sprintf("k-%02d", i)))
		return err
	})
	require.Len(t, winners, 1, "create with one id")

	until := a.clock.Peek().Add(time.Hour)
	winners = race(t, func(i int) error {
		_, err := pick(a, b, i).ClaimJourney(a.ctx, j.ID, fmt.Sprintf("replica-%02d", i), until)
		return err
	})
	require.Len(t, winners, 1, "claim by different owners")
	claimed, err := a.s.GetJourney(a.ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("replica-%02d", winners[0]), claimed.LeaseOwner)

	winners = race(t, func(i int) error {
		next := claimed
		next.Step = fmt.Sprintf("step-%02d", i)
		_, err := pick(a, b, i).UpdateJourney(a.ctx, next)
		return err
	})
	require.Len(t, winners, 1, "update of one version")
	for _, s := range []*env{a, b} {
		got, err := s.s.GetJourney(s.ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("step-%02d", winners[0]), got.Step, "the winner's update is the stored one")
		assert.Equal(t, claimed.Version+1, got.Version)
	}
}

func testSharedRaceTransaction(t *testing.T, a, b *env) {
	a.seed(t, "alice", "tok-1")
	winners := race(t, func(i int) error {
		x := tx(fmt.Sprintf("tx-%02d", i), "alice", "tok-1")
		x.IdempotencyKey = "order-1"
		return pick(a, b, i).CreateTransaction(a.ctx, x)
	})
	require.Len(t, winners, 1, "create with one idempotency key")
	got, err := b.s.GetTransactionByKey(b.ctx, "alice", "order-1")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("tx-%02d", winners[0]), got.ID)
	assert.Len(t, collect(t, a.s.ListTransactions(a.ctx, store.TxFilter{UserID: "alice"})), 1, "the losers wrote nothing")

	winners = race(t, func(i int) error {
		x := tx("tx-same", "alice", "tok-1")
		x.ClientReferenceID = fmt.Sprintf("CR-%02d", i)
		return pick(a, b, i).CreateTransaction(a.ctx, x)
	})
	require.Len(t, winners, 1, "create with one id")

	winners = race(t, func(i int) error {
		_, err := pick(a, b, i).TransitionTransaction(a.ctx, "tx-same", store.TxPending, store.TxInstructed,
			store.TxUpdate{InstructionID: store.Ptr(fmt.Sprintf("INS-%02d", i))})
		return err
	})
	require.Len(t, winners, 1, "transition")
	for _, s := range []*env{a, b} {
		x, err := s.s.GetTransaction(s.ctx, "tx-same")
		require.NoError(t, err)
		assert.Equal(t, store.TxInstructed, x.Status)
		assert.Equal(t, fmt.Sprintf("INS-%02d", winners[0]), x.InstructionID)
	}
}

func testSharedLease(t *testing.T, a, b *env) {
	j, err := a.s.CreateJourney(a.ctx, journey("j-1", "alice", store.JourneyAddCard, ""))
	require.NoError(t, err)
	j.Status = store.JourneyRunning
	j, err = a.s.UpdateJourney(a.ctx, j)
	require.NoError(t, err)
	held, err := a.s.ClaimJourney(a.ctx, j.ID, "replica-a", a.clock.Peek().Add(3*time.Second))
	require.NoError(t, err)
	_, err = b.s.ClaimJourney(b.ctx, j.ID, "replica-b", b.clock.Peek().Add(time.Hour))
	require.ErrorIs(t, err, store.ErrConflict, "a live lease held through the other Store")
	b.clock.Now()
	b.clock.Now() // the ticking clock passes the lease's end
	took, err := b.s.ClaimJourney(b.ctx, j.ID, "replica-b", b.clock.Peek().Add(time.Hour))
	require.NoError(t, err, "a lapsed lease is taken through the other Store")
	assert.Equal(t, "replica-b", took.LeaseOwner)
	assert.Greater(t, took.Version, held.Version)
	held.Step = "late"
	_, err = a.s.UpdateJourney(a.ctx, held)
	require.ErrorIs(t, err, store.ErrConflict, "the first owner's stale update fails")
	got, err := a.s.GetJourney(a.ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, took, got, "and changed nothing")
}
