package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

func ids(txs []store.Transaction) []string {
	var out []string
	for _, x := range txs {
		out = append(out, x.ID)
	}
	return out
}

func testListTransactions(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-a1")
	require.NoError(t, e.s.PutCard(e.ctx, card("alice", "tok-a2")))
	e.seed(t, "bob", "tok-b1")
	// Created in this order; ids run backwards so order by id would differ.
	for _, c := range []struct {
		id, user, token string
		to              store.TxStatus
	}{
		{"tx-9", "alice", "tok-a1", store.TxPending},
		{"tx-8", "bob", "tok-b1", store.TxInstructed},
		{"tx-7", "alice", "tok-a2", store.TxCompleted},
		{"tx-6", "alice", "tok-a1", store.TxInstructed},
		{"tx-5", "bob", "tok-b1", store.TxFailed},
		{"tx-4", "alice", "tok-a1", store.TxCancelled},
	} {
		x := tx(c.id, c.user, c.token)
		x.Status = c.to
		require.NoError(t, e.s.CreateTransaction(e.ctx, x))
	}
	for _, c := range []struct {
		name string
		f    store.TxFilter
		want []string
	}{
		{"all", store.TxFilter{}, []string{"tx-9", "tx-8", "tx-7", "tx-6", "tx-5", "tx-4"}},
		{"user", store.TxFilter{UserID: "alice"}, []string{"tx-9", "tx-7", "tx-6", "tx-4"}},
		{"token", store.TxFilter{TokenID: "tok-a1"}, []string{"tx-9", "tx-6", "tx-4"}},
		{"status", store.TxFilter{Status: []store.TxStatus{store.TxInstructed, store.TxFailed}}, []string{"tx-8", "tx-6", "tx-5"}},
		{"non-final", store.TxFilter{NonFinalOnly: true}, []string{"tx-9", "tx-8", "tx-6"}},
		{"user non-final", store.TxFilter{UserID: "bob", NonFinalOnly: true}, []string{"tx-8"}},
		{"status and non-final", store.TxFilter{Status: []store.TxStatus{store.TxCompleted}, NonFinalOnly: true}, nil},
		{"limit", store.TxFilter{Limit: 2}, []string{"tx-9", "tx-8"}},
		{"user limit", store.TxFilter{UserID: "alice", Limit: 3}, []string{"tx-9", "tx-7", "tx-6"}},
		{"nobody", store.TxFilter{UserID: "carol"}, nil},
	} {
		c.f.Order = store.OldestFirst
		assert.Equal(t, c.want, ids(collect(t, e.s.ListTransactions(e.ctx, c.f))), c.name)
		// Newest first (the default) is the same listing reversed, and its
		// limit keeps the newest.
		c.f.Order, c.f.Limit = store.NewestFirst, 0
		rev := ids(collect(t, e.s.ListTransactions(e.ctx, c.f)))
		slices.Reverse(rev)
		if c.name != "limit" && c.name != "user limit" {
			assert.Equal(t, c.want, rev, c.name+", newest first")
		}
	}
	assert.Equal(t, []string{"tx-4", "tx-5"}, ids(collect(t, e.s.ListTransactions(e.ctx, store.TxFilter{Limit: 2}))),
		"newest first is the default")

	// A bad filter yields exactly one error, ErrInvalid.
	for _, f := range []store.TxFilter{
		{Status: []store.TxStatus{"DONE"}},
		{Limit: -1},
		{UserID: "a b"},
		{UserID: "4111111111111111"},
		{Order: 7},
		{Cursor: "not-a-cursor"},
	} {
		var n int
		for _, err := range e.s.ListTransactions(e.ctx, f) {
			n++
			require.ErrorIs(t, err, store.ErrInvalid)
		}
		assert.Equal(t, 1, n, "a bad filter yields one error")
	}
}

func testListEarlyBreak(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	for i := range 5 {
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(fmt.Sprintf("tx-%d", i), "alice", "tok-1")))
	}
	// Break early many times: an implementation that leaks a connection or a
	// lock per abandoned iteration stalls here (database/sql pools hold 2 idle).
	for range 20 {
		n := 0
		for x, err := range e.s.ListTransactions(e.ctx, store.TxFilter{Order: store.OldestFirst}) {
			require.NoError(t, err)
			require.Equal(t, "tx-0", x.ID)
			n++
			break
		}
		require.Equal(t, 1, n)
		for range e.s.ListCards(e.ctx, "alice") {
			break
		}
	}
	_, err := e.s.TransitionTransaction(e.ctx, "tx-0", store.TxPending, store.TxInstructed, store.TxUpdate{})
	require.NoError(t, err, "the store must still work after early breaks")
}

// testListWriteInsideLoop is what Resume does: list live transactions and move
// each one while iterating. It must neither deadlock nor skip or repeat rows,
// even across pages (an OFFSET pager skips rows here, a keyset pager does not).
func testListWriteInsideLoop(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	const n = 60
	for i := range n {
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(fmt.Sprintf("tx-%02d", i), "alice", "tok-1")))
	}
	seen := map[string]bool{}
	for x, err := range e.s.ListTransactions(e.ctx, store.TxFilter{NonFinalOnly: true}) {
		require.NoError(t, err)
		require.False(t, seen[x.ID], "%s yielded twice", x.ID)
		seen[x.ID] = true
		_, err := e.s.TransitionTransaction(e.ctx, x.ID, store.TxPending, store.TxFailed,
			store.TxUpdate{FailureReason: store.Ptr("crashed")})
		require.NoError(t, err)
		done := tx("new-"+x.ID, "alice", "tok-1")
		done.Status = store.TxCancelled // final: not part of this listing
		require.NoError(t, e.s.CreateTransaction(e.ctx, done), "write inside the loop")
	}
	assert.Len(t, seen, n)
}

func testListMany(t *testing.T, e *env) {
	if testing.Short() {
		t.Skip("short mode: skipping the bulk listing")
	}
	e.seed(t, "alice", "tok-1")
	n := 250 // more than a Store is likely to read per page
	if raceEnabled {
		n = 120
	}
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("tx-%04d", i)
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(want[i], "alice", "tok-1")))
	}
	oldest := store.TxFilter{Order: store.OldestFirst}
	assert.Equal(t, want, ids(collect(t, e.s.ListTransactions(e.ctx, oldest))))
	oldest.Limit = n - 1
	assert.Equal(t, want[:n-1], ids(collect(t, e.s.ListTransactions(e.ctx, oldest))))
	oldest.Limit = n + 1
	assert.Equal(t, want, ids(collect(t, e.s.ListTransactions(e.ctx, oldest))))
	rev := slices.Clone(want)
	slices.Reverse(rev)
	assert.Equal(t, rev, ids(collect(t, e.s.ListTransactions(e.ctx, store.TxFilter{}))), "newest first across pages")

	// Paging with cursors, both ways, visits every row once.
	for _, o := range []store.Order{store.NewestFirst, store.OldestFirst} {
		f := store.TxFilter{Order: o, UserID: "alice", Limit: 37}
		var got []string
		for {
			page := collect(t, e.s.ListTransactions(e.ctx, f))
			got = append(got, ids(page)...)
			if len(page) < f.Limit {
				break
			}
			f.Cursor = store.CursorAfter(f, page[len(page)-1])
		}
		expect := want
		if o == store.NewestFirst {
			expect = rev
		}
		assert.Equal(t, expect, got, "cursor paging, order %d", o)
	}
}

func testListCardsAndPasskeys(t *testing.T, e *env) {
	e.seed(t, "alice", "")
	e.seed(t, "bob", "tok-b")
	for _, tok := range []string{"tok-3", "tok-2", "tok-1"} {
		require.NoError(t, e.s.PutCard(e.ctx, card("alice", tok)))
	}
	var tokens []string
	for c, err := range e.s.ListCards(e.ctx, "alice") {
		require.NoError(t, err)
		tokens = append(tokens, c.TokenID)
	}
	assert.Equal(t, []string{"tok-3", "tok-2", "tok-1"}, tokens, "oldest first")
	assert.Empty(t, collect(t, e.s.ListCards(e.ctx, "carol")))

	for _, dev := range []string{"dev-c", "dev-b", "dev-a"} {
		require.NoError(t, e.s.PutPasskey(e.ctx, passkey("alice", "tok-1", dev)))
	}
	require.NoError(t, e.s.PutPasskey(e.ctx, passkey("bob", "tok-b", "dev-a")))
	var devices []string
	for p, err := range e.s.ListPasskeys(e.ctx, "tok-1") {
		require.NoError(t, err)
		assert.Equal(t, passkey("alice", "tok-1", p.DeviceID), noTimes(p))
		devices = append(devices, p.DeviceID)
	}
	assert.Equal(t, []string{"dev-c", "dev-b", "dev-a"}, devices, "oldest first")

	tokens = nil
	for c, err := range e.s.ListCards(e.ctx, "") {
		require.NoError(t, err)
		tokens = append(tokens, c.TokenID)
	}
	assert.Equal(t, []string{"tok-b", "tok-3", "tok-2", "tok-1"}, tokens, "an empty user id lists every user's cards")
	for _, err := range e.s.ListCards(e.ctx, "a b") {
		require.ErrorIs(t, err, store.ErrInvalid)
	}
	for _, err := range e.s.ListPasskeys(e.ctx, "") {
		require.ErrorIs(t, err, store.ErrInvalid)
	}
}

func testContextCancelled(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-1", "alice", "tok-1")))
	require.NoError(t, e.s.PutPasskey(e.ctx, passkey("alice", "tok-1", "dev-1")))
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()

	cancelled := func(err error, what string) {
		t.Helper()
		require.Error(t, err, what)
		assert.ErrorIs(t, err, context.Canceled, what)
	}
	cancelled(e.s.PutUser(ctx, user("bob")), "PutUser")
	cancelled(e.s.PutCard(ctx, card("alice", "tok-2")), "PutCard")
	cancelled(e.s.PutPasskey(ctx, passkey("alice", "tok-1", "dev-2")), "PutPasskey")
	cancelled(e.s.CreateTransaction(ctx, tx("tx-2", "alice", "tok-1")), "CreateTransaction")
	_, err := e.s.TransitionTransaction(ctx, "tx-1", store.TxPending, store.TxInstructed, store.TxUpdate{})
	cancelled(err, "TransitionTransaction")
	_, err = e.s.UpdateCardStatus(ctx, "tok-1", store.TokenInactive, store.TokenActive)
	cancelled(err, "UpdateCardStatus")
	_, err = e.s.DeletePasskeys(ctx, "tok-1")
	cancelled(err, "DeletePasskeys")
	cancelled(e.s.DeleteCard(ctx, "tok-1"), "DeleteCard")
	_, err = e.s.GetUser(ctx, "alice")
	cancelled(err, "GetUser")
	_, err = e.s.GetCard(ctx, "tok-1")
	cancelled(err, "GetCard")
	_, err = e.s.GetPasskey(ctx, "tok-1", "dev-1")
	cancelled(err, "GetPasskey")
	_, err = e.s.GetTransaction(ctx, "tx-1")
	cancelled(err, "GetTransaction")
	for _, err := range e.s.ListTransactions(ctx, store.TxFilter{}) {
		cancelled(err, "ListTransactions")
	}
	for _, err := range e.s.ListCards(ctx, "alice") {
		cancelled(err, "ListCards")
	}
	for _, err := range e.s.ListPasskeys(ctx, "tok-1") {
		cancelled(err, "ListPasskeys")
	}

	// Nothing was written, nothing moved, nothing was deleted.
	_, err = e.s.GetUser(e.ctx, "bob")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.GetCard(e.ctx, "tok-2")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.GetPasskey(e.ctx, "tok-1", "dev-2")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.GetTransaction(e.ctx, "tx-2")
	assert.ErrorIs(t, err, store.ErrNotFound)
	x, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, store.TxPending, x.Status)
	c, err := e.s.GetCard(e.ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, store.TokenInactive, c.TokenStatus)
	_, err = e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	assert.NoError(t, err)
}

func testContextCancelledMidIteration(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	for i := range 5 {
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(fmt.Sprintf("tx-%d", i), "alice", "tok-1")))
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var got []string
	var last error
	for x, err := range e.s.ListTransactions(ctx, store.TxFilter{Order: store.OldestFirst}) {
		if err != nil {
			last = err
			break
		}
		got = append(got, x.ID)
		cancel()
	}
	assert.Equal(t, []string{"tx-0"}, got, "no row after the context is cancelled")
	assert.ErrorIs(t, last, context.Canceled, "the iteration ends with the context's error")
}
