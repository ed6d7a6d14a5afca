package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/store/sqlstore"
)

// countingConnector counts the connections (PostgreSQL sessions) it opens.
type countingConnector struct {
	driver.Connector
	opened atomic.Int64
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err == nil {
		c.opened.Add(1)
	}
	return conn, err
}

// opened is how many connections the pool of s has opened so far, from
// database/sql's own statistics: those open now plus those it closed.
func opened(s *sqlstore.Store) int64 {
	st := s.Stats()
	return int64(st.OpenConnections) + st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed
}

// runJourneys runs n journeys' worth of store work (create a journey, claim
// it, move it twice, create and settle its transaction, read it back) with
// conc of them at a time, as a replica serving conc shoppers does.
func runJourneys(t testing.TB, s store.Store, tag string, n, conc int) {
	ctx := context.Background()
	require.NoError(t, s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"}))
	require.NoError(t, s.PutCard(ctx, store.Card{TokenID: "tok-1", UserID: "alice", Last4: "1111",
		ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive}))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs <- oneJourney(ctx, s, fmt.Sprintf("%s-%04d", tag, i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func oneJourney(ctx context.Context, s store.Store, id string) error {
	j, err := s.CreateJourney(ctx, store.Journey{ID: id, Kind: store.JourneyPurchase, UserID: "alice",
		IdempotencyKey: "k-" + id, Status: store.JourneyRunning, Step: "start"})
	if err != nil {
		return err
	}
	if j, err = s.ClaimJourney(ctx, id, "replica-a", time.Now().Add(time.Minute)); err != nil {
		return err
	}
	j.Step = "instruct"
	if j, err = s.UpdateJourney(ctx, j); err != nil {
		return err
	}
	if err := s.CreateTransaction(ctx, store.Transaction{ID: id, UserID: "alice", TokenID: "tok-1",
		Amount: "10.00", Currency: "USD", Status: store.TxCredentialsIssued}); err != nil {
		return err
	}
	if _, err := s.TransitionTransaction(ctx, id, store.TxCredentialsIssued, store.TxAuthorizing, store.TxUpdate{}); err != nil {
		return err
	}
	if _, err := s.TransitionTransaction(ctx, id, store.TxAuthorizing, store.TxAuthorized,
		store.TxUpdate{AuthorizationCode: store.Ptr("A1")}); err != nil {
		return err
	}
	j.Status, j.Step, j.ResultID = store.JourneySucceeded, "done", id
	if _, err := s.UpdateJourney(ctx, j); err != nil {
		return err
	}
	_, err = s.GetJourney(ctx, id)
	return err
}

// TestPoolReusesSessions: 256 journeys at concurrency 64 against PostgreSQL
// open no more sessions than the pool may hold (DefaultPool: 32), where the
// old pool (10 idle, no cap) opened one for most journeys. The sessions are
// counted twice: by a connector that counts what it opens, and by
// database/sql's statistics on a Store from postgres.Open.
func TestPoolReusesSessions(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	ctx := t.Context()
	def := sqlstore.DefaultPool(sqlstore.Postgres)

	count := func(t *testing.T, opts ...sqlstore.Option) (int64, sql.DBStats) {
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		conn := &countingConnector{Connector: stdlib.GetConnector(*cfg)}
		db := sql.OpenDB(conn)
		defer db.Close()
		s, err := sqlstore.New(ctx, db, sqlstore.Postgres, opts...)
		require.NoError(t, err)
		defer s.Close()
		before := conn.opened.Load()
		runJourneys(t, s, t.Name(), 256, 64)
		n := conn.opened.Load() - before
		require.Equal(t, conn.opened.Load(), opened(s), "database/sql's count agrees with the connector's")
		return n, s.Stats()
	}

	t.Run("default", func(t *testing.T) {
		n, st := count(t, sqlstore.WithMaxOpenConns(def.MaxOpenConns), sqlstore.WithMaxIdleConns(def.MaxIdleConns),
			sqlstore.WithConnMaxLifetime(def.ConnMaxLifetime), sqlstore.WithConnMaxIdleTime(def.ConnMaxIdleTime))
		t.Logf("pool %d open/%d idle: %d new sessions for 256 journeys at concurrency 64 (%d waits for a connection)",
			def.MaxOpenConns, def.MaxIdleConns, n, st.WaitCount)
		assert.LessOrEqual(t, n, int64(def.MaxOpenConns), "sessions are reused, never more than the pool holds")
		assert.Zero(t, st.MaxIdleClosed, "no connection closed for want of an idle slot")
	})
	t.Run("old pool: 10 idle, no cap", func(t *testing.T) {
		n, st := count(t, sqlstore.WithMaxIdleConns(10))
		t.Logf("pool unlimited/10 idle: %d new sessions for 256 journeys at concurrency 64 (%d closed for want of an idle slot)",
			n, st.MaxIdleClosed)
		assert.Positive(t, n)
	})
	t.Run("postgres.Open", func(t *testing.T) {
		s, err := postgres.Open(ctx, dsn)
		require.NoError(t, err)
		defer s.Close()
		st := s.Stats()
		assert.Equal(t, def.MaxOpenConns, st.MaxOpenConnections)
		runJourneys(t, s, t.Name(), 256, 64)
		n := opened(s)
		t.Logf("postgres.Open: %d sessions for 256 journeys at concurrency 64", n)
		assert.LessOrEqual(t, n, int64(def.MaxOpenConns))
		assert.Zero(t, s.Stats().MaxIdleClosed)
	})
}

// TestPoolOptions: the options reach the pool; bad sizes are refused.
func TestPoolOptions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, t.TempDir()+"/p.db")
	require.NoError(t, err)
	assert.Equal(t, 1, s.Stats().MaxOpenConnections, "SQLite works on one connection by default")
	runJourneys(t, s, "sqlite", 64, 16)
	assert.Equal(t, int64(1), opened(s), "and keeps it")
	require.NoError(t, s.Close())

	s, err = sqlite.Open(ctx, ":memory:", sqlite.WithMaxOpenConns(3))
	require.NoError(t, err)
	assert.Equal(t, 4, s.Stats().MaxOpenConnections, "three to work on, one pinning the in-memory database")
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", "file:"+t.TempDir()+"/new.db?_pragma=foreign_keys(1)")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(7)
	s, err = sqlstore.New(ctx, db, sqlstore.SQLite)
	require.NoError(t, err)
	assert.Equal(t, 7, s.Stats().MaxOpenConnections, "New leaves the caller's pool alone")
	require.NoError(t, s.Close())
	s, err = sqlstore.New(ctx, db, sqlstore.SQLite, sqlstore.WithMaxOpenConns(2))
	require.NoError(t, err)
	assert.Equal(t, 2, s.Stats().MaxOpenConnections, "unless asked")
	require.NoError(t, s.Close())

	for _, o := range []sqlstore.Option{
		sqlstore.WithMaxOpenConns(0), sqlstore.WithMaxOpenConns(-1), sqlstore.WithMaxIdleConns(0),
		postgres.WithMaxIdleConns(100001), postgres.WithConnMaxLifetime(0), postgres.WithConnMaxIdleTime(0),
	} {
		_, err := sqlite.Open(ctx, ":memory:", o)
		assert.Error(t, err)
	}
	for _, o := range []sqlstore.Option{
		postgres.WithMaxOpenConns(5), sqlite.WithMaxIdleConns(5),
		sqlite.WithConnMaxLifetime(-1), sqlite.WithConnMaxIdleTime(time.Hour),
	} {
		s, err := sqlite.Open(ctx, ":memory:", o)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
}
