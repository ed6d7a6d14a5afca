package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

func testTransitionCAS(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	_, err := e.s.TransitionTransaction(e.ctx, "tx-none", store.TxPending, store.TxInstructed, store.TxUpdate{})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-1", "alice", "tok-1")))
	before, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)

	// Wrong from: conflict, nothing changes (not even the update's fields).
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxInstructed, store.TxCredentialsRequested,
		store.TxUpdate{ResponseCode: store.Ptr("00")})
	require.ErrorIs(t, err, store.ErrConflict)
	// A move the state machine refuses: conflict, nothing changes.
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxCompleted, store.TxUpdate{})
	require.ErrorIs(t, err, store.ErrConflict)
	// Unknown statuses and bad update fields: invalid.
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", "NOPE", store.TxInstructed, store.TxUpdate{})
	isValidation(t, err, "From")
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, "NOPE", store.TxUpdate{})
	isValidation(t, err, "To")
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxInstructed,
		store.TxUpdate{InstructionID: store.Ptr("INS 1")})
	isValidation(t, err, "InstructionID")
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxFailed,
		store.TxUpdate{FailureReason: store.Ptr("pan " + panLike)})
	isValidation(t, err, "FailureReason")
	noEcho(t, err)
	after, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, before, after, "a refused transition changed the record")

	// The move, with fields set in the same step.
	at := store.Stamp(e.clock.Peek())
	got, err := e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxInstructed,
		store.TxUpdate{InstructionID: store.Ptr("INS-1")})
	require.NoError(t, err)
	assert.Equal(t, store.TxInstructed, got.Status)
	assert.Equal(t, "INS-1", got.InstructionID)
	sameTime(t, at, got.UpdatedAt, "UpdatedAt")
	sameTime(t, before.CreatedAt, got.CreatedAt, "CreatedAt")
	stored, err := e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, noTimes(got), noTimes(stored), "returned and stored records differ")

	// The same transition again (a replay): the second loses.
	_, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxPending, store.TxInstructed,
		store.TxUpdate{InstructionID: store.Ptr("INS-2")})
	require.ErrorIs(t, err, store.ErrConflict)
	stored, err = e.s.GetTransaction(e.ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, "INS-1", stored.InstructionID)

	// from == to updates fields under the status guard, and clears with "".
	got, err = e.s.TransitionTransaction(e.ctx, "tx-1", store.TxInstructed, store.TxInstructed,
		store.TxUpdate{MandateID: store.Ptr(""), DynamicDataID: store.Ptr("DD-1")})
	require.NoError(t, err)
	assert.Equal(t, store.TxInstructed, got.Status)
	assert.Empty(t, got.MandateID)
	assert.Equal(t, "DD-1", got.DynamicDataID)
	assert.Equal(t, "INS-1", got.InstructionID, "an unset update field was changed")
	assert.True(t, got.CompletedAt.IsZero())
}

// testTransitionJourney walks the happy path, a retry loop and each way out.
func testTransitionJourney(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	walk := func(id string, steps ...store.TxStatus) store.Transaction {
		t.Helper()
		require.NoError(t, e.s.CreateTransaction(e.ctx, tx(id, "alice", "tok-1")))
		var got store.Transaction
		for i := 1; i < len(steps); i++ {
			var err error
			got, err = e.s.TransitionTransaction(e.ctx, id, steps[i-1], steps[i], store.TxUpdate{})
			require.NoError(t, err, "%s: %s → %s", id, steps[i-1], steps[i])
		}
		return got
	}
	full := walk("tx-full", store.TxPending, store.TxAuthenticated, store.TxInstructed,
		store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxAuthorizing,
		store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxAuthorizing,
		store.TxAuthorized, store.TxCompleted)
	sameTime(t, full.UpdatedAt, full.CompletedAt, "CompletedAt")
	walk("tx-short", store.TxPending, store.TxInstructed, store.TxCredentialsIssued, store.TxAuthorized, store.TxCompleted)
	walk("tx-declined", store.TxPending, store.TxInstructed, store.TxCredentialsIssued, store.TxAuthorizing, store.TxDeclined)
	walk("tx-failed", store.TxPending, store.TxAuthenticated, store.TxFailed)
	walk("tx-cancelled", store.TxPending, store.TxCancelled)

	// Moves the machine refuses, from a live transaction.
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-live", "alice", "tok-1")))
	_, err := e.s.TransitionTransaction(e.ctx, "tx-live", store.TxPending, store.TxInstructed, store.TxUpdate{})
	require.NoError(t, err)
	for _, to := range []store.TxStatus{store.TxPending, store.TxAuthenticated, store.TxDeclined, store.TxCompleted} {
		_, err = e.s.TransitionTransaction(e.ctx, "tx-live", store.TxInstructed, to, store.TxUpdate{})
		require.ErrorIs(t, err, store.ErrConflict, "INSTRUCTED → %s", to)
	}
}

func testFinalFrozen(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	for _, final := range []store.TxStatus{store.TxCompleted, store.TxDeclined, store.TxFailed, store.TxCancelled} {
		id := "tx-" + string(final)
		x := tx(id, "alice", "tok-1")
		x.Status = final
		require.NoError(t, e.s.CreateTransaction(e.ctx, x))
		before, err := e.s.GetTransaction(e.ctx, id)
		require.NoError(t, err)
		for _, to := range store.TxStatuses {
			_, err := e.s.TransitionTransaction(e.ctx, id, final, to, store.TxUpdate{})
			require.ErrorIs(t, err, store.ErrConflict, "%s → %s", final, to)
		}
		_, err = e.s.TransitionTransaction(e.ctx, id, final, final, store.TxUpdate{ResponseCode: store.Ptr("00")})
		require.ErrorIs(t, err, store.ErrConflict, "%s: a field update on a final transaction", final)
		after, err := e.s.GetTransaction(e.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, before, after)
	}
}

func testConfirmed(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	// A decline is confirmed to VIC after it is recorded: a field, once.
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-d", "alice", "tok-1")))
	_, err := e.s.TransitionTransaction(e.ctx, "tx-d", store.TxPending, store.TxCredentialsIssued, store.TxUpdate{})
	require.NoError(t, err)
	declined, err := e.s.TransitionTransaction(e.ctx, "tx-d", store.TxCredentialsIssued, store.TxDeclined,
		store.TxUpdate{ResponseCode: store.Ptr("05")})
	require.NoError(t, err)
	assert.True(t, declined.ConfirmedAt.IsZero())
	at := store.Stamp(e.clock.Peek())
	got, err := e.s.TransitionTransaction(e.ctx, "tx-d", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true})
	require.NoError(t, err)
	assert.Equal(t, store.TxDeclined, got.Status)
	assert.Equal(t, "05", got.ResponseCode)
	sameTime(t, at, got.ConfirmedAt, "ConfirmedAt")
	sameTime(t, declined.CompletedAt, got.CompletedAt, "CompletedAt stays")
	_, err = e.s.TransitionTransaction(e.ctx, "tx-d", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true})
	require.ErrorIs(t, err, store.ErrConflict, "confirmed twice")

	// An approval is confirmed in the step that completes it.
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-c", "alice", "tok-1")))
	_, err = e.s.TransitionTransaction(e.ctx, "tx-c", store.TxPending, store.TxAuthorized, store.TxUpdate{})
	require.NoError(t, err)
	at = store.Stamp(e.clock.Peek())
	got, err = e.s.TransitionTransaction(e.ctx, "tx-c", store.TxAuthorized, store.TxCompleted,
		store.TxUpdate{Confirmed: true, AuthorizationCode: store.Ptr("AUTH01")})
	require.NoError(t, err)
	sameTime(t, at, got.ConfirmedAt, "ConfirmedAt")
	sameTime(t, at, got.CompletedAt, "CompletedAt")
	_, err = e.s.TransitionTransaction(e.ctx, "tx-c", store.TxCompleted, store.TxCompleted, store.TxUpdate{Confirmed: true})
	require.ErrorIs(t, err, store.ErrConflict, "confirmed twice")
}

// Racers is how many goroutines race one compare-and-swap.
const Racers = 32

// race runs f in Racers goroutines released together and returns how many
// succeeded; every other result must be an ErrConflict.
func race(t *testing.T, f func(i int) error) (winners []int) {
	t.Helper()
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
	)
	for i := range Racers {
		wg.Go(func() {
			<-start
			err := f(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, i)
			} else if !errors.Is(err, store.ErrConflict) {
				errs = append(errs, fmt.Errorf("racer %d: %w", i, err))
			}
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...), "racers may only win or lose with ErrConflict")
	return winners
}

func testRaceTransition(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	require.NoError(t, e.s.CreateTransaction(e.ctx, tx("tx-race", "alice", "tok-1")))
	winners := race(t, func(i int) error {
		_, err := e.s.TransitionTransaction(e.ctx, "tx-race", store.TxPending, store.TxInstructed,
			store.TxUpdate{InstructionID: store.Ptr(fmt.Sprintf("INS-%02d", i))})
		return err
	})
	require.Len(t, winners, 1, "exactly one racer must win the CAS")
	got, err := e.s.GetTransaction(e.ctx, "tx-race")
	require.NoError(t, err)
	assert.Equal(t, store.TxInstructed, got.Status)
	assert.Equal(t, fmt.Sprintf("INS-%02d", winners[0]), got.InstructionID, "the winner's update must be the one stored")

	// Racers split between two different moves from the same status: still one.
	winners = race(t, func(i int) error {
		to := store.TxCredentialsRequested
		if i%2 == 1 {
			to = store.TxCancelled
		}
		_, err := e.s.TransitionTransaction(e.ctx, "tx-race", store.TxInstructed, to, store.TxUpdate{})
		return err
	})
	require.Len(t, winners, 1)
}

func testRaceOthers(t *testing.T, e *env) {
	e.seed(t, "alice", "tok-1")
	winners := race(t, func(int) error {
		_, err := e.s.UpdateCardStatus(e.ctx, "tok-1", store.TokenInactive, store.TokenActive)
		return err
	})
	assert.Len(t, winners, 1, "card status CAS")

	winners = race(t, func(i int) error {
		x := tx("tx-dup", "alice", "tok-1")
		x.ClientReferenceID = fmt.Sprintf("CR-%02d", i)
		return e.s.CreateTransaction(e.ctx, x)
	})
	require.Len(t, winners, 1, "create with one id")
	got, err := e.s.GetTransaction(e.ctx, "tx-dup")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("CR-%02d", winners[0]), got.ClientReferenceID)

	x := tx("tx-conf", "alice", "tok-1")
	x.Status = store.TxDeclined
	require.NoError(t, e.s.CreateTransaction(e.ctx, x))
	winners = race(t, func(int) error {
		_, err := e.s.TransitionTransaction(e.ctx, "tx-conf", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true})
		return err
	})
	assert.Len(t, winners, 1, "confirmation")
}
