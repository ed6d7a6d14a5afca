package tapsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/vicgo/visa/tap"
)

// Dialect is the SQL database a Store runs on.
type Dialect int

// The supported dialects.
const (
	// SQLite (3.24 or newer, for INSERT ... ON CONFLICT).
	SQLite Dialect = iota + 1
	// PostgreSQL (9.5 or newer).
	PostgreSQL
)

// String names the dialect.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Defaults of a Store.
const (
	// DefaultTable is the table of nonces.
	DefaultTable = "tap_nonces"
	// DefaultPurgeInterval is the least time between two deletions of
	// expired nonces.
	DefaultPurgeInterval = time.Minute
)

// Store is a tap.NonceStore in a SQL table that every replica of a
// merchant shares: the first replica to record a nonce wins, atomically,
// by the table's primary key.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	now     func() time.Time
	every   time.Duration
	use     string
	purge   string

	mu        sync.Mutex
	lastPurge time.Time
}

// Option configures a Store.
type Option func(*Store) error

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithTable sets the table name (default tap_nonces): lowercase letters,
// digits and underscores.
func WithTable(name string) Option {
	return func(s *Store) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("tapsql: WithTable: %q is not a plain lowercase identifier", name)
		}
		s.table = name
		return nil
	}
}

// WithClock sets the clock that decides which nonces have expired.
func WithClock(now func() time.Time) Option {
	return func(s *Store) error {
		if now == nil {
			return errors.New("tapsql: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithPurgeInterval sets the least time between two deletions of expired
// nonces, which Use runs inline (default 1 min).
func WithPurgeInterval(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return errors.New("tapsql: WithPurgeInterval: must be positive")
		}
		s.every = d
		return nil
	}
}

// New returns a Store on db, creating its table if it does not exist. db
// may be the database of the SDK's store (store/sqlite, store/postgres) or
// any other; the Store never closes it.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("tapsql: nil database")
	}
	s := &Store{db: db, dialect: d, table: DefaultTable, now: time.Now, every: DefaultPurgeInterval}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	var p1, p2, p3 string
	switch d {
	case SQLite:
		p1, p2, p3 = "?", "?", "?"
	case PostgreSQL:
		p1, p2, p3 = "$1", "$2", "$3"
	default:
		return nil, fmt.Errorf("tapsql: unknown dialect %v", d)
	}
	// A conflicting row that has expired (not yet purged) is taken over;
	// a live one makes the insert affect no row: a replay.
	s.use = `INSERT INTO ` + s.table + ` (nonce_key, expires_at) VALUES (` + p1 + `, ` + p2 + `)
ON CONFLICT (nonce_key) DO UPDATE SET expires_at = excluded.expires_at WHERE ` + s.table + `.expires_at <= ` + p3
	s.purge = `DELETE FROM ` + s.table + ` WHERE expires_at <= ` + p1
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (nonce_key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + s.table + `_expires ON ` + s.table + ` (expires_at)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("tapsql: create table %s: %w", s.table, err)
		}
	}
	return s, nil
}

// Use implements tap.NonceStore: it records key until expires, or returns
// tap.ErrReplay when a live record of key exists. Every purge interval it
// also deletes expired records.
func (s *Store) Use(ctx context.Context, key string, expires time.Time) error {
	if key == "" || len(key) > 512 {
		return errors.New("tapsql: a nonce key is 1 to 512 bytes")
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.use, key, expires.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("tapsql: record nonce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("tapsql: record nonce: %w", err)
	}
	if n == 0 {
		return tap.ErrReplay
	}
	s.mu.Lock()
	due := now.Sub(s.lastPurge) >= s.every
	if due {
		s.lastPurge = now
	}
	s.mu.Unlock()
	if due {
		// A failed purge is retried at the next interval; the nonce is
		// recorded either way.
		_, _ = s.Purge(ctx)
	}
	return nil
}

// Purge deletes the expired records and returns how many it deleted.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.purge, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("tapsql: purge: %w", err)
	}
	return res.RowsAffected()
}

// Len returns how many records the table holds, expired ones not yet
// purged included.
func (s *Store) Len(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.table).Scan(&n)
	return n, err
}

var _ tap.NonceStore = (*Store)(nil)
