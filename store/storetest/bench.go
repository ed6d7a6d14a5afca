package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

// BenchTransactionInsert measures CreateTransaction of a new transaction, on
// a Store from newStore (with the real clock). Call it from a benchmark:
//
//	func BenchmarkTransactionInsert(b *testing.B) { storetest.BenchTransactionInsert(b, newStore) }
func BenchTransactionInsert(b *testing.B, newStore NewStore) {
	s := benchStore(b, newStore)
	x := tx("", "alice", "tok-1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.ID = fmt.Sprintf("tx-%09d", i)
		if err := s.CreateTransaction(b.Context(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchTransactionCAS measures one TransitionTransaction: a transaction
// cycles CREDENTIALS_REQUESTED → CREDENTIALS_ISSUED → AUTHORIZING and back
// (the retry loop), setting TransactionReferenceID on each step.
func BenchTransactionCAS(b *testing.B, newStore NewStore) {
	s := benchStore(b, newStore)
	x := tx("tx-cas", "alice", "tok-1")
	x.Status = store.TxCredentialsRequested
	require.NoError(b, s.CreateTransaction(b.Context(), x))
	cycle := []store.TxStatus{store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxAuthorizing}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		from, to := cycle[i%3], cycle[(i+1)%3]
		ref := fmt.Sprintf("TR-%09d", i)
		if _, err := s.TransitionTransaction(b.Context(), "tx-cas", from, to,
			store.TxUpdate{TransactionReferenceID: &ref}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B, newStore NewStore) store.Store {
	s := newStore(b, time.Now)
	b.Cleanup(func() { _ = s.Close() })
	ctx := b.Context()
	require.NoError(b, s.PutUser(ctx, user("alice")))
	require.NoError(b, s.PutCard(ctx, card("alice", "tok-1")))
	return s
}

// BenchPurchaseRecords measures the store calls of one purchase as the
// agent makes them: the card and the user read, the journey and its
// transaction created, the seven status moves of an approved purchase, and
// the journey closed. With together, the creation is one CreatePurchase and
// the last move and the close one FinishPurchase; else CreateJourney, then
// CreateTransaction, and TransitionTransaction, then UpdateJourney. A Store that is not a
// store.PurchaseWriter skips the together variant. cpu, when not nil,
// reads the process's CPU time (user and system); the benchmark then
// reports it per purchase (cpu-µs/op), which a shared machine disturbs
// less than the wall time, and which leaves out the waits for the disk.
func BenchPurchaseRecords(b *testing.B, newStore NewStore, together bool, cpu func() time.Duration) {
	s := benchStore(b, newStore)
	ctx := b.Context()
	_, err := s.UpdateCardStatus(ctx, "tok-1", store.TokenInactive, store.TokenActive)
	require.NoError(b, err)
	pc, ok := s.(store.PurchaseWriter)
	if together && !ok {
		b.Skip("the Store does not implement store.PurchaseWriter")
	}
	type move struct {
		from, to store.TxStatus
		upd      store.TxUpdate
	}
	ref, code := "TR-1", "00"
	moves := []move{
		{store.TxPending, store.TxAuthenticated, store.TxUpdate{}},
		{store.TxAuthenticated, store.TxInstructed, store.TxUpdate{InstructionID: &ref}},
		{store.TxInstructed, store.TxCredentialsRequested, store.TxUpdate{}},
		{store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxUpdate{TransactionReferenceID: &ref, DynamicDataID: &ref}},
		{store.TxCredentialsIssued, store.TxAuthorizing, store.TxUpdate{}},
		{store.TxAuthorizing, store.TxAuthorized, store.TxUpdate{ResponseCode: &code, AuthorizationCode: &code}},
		{store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true}},
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu0 time.Duration
	if cpu != nil {
		cpu0 = cpu()
	}
	n := 0
	for i := 0; b.Loop(); i++ {
		n++
		if _, err := s.GetCard(ctx, "tok-1"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetUser(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("p-%09d", i)
		j := store.Journey{ID: id, Kind: store.JourneyPurchase, UserID: "alice", IdempotencyKey: "order-" + id,
			RequestHash: "h", Status: store.JourneyRunning, Step: "authenticate", LeaseOwner: "replica-a",
			LeaseExpiresAt: time.Now().Add(time.Minute)}
		x := tx(id, "alice", "tok-1")
		x.IdempotencyKey = j.IdempotencyKey
		if together {
			j, err = pc.CreatePurchase(ctx, j, x)
		} else if j, err = s.CreateJourney(ctx, j); err == nil {
			err = s.CreateTransaction(ctx, x)
		}
		if err != nil {
			b.Fatal(err)
		}
		last := len(moves) - 1
		for _, m := range moves[:last] {
			if _, err := s.TransitionTransaction(ctx, id, m.from, m.to, m.upd); err != nil {
				b.Fatal(err)
			}
		}
		j.Status, j.ResultID, j.LeaseOwner, j.LeaseExpiresAt = store.JourneySucceeded, id, "", time.Time{}
		m := moves[last]
		if together {
			_, _, err = pc.FinishPurchase(ctx, j, m.from, m.to, m.upd)
		} else if _, err = s.TransitionTransaction(ctx, id, m.from, m.to, m.upd); err == nil {
			_, err = s.UpdateJourney(ctx, j)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if cpu != nil && n > 0 {
		b.ReportMetric(float64((cpu()-cpu0).Microseconds())/float64(n), "cpu-µs/op")
	}
}
