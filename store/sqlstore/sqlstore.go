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
	db       *sql.DB
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
// does not close db. It applies the migrations unless WithoutMigrations. A
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
	s := &Store{db: db, dialect: d, now: cfg.now, pageSize: cfg.pageSize, ownsDB: owns}
	if d == SQLite && owns {
		// SQLite has one writer at a time; one working connection avoids
		// SQLITE_BUSY within the process (listings never hold it while
		// yielding). A second connection pins an in-memory database.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	if d == Postgres && owns {
		// A PostgreSQL connection costs a server process and an
		// authentication exchange: keep enough idle ones for bursts. For
		// other pool settings, open the *sql.DB yourself and use New.
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
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
		db.SetMaxOpenConns(2)
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
	var errs []error
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
