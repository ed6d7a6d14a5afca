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
