package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// Store runs outside migrations (the tests read the SQL to check its plans).
type tracedDB struct {
	*sql.DB
	trace func(query string, args []any)
}

func (d tracedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if d.trace != nil {
		d.trace(q, args)
	}
	return d.DB.QueryRowContext(ctx, q, args...)
}

func (d tracedDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if d.trace != nil {
		d.trace(q, args)
	}
	return d.DB.QueryContext(ctx, q, args...)
}

func (d tracedDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if d.trace != nil {
		d.trace(q, args)
	}
	return d.DB.ExecContext(ctx, q, args...)
}
