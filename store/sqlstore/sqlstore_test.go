package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
	"github.com/vicgo/visa/store/storetest"
)

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, err := sqlstore.Open(ctx, "mysql", "x")
	assert.ErrorContains(t, err, "unsupported driver")
	_, err = sqlite.Open(ctx, "")
	assert.Error(t, err)
	_, err = sqlite.Open(ctx, ":memory:", sqlstore.WithClock(nil))
	assert.Error(t, err)
	for _, n := range []int{0, -1, 10001} {
		_, err = sqlite.Open(ctx, ":memory:", sqlstore.WithPageSize(n))
		assert.Error(t, err, "page size %d", n)
	}
	_, err = sqlstore.New(ctx, nil, sqlstore.SQLite)
	assert.Error(t, err)
	_, err = sqlite.Open(ctx, t.TempDir()+"/no/such/dir/x.db")
	assert.Error(t, err)
	// An unreachable server fails at Open, not at first use.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = postgres.Open(cctx, "postgres://nobody:secret-password@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-password", "an error must not echo the DSN's password")
}

// TestOpenSQLiteDSN: Open adds the pragmas the Store needs to a plain DSN,
// and New refuses a SQLite database that does not enforce foreign keys.
func TestOpenSQLiteDSN(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "plain.db"))
	require.NoError(t, err)
	defer s.Close()
	err = s.PutCard(ctx, store.Card{TokenID: "tok-1", UserID: "nobody", Last4: "1111",
		ExpiryMonth: 1, ExpiryYear: 2030, TokenStatus: store.TokenActive})
	require.ErrorIs(t, err, store.ErrNotFound, "foreign keys are enforced")

	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "nofk.db"))
	require.NoError(t, err)
	defer db.Close()
	_, err = sqlstore.New(ctx, db, sqlstore.SQLite)
	assert.ErrorContains(t, err, "foreign_keys(1)")

	db2, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "fk.db")+"?_pragma=foreign_keys(1)")
	require.NoError(t, err)
	db2.SetMaxOpenConns(1)
	s2, err := sqlstore.New(ctx, db2, sqlstore.SQLite)
	require.NoError(t, err)
	require.NoError(t, s2.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"}))
	require.NoError(t, s2.Close())
	require.NoError(t, db2.PingContext(ctx), "Close leaves a caller's *sql.DB open")
	require.NoError(t, db2.Close())
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

// BenchmarkPurchaseRecords: the store calls of one purchase (storetest), its
// journey and transaction created in two calls (split) or one (together).
func BenchmarkPurchaseRecords(b *testing.B) {
	for _, d := range []struct {
		name string
		open storetest.NewStore
	}{{"sqlite", benchSQLite}, {"postgres", benchPostgres}} {
		b.Run(d.name+"/split", func(b *testing.B) { storetest.BenchPurchaseRecords(b, d.open, false, cpu) })
		b.Run(d.name+"/together", func(b *testing.B) { storetest.BenchPurchaseRecords(b, d.open, true, cpu) })
	}
}

// cpu is this process's CPU time so far (zero where the platform does not
// report it).
func cpu() time.Duration {
	d, _ := testutil.ProcessCPU()
	return d
}
