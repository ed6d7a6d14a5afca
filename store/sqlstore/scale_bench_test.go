package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
)

// scaleUsers is how many users the seeded transactions spread over; every
// fiftieth transaction is still under way (CREDENTIALS_REQUESTED), the rest
// are COMPLETED, as in a store that has served for a while.
const scaleUsers = 10

// scaleSizes are the row counts of BenchmarkStoreAtScale; 1,000,000 is added
// with VICGO_BENCH_1M=1 (never in CI: seeding it takes minutes).
func scaleSizes() []int {
	sizes := []int{1_000, 10_000, 100_000}
	if os.Getenv("VICGO_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	return sizes
}

// BenchmarkStoreAtScale measures the store's hot calls on tables of 1,000,
// 10,000 and 100,000 transactions (1,000,000 with VICGO_BENCH_1M=1), on a
// SQLite file and on PostgreSQL (skipped without VISA_TEST_POSTGRES_DSN): a
// read by id, a page of a user's purchases newest first from a cursor in the
// middle, the first page of the transactions under way, an insert, and a
// compare-and-swap. Each should cost the same at every size.
func BenchmarkStoreAtScale(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			for _, n := range scaleSizes() {
				b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
					s := scaleStore(b, dialect, n)
					benchScaleOps(b, s, n)
				})
			}
		})
	}
}

func benchScaleOps(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	// With -count, each sub-benchmark runs again on the same tables: the
	// compare-and-swap's cycle and the inserts' ids carry on.
	casStep, inserted := 0, 0
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, err := s.GetTransaction(ctx, fmt.Sprintf("tx-%09d", r.IntN(n))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("list-page", func(b *testing.B) {
		// A page of 20 of one user's purchases, newest first, after a
		// cursor half-way down the user's history.
		f := store.TxFilter{UserID: "user-03", Limit: 20}
		mid, err := s.GetTransaction(ctx, fmt.Sprintf("tx-%09d", (n/2/scaleUsers)*scaleUsers+3))
		require.NoError(b, err)
		f.Cursor = store.CursorAfter(f, mid)
		b.ReportAllocs()
		for b.Loop() {
			got := 0
			for _, err := range s.ListTransactions(ctx, f) {
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != 20 {
				b.Fatalf("page of %d", got)
			}
		}
	})
	b.Run("list-nonfinal", func(b *testing.B) {
		// The first page of what Resume reads: 20 transactions under way.
		f := store.TxFilter{NonFinalOnly: true, Order: store.OldestFirst, Limit: 20}
		b.ReportAllocs()
		for b.Loop() {
			got := 0
			for _, err := range s.ListTransactions(ctx, f) {
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != 20 {
				b.Fatalf("page of %d", got)
			}
		}
	})
	b.Run("cas", func(b *testing.B) {
		// A transaction under way in the middle of the table cycles
		// CREDENTIALS_REQUESTED → CREDENTIALS_ISSUED → AUTHORIZING and
		// back (the retry loop), as storetest.BenchTransactionCAS does.
		id := fmt.Sprintf("tx-%09d", (n/2/50)*50+7)
		cycle := []store.TxStatus{store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxAuthorizing}
		b.ReportAllocs()
		for b.Loop() {
			i := casStep
			casStep++
			if _, err := s.TransitionTransaction(ctx, id, cycle[i%3], cycle[(i+1)%3], store.TxUpdate{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			i := inserted
			inserted++
			u := i % scaleUsers
			if err := s.CreateTransaction(ctx, store.Transaction{ID: fmt.Sprintf("new-%09d", i),
				UserID: fmt.Sprintf("user-%02d", u), TokenID: fmt.Sprintf("tok-%02d", u), Amount: "10.00",
				Currency: "USD", Status: store.TxPending, IdempotencyKey: fmt.Sprintf("order-%09d", i)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// scaleStore opens a Store of the dialect and seeds n transactions in one
// statement (a recursive CTE on SQLite, generate_series on PostgreSQL).
func scaleStore(b *testing.B, dialect string, n int) store.Store {
	ctx := context.Background()
	var (
		s    store.Store
		db   *sql.DB
		seed string
		base any
	)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	switch dialect {
	case "sqlite":
		path := filepath.Join(b.TempDir(), "scale.db")
		st, err := sqlite.Open(ctx, path)
		require.NoError(b, err)
		s = st
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		require.NoError(b, err)
		base = start.UnixMicro()
		seed = `INSERT INTO transactions (id, user_id, token_id, amount, currency, status, created_at, updated_at, completed_at)
			WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < $1)
			SELECT printf('tx-%09d', i), printf('user-%02d', i % 10), printf('tok-%02d', i % 10), '10.00', 'USD',
				CASE WHEN i % 50 = 7 THEN 'CREDENTIALS_REQUESTED' ELSE 'COMPLETED' END,
				$2 + i * 1000000, $2 + i * 1000000, CASE WHEN i % 50 = 7 THEN NULL ELSE $2 + i * 1000000 END
			FROM seq`
	case "postgres":
		dsn := postgresSchema(b)
		dsn = withOptions(b, dsn, optionsOf(b, dsn)+" -c synchronous_commit=on")
		s = openPostgres(b, dsn, time.Now)
		var err error
		db, err = sql.Open("pgx", dsn)
		require.NoError(b, err)
		base = start
		seed = `INSERT INTO transactions (id, user_id, token_id, amount, currency, status, created_at, updated_at, completed_at)
			SELECT 'tx-' || lpad(i::text, 9, '0'), 'user-' || lpad((i % 10)::text, 2, '0'), 'tok-' || lpad((i % 10)::text, 2, '0'),
				'10.00', 'USD', CASE WHEN i % 50 = 7 THEN 'CREDENTIALS_REQUESTED' ELSE 'COMPLETED' END,
				$2::timestamptz + i * interval '1 second', $2::timestamptz + i * interval '1 second',
				CASE WHEN i % 50 = 7 THEN NULL ELSE $2::timestamptz + i * interval '1 second' END
			FROM generate_series(0, $1::int - 1) AS i`
	}
	b.Cleanup(func() { _ = db.Close(); _ = s.Close() })
	for u := range scaleUsers {
		require.NoError(b, s.PutUser(ctx, store.User{ID: fmt.Sprintf("user-%02d", u), Email: "u@example.com"}))
		require.NoError(b, s.PutCard(ctx, store.Card{TokenID: fmt.Sprintf("tok-%02d", u), UserID: fmt.Sprintf("user-%02d", u),
			Last4: "1111", ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive}))
	}
	t0 := time.Now()
	_, err := db.ExecContext(ctx, seed, n, base)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, "ANALYZE")
	require.NoError(b, err)
	b.Logf("%s: seeded %d transactions in %v", dialect, n, time.Since(t0).Round(time.Millisecond))
	return s
}
