package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/vicgo/visa/store"
)

const txCols = `id, user_id, token_id, instruction_id, client_reference_id, transaction_reference_id,
	mandate_id, amount, currency, merchant_name, merchant_url, status, response_code,
	authorization_code, dynamic_data_id, failure_reason, created_at, updated_at, completed_at, confirmed_at,
	idempotency_key, failure_code`

func scanTx(row interface{ Scan(...any) error }) (store.Transaction, error) {
	var t store.Transaction
	err := row.Scan(txDest(&t)...)
	return t, err
}

// txDest are the scan destinations of txCols in t.
func txDest(t *store.Transaction) []any {
	return []any{&t.ID, &t.UserID, &t.TokenID, &t.InstructionID, &t.ClientReferenceID,
		&t.TransactionReferenceID, &t.MandateID, &t.Amount, &t.Currency, &t.MerchantName,
		&t.MerchantURL, &t.Status, &t.ResponseCode, &t.AuthorizationCode, &t.DynamicDataID,
		&t.FailureReason, dbTime{&t.CreatedAt}, dbTime{&t.UpdatedAt}, dbTime{&t.CompletedAt},
		dbTime{&t.ConfirmedAt}, &t.IdempotencyKey, &t.FailureCode}
}

// CreateTransaction implements store.Store: one INSERT ... ON CONFLICT DO
// NOTHING (on the id and on the user's idempotency key), so of racing
// creators exactly one inserts.
func (s *Store) CreateTransaction(ctx context.Context, t store.Transaction) error {
	if err := t.Validate(); err != nil {
		return err
	}
	const op = "create transaction"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, insertTx+` ON CONFLICT DO NOTHING`, s.txArgs(t, s.stamp())...)
	if inserted, err := txInserted(op, t, res, err); err != nil || inserted {
		return err
	}
	return s.createConflict(ctx, op, "transactions", t.ID)
}

// noUser is the error of creating t for a user the store does not have.
func noUser(t store.Transaction) error {
	return fmt.Errorf("sqlstore: create transaction %s: user %s: %w", t.ID, t.UserID, store.ErrNotFound)
}

// txInserted reads the outcome of inserting t with ON CONFLICT DO NOTHING:
// whether the row was inserted (false: a conflict), or the error, a
// missing user being store.ErrNotFound.
func txInserted(op string, t store.Transaction, res sql.Result, err error) (bool, error) {
	if isForeignKey(err) {
		return false, noUser(t)
	}
	if err != nil {
		return false, wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(op, err)
	}
	return n > 0, nil
}

// insertTx is CreateTransaction's statement (without its ON CONFLICT
// clause), with the arguments txArgs gives.
const insertTx = `INSERT INTO transactions (` + txCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, NULL, $19, $20)`

// txArgs are the arguments of insertTx for t, created at now.
func (s *Store) txArgs(t store.Transaction, now time.Time) []any {
	var completed any
	if t.Status.Final() {
		completed = s.timeArg(now)
	}
	return []any{t.ID, t.UserID, t.TokenID, t.InstructionID, t.ClientReferenceID, t.TransactionReferenceID,
		t.MandateID, t.Amount, t.Currency, t.MerchantName, t.MerchantURL, t.Status, t.ResponseCode,
		t.AuthorizationCode, t.DynamicDataID, t.FailureReason, s.timeArg(now), completed, t.IdempotencyKey, t.FailureCode}
}

// createConflict says why an INSERT ... ON CONFLICT DO NOTHING inserted
// nothing: the id exists, or else the idempotency key does.
func (s *Store) createConflict(ctx context.Context, op, table, id string) error {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
	switch {
	case err == nil:
		return fmt.Errorf("sqlstore: %s %s: already exists: %w", op, id, store.ErrConflict)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s %s: %w", op, id, store.ErrDuplicateKey)
	}
	return wrap(op, err)
}

// GetTransactionByKey implements store.Store.
func (s *Store) GetTransactionByKey(ctx context.Context, userID, key string) (store.Transaction, error) {
	if err := store.CheckID("UserID", userID); err != nil {
		return store.Transaction{}, err
	}
	if err := store.CheckID("IdempotencyKey", key); err != nil {
		return store.Transaction{}, err
	}
	const op = "get transaction by key"
	if err := s.begin(ctx, op); err != nil {
		return store.Transaction{}, err
	}
	t, err := scanTx(s.db.QueryRowContext(ctx,
		`SELECT `+txCols+` FROM transactions WHERE user_id = $1 AND idempotency_key = $2
		AND idempotency_key <> ''`, userID, key)) // the partial unique index's condition, spelt out so it is used
	if errors.Is(err, sql.ErrNoRows) {
		return store.Transaction{}, fmt.Errorf("sqlstore: transaction of user %s with that key: %w", userID, store.ErrNotFound)
	}
	return t, wrap(op, err)
}

// GetTransaction implements store.Store.
func (s *Store) GetTransaction(ctx context.Context, id string) (store.Transaction, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.Transaction{}, err
	}
	const op = "get transaction"
	if err := s.begin(ctx, op); err != nil {
		return store.Transaction{}, err
	}
	t, err := scanTx(s.db.QueryRowContext(ctx, `SELECT `+txCols+` FROM transactions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Transaction{}, fmt.Errorf("sqlstore: transaction %s: %w", id, store.ErrNotFound)
	}
	return t, wrap(op, err)
}

// TransitionTransaction implements store.Store with one conditional UPDATE
// (WHERE id = ? AND status = from [AND confirmed_at IS NULL]) ... RETURNING.
// The database applies it atomically, so across connections and processes
// exactly one of several racing callers matches the row.
func (s *Store) TransitionTransaction(ctx context.Context, id string, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, error) {
	if err := store.CheckTransition(id, from, to, upd); err != nil {
		return store.Transaction{}, err
	}
	const op = "transition transaction"
	if err := s.begin(ctx, op); err != nil {
		return store.Transaction{}, err
	}
	q, args := s.transitionSQL(id, from, to, upd, s.timeArg(s.stamp()))
	t, err := scanTx(s.db.QueryRowContext(ctx, q, args...))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Transaction{}, wrap(op, err)
	}
	return store.Transaction{}, s.transitionConflict(ctx, op, id, from, upd)
}

// transitionSQL is TransitionTransaction's conditional UPDATE ...
// RETURNING and its arguments.
func (s *Store) transitionSQL(id string, from, to store.TxStatus, upd store.TxUpdate, now any) (string, []any) {
	set := []string{"status = $1", "updated_at = $2"}
	args := []any{to, now}
	add := func(col string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	for _, f := range []struct {
		col string
		v   *string
	}{
		{"instruction_id", upd.InstructionID},
		{"transaction_reference_id", upd.TransactionReferenceID},
		{"mandate_id", upd.MandateID},
		{"response_code", upd.ResponseCode},
		{"authorization_code", upd.AuthorizationCode},
		{"dynamic_data_id", upd.DynamicDataID},
		{"failure_reason", upd.FailureReason},
		{"failure_code", upd.FailureCode},
	} {
		if f.v != nil {
			add(f.col, *f.v)
		}
	}
	if to.Final() && !from.Final() {
		add("completed_at", now)
	}
	if upd.Confirmed {
		add("confirmed_at", now)
	}
	args = append(args, id, from)
	where := fmt.Sprintf("id = $%d AND status = $%d", len(args)-1, len(args))
	if upd.Confirmed {
		where += " AND confirmed_at IS NULL"
	}
	return `UPDATE transactions SET ` + strings.Join(set, ", ") + ` WHERE ` + where + ` RETURNING ` + txCols, args
}

// transitionConflict says why a transition's UPDATE matched nothing.
func (s *Store) transitionConflict(ctx context.Context, op, id string, from store.TxStatus, upd store.TxUpdate) error {
	var cur store.TxStatus
	var confirmed bool
	err := s.db.QueryRowContext(ctx, `SELECT status, confirmed_at IS NOT NULL FROM transactions WHERE id = $1`, id).
		Scan(&cur, &confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: transaction %s: %w", id, store.ErrNotFound)
	case err != nil:
		return wrap(op, err)
	case cur == from && upd.Confirmed && confirmed:
		return fmt.Errorf("sqlstore: transaction %s: already confirmed: %w", id, store.ErrConflict)
	}
	return fmt.Errorf("sqlstore: transaction %s: status is %s, not %s: %w", id, cur, from, store.ErrConflict)
}

// ListTransactions implements store.Store. Pages are keyset queries on
// (created_at, id), a row comparison that the indexes serve in either order;
// the non-final listing is a status IN (...) over the status index.
func (s *Store) ListTransactions(ctx context.Context, f store.TxFilter) iter.Seq2[store.Transaction, error] {
	f.Status = append([]store.TxStatus(nil), f.Status...) // the caller may reuse its slice
	var start *cursor
	if p, err := f.After(); err == nil && p != nil { // check reports a bad cursor
		start = &cursor{p.CreatedAt, p.ID}
	}
	desc := f.Order == store.NewestFirst
	order := ` ORDER BY created_at, id LIMIT `
	if desc {
		order = ` ORDER BY created_at DESC, id DESC LIMIT `
	}
	return pages(ctx, s, "list transactions", pageQuery[store.Transaction]{
		check: f.Validate,
		start: start,
		total: f.Limit,
		query: func(after *cursor, limit int) (string, []any) {
			var conds []string
			var args []any
			arg := func(v any) string {
				args = append(args, v)
				return fmt.Sprintf("$%d", len(args))
			}
			in := func(sts []store.TxStatus) string {
				ph := make([]string, len(sts))
				for i, st := range sts {
					ph[i] = arg(st)
				}
				return "status IN (" + strings.Join(ph, ", ") + ")"
			}
			if f.UserID != "" {
				conds = append(conds, "user_id = "+arg(f.UserID))
			}
			if f.TokenID != "" {
				conds = append(conds, "token_id = "+arg(f.TokenID))
			}
			if len(f.Status) > 0 {
				conds = append(conds, in(f.Status))
			}
			if f.NonFinalOnly {
				conds = append(conds, nonFinalTxCond)
			}
			if f.Unconfirmed {
				conds = append(conds, unconfirmedTxCond)
			}
			q := `SELECT ` + txCols + ` FROM transactions` + s.txIndexHint(f) + ` WHERE ` + strings.Join(append(conds, "1 = 1"), " AND ")
			switch {
			case f.UserID != "":
				q, args = after.whereLed(s, q, args, "user_id", f.UserID, "id", desc)
			case f.TokenID != "":
				q, args = after.whereLed(s, q, args, "token_id", f.TokenID, "id", desc)
			default:
				q, args = after.where(s, q, args, "id", desc)
			}
			return q + order + fmt.Sprint(limit), args
		},
		scan: func(r *sql.Rows) (store.Transaction, cursor, error) {
			t, err := scanTx(r)
			return t, cursor{t.CreatedAt, t.ID}, err
		},
	})
}

// The reconciler's work lists, spelt as the partial indexes of migration
// 0003 spell them, so the planner matches them even in a generic plan (a
// parameter in their place would not match).
const (
	nonFinalTxCond = `status IN ('PENDING', 'AUTHENTICATED', 'INSTRUCTED', 'CREDENTIALS_REQUESTED',
                     'CREDENTIALS_ISSUED', 'AUTHORIZING', 'AUTHORIZED')`
	unconfirmedTxCond = `(status = 'AUTHORIZED' OR (status = 'DECLINED' AND confirmed_at IS NULL))`
)

// txIndexHint names, on SQLite, the partial index a reconciler's list reads
// when nothing narrower (a user, a token) applies: without statistics SQLite
// would read every row under way by status and sort them for each page.
// PostgreSQL picks these indexes by itself.
func (s *Store) txIndexHint(f store.TxFilter) string {
	if s.dialect != SQLite || f.UserID != "" || f.TokenID != "" {
		return ""
	}
	switch {
	case f.Unconfirmed:
		return " INDEXED BY transactions_unconfirmed"
	case f.NonFinalOnly:
		return " INDEXED BY transactions_nonfinal"
	}
	return ""
}
