package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlstore"
	"github.com/vicgo/visa/store/storetest"
)

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, err := sqlstore.Open(ctx, "mysql", "x")
	assert.ErrorContains(t, err, "unsupported driver")
	_, err = sqlstore.OpenSQLite(ctx, "")
	assert.Error(t, err)
	_, err = sqlstore.OpenSQLite(ctx, ":memory:", sqlstore.WithClock(nil))
	assert.Error(t, err)
	for _, n := range []int{0, -1, 10001} {
		_, err = sqlstore.OpenSQLite(ctx, ":memory:", sqlstore.WithPageSize(n))
		assert.Error(t, err, "page size %d", n)
	}
	_, err = sqlstore.New(ctx, nil, sqlstore.SQLite)
	assert.Error(t, err)
	_, err = sqlstore.OpenSQLite(ctx, t.TempDir()+"/no/such/dir/x.db")
	assert.Error(t, err)
	// An unreachable server fails at Open, not at first use.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = sqlstore.OpenPostgres(cctx, "postgres://nobody:secret-password@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-password", "an error must not echo the DSN's password")
}

// TestMemoryStoresAreSeparate: each ":memory:" Store is its own database.
func TestMemoryStoresAreSeparate(t *testing.T) {
	t.Parallel()
	a := newSQLiteMemory(t, time.Now)
	b := newSQLiteMemory(t, time.Now)
	require.NoError(t, a.PutUser(t.Context(), store.User{ID: "alice", Email: "alice@example.com"}))
	_, err := b.GetUser(t.Context(), "alice")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func BenchmarkTransactionInsert(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storetest.BenchTransactionInsert(b, benchSQLite) })
	b.Run("postgres", func(b *testing.B) { storetest.BenchTransactionInsert(b, benchPostgres) })
}

func BenchmarkTransactionCAS(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storetest.BenchTransactionCAS(b, benchSQLite) })
	b.Run("postgres", func(b *testing.B) { storetest.BenchTransactionCAS(b, benchPostgres) })
}

// benchSQLite is the embedded default as deployed: a file in WAL mode.
func benchSQLite(tb testing.TB, clock store.Clock) store.Store {
	return newSQLiteFile(tb, clock)
}

// benchPostgres keeps the server's durable defaults (synchronous_commit on),
// unlike the tests, so the figures are what a deployment sees.
func benchPostgres(tb testing.TB, clock store.Clock) store.Store {
	dsn := postgresSchema(tb)
	return openPostgres(tb, withOptions(tb, dsn, optionsOf(tb, dsn)+" -c synchronous_commit=on"), clock)
}
