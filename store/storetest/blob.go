package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
)

func testSealedBlobBytes(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	// Every byte value, including NUL and invalid UTF-8: the store keeps bytes.
	raw := make([]byte, 0, 512)
	for i := range 512 {
		raw = append(raw, byte(255-i%256))
	}
	p := passkey("alice", "tok-1", "dev-1")
	p.SealedBlob = bytes.Clone(raw)
	require.NoError(t, e.s.PutPasskey(e.ctx, p))
	p.SealedBlob[0] ^= 0xff // the caller's slice is not the stored one
	got, err := e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.NoError(t, err)
	require.Equal(t, raw, []byte(got.SealedBlob))
	got.SealedBlob[1] ^= 0xff // nor is a returned one
	again, err := e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.NoError(t, err)
	require.Equal(t, raw, []byte(again.SealedBlob))
	for q, err := range e.s.ListPasskeys(e.ctx, "tok-1") {
		require.NoError(t, err)
		require.Equal(t, raw, []byte(q.SealedBlob))
	}
}

func testSealedBlobFido(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	require.NoError(t, err)
	const clear = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0LWZpZG9ibG9iIn0.c2lnbmF0dXJl"
	blob, err := fido.NewBlob(clear)
	require.NoError(t, err)
	bind := fido.Binding{UserID: "alice", TokenID: "tok-1", DeviceID: "dev-1"}
	sealed, err := sealer.Seal(blob, bind)
	require.NoError(t, err)
	require.NotContains(t, string(sealed), clear, "Seal must not carry the clear blob")

	p := passkey("alice", "tok-1", "dev-1")
	p.SealedBlob = sealed
	require.NoError(t, e.s.PutPasskey(e.ctx, p))
	got, err := e.s.GetPasskey(e.ctx, "tok-1", "dev-1")
	require.NoError(t, err)
	opened, err := sealer.Open(got.SealedBlob, bind)
	require.NoError(t, err)
	assert.Equal(t, clear, opened.Reveal())
	_, err = sealer.Open(got.SealedBlob, fido.Binding{UserID: "bob", TokenID: "tok-1", DeviceID: "dev-1"})
	assert.Error(t, err, "a sealed blob opens only for its own user")
	_, err = sealer.Open(got.SealedBlob, fido.Binding{UserID: "alice", TokenID: "tok-1", DeviceID: "dev-2"})
	assert.Error(t, err, "a sealed blob opens only on its own device")
}

func testTimestamps(t *testing.T, e *env) {
	// CreatedAt follows the clock reading at the write, in UTC, truncated to µs.
	assert.NotZero(t, e.clock.Peek().Nanosecond()%1000, "the fixture clock has sub-µs digits")
	want := store.Stamp(e.clock.Peek())
	require.NoError(t, e.s.PutUser(e.ctx, user("alice")))
	u, err := e.s.GetUser(e.ctx, "alice")
	require.NoError(t, err)
	sameTime(t, want, u.CreatedAt, "User.CreatedAt")
	require.NoError(t, e.s.PutCard(e.ctx, card("alice", "tok-1")))
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-1", "alice", "tok-1")))

	steps := []store.TxStatus{store.TxPending, store.TxInstructed, store.TxAuthorized, store.TxCompleted}
	var prev time.Time
	for i := 1; i < len(steps); i++ {
		at := store.Stamp(e.clock.Peek())
		x, err := e.s.TransitionTransaction(e.ctx, "tx-1", steps[i-1], steps[i], store.TxUpdate{})
		require.NoError(t, err)
		sameTime(t, at, x.UpdatedAt, "UpdatedAt after "+string(steps[i]))
		assert.True(t, x.UpdatedAt.After(prev))
		prev = x.UpdatedAt
		if steps[i].Final() {
			sameTime(t, at, x.CompletedAt, "CompletedAt")
		} else {
			assert.True(t, x.CompletedAt.IsZero(), "CompletedAt before a final status")
		}
	}
	x, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	sameTime(t, prev, x.UpdatedAt, "stored UpdatedAt")
	sameTime(t, prev, x.CompletedAt, "stored CompletedAt")
	assert.True(t, x.CreatedAt.Before(x.UpdatedAt))
}

func testClose(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	require.NoError(t, e.s.Close())
	require.ErrorIs(t, e.s.PutUser(e.ctx, user("bob")), store.ErrClosed)
	_, err := e.s.GetUser(e.ctx, "alice")
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxInstructed, store.TxUpdate{})
	require.ErrorIs(t, err, store.ErrClosed)
	for _, err := range e.s.ListTransactions(e.ctx, store.TxFilter{}) {
		require.ErrorIs(t, err, store.ErrClosed)
	}
	assert.NoError(t, e.s.Close(), "a second Close")
}
