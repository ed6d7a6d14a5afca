package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vicgo/visa/store"
)

var errClosed = store.ErrClosed

func (s *Store) stamp() time.Time { return store.Stamp(s.now()) }

// timeArg is how a time stamp travels to the database: microseconds since the
// epoch for SQLite, a time.Time (TIMESTAMPTZ) for PostgreSQL; NULL when zero.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t
}

// dbTime scans a time stamp column of either dialect.
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(x).UTC()
	case time.Time:
		*d.t = store.Stamp(x)
	default:
		return fmt.Errorf("sqlstore: time stamp column holds %T", v)
	}
	return nil
}

// begin checks closure and the context before any database work, so a call
// with a done context fails the same way on every dialect.
func (s *Store) begin(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlstore: %s: %w", op, errClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return nil
}

// isForeignKey reports a foreign-key violation from either driver. It
// recognises the drivers' errors by their methods, so this package links
// neither driver: pgx's *pgconn.PgError has SQLState ("23503"), and
// modernc's *sqlite.Error has Code (SQLITE_CONSTRAINT_FOREIGNKEY, 787).
func isForeignKey(err error) bool {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState() == "23503"
	}
	var se interface{ Code() int }
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintForeignKey
	}
	return false
}

// isUniqueViolation reports PostgreSQL's unique_violation (23505), which
// a statement without ON CONFLICT raises.
func isUniqueViolation(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}

// sqliteConstraintForeignKey is SQLite's extended result code
// SQLITE_CONSTRAINT_FOREIGNKEY: SQLITE_CONSTRAINT (19) | 3<<8.
const sqliteConstraintForeignKey = 19 | 3<<8

// wrap adds the operation to a database error. A database error never holds
// record values here: every statement passes them as parameters.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// tracedDB is the Store's *sql.DB with a hook that sees every statement the
// Store runs outside migrations (the tests read the SQL to check its plans),
// and, for SQLite, a cache of prepared statements.
type tracedDB struct {
	*sql.DB
	trace func(query string, args []any)
	stmts *stmtCache // nil: every statement is sent as text
}

// stmtCache keeps a *sql.Stmt per SQL text. SQLite (modernc) parses and
// plans a statement's text in this process on every call that is not
// prepared: a tenth of an agent's CPU per purchase in the profile
// (docs/benchmarks.md, agent-process CPU per purchase). A *sql.Stmt is
// prepared once per connection and reused. PostgreSQL's driver (pgx)
// already caches statements per connection, and parsing happens in the
// server, so it goes without. The Store's SQL texts are few (built from
// fixed parts); past maxCachedStmts a text is sent unprepared.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// maxCachedStmts bounds the cache; the Store builds far fewer texts.
const maxCachedStmts = 256

// stmt returns the prepared statement of q, preparing it on first use, or
// nil to run q unprepared (no cache, cache full or closed, or the prepare
// failed: the unprepared call then reports the error).
func (d tracedDB) stmt(ctx context.Context, q string) *sql.Stmt {
	c := d.stmts
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if c.closed || len(c.m) >= maxCachedStmts {
		return nil
	}
	st, err := d.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// close closes the prepared statements; later statements run unprepared.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

func (d tracedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if d.trace != nil {
		d.trace(q, args)
	}
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.DB.QueryRowContext(ctx, q, args...)
}

func (d tracedDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if d.trace != nil {
		d.trace(q, args)
	}
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.DB.QueryContext(ctx, q, args...)
}

func (d tracedDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if d.trace != nil {
		d.trace(q, args)
	}
	if st := d.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.DB.ExecContext(ctx, q, args...)
}
