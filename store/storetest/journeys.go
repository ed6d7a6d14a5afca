package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

func journey(id, userID string, kind store.JourneyKind, key string) store.Journey {
	return store.Journey{
		ID: id, Kind: kind, UserID: userID, IdempotencyKey: key, RequestHash: "h-" + key,
		Status: store.JourneyWaiting, Step: "otp", NextAction: "ENTER_OTP", State: []byte(`{"token":"TOK-1"}`),
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC),
	}
}

func noJourneyTimes(j store.Journey) store.Journey {
	j.CreatedAt, j.UpdatedAt, j.CompletedAt, j.Version = time.Time{}, time.Time{}, time.Time{}, 0
	return j
}

func testJourneys(t *testing.T, e *env) {
	j := journey("j-1", "alice", store.JourneyAddCard, "key-1")
	at := store.Stamp(e.clock.Peek())
	got, err := e.s.CreateJourney(e.ctx, j)
	require.NoError(t, err, "a journey needs no stored user: add-card starts before the user exists")
	assert.Equal(t, int64(1), got.Version)
	sameTime(t, at, got.CreatedAt, "CreatedAt")
	sameTime(t, at, got.UpdatedAt, "UpdatedAt")
	assert.True(t, got.CompletedAt.IsZero())
	assert.Equal(t, j, noJourneyTimes(got))
	for _, read := range []func() (store.Journey, error){
		func() (store.Journey, error) { return e.s.GetJourney(e.ctx, "j-1") },
		func() (store.Journey, error) {
			return e.s.GetJourneyByKey(e.ctx, "alice", store.JourneyAddCard, "key-1")
		},
	} {
		back, err := read()
		require.NoError(t, err)
		assert.Equal(t, got, back)
	}
	_, err = e.s.GetJourney(e.ctx, "j-none")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.GetJourneyByKey(e.ctx, "alice", store.JourneyPurchase, "key-1")
	require.ErrorIs(t, err, store.ErrNotFound, "keys are per kind")
	_, err = e.s.GetJourneyByKey(e.ctx, "bob", store.JourneyAddCard, "key-1")
	require.ErrorIs(t, err, store.ErrNotFound, "keys are per user")

	// The same id again; the same key for the same user and kind.
	_, err = e.s.CreateJourney(e.ctx, journey("j-1", "bob", store.JourneyAddCard, "other"))
	require.ErrorIs(t, err, store.ErrConflict)
	require.NotErrorIs(t, err, store.ErrDuplicateKey)
	_, err = e.s.CreateJourney(e.ctx, journey("j-2", "alice", store.JourneyAddCard, "key-1"))
	require.ErrorIs(t, err, store.ErrDuplicateKey)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = e.s.GetJourney(e.ctx, "j-2")
	require.ErrorIs(t, err, store.ErrNotFound, "a refused create writes nothing")
	// The same key for another kind or another user, and no key at all, are
	// distinct journeys.
	for _, other := range []store.Journey{
		journey("j-3", "alice", store.JourneyPurchase, "key-1"),
		journey("j-4", "bob", store.JourneyAddCard, "key-1"),
		journey("j-5", "alice", store.JourneyAddCard, ""),
		journey("j-6", "alice", store.JourneyAddCard, ""),
	} {
		_, err := e.s.CreateJourney(e.ctx, other)
		require.NoError(t, err, other.ID)
	}

	// State is opaque bytes, kept exactly.
	bin := journey("j-bin", "alice", store.JourneyPurchase, "")
	bin.State = []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}
	_, err = e.s.CreateJourney(e.ctx, bin)
	require.NoError(t, err)
	back, err := e.s.GetJourney(e.ctx, "j-bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(bin.State, back.State))

	// Listing: oldest first, filters.
	var all []string
	for x, err := range e.s.ListJourneys(e.ctx, store.JourneyFilter{UserID: "alice"}) {
		require.NoError(t, err)
		all = append(all, x.ID)
	}
	assert.Equal(t, []string{"j-1", "j-3", "j-5", "j-6", "j-bin"}, all)
	var kinds []string
	for x, err := range e.s.ListJourneys(e.ctx, store.JourneyFilter{Kind: store.JourneyPurchase}) {
		require.NoError(t, err)
		kinds = append(kinds, x.ID)
	}
	assert.Equal(t, []string{"j-3", "j-bin"}, kinds)
}

func testJourneyValidation(t *testing.T, e *env) {
	good := journey("j-v", "alice", store.JourneyAddCard, "k")
	for _, c := range []struct {
		field string
		mod   func(*store.Journey)
	}{
		{"ID", func(j *store.Journey) { j.ID = "" }},
		{"UserID", func(j *store.Journey) { j.UserID = "a b" }},
		{"UserID", func(j *store.Journey) { j.UserID = panLike }},
		{"IdempotencyKey", func(j *store.Journey) { j.IdempotencyKey = strings.ReplaceAll(panLike, " ", "") }},
		{"Kind", func(j *store.Journey) { j.Kind = "REFUND" }},
		{"Status", func(j *store.Journey) { j.Status = "DONE" }},
		{"Step", func(j *store.Journey) { j.Step = "" }},
		{"NextAction", func(j *store.Journey) { j.NextAction = "" }},
		{"LeaseExpiresAt", func(j *store.Journey) { j.LeaseOwner = "replica-1" }},
		{"State", func(j *store.Journey) { j.State = make([]byte, store.MaxJourneyState+1) }},
		{"FailureReason", func(j *store.Journey) { j.FailureReason = "card " + panLike }},
	} {
		j := good
		c.mod(&j)
		_, err := e.s.CreateJourney(e.ctx, j)
		isValidation(t, err, c.field)
		noEcho(t, err)
	}
	for range e.s.ListJourneys(e.ctx, store.JourneyFilter{}) {
		t.Fatal("a refused journey was written")
	}
	for _, f := range []store.JourneyFilter{{Kind: "X"}, {Limit: -1}, {UserID: "a b"}} {
		n := 0
		for _, err := range e.s.ListJourneys(e.ctx, f) {
			n++
			require.ErrorIs(t, err, store.ErrInvalid)
		}
		assert.Equal(t, 1, n)
	}
}

func testJourneyUpdate(t *testing.T, e *env) {
	j, err := e.s.CreateJourney(e.ctx, journey("j-1", "alice", store.JourneyAddCard, "key-1"))
	require.NoError(t, err)

	// Continue: running on a replica, then waiting again with new state.
	run := j
	run.Status, run.Step, run.NextAction = store.JourneyRunning, "validate-otp", ""
	run.LeaseOwner, run.LeaseExpiresAt = "replica-1", e.clock.Peek().Add(time.Hour)
	run.Kind, run.UserID, run.IdempotencyKey = store.JourneyPurchase, "mallory", "stolen" // never change
	at := store.Stamp(e.clock.Peek())
	got, err := e.s.UpdateJourney(e.ctx, run)
	require.NoError(t, err)
	assert.Equal(t, j.Version+1, got.Version)
	assert.Equal(t, store.JourneyRunning, got.Status)
	assert.Equal(t, "replica-1", got.LeaseOwner)
	sameTime(t, store.Stamp(run.LeaseExpiresAt), got.LeaseExpiresAt, "LeaseExpiresAt")
	sameTime(t, at, got.UpdatedAt, "UpdatedAt")
	sameTime(t, j.CreatedAt, got.CreatedAt, "CreatedAt")
	assert.Equal(t, store.JourneyAddCard, got.Kind)
	assert.Equal(t, "alice", got.UserID)
	assert.Equal(t, "key-1", got.IdempotencyKey)

	// A stale version loses and changes nothing.
	stale := run
	stale.Step = "stale"
	_, err = e.s.UpdateJourney(e.ctx, stale)
	require.ErrorIs(t, err, store.ErrConflict)
	now, err := e.s.GetJourney(e.ctx, "j-1")
	require.NoError(t, err)
	assert.Equal(t, got, now)

	// A bad update is refused and changes nothing.
	bad := got
	bad.FailureReason = "card " + panLike
	_, err = e.s.UpdateJourney(e.ctx, bad)
	isValidation(t, err, "FailureReason")
	_, err = e.s.UpdateJourney(e.ctx, journey("j-none", "alice", store.JourneyAddCard, ""))
	require.ErrorIs(t, err, store.ErrNotFound)

	// Final: CompletedAt set, then frozen.
	done := got
	done.Status, done.ResultID, done.LeaseOwner, done.LeaseExpiresAt = store.JourneySucceeded, "TOK-1", "", time.Time{}
	at = store.Stamp(e.clock.Peek())
	fin, err := e.s.UpdateJourney(e.ctx, done)
	require.NoError(t, err)
	sameTime(t, at, fin.CompletedAt, "CompletedAt")
	assert.Empty(t, fin.LeaseOwner)
	assert.True(t, fin.LeaseExpiresAt.IsZero())
	again := fin
	again.Status = store.JourneyRunning
	again.LeaseOwner, again.LeaseExpiresAt = "replica-2", e.clock.Peek().Add(time.Hour)
	_, err = e.s.UpdateJourney(e.ctx, again)
	require.ErrorIs(t, err, store.ErrConflict, "a final journey is frozen")
	_, err = e.s.ClaimJourney(e.ctx, "j-1", "replica-2", e.clock.Peek().Add(time.Hour))
	require.ErrorIs(t, err, store.ErrConflict, "a final journey cannot be claimed")
}

func testJourneyClaim(t *testing.T, e *env) {
	j, err := e.s.CreateJourney(e.ctx, journey("j-1", "alice", store.JourneyAddCard, ""))
	require.NoError(t, err)
	_, err = e.s.ClaimJourney(e.ctx, "j-none", "a", e.clock.Peek().Add(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, c := range []struct {
		field, id, owner string
		until            time.Time
	}{
		{"ID", "", "a", e.clock.Peek()},
		{"Owner", "j-1", "", e.clock.Peek()},
		{"Owner", "j-1", "a b", e.clock.Peek()},
		{"Until", "j-1", "a", time.Time{}},
	} {
		_, err := e.s.ClaimJourney(e.ctx, c.id, c.owner, c.until)
		isValidation(t, err, c.field)
	}

	// A free journey is taken: the owner changes, so the version grows.
	a, err := e.s.ClaimJourney(e.ctx, "j-1", "replica-a", e.clock.Peek().Add(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, "replica-a", a.LeaseOwner)
	assert.Equal(t, j.Version+1, a.Version)
	// Renewing one's own lease keeps the version, so the owner's next
	// update still holds.
	renew, err := e.s.ClaimJourney(e.ctx, "j-1", "replica-a", e.clock.Peek().Add(5*time.Second))
	require.NoError(t, err)
	assert.Equal(t, a.Version, renew.Version)
	assert.True(t, renew.LeaseExpiresAt.After(a.LeaseExpiresAt))
	// Another owner is refused while the lease is live.
	_, err = e.s.ClaimJourney(e.ctx, "j-1", "replica-b", e.clock.Peek().Add(time.Minute))
	require.ErrorIs(t, err, store.ErrConflict)
	cur, err := e.s.GetJourney(e.ctx, "j-1")
	require.NoError(t, err)
	assert.Equal(t, renew, cur, "a refused claim changes nothing")

	// The clock ticks a second per reading: after a few calls the lease has
	// lapsed and another owner takes the journey, growing the version...
	for range 6 {
		_, _ = e.s.GetUser(e.ctx, "nobody")
		_ = e.clock.Now()
	}
	b, err := e.s.ClaimJourney(e.ctx, "j-1", "replica-b", e.clock.Peek().Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "replica-b", b.LeaseOwner)
	assert.Equal(t, renew.Version+1, b.Version)
	// ...so the first owner's update, made with the version it held, loses.
	late := renew
	late.Step = "late"
	_, err = e.s.UpdateJourney(e.ctx, late)
	require.ErrorIs(t, err, store.ErrConflict)
	// Releasing (an update without owner) lets anyone take it at once.
	rel := b
	rel.LeaseOwner, rel.LeaseExpiresAt = "", time.Time{}
	_, err = e.s.UpdateJourney(e.ctx, rel)
	require.NoError(t, err)
	c, err := e.s.ClaimJourney(e.ctx, "j-1", "replica-c", e.clock.Peek().Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "replica-c", c.LeaseOwner)
}

// testRaceJourneys: many goroutines race one journey create (one key), one
// claim and one update: exactly one wins each race.
func testRaceJourneys(t *testing.T, e *env) {
	const n = 32
	race := func(what string, f func(i int) error, loses error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = f(i)
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, loses):
				t.Errorf("%s: unexpected error %v", what, err)
			}
		}
		assert.Equal(t, 1, wins, "%s: exactly one wins", what)
	}
	race("create with one key", func(i int) error {
		_, err := e.s.CreateJourney(e.ctx, journey(fmt.Sprintf("j-%d", i), "alice", store.JourneyPurchase, "same-key"))
		return err
	}, store.ErrDuplicateKey)
	won, err := e.s.GetJourneyByKey(e.ctx, "alice", store.JourneyPurchase, "same-key")
	require.NoError(t, err)

	until := e.clock.Peek().Add(time.Hour)
	race("claim", func(i int) error {
		_, err := e.s.ClaimJourney(e.ctx, won.ID, fmt.Sprintf("replica-%d", i), until)
		return err
	}, store.ErrConflict)

	cur, err := e.s.GetJourney(e.ctx, won.ID)
	require.NoError(t, err)
	race("update one version", func(i int) error {
		j := cur
		j.Step = fmt.Sprintf("step-%d", i)
		_, err := e.s.UpdateJourney(e.ctx, j)
		return err
	}, store.ErrConflict)
}

// testTxIdempotencyKey: a user's transactions never share a key, even when
// created at once.
func testTxIdempotencyKey(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	e.seed(t, "bob", "tok-2")
	x := tx("tx-1", "alice", "tok-1")
	x.IdempotencyKey = "order-42"
	require.NoError(t, e.s.CreateTransaction(e.ctx, x))
	got, err := e.s.GetTransactionByKey(e.ctx, "alice", "order-42")
	require.NoError(t, err)
	assert.Equal(t, "tx-1", got.ID)
	assert.Equal(t, "order-42", got.IdempotencyKey)
	_, err = e.s.GetTransactionByKey(e.ctx, "bob", "order-42")
	require.ErrorIs(t, err, store.ErrNotFound)

	y := tx("tx-2", "alice", "tok-1")
	y.IdempotencyKey = "order-42"
	err = e.s.CreateTransaction(e.ctx, y)
	require.ErrorIs(t, err, store.ErrDuplicateKey)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = e.s.GetTransaction(e.ctx, "tx-2")
	require.ErrorIs(t, err, store.ErrNotFound)
	z := tx("tx-3", "bob", "tok-2")
	z.IdempotencyKey = "order-42"
	require.NoError(t, e.s.CreateTransaction(e.ctx, z), "keys are per user")

	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := tx(fmt.Sprintf("race-%d", i), "alice", "tok-1")
			r.IdempotencyKey = "order-race"
			err := e.s.CreateTransaction(e.ctx, r)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(err, store.ErrDuplicateKey) {
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, wins, "exactly one of the racing creators stores the key")
}

// testCursor: a cursor continues only its own listing.
func testCursor(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	e.seed(t, "bob", "tok-2")
	for i := range 6 {
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(fmt.Sprintf("tx-%d", i), "alice", "tok-1")))
	}
	f := store.TxFilter{UserID: "alice", Limit: 2}
	page := collect(t, e.s.ListTransactions(e.ctx, f))
	assert.Equal(t, []string{"tx-5", "tx-4"}, ids(page))
	f.Cursor = store.CursorAfter(f, page[1])
	assert.Equal(t, []string{"tx-3", "tx-2"}, ids(collect(t, e.s.ListTransactions(e.ctx, f))))

	refused := func(g store.TxFilter, what string) {
		t.Helper()
		n := 0
		for _, err := range e.s.ListTransactions(e.ctx, g) {
			n++
			isValidation(t, err, "Cursor")
		}
		assert.Equal(t, 1, n, what)
	}
	other := f
	other.UserID = "bob"
	refused(other, "a cursor from another user's listing")
	other = f
	other.Order = store.OldestFirst
	refused(other, "a cursor from the other order")
	other = f
	other.NonFinalOnly = true
	refused(other, "a cursor from an unfiltered listing")
	raw := []byte(f.Cursor)
	for i := range raw {
		tampered := f
		b := append([]byte(nil), raw...)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tampered.Cursor = string(b)
		refused(tampered, fmt.Sprintf("a cursor altered at byte %d", i))
	}
	// The limit is not part of the listing: a cursor works with any page size.
	bigger := f
	bigger.Limit = 10
	assert.Equal(t, []string{"tx-3", "tx-2", "tx-1", "tx-0"}, ids(collect(t, e.s.ListTransactions(e.ctx, bigger))))
}

// testUnconfirmed: the reconciler's second list, outcomes not yet confirmed.
func testUnconfirmed(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	mk := func(id string, path ...store.TxStatus) {
		t.Helper()
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(id, "alice", "tok-1")))
		from := store.TxPending
		for _, to := range path {
			_, err := e.s.TransitionTransaction(e.ctx, id, from, to, store.TxUpdate{})
			require.NoError(t, err)
			from = to
		}
	}
	mk("approved", store.TxAuthorizing, store.TxAuthorized)
	mk("declined", store.TxAuthorizing, store.TxDeclined)
	mk("declined-confirmed", store.TxAuthorizing, store.TxDeclined)
	_, err := e.s.TransitionTransaction(e.ctx, "declined-confirmed", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true})
	require.NoError(t, err)
	mk("done", store.TxAuthorizing, store.TxAuthorized, store.TxCompleted)
	mk("pending")
	got := ids(collect(t, e.s.ListTransactions(e.ctx, store.TxFilter{Unconfirmed: true, Order: store.OldestFirst})))
	assert.Equal(t, []string{"approved", "declined"}, got)
}

// testListJourneys: the reconciler's work list (non-final journeys), limits,
// and more journeys than a Store reads per page, oldest first.
func testListJourneys(t *testing.T, e *env) {
	n := 130 // more than a page of the test Stores
	if raceEnabled {
		n = 70
	}
	var live, all []string
	for i := range n {
		kind := store.JourneyAddCard
		if i%3 == 0 {
			kind = store.JourneyPurchase
		}
		j, err := e.s.CreateJourney(e.ctx, journey(fmt.Sprintf("j-%04d", i), fmt.Sprintf("user-%d", i%2), kind, ""))
		require.NoError(t, err)
		all = append(all, j.ID)
		switch i % 4 {
		case 0: // finished
			j.Status, j.ResultID = store.JourneySucceeded, "tok"
			_, err = e.s.UpdateJourney(e.ctx, j)
			require.NoError(t, err)
		case 1: // expired
			j.Status, j.FailureCode = store.JourneyExpired, "EXPIRED"
			_, err = e.s.UpdateJourney(e.ctx, j)
			require.NoError(t, err)
		case 2: // running
			j.Status = store.JourneyRunning
			_, err = e.s.UpdateJourney(e.ctx, j)
			require.NoError(t, err)
			live = append(live, j.ID)
		default: // waiting
			live = append(live, j.ID)
		}
	}
	list := func(f store.JourneyFilter) []string {
		var out []string
		for j, err := range e.s.ListJourneys(e.ctx, f) {
			require.NoError(t, err)
			out = append(out, j.ID)
			assert.True(t, f.Match(j), "%s does not match the filter", j.ID)
		}
		return out
	}
	assert.Equal(t, all, list(store.JourneyFilter{}), "every journey, oldest first, across pages")
	assert.Equal(t, live, list(store.JourneyFilter{NonFinalOnly: true}), "the non-final ones")
	assert.Equal(t, live[:5], list(store.JourneyFilter{NonFinalOnly: true, Limit: 5}))
	var liveUser1 []string
	for _, id := range live {
		var i int
		_, _ = fmt.Sscanf(id, "j-%d", &i)
		if i%2 == 1 {
			liveUser1 = append(liveUser1, id)
		}
	}
	assert.Equal(t, liveUser1, list(store.JourneyFilter{UserID: "user-1", NonFinalOnly: true}))
	// Breaking out early leaves the Store usable.
	for range e.s.ListJourneys(e.ctx, store.JourneyFilter{}) {
		break
	}
	_, err := e.s.GetJourney(e.ctx, all[0])
	require.NoError(t, err)
}
