package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vicgo/visa/store"
)

var _ store.PurchaseCreator = (*Store)(nil)

// insertPurchase is CreatePurchase's one statement on PostgreSQL: the
// journey's insert (insertJourney's arguments), then the transaction's
// (txArgs's, numbered on from $18), which inserts only when the journey
// did. The transaction's insert has no ON CONFLICT: a unique violation there
// aborts the whole statement, the journey's insert with it.
const insertPurchase = `WITH j AS (` + insertJourney + `),
	t AS (INSERT INTO transactions (` + txCols + `)
		SELECT $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33,
			$34::timestamptz, $34::timestamptz, $35::timestamptz, NULL, $36, $37 FROM j RETURNING id)
	SELECT ` + journeyCols + ` FROM j`

// CreatePurchase implements store.PurchaseCreator. On PostgreSQL it is one
// statement (insertPurchase), one round trip; on SQLite one immediate
// transaction of the two inserts, one commit instead of two. Either way a
// failure of either insert leaves nothing.
func (s *Store) CreatePurchase(ctx context.Context, j store.Journey, t store.Transaction) (store.Journey, error) {
	if err := store.ValidatePurchase(j, t); err != nil {
		return store.Journey{}, err
	}
	const op = "create purchase"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	now := s.stamp()
	if s.dialect == Postgres {
		out, err := scanJourney(s.db.QueryRowContext(ctx, insertPurchase, append(s.journeyArgs(j, now), s.txArgs(t, now)...)...))
		var pe interface{ SQLState() string }
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, sql.ErrNoRows):
			return store.Journey{}, s.createConflict(ctx, "create journey", "journeys", j.ID)
		case isForeignKey(err):
			return store.Journey{}, fmt.Errorf("sqlstore: create transaction %s: user %s: %w", t.ID, t.UserID, store.ErrNotFound)
		case errors.As(err, &pe) && pe.SQLState() == "23505": // unique_violation, of the transaction's insert
			return store.Journey{}, s.createConflict(ctx, "create transaction", "transactions", t.ID)
		}
		return store.Journey{}, wrap(op, err)
	}
	var out store.Journey
	err := s.inTx(ctx, op, []string{insertJourney, insertTx + ` ON CONFLICT DO NOTHING`}, func(q txQuerier) error {
		var err error
		out, err = scanJourney(q.QueryRowContext(ctx, 0, s.journeyArgs(j, now)...))
		if errors.Is(err, sql.ErrNoRows) {
			return errRolledBack{func() error { return s.createConflict(ctx, "create journey", "journeys", j.ID) }}
		}
		if err != nil {
			return wrap(op, err)
		}
		res, err := q.ExecContext(ctx, 1, s.txArgs(t, now)...)
		if isForeignKey(err) {
			return fmt.Errorf("sqlstore: create transaction %s: user %s: %w", t.ID, t.UserID, store.ErrNotFound)
		}
		if err != nil {
			return wrap(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrap(op, err)
		} else if n == 0 {
			return errRolledBack{func() error { return s.createConflict(ctx, "create transaction", "transactions", t.ID) }}
		}
		return nil
	})
	if err != nil {
		return store.Journey{}, err
	}
	return out, nil
}

// errRolledBack asks inTx to roll back and then return explain's error:
// explaining a conflict reads the database, which on SQLite's one
// connection can only happen once the transaction has let go of it.
type errRolledBack struct{ explain func() error }

func (errRolledBack) Error() string { return "sqlstore: rolled back" }

// txQuerier runs the statements of one database transaction, by their
// index in the list given to inTx, through the Store's prepared statements
// where it has them.
type txQuerier struct {
	tx    *sql.Tx
	d     tracedDB
	qs    []string
	stmts []*sql.Stmt
}

func (q txQuerier) stmt(ctx context.Context, i int) *sql.Stmt {
	if st := q.stmts[i]; st != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return nil
}

func (q txQuerier) QueryRowContext(ctx context.Context, i int, args ...any) *sql.Row {
	if q.d.trace != nil {
		q.d.trace(q.qs[i], args)
	}
	if st := q.stmt(ctx, i); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, q.qs[i], args...)
}

func (q txQuerier) ExecContext(ctx context.Context, i int, args ...any) (sql.Result, error) {
	if q.d.trace != nil {
		q.d.trace(q.qs[i], args)
	}
	if st := q.stmt(ctx, i); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, q.qs[i], args...)
}

// inTx runs fn in one database transaction (on SQLite an immediate one:
// the DSN's _txlock) and commits it when fn returns nil; otherwise it rolls
// back, and returns fn's error (or, for an errRolledBack, its explanation,
// read after the rollback). The statements qs are prepared before the
// transaction begins: on SQLite's one connection a prepare inside it would
// wait for that connection for ever.
func (s *Store) inTx(ctx context.Context, op string, qs []string, fn func(txQuerier) error) error {
	q := txQuerier{d: s.db, qs: qs, stmts: make([]*sql.Stmt, len(qs))}
	for i, text := range qs {
		q.stmts[i] = s.db.stmt(ctx, text)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	q.tx = tx
	if err := fn(q); err != nil {
		rerr := tx.Rollback()
		var rb errRolledBack
		if errors.As(err, &rb) {
			if rerr != nil {
				return wrap(op, rerr)
			}
			return rb.explain()
		}
		return err
	}
	return wrap(op, tx.Commit())
}
