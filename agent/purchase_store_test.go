package agent_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/store"
)

// callCounter counts a Store's calls that record a purchase. With
// creator, it is a store.PurchaseWriter too (forwarding to the Store it
// wraps); without, the agent sees a Store that is not one.
type callCounter struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

func (c *callCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *callCounter) CreateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	c.count("CreateJourney")
	return c.Store.CreateJourney(ctx, j)
}

func (c *callCounter) CreateTransaction(ctx context.Context, t store.Transaction) error {
	c.count("CreateTransaction")
	return c.Store.CreateTransaction(ctx, t)
}

func (c *callCounter) TransitionTransaction(ctx context.Context, id string, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, error) {
	c.count("TransitionTransaction")
	return c.Store.TransitionTransaction(ctx, id, from, to, upd)
}

func (c *callCounter) UpdateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	c.count("UpdateJourney")
	return c.Store.UpdateJourney(ctx, j)
}

type creatorCounter struct{ *callCounter }

func (c creatorCounter) CreatePurchase(ctx context.Context, j store.Journey, t store.Transaction) (store.Journey, error) {
	c.count("CreatePurchase")
	return c.Store.(store.PurchaseWriter).CreatePurchase(ctx, j, t)
}

func (c creatorCounter) FinishPurchase(ctx context.Context, j store.Journey, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, store.Journey, error) {
	c.count("FinishPurchase")
	return c.Store.(store.PurchaseWriter).FinishPurchase(ctx, j, from, to, upd)
}

// TestPurchaseRecordsJourneyAndTransactionTogether: with a Store that is a
// store.PurchaseWriter, a purchase records its journey and transaction in
// one call, and its last move with the journey's close in one; with one
// that is not, in two each, as before; the outcome and the records are the
// same either way.
func TestPurchaseRecordsJourneyAndTransactionTogether(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i, c := range []struct {
		name    string
		creator bool
		pan     string
		want    map[string]int
	}{
		{"PurchaseWriter", true, "4111111111111111", map[string]int{"CreatePurchase": 1, "TransitionTransaction": 6, "FinishPurchase": 1}},
		{"plain Store", false, "4111111111111111", map[string]int{"CreateJourney": 1, "CreateTransaction": 1, "TransitionTransaction": 7, "UpdateJourney": 1}},
		{"decline, PurchaseWriter", true, "4000000000009995", map[string]int{"CreatePurchase": 1, "TransitionTransaction": 6, "FinishPurchase": 1}},
		{"decline, plain Store", false, "4000000000009995", map[string]int{"CreateJourney": 1, "CreateTransaction": 1, "TransitionTransaction": 7, "UpdateJourney": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, dev := user(90+i), deviceN(90+i)
			card := e.addCard(t, u, c.pan, dev)
			cc := &callCounter{Store: e.st, calls: map[string]int{}}
			var st store.Store = cc
			if c.creator {
				st = creatorCounter{cc}
			}
			a := newReplica(t, e, st)
			req := purchaseReq(u, card, dev, "20.00")
			req.IdempotencyKey = fmt.Sprintf("order-%d", i)
			rec, err := a.Purchase(ctx, req)
			want := store.TxCompleted
			if c.pan == "4000000000009995" {
				require.ErrorIs(t, err, agent.ErrDeclined)
				want = store.TxDeclined
				assert.False(t, rec.Transaction.ConfirmedAt.IsZero(), "the decline is confirmed")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, want, rec.Transaction.Status)
			assert.Equal(t, c.want, cc.snapshot())
			j, err := e.st.GetJourneyByKey(ctx, u.ID, store.JourneyPurchase, req.IdempotencyKey)
			require.NoError(t, err)
			assert.Equal(t, store.JourneySucceeded, j.Status)
			assert.Equal(t, rec.Transaction.ID, j.ID, "the transaction is the journey's twin")
			assert.Equal(t, req.IdempotencyKey, rec.Transaction.IdempotencyKey)

			again, err := a.Purchase(ctx, req)
			if want == store.TxCompleted {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, agent.ErrDeclined, "the replay gives the same typed error")
			}
			assert.True(t, again.Replayed, "the key replays the purchase")
			assert.Equal(t, rec.Transaction.ID, again.Transaction.ID)
		})
	}
}

// TestPurchaseRecordFailsLeavesNothing: when the transaction cannot be
// recorded (its idempotency key is taken by a transaction without a
// journey), a PurchaseWriter Store leaves no journey behind, and the
// purchase fails before anything is sent to Visa.
func TestPurchaseRecordFailsLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(95), deviceN(95)
	card := e.addCard(t, u, "4111111111111111", dev)
	require.NoError(t, e.st.CreateTransaction(ctx, store.Transaction{ID: "legacy-1", UserID: u.ID, TokenID: card.TokenID,
		Amount: "1.00", Currency: "USD", Status: store.TxFailed, IdempotencyKey: "order-legacy"}))
	req := purchaseReq(u, card, dev, "20.00")
	req.IdempotencyKey = "order-legacy"
	_, err := e.agent.Purchase(ctx, req)
	require.ErrorIs(t, err, store.ErrDuplicateKey)
	_, err = e.st.GetJourneyByKey(ctx, u.ID, store.JourneyPurchase, "order-legacy")
	require.ErrorIs(t, err, store.ErrNotFound, "no journey left behind")
	n := 0
	for range e.agent.Transactions(ctx, store.TxFilter{UserID: u.ID}) {
		n++
	}
	assert.Equal(t, 1, n, "only the earlier transaction")
	assert.Empty(t, e.sbx.Inspect().CredentialsPerInstruction, "nothing sent to Visa")
}
