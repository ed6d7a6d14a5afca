package tapsql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/tapsql"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.ClosePostgres()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func sqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nonces.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// postgresDB opens a private schema of the test PostgreSQL server
// (internal/testutil: skipped without VISA_TEST_POSTGRES_DSN, except under
// CI=true, where it must run).
func postgresDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", testutil.PostgresSchema(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		dialect tapsql.Dialect
		db      func(*testing.T) *sql.DB
	}{
		{"sqlite", tapsql.SQLite, sqliteDB},
		{"postgresql", tapsql.PostgreSQL, postgresDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.db(t)
			ctx := context.Background()
			c := &clock{t: time.Unix(1767225600, 0)}
			s, err := tapsql.New(ctx, db, tc.dialect, tapsql.WithClock(c.Now), tapsql.WithPurgeInterval(time.Hour))
			require.NoError(t, err)
			// New is idempotent: a second replica opens the same table.
			other, err := tapsql.New(ctx, db, tc.dialect, tapsql.WithClock(c.Now))
			require.NoError(t, err)

			exp := c.Now().Add(8 * time.Minute)
			require.NoError(t, s.Use(ctx, "a", exp))
			require.ErrorIs(t, s.Use(ctx, "a", exp), tap.ErrReplay)
			require.ErrorIs(t, other.Use(ctx, "a", exp), tap.ErrReplay, "another replica sees the nonce")
			require.NoError(t, other.Use(ctx, "b", exp))

			// Once expired, the same nonce may be recorded again (taking
			// over the stale row), and purge deletes what expired.
			c.Add(8 * time.Minute)
			require.NoError(t, s.Use(ctx, "a", c.Now().Add(time.Minute)))
			n, err := s.Purge(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), n, "b expired")
			left, err := s.Len(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), left)

			// Concurrent replicas racing on one nonce: exactly one wins.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := s
					if i%2 == 1 {
						st = other
					}
					err := st.Use(ctx, "race", c.Now().Add(time.Minute))
					if err == nil {
						wins.Add(1)
					} else if !assert.ErrorIs(t, err, tap.ErrReplay) {
						return
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, int32(1), wins.Load())
		})
	}
}

// TestStoreInvalidInput: bad dialects, tables and keys are refused.
func TestStoreInvalidInput(t *testing.T) {
	t.Parallel()
	db := sqliteDB(t)
	_, err := tapsql.New(context.Background(), db, tapsql.Dialect(9))
	require.Error(t, err)
	_, err = tapsql.New(context.Background(), nil, tapsql.SQLite)
	require.Error(t, err)
	_, err = tapsql.New(context.Background(), db, tapsql.SQLite, tapsql.WithTable("nonces; DROP TABLE x"))
	require.Error(t, err)
	s, err := tapsql.New(context.Background(), db, tapsql.SQLite, tapsql.WithTable("agent_nonces"))
	require.NoError(t, err)
	require.Error(t, s.Use(context.Background(), "", time.Now()))
	assert.Equal(t, "postgresql", fmt.Sprint(tapsql.PostgreSQL))
}
