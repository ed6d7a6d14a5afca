package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
)

// dialects runs f for SQLite (a file) and, when a server is configured,
// PostgreSQL (a private schema); f gets a DSN-opening function for the same
// database each time it is called.
func dialects(t *testing.T, f func(t *testing.T, open func(opts ...sqlstore.Option) (*sqlstore.Store, error), raw func() *sql.DB)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "m.db")
		f(t, func(opts ...sqlstore.Option) (*sqlstore.Store, error) {
			return sqlite.Open(t.Context(), path, opts...)
		}, func() *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		dsn := postgresSchema(t)
		f(t, func(opts ...sqlstore.Option) (*sqlstore.Store, error) {
			return postgres.Open(t.Context(), dsn, opts...)
		}, func() *sql.DB {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
}

func tables(t *testing.T, db *sql.DB, d sqlstore.Dialect) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d == sqlstore.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.QueryContext(t.Context(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func(...sqlstore.Option) (*sqlstore.Store, error), raw func() *sql.DB) {
		ctx := t.Context()
		// An empty database: nothing until Migrate.
		s, err := open(sqlstore.WithoutMigrations())
		require.NoError(t, err)
		_, err = s.Version(ctx)
		require.Error(t, err, "no schema_migrations before Migrate")
		assert.Empty(t, tables(t, raw(), s.Dialect()))

		require.NoError(t, s.Migrate(ctx))
		v, err := s.Version(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.SchemaVersion(), v)
		assert.Equal(t, []string{"cards", "journeys", "passkeys", "schema_migrations", "transactions", "users"}, tables(t, raw(), s.Dialect()))

		// Idempotent: again on the same Store, and on a new one over the same data.
		require.NoError(t, s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"}))
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Close())
		s2, err := open()
		require.NoError(t, err)
		defer s2.Close()
		require.NoError(t, s2.Migrate(ctx))
		v, err = s2.Version(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.SchemaVersion(), v)
		var n int
		require.NoError(t, raw().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
		assert.Equal(t, sqlstore.SchemaVersion(), n, "each migration recorded once")
		_, err = s2.GetUser(ctx, "alice")
		require.NoError(t, err, "data survives re-migration")

		// A database from a newer SDK is refused, not downgraded.
		_, err = raw().ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', "+
			map[sqlstore.Dialect]string{sqlstore.SQLite: "0", sqlstore.Postgres: "now()"}[s2.Dialect()]+")")
		require.NoError(t, err)
		err = s2.Migrate(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "newer")
		_, err = open()
		require.Error(t, err, "Open migrates, so it refuses too")
	})
}

// TestMigrateConcurrently starts several Stores on one empty PostgreSQL schema
// at once, as replicas of a fleet do: the advisory lock lets exactly one apply
// each migration.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	var count int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&count))
	assert.Equal(t, sqlstore.SchemaVersion(), count)
}

// TestSchemaHoldsNoSecrets reads the migrated schema's columns: none may be
// named for a PAN, CVV2, OTP, secureToken or a clear fidoBlob.
func TestSchemaHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	forbidden := regexp.MustCompile(`(?i)(pan|cvv|cvc|otp|secure_?token|fido_?blob|card_?number)`)
	dialects(t, func(t *testing.T, open func(...sqlstore.Option) (*sqlstore.Store, error), raw func() *sql.DB) {
		s, err := open()
		require.NoError(t, err)
		defer s.Close()
		q := `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
		if s.Dialect() == sqlstore.Postgres {
			q = `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`
		}
		rows, err := raw().QueryContext(t.Context(), q)
		require.NoError(t, err)
		defer rows.Close()
		var cols []string
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Err())
		assert.Greater(t, len(cols), 40)
		for _, c := range cols {
			if c == "passkeys.sealed_blob" {
				continue // ciphertext from fido.Sealer
			}
			assert.False(t, forbidden.MatchString(c), "%s looks like a secret's column", c)
		}
	})
}
