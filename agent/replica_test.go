package agent_test

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
)

// The tests of this file reproduce what the fleet test (test/fleet) found
// with replicas in separate processes.

// startWaiting starts adding a card for user n and returns the journey,
// waiting for the OTP method.
func startWaiting(t *testing.T, e *env, n int) *agent.Journey {
	t.Helper()
	j, err := e.agent.StartAddCard(context.Background(), agent.AddCardRequest{User: user(n), Card: card(t, sandbox.CardHappy), Device: deviceN(n)})
	require.NoError(t, err)
	require.Equal(t, store.JourneyWaiting, j.Status)
	require.Equal(t, agent.ActionChooseOTPMethod, j.Next.Action)
	return j
}

// finish answers the method and the code on a and expects the card added.
func finish(t *testing.T, a *agent.Agent, id string) {
	t.Helper()
	ctx := context.Background()
	j, err := a.GetJourney(ctx, id)
	require.NoError(t, err)
	if j.Next.Action == agent.ActionChooseOTPMethod {
		j, err = a.Continue(ctx, id, agent.Answer{PromptID: j.Next.PromptID, Method: j.Next.Methods[0].Identifier})
		require.NoError(t, err)
	}
	require.Equal(t, agent.ActionEnterOTP, j.Next.Action)
	j, err = a.Continue(ctx, id, agent.Answer{PromptID: j.Next.PromptID, OTP: otp(t, sandbox.GoldenOTP)})
	require.NoError(t, err)
	assert.Equal(t, store.JourneySucceeded, j.Status)
}

// A failure stored with a journey comes back typed to a request that
// repeats its key. An Auth iFrame answer that is not a message
// (authframe.ErrMalformedMessage) was stored under the catch-all code
// "error" and replayed untyped.
func TestReplayedFailureKeepsItsType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	require.NoError(t, e.sbx.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{{Endpoint: "POST /vts-auth/", Kind: sandbox.MalformedJSON}}}))
	req := agent.AddCardRequest{IdempotencyKey: "malformed-frame", User: user(1), Card: card(t, sandbox.CardHappy), Device: deviceN(1)}
	_, err := e.agent.StartAddCard(ctx, req)
	require.ErrorIs(t, err, authframe.ErrMalformedMessage)

	again, err := e.agent.StartAddCard(ctx, req)
	require.NoError(t, err, "the repeat returns the journey")
	assert.Equal(t, store.JourneyFailed, again.Status)
	assert.ErrorIs(t, again.Err, authframe.ErrMalformedMessage, "the replayed failure keeps its type: %v", again.Err)
	var re *agent.ReplayedError
	require.ErrorAs(t, again.Err, &re)
	assert.NotEqual(t, "error", re.Code)
}

// A journey whose first steps outlast its lease still holds it afterwards:
// recording the token wrote back the lease expiry of the journey's start
// (long past), so another replica's reconciler took the live journey over
// and deleted its token while it ran.
func TestTokenizeKeepsTheLease(t *testing.T) {
	t.Parallel()
	var e *env
	var checked bool
	var mu sync.Mutex
	e = newEnv(t, agent.WithLease(time.Second),
		agent.WithProgress(func(p agent.Progress) {
			if p.Step == agent.StepProvisionToken {
				e.clock.Advance(3 * time.Second) // slow steps: the lease of the start has lapsed
			}
		}),
		agenttest.WithInterrupt(func(b agenttest.Boundary) bool {
			if b != "add-card:after-tokenize" {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			other := newReplica(t, e, e.st)
			rep, err := other.Reconcile(context.Background())
			require.NoError(t, err)
			assert.Zero(t, rep.CardsRemoved, "another replica removed the card of a live journey")
			checked = true
			return false
		}))
	j := startWaiting(t, e, 1)
	mu.Lock()
	assert.True(t, checked)
	mu.Unlock()
	finish(t, e.agent, j.ID)
}

// A journey that suspended for its human between a reconciler's listing
// (where it was RUNNING with no live lease) and its claim is left waiting:
// the reconciler ended it as EXPIRED and deleted its token.
func TestReconcileLeavesAJourneyThatSuspended(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	j := startWaiting(t, e, 1)
	rec, err := e.st.GetJourney(context.Background(), j.ID)
	require.NoError(t, err)
	stale := rec
	stale.Status, stale.LeaseOwner, stale.LeaseExpiresAt = store.JourneyRunning, "", time.Time{}
	other := newReplica(t, e, staleList{Store: e.st, stale: stale})
	rep, err := other.Reconcile(context.Background())
	require.NoError(t, err)
	assert.Zero(t, rep.Expired+rep.CardsRemoved, "the reconciler ended a waiting journey")
	got, err := e.agent.GetJourney(context.Background(), j.ID)
	require.NoError(t, err)
	require.Equal(t, store.JourneyWaiting, got.Status)
	finish(t, e.agent, j.ID)
}

// Two replicas given the same answer at once: the one whose claim comes
// after the other moved the journey on is refused, and the journey stays
// WAITING at its new prompt. It was left RUNNING with no owner, for the
// reconciler to end as interrupted.
func TestContinueMovedOnLeavesItWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	j := startWaiting(t, e, 1)
	method := j.Next.Methods[0].Identifier
	var once sync.Once
	late := newReplica(t, e, claimHook{Store: e.st, before: func() {
		once.Do(func() {
			// The first replica answers, and the journey moves on to
			// the code, between the second's read and its claim.
			_, err := e.agent.Continue(ctx, j.ID, agent.Answer{Method: method})
			require.NoError(t, err)
		})
	}})
	_, err := late.Continue(ctx, j.ID, agent.Answer{Method: method})
	require.ErrorIs(t, err, agent.ErrUnexpectedAnswer)
	got, err := e.agent.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, store.JourneyWaiting, got.Status)
	assert.Equal(t, agent.ActionEnterOTP, got.Next.Action)
	finish(t, e.agent, j.ID)
	assert.Equal(t, 1, e.sbx.OTPsSent(), "one code sent for the one answer")
}

// newReplica is another agent on st, as another replica would be.
func newReplica(t *testing.T, e *env, st store.Store) *agent.Agent {
	t.Helper()
	a, err := agent.New(e.cfg, st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now))
	require.NoError(t, err)
	return a
}

// staleList lists one journey as it stood earlier.
type staleList struct {
	store.Store
	stale store.Journey
}

func (s staleList) ListJourneys(ctx context.Context, f store.JourneyFilter) iter.Seq2[store.Journey, error] {
	return func(yield func(store.Journey, error) bool) {
		for j, err := range s.Store.ListJourneys(ctx, f) {
			if err == nil && j.ID == s.stale.ID {
				j = s.stale
			}
			if !yield(j, err) {
				return
			}
		}
	}
}

// claimHook runs before ahead of every claim.
type claimHook struct {
	store.Store
	before func()
}

func (c claimHook) ClaimJourney(ctx context.Context, id, owner string, until time.Time) (store.Journey, error) {
	c.before()
	return c.Store.ClaimJourney(ctx, id, owner, until)
}
