package sqlstore_test

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
)

// statement is one SQL statement a Store ran, with its arguments.
type statement struct {
	query string
	args  []any
}

// hotQueries seeds s and runs the calls a busy agent makes all the time,
// returning the statements each ran: reads by id and by idempotency key, a
// user's purchases newest first with a cursor, the reconciler's lists
// (non-final and unconfirmed transactions, claimable journeys, each with a
// cursor), and the compare-and-swaps on one row.
//
// Besides those few rows, the tables hold 20,000 transactions and journeys
// of other users (ten on PostgreSQL), nearly all final, and are analyzed: the planner then
// sees skewed, realistic statistics, under which a generic plan could prefer
// walking a time index and filtering for the user.
func hotQueries(t *testing.T, s *sqlstore.Store, db *sql.DB) map[string][]statement {
	ctx := t.Context()
	for _, u := range []string{"alice", "bob"} {
		require.NoError(t, s.PutUser(ctx, store.User{ID: u, Email: u + "@example.com"}))
		require.NoError(t, s.PutCard(ctx, store.Card{TokenID: "tok-" + u, UserID: u, Last4: "1111",
			ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive}))
	}
	for i := range 30 {
		u := []string{"alice", "bob"}[i%2]
		st := []store.TxStatus{store.TxCredentialsIssued, store.TxAuthorized, store.TxCompleted}[i%3]
		require.NoError(t, s.CreateTransaction(ctx, store.Transaction{ID: fmt.Sprintf("tx-%02d", i), UserID: u,
			TokenID: "tok-" + u, Amount: "1.00", Currency: "USD", Status: st, IdempotencyKey: fmt.Sprintf("key-%02d", i)}))
		js := []store.JourneyStatus{store.JourneyWaiting, store.JourneyRunning, store.JourneySucceeded}[i%3]
		_, err := s.CreateJourney(ctx, store.Journey{ID: fmt.Sprintf("j-%02d", i), Kind: store.JourneyPurchase,
			UserID: u, IdempotencyKey: fmt.Sprintf("key-%02d", i), Status: js, Step: "otp", NextAction: next(js)})
		require.NoError(t, err)
	}

	bulk(t, db, s.Dialect())

	var got []statement
	sqlstore.SetTrace(s, func(q string, args []any) { got = append(got, statement{q, args}) })
	defer sqlstore.SetTrace(s, nil)
	out := map[string][]statement{}
	run := func(name string, f func() error) {
		got = nil
		require.NoError(t, f(), name)
		require.NotEmpty(t, got, name)
		out[name] = got
	}
	drain := func(seq func(func(store.Transaction, error) bool)) error {
		for _, err := range seq {
			if err != nil {
				return err
			}
		}
		return nil
	}
	page2 := func(f store.TxFilter) store.TxFilter {
		var last store.Transaction
		for x, err := range s.ListTransactions(ctx, f) {
			require.NoError(t, err)
			last = x
		}
		f.Cursor = store.CursorAfter(f, last)
		return f
	}
	run("get transaction by id", func() error { _, err := s.GetTransaction(ctx, "tx-07"); return err })
	run("get transaction by idempotency key", func() error {
		_, err := s.GetTransactionByKey(ctx, "bob", "key-07")
		return err
	})
	run("list a user's purchases newest first, next page", func() error {
		return drain(s.ListTransactions(ctx, page2(store.TxFilter{UserID: "alice", Limit: 3})))
	})
	run("list non-final transactions (Resume), next page", func() error {
		return drain(s.ListTransactions(ctx, page2(store.TxFilter{NonFinalOnly: true, Order: store.OldestFirst, Limit: 2})))
	})
	run("list unconfirmed transactions (Reconcile), next page", func() error {
		return drain(s.ListTransactions(ctx, page2(store.TxFilter{Unconfirmed: true, Order: store.OldestFirst, Limit: 2})))
	})
	run("transition a transaction", func() error {
		_, err := s.TransitionTransaction(ctx, "tx-00", store.TxCredentialsIssued, store.TxAuthorizing, store.TxUpdate{})
		return err
	})
	run("get journey by id", func() error { _, err := s.GetJourney(ctx, "j-04"); return err })
	run("get journey by key", func() error {
		_, err := s.GetJourneyByKey(ctx, "alice", store.JourneyPurchase, "key-04")
		return err
	})
	run("list claimable journeys, several pages", func() error { // the test Stores read 4 rows a page
		for _, err := range s.ListJourneys(ctx, store.JourneyFilter{NonFinalOnly: true}) {
			if err != nil {
				return err
			}
		}
		return nil
	})
	run("claim a journey", func() error {
		_, err := s.ClaimJourney(ctx, "j-01", "replica-a", time.Now().Add(time.Minute))
		return err
	})
	run("update a journey", func() error {
		j, err := s.GetJourney(ctx, "j-01")
		if err != nil {
			return err
		}
		j.Step = "next"
		_, err = s.UpdateJourney(ctx, j)
		return err
	})
	return out
}

// wantIndex names, for each hot call, the indexes its statements may use
// (PostgreSQL's and SQLite's names); any other plan fails.
var wantIndex = map[string][]string{
	"get transaction by id":                                {"transactions_pkey", "sqlite_autoindex_transactions_1"},
	"get transaction by idempotency key":                   {"transactions_by_key"},
	"list a user's purchases newest first, next page":      {"transactions_by_user"},
	"list non-final transactions (Resume), next page":      {"transactions_nonfinal"},
	"list unconfirmed transactions (Reconcile), next page": {"transactions_unconfirmed"},
	// A compare-and-swap finds its row by id; PostgreSQL may also read
	// the id from the partial index of the rows still under way when its
	// statistics say that is as cheap (that index holds only those).
	"transition a transaction":               {"transactions_pkey", "sqlite_autoindex_transactions_1", "transactions_by_status", "transactions_nonfinal"},
	"get journey by id":                      {"journeys_pkey", "sqlite_autoindex_journeys_1"},
	"get journey by key":                     {"journeys_by_key"},
	"list claimable journeys, several pages": {"journeys_live"},
	"claim a journey":                        {"journeys_pkey", "sqlite_autoindex_journeys_1", "journeys_live"},
	"update a journey":                       {"journeys_pkey", "sqlite_autoindex_journeys_1", "journeys_live"},
}

func usesWanted(t *testing.T, name, kind, plan, query string) {
	t.Helper()
	want, ok := wantIndex[name]
	require.True(t, ok, "no expected index for %q", name)
	for _, w := range want {
		if regexp.MustCompile(`\b` + w + `\b`).MatchString(plan) {
			return
		}
	}
	t.Errorf("%s (%s plan): uses none of %v:\n%s\nin the plan of\n%s", name, kind, want, plan, query)
}

// partialScan is the one SCAN allowed: the first page of a reconciler's list
// reads its partial index in order, which holds only the rows the list
// wants, and stops at the page's end.
var partialScan = regexp.MustCompile(`^SCAN \w+ USING INDEX (transactions_nonfinal|transactions_unconfirmed|journeys_live)$`)

// TestPlansSQLite: every hot statement is a SEARCH of an index on SQLite
// (EXPLAIN QUERY PLAN), never a SCAN of a table or a whole index (but for
// partialScan), and uses the index wantIndex names.
func TestPlansSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "plans.db")
	s, err := sqlite.Open(t.Context(), path, sqlstore.WithPageSize(4))
	require.NoError(t, err)
	defer s.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	for name, stmts := range hotQueries(t, s, db) {
		for _, st := range stmts {
			rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+st.query, st.args...)
			require.NoError(t, err, name)
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			if isInsert(st.query) {
				continue
			}
			require.NotEmpty(t, plan, name)
			for _, step := range plan {
				assert.False(t, strings.HasPrefix(step, "SCAN ") && !partialScan.MatchString(step),
					"%s: a full scan:\n%s\nin the plan of\n%s", name, strings.Join(plan, "\n"), st.query)
			}
			usesWanted(t, name, "SQLite", strings.Join(plan, "\n"), st.query)
			if hasCursor(st.query) {
				assert.Regexp(t, `SEARCH .*\(created_at,id\)[<>]\(\?,\?\)`, strings.Join(plan, "\n"),
					"%s: the index search does not start at the cursor:\n%s", name, st.query)
			}
			t.Logf("%s:\n\t%s", name, strings.Join(plan, "\n\t"))
		}
	}
}

// TestPlansPostgres: every hot statement uses an index condition on
// PostgreSQL, never a sequential scan, both as planned for its arguments and
// as the generic plan a cached prepared statement switches to
// (plan_cache_mode force_generic_plan), with enable_seqscan off so that the
// small test table does not make a scan the cheaper choice.
func TestPlansPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	s, err := postgres.Open(t.Context(), dsn, sqlstore.WithPageSize(4))
	require.NoError(t, err)
	defer s.Close()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	_, err = conn.ExecContext(ctx, "SET enable_seqscan = off")
	require.NoError(t, err)
	explain := func(q string, args ...any) []string {
		rows, err := conn.QueryContext(ctx, q, args...)
		require.NoError(t, err, q)
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		return plan
	}
	check := func(name, kind, q string, plan []string) {
		text := strings.Join(plan, "\n")
		assert.NotContains(t, text, "Seq Scan", "%s (%s plan): a sequential scan:\n%s\nin the plan of\n%s", name, kind, text, q)
		usesWanted(t, name, kind, text, q)
		if hasCursor(q) {
			assert.Regexp(t, `Index Cond: .*ROW\(`, text, "%s (%s plan): the index scan does not start at the cursor:\n%s\nin the plan of\n%s", name, kind, text, q)
		}
	}
	for name, stmts := range hotQueries(t, s, db) {
		for _, st := range stmts {
			if isInsert(st.query) {
				continue
			}
			custom := explain("EXPLAIN "+st.query, st.args...)
			check(name, "custom", st.query, custom)

			_, err := conn.ExecContext(ctx, "PREPARE hot AS "+st.query)
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan")
			require.NoError(t, err)
			exec := "EXPLAIN EXECUTE hot"
			if len(st.args) > 0 {
				exec += "(" + literals(t, st.args) + ")"
			}
			generic := explain(exec)
			_, err = conn.ExecContext(ctx, "DEALLOCATE hot; RESET plan_cache_mode")
			require.NoError(t, err)
			check(name, "generic", st.query, generic)
			t.Logf("%s:\n\t%s", name, strings.Join(generic, "\n\t"))
		}
	}
}

// bulk adds the user "bulk", 20,000 transactions and 20,000 journeys of
// theirs (one in fifty under way), and analyzes the tables.
func bulk(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	ctx := t.Context()
	var stmts []string
	if d == sqlstore.SQLite {
		stmts = []string{
			`INSERT INTO users (id, email, created_at, updated_at) VALUES ('bulk', 'b@example.com', 0, 0)`,
			`INSERT INTO cards (token_id, user_id, last4, expiry_month, expiry_year, token_status, vic_enrollment, created_at, updated_at)
				VALUES ('tok-bulk', 'bulk', '1111', 12, 2029, 'ACTIVE', 'NONE', 0, 0)`,
			`INSERT INTO transactions (id, user_id, token_id, amount, currency, status, created_at, updated_at, idempotency_key)
				WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < 20000)
				SELECT printf('bulk-%06d', i), 'bulk', 'tok-bulk', '1.00', 'USD',
					CASE WHEN i % 50 = 7 THEN 'CREDENTIALS_REQUESTED' ELSE 'COMPLETED' END, i, i, printf('bk-%06d', i) FROM seq`,
			`INSERT INTO journeys (id, kind, user_id, idempotency_key, status, step, state, version, created_at, updated_at)
				WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < 20000)
				SELECT printf('bulk-%06d', i), 'PURCHASE', 'bulk', printf('bk-%06d', i),
					CASE WHEN i % 50 = 7 THEN 'RUNNING' ELSE 'SUCCEEDED' END, 'done', x'', 1, i, i FROM seq`,
			`ANALYZE`,
		}
	} else {
		stmts = []string{
			`INSERT INTO users (id, email, created_at, updated_at) SELECT 'bulk-' || u, 'b@example.com', now(), now()
				FROM generate_series(0, 9) AS u`,
			`INSERT INTO cards (token_id, user_id, last4, expiry_month, expiry_year, token_status, vic_enrollment, created_at, updated_at)
				SELECT 'tok-bulk-' || u, 'bulk-' || u, '1111', 12, 2029, 'ACTIVE', 'NONE', now(), now() FROM generate_series(0, 9) AS u`,
			`INSERT INTO transactions (id, user_id, token_id, amount, currency, status, created_at, updated_at, idempotency_key)
				SELECT 'bulk-' || lpad(i::text, 6, '0'), 'bulk-' || (i % 10), 'tok-bulk-' || (i % 10), '1.00', 'USD',
					CASE WHEN i % 50 = 7 THEN 'CREDENTIALS_REQUESTED' ELSE 'COMPLETED' END,
					'2020-01-01'::timestamptz + i * interval '1 second', '2020-01-01'::timestamptz, 'bk-' || i
				FROM generate_series(0, 19999) AS i`,
			`INSERT INTO journeys (id, kind, user_id, idempotency_key, status, step, state, version, created_at, updated_at)
				SELECT 'bulk-' || lpad(i::text, 6, '0'), 'PURCHASE', 'bulk-' || (i % 10), 'bk-' || i,
					CASE WHEN i % 50 = 7 THEN 'RUNNING' ELSE 'SUCCEEDED' END, 'done', '', 1,
					'2020-01-01'::timestamptz + i * interval '1 second', '2020-01-01'::timestamptz
				FROM generate_series(0, 19999) AS i`,
			`ANALYZE`,
		}
	}
	for _, q := range stmts {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
}

func next(s store.JourneyStatus) string {
	if s == store.JourneyWaiting {
		return "ENTER_OTP"
	}
	return ""
}

// hasCursor reports whether a listing's statement resumes after a cursor.
func hasCursor(q string) bool { return regexp.MustCompile(`\) [<>] \(\$`).MatchString(q) }

func isInsert(q string) bool { return strings.HasPrefix(strings.TrimSpace(q), "INSERT") }

// literals spells arguments as SQL literals for EXECUTE: the Store passes
// strings (and string kinds), integers, times, bytes and NULLs.
func literals(t *testing.T, args []any) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
			out[i] = "NULL"
		case time.Time:
			out[i] = quote(v.Format(time.RFC3339Nano))
		case []byte:
			out[i] = `'\x` + hex.EncodeToString(v) + "'"
		case int, int64:
			out[i] = fmt.Sprint(v)
		default:
			rv := reflect.ValueOf(v)
			require.Equal(t, reflect.String, rv.Kind(), "argument of type %T", v)
			out[i] = quote(rv.String())
		}
	}
	return strings.Join(out, ", ")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestNonFinalCondition: the literal list of statuses under way (which the
// partial index repeats) is exactly store's non-final statuses.
func TestNonFinalCondition(t *testing.T) {
	t.Parallel()
	for _, st := range store.TxStatuses {
		assert.Equal(t, !st.Final(), strings.Contains(sqlstore.NonFinalTxCond, "'"+string(st)+"'"), st)
	}
	assert.Contains(t, sqlstore.UnconfirmedTxCond, "'"+string(store.TxAuthorized)+"'")
	assert.Contains(t, sqlstore.UnconfirmedTxCond, "'"+string(store.TxDeclined)+"'")
}
