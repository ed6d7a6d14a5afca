// Package sqlstore is the store.Store on database/sql: SQLite as the embedded
// default and PostgreSQL for many agent replicas sharing one database.
//
//	s, err := sqlite.Open(ctx, "/var/lib/agent/vicgo.db") // package store/sqlite; or ":memory:"
//	s, err := postgres.Open(ctx, dsn)                     // package store/postgres
//	s, err := sqlstore.New(ctx, db, sqlstore.Postgres)    // a *sql.DB you own
//
// This package links no database driver: store/sqlite and store/postgres
// each bring their own, so a program using one never compiles the other.
//
// SQLite runs through modernc.org/sqlite, pure Go (no cgo). A file gets WAL,
// a 5 s busy timeout, foreign keys and immediate transactions, and the Store
// uses one connection for its work, because SQLite has one writer at a time;
// several processes may still share the file. ":memory:" is a private
// database that lives until Close. PostgreSQL runs through pgx's database/sql
// driver ("pgx").
//
// # Connection pools
//
// Open sizes the pool (DefaultPool): on PostgreSQL 32 connections open at
// most and all 32 kept while idle, so a burst of work reuses its sessions
// instead of opening new server processes (the old pool kept 10 idle and
// opened a session for most journeys at concurrency 64); on SQLite one
// connection. WithMaxOpenConns, WithMaxIdleConns, WithConnMaxLifetime and
// WithConnMaxIdleTime change them (also on a *sql.DB given to New, which
// otherwise keeps its own settings); Stats reports the pool's use.
//
// # Migrations
//
// The schema is embedded: migrations/<dialect>/NNNN_name.sql, applied in
// order by Open (or Migrate) in one transaction and recorded in
// schema_migrations. Applying them is idempotent. On PostgreSQL a transaction
// advisory lock serialises replicas that start together. A database migrated
// by a newer version of this package is refused rather than downgraded.
// WithoutMigrations leaves migrating to your own deployment step.
//
// # Compare-and-swap across processes
//
// Every status change is one conditional statement:
//
//	UPDATE transactions SET status = $to, ... WHERE id = $id AND status = $from RETURNING ...
//
// The database runs it atomically (PostgreSQL takes the row lock and
// re-checks the condition after waiting), so of any number of callers, in any
// number of processes, exactly one matches the row; the others get no row and
// are told ErrConflict (or ErrNotFound when there is no row at all). Creation
// is INSERT ... ON CONFLICT DO NOTHING, and ownership rules are foreign keys,
// so no check-then-write window exists anywhere.
//
// # Listings
//
// ListCards, ListPasskeys and ListTransactions page with a keyset on
// (created_at, key): each page is read and its rows closed before any row is
// yielded. Breaking out of the loop leaks nothing, and the loop body may call
// the Store (Resume moves each transaction it lists).
//
// Every hot statement is served by an index, which plan_test.go proves with
// EXPLAIN (SQLite's query plan; PostgreSQL's custom and generic plans on
// analyzed tables): reads by id and by idempotency key (the query repeats
// the partial index's condition, idempotency_key <> ”, so even a generic
// plan uses it), a user's or token's pages (whose cursor condition starts
// with the user or token, (user_id, created_at, id) < (...), so only their
// index serves it), and the reconciler's lists of transactions under way,
// unconfirmed outcomes and live journeys, each a partial index of migration
// 0003 that holds only those rows, in order (named with INDEXED BY on
// SQLite, which has no statistics to choose it). Their cost does not grow
// with the rows that are finished: see docs/benchmarks.md.
//
// Time stamps are microseconds: INTEGER (Unix µs) on SQLite, TIMESTAMPTZ on
// PostgreSQL. ci-postgres.sh in this directory prepares a local PostgreSQL for
// the tests, which read its DSN from VISA_TEST_POSTGRES_DSN.
package sqlstore
