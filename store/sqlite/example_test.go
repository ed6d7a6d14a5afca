package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
)

func ExampleOpen() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, ":memory:") // a file path in production
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_ = s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com", Country: "US", Language: "en"})
	err = s.PutCard(ctx, store.Card{TokenID: "tok-1", UserID: "alice", Last4: "1111",
		ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenInactive})
	fmt.Println(err)

	// Step 7 passed: the token becomes ACTIVE, once.
	c, err := s.UpdateCardStatus(ctx, "tok-1", store.TokenInactive, store.TokenActive)
	fmt.Println(c.TokenStatus, err)
	_, err = s.UpdateCardStatus(ctx, "tok-1", store.TokenInactive, store.TokenActive)
	fmt.Println(errors.Is(err, store.ErrConflict))

	v, _ := s.Version(ctx)
	fmt.Println("schema version", v)
	// Output:
	// <nil>
	// ACTIVE <nil>
	// true
	// schema version 3
}
