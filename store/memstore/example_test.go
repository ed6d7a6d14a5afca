package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
)

// A replayed step loses the compare-and-swap, so it cannot move the
// transaction twice.
func Example() {
	ctx := context.Background()
	s, _ := memstore.New()
	defer s.Close()

	_ = s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"})
	_ = s.CreateTransaction(ctx, store.Transaction{ID: "tx-1", UserID: "alice", TokenID: "tok-1",
		Amount: "129.99", Currency: "USD", Status: store.TxPending})

	tx, err := s.TransitionTransaction(ctx, "tx-1", store.TxPending, store.TxInstructed,
		store.TxUpdate{InstructionID: store.Ptr("INS-0001")})
	fmt.Println(tx.Status, tx.InstructionID, err)

	_, err = s.TransitionTransaction(ctx, "tx-1", store.TxPending, store.TxInstructed,
		store.TxUpdate{InstructionID: store.Ptr("INS-0002")})
	fmt.Println(errors.Is(err, store.ErrConflict))

	for tx, err := range s.ListTransactions(ctx, store.TxFilter{UserID: "alice", NonFinalOnly: true}) {
		fmt.Println(tx.ID, tx.Status, tx.InstructionID, err)
	}
	// Output:
	// INSTRUCTED INS-0001 <nil>
	// true
	// tx-1 INSTRUCTED INS-0001 <nil>
}
