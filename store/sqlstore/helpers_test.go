package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	adminClose()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// One admin pool creates and drops every test's schema: a PostgreSQL
// connection costs a process and a SCRAM exchange, so tests share these.
var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func adminDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	admin.once.Do(func() { admin.db, admin.err = sql.Open("pgx", dsn) })
	require.NoError(tb, admin.err)
	return admin.db
}

func adminClose() {
	if admin.db != nil {
		_ = admin.db.Close()
	}
}

// postgresDSN returns the DSN of the test PostgreSQL server from
// VISA_TEST_POSTGRES_DSN. Without one the test is skipped, except under
// CI=true, where PostgreSQL tests must run and a missing DSN fails.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("VISA_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CI=true but VISA_TEST_POSTGRES_DSN is empty: PostgreSQL tests must run in CI " +
				"(eval \"$(store/sqlstore/ci-postgres.sh)\" sets it)")
		}
		tb.Skip("PostgreSQL tests skipped: set VISA_TEST_POSTGRES_DSN (store/sqlstore/ci-postgres.sh prints one)")
	}
	return dsn
}

// postgresSchema creates a private schema for one test, dropped at clean-up,
// and returns a DSN whose connections use it (search_path), so tests and
// parallel runs never share tables.
func postgresSchema(tb testing.TB) string {
	tb.Helper()
	dsn := postgresDSN(tb)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "vicgo_test_" + hex.EncodeToString(b[:])

	db := adminDB(tb, dsn)
	_, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withOptions(tb, dsn, "-c search_path="+schema+" -c synchronous_commit=off")
}

// optionsOf returns the server options a DSN made by withOptions carries.
func optionsOf(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	require.NoError(tb, err)
	return u.Query().Get("options")
}

// withOptions sets the server options of every connection made with dsn.
// Tests turn synchronous_commit off: durability is not under test, and commits
// that wait for the disk make the suite many times slower. Benchmarks keep it.
func withOptions(tb testing.TB, dsn, options string) string {
	tb.Helper()
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		require.NoError(tb, err)
		q := u.Query()
		q.Set("options", options)
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + literally
		return u.String()
	}
	return dsn + " options='" + options + "'"
}

func openPostgres(tb testing.TB, dsn string, clock store.Clock) *sqlstore.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn, sqlstore.WithClock(clock), sqlstore.WithPageSize(50))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newPostgres(tb testing.TB, clock store.Clock) store.Store {
	return openPostgres(tb, postgresSchema(tb), clock)
}

func newSQLiteMemory(tb testing.TB, clock store.Clock) store.Store {
	s, err := sqlite.Open(context.Background(), ":memory:", sqlstore.WithClock(clock), sqlstore.WithPageSize(50))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newSQLiteFile(tb testing.TB, clock store.Clock) store.Store {
	path := filepath.Join(tb.TempDir(), "dir with space?", "vicgo.db")
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o700))
	s, err := sqlite.Open(context.Background(), path, sqlstore.WithClock(clock), sqlstore.WithPageSize(50))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
