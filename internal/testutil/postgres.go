package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the database/sql driver "pgx"
)

// PostgresDSN returns the DSN of the test PostgreSQL server from
// VISA_TEST_POSTGRES_DSN. Without one the test is skipped, except under
// CI=true, where PostgreSQL tests must run and a missing DSN fails.
func PostgresDSN(tb testing.TB) string {
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

// One admin pool per test binary creates and drops every test's schema: a
// PostgreSQL connection costs a process and an authentication exchange.
var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// PostgresSchema creates a private schema for one test, dropped at clean-up,
// and returns a DSN whose connections use it (search_path), so tests and
// parallel runs never share tables. Commits do not wait for the disk
// (synchronous_commit off): durability is not under test.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	dsn := PostgresDSN(tb)
	admin.once.Do(func() { admin.db, admin.err = sql.Open("pgx", dsn) })
	if admin.err != nil {
		tb.Fatal(admin.err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "vicgo_test_" + hex.EncodeToString(b[:])
	if _, err := admin.db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithPostgresOptions(tb, dsn, "-c search_path="+schema+" -c synchronous_commit=off")
}

// ClosePostgres closes the admin pool; call it from TestMain after the
// tests, before a goroutine leak check.
func ClosePostgres() {
	if admin.db != nil {
		_ = admin.db.Close()
	}
}

// WithPostgresOptions sets the server options of every connection made with
// dsn (a URL or a key=value DSN).
func WithPostgresOptions(tb testing.TB, dsn, options string) string {
	tb.Helper()
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("options", options)
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + literally
		return u.String()
	}
	return dsn + " options='" + options + "'"
}
