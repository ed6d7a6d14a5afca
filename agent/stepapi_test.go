package agent_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

// replicas returns n agents sharing e's store and sandbox, as replicas of a
// fleet would.
func replicas(t *testing.T, e *env, n int) []*agent.Agent {
	t.Helper()
	out := make([]*agent.Agent, n)
	for i := range out {
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
			agent.WithOwner(fmt.Sprintf("replica-%d", i)))
		require.NoError(t, err)
		out[i] = a
	}
	return out
}

func otp(t *testing.T, s string) visa.OTP {
	t.Helper()
	o, err := visa.ParseOTP(s)
	require.NoError(t, err)
	return o
}

// TestStepAPIAcrossReplicas: a card added with each human step answered on
// another replica; the journey waits as a stored row in between.
func TestStepAPIAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := replicas(t, e, 3)
	u, dev := user(300), deviceN(300)

	j, err := r[0].StartAddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev})
	require.NoError(t, err)
	require.Equal(t, store.JourneyWaiting, j.Status)
	require.Equal(t, agent.ActionChooseOTPMethod, j.Next.Action)
	require.NotEmpty(t, j.Next.Methods)
	for _, m := range j.Next.Methods {
		assert.Contains(t, m.Value, "*", "destinations are masked")
	}
	assert.False(t, j.ExpiresAt.IsZero())
	stored, err := e.st.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Empty(t, stored.LeaseOwner, "a waiting journey is held by no process")

	var sms vts.StepUpRequest
	for _, m := range j.Next.Methods {
		if m.Method == vts.MethodOTPSMS {
			sms = m
		}
	}
	j, err = r[1].Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: sms.Identifier})
	require.NoError(t, err)
	require.Equal(t, agent.ActionEnterOTP, j.Next.Action)
	assert.True(t, j.Next.CodeSent)
	assert.Equal(t, vts.MethodOTPSMS, j.Next.Method)
	assert.Equal(t, 3, j.Next.AttemptsLeft)
	assert.Equal(t, 2, j.Next.CodesLeft)

	j, err = r[2].Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, OTP: otp(t, "111111")})
	require.NoError(t, err, "a wrong code is a new prompt, not an error")
	require.Equal(t, agent.ActionEnterOTP, j.Next.Action)
	assert.ErrorIs(t, j.Next.LastError, visa.ErrOTPInvalid)
	assert.Equal(t, 2, j.Next.AttemptsLeft)
	assert.False(t, j.Next.CodeSent)

	// A process restart: a new agent on the same store continues.
	restarted := replicas(t, e, 1)[0]
	j, err = restarted.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, OTP: otp(t, "456789")})
	require.NoError(t, err)
	require.Equal(t, store.JourneySucceeded, j.Status)
	require.NotNil(t, j.Card)
	assert.Equal(t, store.VICEnrolled, j.Card.Card.VICEnrollment)
	assert.Equal(t, store.TokenActive, j.Card.Card.TokenStatus)

	// Any replica reads the same.
	got, err := r[0].GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneySucceeded, got.Status)
	assert.Equal(t, j.Card.Card.TokenID, got.Card.Card.TokenID)

	// And the card pays.
	_, err = r[1].Purchase(ctx, purchaseReq(u, j.Card.Card, dev, "12.00"))
	require.NoError(t, err)
}

// TestStepAPIBadInput: every new entry point refuses bad input with a typed
// error and changes nothing.
func TestStepAPIBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent
	u, dev := user(310), deviceN(310)
	j, err := a.StartAddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev})
	require.NoError(t, err)
	before, err := e.st.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	unchanged := func(what string) {
		t.Helper()
		now, err := e.st.GetJourney(ctx, j.ID)
		require.NoError(t, err)
		assert.Equal(t, before, now, "%s changed the journey", what)
	}

	_, err = a.Continue(ctx, "no-such-journey", agent.Answer{Method: "x"})
	assert.ErrorIs(t, err, agent.ErrJourneyNotFound)
	_, err = a.Continue(ctx, "bad id", agent.Answer{Method: "x"})
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	_, err = a.Continue(ctx, "4111111111111111", agent.Answer{Method: "x"})
	assert.ErrorIs(t, err, visa.ErrInvalidInput, "an id holding a card number never reaches the store")
	_, err = a.GetJourney(ctx, "no-such-journey")
	assert.ErrorIs(t, err, agent.ErrJourneyNotFound)
	_, err = a.CancelJourney(ctx, "no-such-journey")
	assert.ErrorIs(t, err, agent.ErrJourneyNotFound)

	// Another user's journey is not found, as if it did not exist.
	_, err = a.Continue(ctx, j.ID, agent.Answer{UserID: "someone-else", Method: j.Next.Methods[0].Identifier})
	assert.ErrorIs(t, err, agent.ErrJourneyNotFound)
	unchanged("another user's answer")

	// The wrong kind of answer.
	_, err = a.Continue(ctx, j.ID, agent.Answer{OTP: otp(t, "456789")})
	assert.ErrorIs(t, err, agent.ErrUnexpectedAnswer)
	_, err = a.Continue(ctx, j.ID, agent.Answer{Resend: true})
	assert.ErrorIs(t, err, agent.ErrUnexpectedAnswer)
	_, err = a.Continue(ctx, j.ID, agent.Answer{})
	assert.ErrorIs(t, err, agent.ErrUnexpectedAnswer)
	unchanged("an answer of the wrong kind")
	// A method that was not offered.
	_, err = a.Continue(ctx, j.ID, agent.Answer{Method: "SU-not-offered"})
	assert.ErrorIs(t, err, visa.ErrInvalidInput)

	// An answer to a prompt the journey has moved past.
	next, err := a.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: j.Next.Methods[0].Identifier})
	require.NoError(t, err)
	sent := e.sbx.Inspect().OTPsSent
	_, err = a.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: j.Next.Methods[0].Identifier})
	assert.ErrorIs(t, err, agent.ErrUnexpectedAnswer, "the same answer twice")
	assert.Equal(t, sent, e.sbx.Inspect().OTPsSent, "no second code was sent")

	// Over: a final journey takes no answer.
	done, err := a.Continue(ctx, j.ID, agent.Answer{PromptID: next.Next.PromptID, OTP: otp(t, "456789")})
	require.NoError(t, err)
	require.Equal(t, store.JourneySucceeded, done.Status)
	_, err = a.Continue(ctx, j.ID, agent.Answer{OTP: otp(t, "456789")})
	assert.ErrorIs(t, err, agent.ErrJourneyOver)
	_, err = a.CancelJourney(ctx, j.ID)
	assert.ErrorIs(t, err, agent.ErrJourneyOver)
}

// TestStepAPISameAnswerTwiceAtOnce: two replicas receive the same code at
// the same moment: it is validated once.
func TestStepAPISameAnswerTwiceAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r := replicas(t, e, 2)
	u, dev := user(320), deviceN(320)
	j, err := r[0].StartAddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev})
	require.NoError(t, err)
	j, err = r[0].Continue(ctx, j.ID, agent.Answer{Method: j.Next.Methods[0].Identifier})
	require.NoError(t, err)
	before := e.sbx.Inspect()

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range r {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r[i].Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, OTP: otp(t, "456789")})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, agent.ErrJourneyBusy), errors.Is(err, agent.ErrUnexpectedAnswer), errors.Is(err, agent.ErrJourneyOver):
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	assert.Equal(t, 1, wins)
	after := e.sbx.Inspect()
	assert.Equal(t, 1, after.OTPValidationsOK-before.OTPValidationsOK+after.OTPValidationsKO-before.OTPValidationsKO,
		"the code was validated once")
	got, err := r[1].GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneySucceeded, got.Status)
}

// TestStepAPIResendCancelExpire: a new code on request, within Visa's
// limits; cancelling and expiring clean up (no usable token left).
func TestStepAPIResendCancelExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent
	start := func(n int) *agent.Journey {
		t.Helper()
		j, err := a.StartAddCard(ctx, agent.AddCardRequest{User: user(n), Card: card(t, "4111111111111111"), Device: deviceN(n)})
		require.NoError(t, err)
		j, err = a.Continue(ctx, j.ID, agent.Answer{Method: j.Next.Methods[0].Identifier})
		require.NoError(t, err)
		return j
	}
	deleted := func() int { return e.sbx.Inspect().TokensByStatus["DELETED"] }

	j := start(330)
	sent := e.sbx.Inspect().OTPsSent
	j, err := a.Continue(ctx, j.ID, agent.Answer{Resend: true})
	require.NoError(t, err)
	assert.True(t, j.Next.CodeSent)
	assert.Equal(t, 1, j.Next.CodesLeft)
	assert.Equal(t, sent+1, e.sbx.Inspect().OTPsSent)
	j, err = a.Continue(ctx, j.ID, agent.Answer{Resend: true})
	require.NoError(t, err)
	assert.Zero(t, j.Next.CodesLeft)
	_, err = a.Continue(ctx, j.ID, agent.Answer{Resend: true})
	assert.ErrorIs(t, err, visa.ErrOTPLimitExceeded, "no code beyond Visa's limit")
	got, err := a.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneyFailed, got.Status)
	assertNoCards(t, e, user(330).ID)

	// Cancel while waiting.
	d := deleted()
	j = start(331)
	j, err = a.CancelJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneyCancelled, j.Status)
	assert.ErrorIs(t, j.Err, context.Canceled)
	assert.Equal(t, d+1, deleted(), "the provisioned token is deleted")
	assertNoCards(t, e, user(331).ID)

	// Expire: nobody answers until after the deadline.
	d = deleted()
	j = start(332)
	e.clock.Advance(j.ExpiresAt.Sub(e.clock.Now()) + time.Minute)
	_, err = a.Continue(ctx, j.ID, agent.Answer{OTP: otp(t, "456789")})
	assert.ErrorIs(t, err, agent.ErrJourneyExpired)
	got, err = a.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneyExpired, got.Status)
	assert.Equal(t, d+1, deleted())
	assertNoCards(t, e, user(332).ID)

	// Or the reconciler expires it.
	d = deleted()
	j = start(333)
	e.clock.Advance(j.ExpiresAt.Sub(e.clock.Now()) + time.Minute)
	rep, err := a.Reconcile(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Expired)
	got, err = a.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneyExpired, got.Status)
	assert.Equal(t, d+1, deleted())
}

// TestAddCardIdempotent: the same add-card request with one key adds the
// card once, whether the first call is done or still waiting.
func TestAddCardIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(340), deviceN(340)
	req := agent.AddCardRequest{IdempotencyKey: "add-1", User: u, Card: card(t, "4111111111111111"), Device: dev}
	tokens := e.sbx.Inspect().TokensCreated
	j1, err := e.agent.StartAddCard(ctx, req)
	require.NoError(t, err)
	j2, err := e.agent.StartAddCard(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, j1.ID, j2.ID, "the waiting journey, not a second one")
	assert.Equal(t, 1, e.sbx.Inspect().TokensCreated-tokens, "one token")
	other := req
	other.User.Email = "other@example.com"
	_, err = e.agent.StartAddCard(ctx, other)
	assert.ErrorIs(t, err, agent.ErrIdempotencyMismatch)
}

// TestTransactionsBadCursor: paging a user's purchases with cursors; a
// cursor from another filter, or altered, is a typed error, and yields
// nothing else.
func TestTransactionsBadCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(350), deviceN(350)
	res, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev, Cardholder: golden()})
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		rec, err := e.agent.Purchase(ctx, purchaseReq(u, res.Card, dev, fmt.Sprintf("%d.00", 10+i)))
		require.NoError(t, err)
		ids = append(ids, rec.Transaction.ID)
		e.clock.Advance(time.Second)
	}
	list := func(f store.TxFilter) ([]string, []error) {
		var got []string
		var errs []error
		for tx, err := range e.agent.Transactions(ctx, f) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, tx.ID)
		}
		return got, errs
	}
	f := store.TxFilter{UserID: u.ID, Limit: 2}
	page, errs := list(f)
	require.Empty(t, errs)
	require.Equal(t, []string{ids[2], ids[1]}, page, "newest first")
	last, err := e.st.GetTransaction(ctx, page[1])
	require.NoError(t, err)
	f.Cursor = store.CursorAfter(f, last)
	page, errs = list(f)
	require.Empty(t, errs)
	require.Equal(t, []string{ids[0]}, page, "the next page")

	refused := func(g store.TxFilter, what string) {
		t.Helper()
		got, errs := list(g)
		assert.Empty(t, got, what)
		require.Len(t, errs, 1, what)
		assert.ErrorIs(t, errs[0], visa.ErrInvalidInput, what)
		assert.ErrorIs(t, errs[0], store.ErrInvalid, what)
		var ie *visa.InputError
		require.ErrorAs(t, errs[0], &ie, what)
		assert.Equal(t, "TxFilter.Cursor", ie.Field, what)
	}
	other := f
	other.UserID = "someone-else"
	refused(other, "a cursor from another user's listing")
	other = f
	other.NonFinalOnly = true
	refused(other, "a cursor from another filter")
	other = f
	other.Order = store.OldestFirst
	refused(other, "a cursor from the other order")
	other = f
	for i := range f.Cursor { // every character altered in turn
		b := []byte(f.Cursor)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		other.Cursor = string(b)
		refused(other, fmt.Sprintf("a cursor altered at %d", i))
	}
	other.Cursor = "not-a-cursor"
	refused(other, "not a cursor at all")
}

// TestExpiredJourneyTakesNothing: once a journey expired, every entry point
// refuses it with a typed error and the record stays as it is.
func TestExpiredJourneyTakesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent
	j, err := a.StartAddCard(ctx, agent.AddCardRequest{User: user(360), Card: card(t, "4111111111111111"), Device: deviceN(360)})
	require.NoError(t, err)
	method := j.Next.Methods[0].Identifier
	j, err = a.Continue(ctx, j.ID, agent.Answer{Method: method})
	require.NoError(t, err)
	e.clock.Advance(j.ExpiresAt.Sub(e.clock.Now()) + time.Minute)
	_, err = a.Reconcile(ctx)
	require.NoError(t, err)
	rec, err := e.st.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, store.JourneyExpired, rec.Status)
	sent := e.sbx.Inspect()

	for what, ans := range map[string]agent.Answer{
		"the code":       {PromptID: j.Next.PromptID, OTP: otp(t, "456789")},
		"a resend":       {Resend: true},
		"a method":       {Method: method},
		"the wrong kind": {},
		"another user's": {UserID: "someone-else", OTP: otp(t, "456789")},
	} {
		_, err := a.Continue(ctx, j.ID, ans)
		require.Error(t, err, what)
		assert.True(t, errors.Is(err, agent.ErrJourneyOver) || errors.Is(err, agent.ErrJourneyExpired) ||
			errors.Is(err, agent.ErrJourneyNotFound), "%s: %v", what, err)
	}
	_, err = a.CancelJourney(ctx, j.ID)
	assert.ErrorIs(t, err, agent.ErrJourneyOver)
	got, err := a.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JourneyExpired, got.Status)
	after, err := e.st.GetJourney(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, rec, after, "nothing changed")
	now := e.sbx.Inspect()
	assert.Equal(t, sent.OTPsSent, now.OTPsSent, "no code sent")
	assert.Equal(t, sent.OTPValidationsOK+sent.OTPValidationsKO, now.OTPValidationsOK+now.OTPValidationsKO, "no code validated")
}
