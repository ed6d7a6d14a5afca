package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
	"github.com/vicgo/visa/store/storetest"
)

// Two Stores on one PostgreSQL database, as two replicas have.
func TestSharedPostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	storetest.RunShared(t, func(tb testing.TB, clock store.Clock) (store.Store, store.Store) {
		dsn := postgresSchema(tb)
		return openPostgres(tb, dsn, clock), openPostgres(tb, dsn, clock)
	})
}

// Two Stores on one SQLite file, as two processes sharing it have.
func TestSharedSQLiteFile(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(tb testing.TB, clock store.Clock) (store.Store, store.Store) {
		path := filepath.Join(tb.TempDir(), "shared.db")
		open := func() store.Store {
			s, err := sqlite.Open(t.Context(), path, sqlstore.WithClock(clock), sqlstore.WithPageSize(50))
			require.NoError(tb, err)
			tb.Cleanup(func() { _ = s.Close() })
			return s
		}
		return open(), open()
	})
}
