package store_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa/store"
)

func timeIn(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ExampleCanTransition() {
	fmt.Println(store.CanTransition(store.TxPending, store.TxInstructed))
	fmt.Println(store.CanTransition(store.TxAuthorizing, store.TxDeclined))
	fmt.Println(store.CanTransition(store.TxDeclined, store.TxCompleted))
	fmt.Println(store.CanTransition(store.TxAuthorizing, store.TxCredentialsRequested))
	// Output:
	// true
	// true
	// false
	// true
}

func ExampleValidationError() {
	err := store.Card{TokenID: "tok-1", UserID: "alice", Last4: "4111111111111111",
		ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive}.Validate()
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field, "-", ve.Reason)
	}
	fmt.Println(errors.Is(err, store.ErrInvalid))
	// Output:
	// Last4 - must be 4 digits
	// true
}
