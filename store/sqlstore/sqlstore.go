package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vicgo/visa/store"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// Supported dialects.
const (
	// SQLite through modernc.org/sqlite (database/sql driver "sqlite").
	SQLite Dialect = "sqlite"
	// Postgres through pgx's database/sql driver ("pgx").
	Postgres Dialect = "postgres"
)

// Option configures a Store. An Option may fail; Open reports it.
type Option func(*config) error

type config struct {
	now      store.Clock
	migrate  bool
	pageSize int
	pool     Pool
}

// Pool sizes the connection pool of a Store's *sql.DB. A zero field keeps
// the default of the dialect (DefaultPool); see the With* options.
type Pool struct {
	// MaxOpenConns caps the connections open at once (in use plus idle).
	// Work beyond it waits for a connection rather than opening more.
	MaxOpenConns int
	// MaxIdleConns is how many connections are kept open while idle. Below
	// the concurrency the Store sees, a burst closes connections it will
	// open again at once, each a new PostgreSQL backend and authentication.
	MaxIdleConns int
	// ConnMaxLifetime retires a connection after this long (so a fleet
	// rebalances after a database failover); negative means never.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection idle this long; negative means
	// never.
	ConnMaxIdleTime time.Duration
}

// DefaultPool returns the pool sizes Open uses for a dialect.
//
// PostgreSQL: 32 open and 32 idle connections, a lifetime of 30 minutes and
// an idle time of 5 minutes. Idle is as large as open, so a burst reuses its
// connections instead of closing them and opening new server processes;
// and a journey spends most of its time waiting for Visa, not holding a
// connection, so 32 serve 64 concurrent journeys with few waits (see
// docs/benchmarks.md). Three replicas then use at most 96 connections, under
// PostgreSQL's default max_connections of 100; size MaxOpenConns times the
// replicas to the server's limit.
//
// SQLite: one connection, kept for ever. SQLite has one writer at a time, so
// more connections in one process only trade a queue in the pool for
// SQLITE_BUSY retries inside the database (busy_timeout).
func DefaultPool(d Dialect) Pool {
	if d == Postgres {
		return Pool{MaxOpenConns: 32, MaxIdleConns: 32, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
	}
	return Pool{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: -1, ConnMaxIdleTime: -1}
}

// WithMaxOpenConns caps the connections the Store opens at once (default:
// DefaultPool). n must be at least 1.
func WithMaxOpenConns(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 100000 {
			return fmt.Errorf("sqlstore: WithMaxOpenConns(%d): want 1 to 100000", n)
		}
		cfg.pool.MaxOpenConns = n
		return nil
	}
}

// WithMaxIdleConns sets how many idle connections the Store keeps (default:
// DefaultPool). It should be at least the number of store calls in flight at
// busy times; it is capped at the maximum of open connections. n must be at
// least 1.
func WithMaxIdleConns(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 100000 {
			return fmt.Errorf("sqlstore: WithMaxIdleConns(%d): want 1 to 100000", n)
		}
		cfg.pool.MaxIdleConns = n
		return nil
	}
}

// WithConnMaxLifetime retires connections after d (default: DefaultPool); a
// negative d keeps them for ever. d must not be zero.
func WithConnMaxLifetime(d time.Duration) Option {
	return func(cfg *config) error {
		if d == 0 {
			return errors.New("sqlstore: WithConnMaxLifetime(0): want a positive duration, or negative for none")
		}
		cfg.pool.ConnMaxLifetime = d
		return nil
	}
}

// WithConnMaxIdleTime closes connections idle for d (default: DefaultPool);
// a negative d keeps them for ever. d must not be zero.
func WithConnMaxIdleTime(d time.Duration) Option {
	return func(cfg *config) error {
		if d == 0 {
			return errors.New("sqlstore: WithConnMaxIdleTime(0): want a positive duration, or negative for none")
		}
		cfg.pool.ConnMaxIdleTime = d
		return nil
	}
}

// apply sets the pool of db: the fields of p, or where zero those of def.
// With extra, one more connection is allowed than asked (the one pinning an
// in-memory SQLite database).
func (p Pool) apply(db *sql.DB, def Pool, extra int) {
	pick := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	pickD := func(v, d time.Duration) time.Duration {
		if v == 0 {
			v = d
		}
		if v < 0 {
			return 0 // database/sql: 0 means for ever
		}
		return v
	}
	open := pick(p.MaxOpenConns, def.MaxOpenConns)
	idle := min(pick(p.MaxIdleConns, def.MaxIdleConns), open)
	db.SetMaxOpenConns(open + extra)
	db.SetMaxIdleConns(idle + extra)
	db.SetConnMaxLifetime(pickD(p.ConnMaxLifetime, def.ConnMaxLifetime))
	db.SetConnMaxIdleTime(pickD(p.ConnMaxIdleTime, def.ConnMaxIdleTime))
}

// WithClock sets the clock the Store stamps records with (default time.Now).
func WithClock(c store.Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("sqlstore: WithClock: nil clock")
		}
		cfg.now = c
		return nil
	}
}

// WithoutMigrations makes Open skip applying the embedded migrations, for
// deployments that run Migrate (or their own tooling) separately.
func WithoutMigrations() Option {
	return func(cfg *config) error { cfg.migrate = false; return nil }
}

// WithPageSize sets how many rows a listing reads per query (default 200).
// Listings never hold a connection while yielding: they read a page, release
// it, and yield its rows.
func WithPageSize(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 10000 {
			return fmt.Errorf("sqlstore: WithPageSize(%d): want 1 to 10000", n)
		}
		cfg.pageSize = n
		return nil
	}
}

// Store is a store.Store on database/sql. It is safe for concurrent use, and
// several Stores (processes) may share one PostgreSQL database or SQLite file:
// every compare-and-swap is a single conditional UPDATE.
type Store struct {
	db       tracedDB
	dialect  Dialect
	now      store.Clock
	pageSize int
	ownsDB   bool
	keep     *sql.Conn // holds an in-memory SQLite database alive
	closed   atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens a Store on the database/sql driver named ("sqlite" or "pgx", or
// "pgx/v5") with dsn, and applies the migrations. The driver must be
// registered: import store/sqlite or store/postgres (whose Open functions are
// the usual way in), or the driver package itself. For SQLite, Open adds
// foreign_keys(1), busy_timeout(5000) and _txlock=immediate to the DSN unless
// it sets them, and uses one connection for work.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	var d Dialect
	switch driver {
	case "sqlite":
		d = SQLite
		dsn = sqliteDSN(dsn)
	case "pgx", "pgx/v5":
		d = Postgres
	default:
		return nil, fmt.Errorf("sqlstore: Open: unsupported driver %q (want sqlite or pgx)", driver)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", d, err)
	}
	memdb := d == SQLite && strings.Contains(dsn, "vfs=memdb")
	s, err := newStore(ctx, db, d, true, memdb, opts)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on a database the caller opened and keeps owning: Close
// does not close db. It applies the migrations unless WithoutMigrations. It
// leaves db's pool as the caller set it, except for the sizes given with the
// pool options (WithMaxOpenConns and the like). A
// SQLite db must enforce foreign keys (DSN _pragma=foreign_keys(1)) and should
// set a busy timeout; New refuses one without foreign keys.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: New: nil *sql.DB")
	}
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("sqlstore: New: unknown dialect %q", d)
	}
	return newStore(ctx, db, d, false, false, opts)
}

func newStore(ctx context.Context, db *sql.DB, d Dialect, owns, memdb bool, opts []Option) (*Store, error) {
	cfg := config{now: time.Now, migrate: true, pageSize: 200}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	tdb := tracedDB{DB: db}
	if d == SQLite {
		tdb.stmts = &stmtCache{}
	}
	s := &Store{db: tdb, dialect: d, now: cfg.now, pageSize: cfg.pageSize, ownsDB: owns}
	extra := 0
	if memdb {
		extra = 1 // the connection that pins the in-memory database
	}
	switch {
	case owns:
		// A PostgreSQL connection costs a server process and an
		// authentication exchange, so the pool keeps as many idle as it
		// may open; SQLite works on one connection (DefaultPool). Listings
		// never hold a connection while yielding.
		cfg.pool.apply(db, DefaultPool(d), extra)
	case cfg.pool != Pool{}:
		// The caller's *sql.DB: only the sizes asked for change.
		cfg.pool.applyGiven(db)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", d, err)
	}
	if d == SQLite {
		// References (a card's user, a passkey's card) are foreign keys,
		// which SQLite enforces only when asked to, per connection.
		var fk int
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			return nil, fmt.Errorf("sqlstore: read PRAGMA foreign_keys: %w", err)
		}
		if fk != 1 {
			return nil, errors.New("sqlstore: SQLite foreign keys are off: add _pragma=foreign_keys(1) to the DSN")
		}
	}
	if memdb {
		keep, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: pin in-memory database: %w", err)
		}
		s.keep = keep
	}
	if cfg.migrate {
		if err := s.Migrate(ctx); err != nil {
			s.closeConns()
			return nil, err
		}
	}
	return s, nil
}

// applyGiven sets on db only the non-zero fields of p.
func (p Pool) applyGiven(db *sql.DB) {
	dur := func(d time.Duration) time.Duration { return max(d, 0) }
	if p.MaxOpenConns != 0 {
		db.SetMaxOpenConns(p.MaxOpenConns)
	}
	if p.MaxIdleConns != 0 {
		db.SetMaxIdleConns(p.MaxIdleConns)
	}
	if p.ConnMaxLifetime != 0 {
		db.SetConnMaxLifetime(dur(p.ConnMaxLifetime))
	}
	if p.ConnMaxIdleTime != 0 {
		db.SetConnMaxIdleTime(dur(p.ConnMaxIdleTime))
	}
}

// Stats reports the connection pool's statistics (database/sql's), for
// metrics: connections open and in use, waits for a connection, and
// connections closed for being idle or old. Connections opened so far are
// OpenConnections plus the three Closed counts.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }

// Dialect reports the database behind s.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close implements store.Store. It closes the database if Open opened it.
// A second Close returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeConns()
}

func (s *Store) closeConns() error {
	errs := []error{s.db.stmts.close()}
	if s.keep != nil {
		errs = append(errs, s.keep.Close())
	}
	if s.ownsDB {
		errs = append(errs, s.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// sqliteDSN adds the pragmas the Store relies on unless the DSN sets them.
func sqliteDSN(dsn string) string {
	add := func(key, val string) {
		if strings.Contains(dsn, key) {
			return
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + val
	}
	add("foreign_keys", "_pragma=foreign_keys(1)")
	add("busy_timeout", "_pragma=busy_timeout(5000)")
	add("_txlock", "_txlock=immediate")
	return dsn
}
