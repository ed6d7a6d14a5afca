package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/vicgo/visa/store"
)

var _ store.PurchaseWriter = (*Store)(nil)

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

// CreatePurchase implements store.PurchaseWriter. On PostgreSQL it is one
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
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, sql.ErrNoRows):
			return store.Journey{}, s.createConflict(ctx, "create journey", "journeys", j.ID)
		case isForeignKey(err):
			return store.Journey{}, noUser(t)
		case isUniqueViolation(err): // of the transaction's insert
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
		if inserted, err := txInserted(op, t, res, err); err != nil || inserted {
			return err
		}
		return errRolledBack{func() error { return s.createConflict(ctx, "create transaction", "transactions", t.ID) }}
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

// placeholder matches a statement's numbered parameters.
var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// shiftParams renumbers q's parameters $n as $(n+by).
func shiftParams(q string, by int) string {
	return placeholder.ReplaceAllStringFunc(q, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(n+by)
	})
}

// finishSQL caches FinishPurchase's statement on PostgreSQL per
// transition statement (TransitionTransaction builds few distinct ones).
var finishSQL sync.Map // transition SQL → statement

// finishStatement is FinishPurchase's statement on PostgreSQL around the
// transition tq with its nArgs arguments.
func finishStatement(tq string, nArgs int) string {
	if q, ok := finishSQL.Load(tq); ok {
		return q.(string)
	}
	jq := strings.Replace(shiftParams(updateJourney, nArgs), ` RETURNING `, ` AND EXISTS (SELECT 1 FROM t) RETURNING `, 1)
	q := `WITH t AS (` + tq + `), j AS (` + jq + `) SELECT ` + finishTxCols + `, ` + finishJourneyCols +
		` FROM t LEFT JOIN j ON true`
	finishSQL.Store(tq, q)
	return q
}

// finishJourneyCols are the journey's columns as FinishPurchase's statement
// on PostgreSQL selects them from its LEFT JOIN: NULL (no update) read as
// the zero values, and a last column saying whether the journey was
// updated.
var finishJourneyCols = func() string {
	var cols []string
	for _, c := range strings.Split(journeyCols, ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "state":
			cols = append(cols, "COALESCE(j.state, ''::bytea)")
		case c == "version":
			cols = append(cols, "COALESCE(j.version, 0)")
		case strings.HasSuffix(c, "_at"):
			cols = append(cols, "j."+c)
		default:
			cols = append(cols, "COALESCE(j."+c+", '')")
		}
	}
	return strings.Join(cols, ", ") + ", j.id IS NOT NULL"
}()

// txColsOf is txCols qualified with the alias a.
func txColsOf(a string) string {
	var cols []string
	for _, c := range strings.Split(txCols, ",") {
		cols = append(cols, a+"."+strings.TrimSpace(c))
	}
	return strings.Join(cols, ", ")
}

var finishTxCols = txColsOf("t")

// FinishPurchase implements store.PurchaseWriter. On PostgreSQL it is one
// statement, one round trip: the transition's UPDATE, and the journey's
// UPDATE conditioned on the transition's having matched (EXISTS on its
// RETURNING rows). On SQLite it is one immediate transaction of the two
// UPDATEs, one commit instead of two; it commits the move even when the
// journey's compare-and-swap matches nothing.
func (s *Store) FinishPurchase(ctx context.Context, j store.Journey, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, store.Journey, error) {
	var zt store.Transaction
	var zj store.Journey
	if err := j.Validate(); err != nil {
		return zt, zj, err
	}
	if err := store.CheckTransition(j.ID, from, to, upd); err != nil {
		return zt, zj, err
	}
	const op = "finish purchase"
	if err := s.begin(ctx, op); err != nil {
		return zt, zj, err
	}
	now := s.timeArg(s.stamp())
	tq, targs := s.transitionSQL(j.ID, from, to, upd, now)
	jargs := s.updateJourneyArgs(j, now)
	if s.dialect == Postgres {
		q := finishStatement(tq, len(targs))
		var t store.Transaction
		var out store.Journey
		var updated bool
		err := s.db.QueryRowContext(ctx, q, append(targs, jargs...)...).
			Scan(append(append(txDest(&t), journeyDest(&out)...), &updated)...)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return zt, zj, s.transitionConflict(ctx, op, j.ID, from, upd)
		case err != nil:
			return zt, zj, wrap(op, err)
		case !updated:
			return t, zj, s.versionConflict(ctx, op, j)
		}
		if len(out.State) == 0 {
			out.State = nil
		}
		return t, out, nil
	}
	var t store.Transaction
	var out store.Journey
	var jerr error
	err := s.inTx(ctx, op, []string{tq, updateJourney}, func(q txQuerier) error {
		var err error
		t, err = scanTx(q.QueryRowContext(ctx, 0, targs...))
		if errors.Is(err, sql.ErrNoRows) {
			return errRolledBack{func() error { return s.transitionConflict(ctx, op, j.ID, from, upd) }}
		}
		if err != nil {
			return wrap(op, err)
		}
		out, jerr = scanJourney(q.QueryRowContext(ctx, 1, jargs...))
		if jerr != nil && !errors.Is(jerr, sql.ErrNoRows) {
			return wrap(op, jerr) // a database error: the move is rolled back too
		}
		return nil // the move stands, whether or not the journey matched
	})
	switch {
	case err != nil:
		return zt, zj, err
	case jerr != nil:
		return t, zj, s.versionConflict(ctx, op, j)
	}
	return t, out, nil
}
