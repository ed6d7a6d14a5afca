package tapsql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/tapsql"
)

// Replicas that share a database share their nonces: a signature replayed
// to any of them is refused.
func Example() {
	dir, _ := os.MkdirTemp("", "tapsql")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "shop.db"))
	defer db.Close()

	ctx := context.Background()
	nonces, err := tapsql.New(ctx, db, tapsql.SQLite)
	if err != nil {
		fmt.Println(err)
		return
	}
	expires := time.Now().Add(8 * time.Minute)
	fmt.Println(nonces.Use(ctx, "nonce-1", expires))
	fmt.Println(errors.Is(nonces.Use(ctx, "nonce-1", expires), tap.ErrReplay))
	// A verifier takes it as its nonce store:
	_, _ = tap.NewVerifier(tap.StaticKeys{}, tap.WithNonceStore(nonces))
	// Output:
	// <nil>
	// true
}
