package sqlstore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
)

// raceTwoStores makes a transaction through a, then has 32 goroutines, half on
// a and half on b (separate pools, as separate processes have), race one
// transition. Exactly one may win; the rest must see ErrConflict.
func raceTwoStores(t *testing.T, a, b store.Store) {
	ctx := t.Context()
	require.NoError(t, a.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"}))
	require.NoError(t, a.PutCard(ctx, store.Card{TokenID: "tok-1", UserID: "alice", Last4: "1111",
		ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive}))
	for round := range 3 {
		id := fmt.Sprintf("tx-%d", round)
		require.NoError(t, a.CreateTransaction(ctx, store.Transaction{ID: id, UserID: "alice", TokenID: "tok-1",
			Amount: "10.00", Currency: "USD", Status: store.TxCredentialsIssued}))
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			winners []string
			others  []error
		)
		for i := range 32 {
			s, name := a, "a"
			if i%2 == 1 {
				s, name = b, "b"
			}
			wg.Go(func() {
				<-start
				_, err := s.TransitionTransaction(ctx, id, store.TxCredentialsIssued, store.TxAuthorizing,
					store.TxUpdate{ResponseCode: store.Ptr(fmt.Sprintf("%02d", i))})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, fmt.Sprintf("%s%02d", name, i))
				case !errors.Is(err, store.ErrConflict):
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(t, others)
		require.Len(t, winners, 1, "round %d: exactly one winner across both stores", round)
		got, err := b.GetTransaction(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, store.TxAuthorizing, got.Status)
		assert.Equal(t, winners[0][1:], got.ResponseCode, "the winner's update is the stored one")
	}
}

func TestTwoStoresOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := openPostgres(t, dsn, time.Now)
	b := openPostgres(t, dsn, time.Now)
	raceTwoStores(t, a, b)
}

func TestTwoStoresOneSQLiteFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() store.Store {
		s, err := sqlite.Open(t.Context(), path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := open()
	raceTwoStores(t, a, open())
}
