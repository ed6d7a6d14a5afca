package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

// Action is what a waiting journey needs from the human.
type Action string

// Actions of a waiting journey.
const (
	// ActionChooseOTPMethod: choose where the one-time passcode goes
	// (step 6 of the journey); answer with Answer.Method, the Identifier
	// of one of NextAction.Methods.
	ActionChooseOTPMethod Action = "CHOOSE_OTP_METHOD"
	// ActionEnterOTP: enter the code that was sent (step 7); answer with
	// Answer.OTP, or Answer.Resend for a new code.
	ActionEnterOTP Action = "ENTER_OTP"
)

// Journey is a journey as its caller sees it: where it stands and, while
// it waits, what the human must do next. It is a view of the stored
// record; any process sharing the Store sees the same.
type Journey struct {
	// ID identifies the journey: pass it to Continue, CancelJourney and
	// GetJourney. A purchase's transaction has the same ID.
	ID string
	// Kind is store.JourneyAddCard or store.JourneyPurchase.
	Kind store.JourneyKind
	// UserID is whose journey it is.
	UserID string
	// Status is RUNNING, WAITING, or final (SUCCEEDED, FAILED, CANCELLED,
	// EXPIRED).
	Status store.JourneyStatus
	// Next says what the human must do while the journey is WAITING.
	Next *NextAction
	// ExpiresAt is when a waiting journey is abandoned and cleaned up.
	ExpiresAt time.Time
	// Card is the added card, when an add-card journey succeeded.
	Card *AddCardResult
	// Receipt is the purchase's outcome, for a purchase journey.
	Receipt *Receipt
	// Err says why the journey failed, was cancelled or expired; typed
	// (errors.Is(err, visa.ErrOTPLimitExceeded), ...).
	Err error
}

// NextAction is what a waiting journey needs.
type NextAction struct {
	// Action says what to do.
	Action Action
	// PromptID identifies this prompt. Passing it back in Answer.PromptID
	// makes a repeated answer harmless: once the journey has moved on, an
	// answer to an old prompt is refused (ErrUnexpectedAnswer) instead of
	// being used again.
	PromptID string
	// Methods are the offered step-up methods (ActionChooseOTPMethod);
	// their values are masked destinations such as "(***) ***-0123".
	Methods []vts.StepUpRequest
	// Method and Destination are the chosen method and its masked value
	// (ActionEnterOTP).
	Method, Destination string
	// CodeExpiresAt is when the current code expires.
	CodeExpiresAt time.Time
	// CodeSent says a new code was just sent.
	CodeSent bool
	// Attempt counts the codes entered so far.
	Attempt int
	// AttemptsLeft is how many more times the current code may be
	// entered; at 0 it is spent, and only Resend helps.
	AttemptsLeft int
	// CodesLeft is how many new codes may still be sent.
	CodesLeft int
	// LastError is why the previous answer was refused, typed
	// (errors.Is(err, visa.ErrOTPInvalid), visa.ErrOTPExpired).
	LastError error
	// PasskeyURL is the Bridge page where the cardholder completes the
	// passkey ceremony (ActionPasskey): a path under the Bridge's prefix,
	// holding the journey's page capability; show it only to that
	// cardholder.
	PasskeyURL string
}

// Answer is the human's answer to a NextAction.
type Answer struct {
	// PromptID, when set, must be the PromptID of the prompt answered.
	PromptID string
	// UserID, when set, must be the journey's user; otherwise the journey
	// is reported not found (ErrJourneyNotFound), as to anyone else.
	UserID string
	// Method is the Identifier of the chosen step-up method
	// (ActionChooseOTPMethod).
	Method string
	// OTP is the code the cardholder typed (ActionEnterOTP).
	OTP visa.OTP
	// Resend asks for a new code instead (ActionEnterOTP).
	Resend bool

	// The event of the cardholder's Bridge page (ActionPasskey), and the
	// command it answers: only the agent's own relay sets them.
	frame    *authframe.Message
	frameSeq uint64
}

// Errors of the step API. Each leaves the journey as it was.
var (
	// ErrJourneyNotFound: no journey has that id (for this user).
	ErrJourneyNotFound = errors.New("agent: no such journey")
	// ErrJourneyOver: the journey has ended; Journey.Status and Err say how.
	ErrJourneyOver = errors.New("agent: the journey is over")
	// ErrJourneyBusy: another request is working on the journey right now
	// (two replicas received the same answer, say); try again shortly.
	ErrJourneyBusy = errors.New("agent: the journey is being worked on")
	// ErrUnexpectedAnswer: the journey does not wait for this answer (the
	// wrong kind, or an answer to a prompt it has moved past).
	ErrUnexpectedAnswer = errors.New("agent: the journey does not wait for this answer")
	// ErrJourneyExpired: the journey waited past its deadline; it has been
	// cleaned up.
	ErrJourneyExpired = errors.New("agent: the journey expired")
)

// Continue gives a waiting journey the human's answer and runs it until it
// ends or waits again, in this process. Any process sharing the Store may
// continue any journey, at most once per answer: the journey is claimed
// through its lease first, so of two replicas given the same answer at once
// one runs it and the other gets ErrJourneyBusy. Bad input (an unknown id,
// an answer of the wrong kind, an answer to an old prompt) is a typed error
// and changes nothing.
func (a *Agent) Continue(ctx context.Context, journeyID string, ans Answer) (*Journey, error) {
	j, err := a.waiting(ctx, journeyID, ans.UserID)
	if err != nil {
		return j.view, err
	}
	if err := checkAnswer(j.rec, ans); err != nil {
		return j.view, err
	}
	if ans.Method != "" && j.view.Next != nil && !offered(j.view.Next.Methods, ans.Method) {
		return j.view, visa.NewInputError("Method", "is not one of the offered step-up methods")
	}
	claimed, err := a.claim(ctx, j.rec.ID)
	switch {
	case errors.Is(err, store.ErrConflict):
		return j.view, fmt.Errorf("%w (journey %s)", ErrJourneyBusy, j.rec.ID)
	case err != nil:
		return j.view, fmt.Errorf("agent: claiming the journey: %w", err)
	}
	if claimed.Status != store.JourneyWaiting || claimed.Version > j.rec.Version+1 {
		// Another request moved it between our read and our claim: give
		// the lease back, the journey standing as that request left it.
		a.unclaim(ctx, &claimed)
		return j.view, fmt.Errorf("%w (journey %s moved on)", ErrUnexpectedAnswer, j.rec.ID)
	}
	switch claimed.Kind {
	case store.JourneyAddCard:
		f := &addFlow{a: a, j: claimed}
		if err := json.Unmarshal(claimed.State, &f.st); err != nil {
			return f.fail(ctx, fmt.Errorf("agent: the journey's state cannot be read: %w", visa.ErrMalformedResponse))
		}
		return f.run(ctx, &ans)
	case store.JourneyPurchase:
		if Action(claimed.NextAction) == ActionPasskey {
			return a.continuePurchase(ctx, claimed, ans)
		}
	}
	a.releaseJourney(ctx, &claimed, claimed.ResultID)
	return j.view, fmt.Errorf("%w: a %s journey waits for nothing this version answers", ErrUnexpectedAnswer, claimed.Kind)
}

// CancelJourney abandons a journey that waits for a human (or that no live
// process holds): an add-card journey's half-added card is removed (token
// deleted at VTS, records removed), a purchase that never reached the
// merchant is cancelled. A final journey is ErrJourneyOver; one another
// request is running is ErrJourneyBusy.
func (a *Agent) CancelJourney(ctx context.Context, journeyID string) (*Journey, error) {
	j, err := a.lookupJourney(ctx, journeyID, "")
	if err != nil {
		return nil, err
	}
	if j.Status.Final() {
		v, _ := a.journeyView(ctx, j)
		return v, fmt.Errorf("%w (journey %s is %s)", ErrJourneyOver, j.ID, j.Status)
	}
	claimed, err := a.claim(ctx, j.ID)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("%w (journey %s)", ErrJourneyBusy, j.ID)
	case err != nil:
		return nil, fmt.Errorf("agent: claiming the journey: %w", err)
	}
	cause := fmt.Errorf("agent: cancelled by the caller: %w", context.Canceled)
	switch claimed.Kind {
	case store.JourneyAddCard:
		if tok := addCardToken(claimed); tok != "" {
			if err := a.removeToken(ctx, tok); err != nil {
				a.releaseJourney(ctx, &claimed, claimed.ResultID)
				return nil, fmt.Errorf("agent: removing the half-added card: %w", err)
			}
		}
		a.endJourney(ctx, &claimed, store.JourneyCancelled, "", cause)
	case store.JourneyPurchase:
		tx, err := a.store.GetTransaction(ctx, claimed.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.endJourney(ctx, &claimed, store.JourneyCancelled, "", cause)
		case err != nil:
			a.releaseJourney(ctx, &claimed, claimed.ResultID)
			return nil, err
		default:
			if err := a.cancelTransaction(ctx, tx); err != nil {
				a.releaseJourney(ctx, &claimed, claimed.ResultID)
				return nil, err
			}
			tx, _ = a.store.GetTransaction(ctx, claimed.ID)
			a.closeJourney(ctx, &claimed, tx, cause)
		}
	}
	return a.journeyView(ctx, claimed)
}

// GetJourney returns a journey as it stands.
func (a *Agent) GetJourney(ctx context.Context, journeyID string) (*Journey, error) {
	j, err := a.lookupJourney(ctx, journeyID, "")
	if err != nil {
		return nil, err
	}
	return a.journeyView(ctx, j)
}

type waitingJourney struct {
	rec  store.Journey
	view *Journey
}

// waiting loads a journey that must be waiting for an answer; an expired
// one is cleaned up on the spot.
func (a *Agent) waiting(ctx context.Context, id, userID string) (waitingJourney, error) {
	j, err := a.lookupJourney(ctx, id, userID)
	if err != nil {
		return waitingJourney{}, err
	}
	v, verr := a.journeyView(ctx, j)
	w := waitingJourney{rec: j, view: v}
	switch {
	case verr != nil && !j.Status.Final():
		return w, verr
	case j.Status.Final():
		return w, fmt.Errorf("%w (journey %s is %s)", ErrJourneyOver, j.ID, j.Status)
	case j.Status != store.JourneyWaiting:
		return w, fmt.Errorf("%w (journey %s is running)", ErrJourneyBusy, j.ID)
	case !j.ExpiresAt.IsZero() && !a.now().Before(j.ExpiresAt):
		if claimed, err := a.claim(ctx, j.ID); err == nil {
			_ = a.recoverJourney(ctx, claimed, &ReconcileReport{Failed: map[string]error{}})
			if cur, err := a.store.GetJourney(ctx, j.ID); err == nil {
				w.view, _ = a.journeyView(ctx, cur)
			}
		}
		return w, fmt.Errorf("%w (journey %s)", ErrJourneyExpired, j.ID)
	}
	return w, nil
}

func (a *Agent) lookupJourney(ctx context.Context, id, userID string) (store.Journey, error) {
	if reason := check.ID(id, check.MaxID); reason != "" {
		return store.Journey{}, visa.NewInputError("JourneyID", reason)
	}
	j, err := a.store.GetJourney(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && userID != "" && j.UserID != userID) {
		return store.Journey{}, fmt.Errorf("%w: %s", ErrJourneyNotFound, id)
	}
	if err != nil {
		return store.Journey{}, fmt.Errorf("agent: journey %s: %w", id, err)
	}
	return j, nil
}

// checkAnswer refuses an answer the journey does not wait for.
func checkAnswer(j store.Journey, ans Answer) error {
	if ans.PromptID != "" && ans.PromptID != promptID(j) {
		return fmt.Errorf("%w: the prompt answered is not the current one", ErrUnexpectedAnswer)
	}
	switch Action(j.NextAction) {
	case ActionChooseOTPMethod:
		if ans.Method == "" || !ans.OTP.IsZero() || ans.Resend {
			return fmt.Errorf("%w: it waits for a step-up method (Answer.Method)", ErrUnexpectedAnswer)
		}
	case ActionEnterOTP:
		if ans.Method != "" || ans.OTP.IsZero() == !ans.Resend {
			return fmt.Errorf("%w: it waits for a code (Answer.OTP) or Resend", ErrUnexpectedAnswer)
		}
	case ActionPasskey:
		return checkFrameAnswer(ans)
	default:
		return fmt.Errorf("%w: it waits for %s", ErrUnexpectedAnswer, j.NextAction)
	}
	if ans.frame != nil {
		return fmt.Errorf("%w: it waits for %s, not the passkey page", ErrUnexpectedAnswer, j.NextAction)
	}
	return nil
}

// promptID names a waiting journey's current prompt: its version, which
// every move and claim of the journey changes.
func promptID(j store.Journey) string { return strconv.FormatInt(j.Version, 10) }

// journeyView builds the caller's view of a stored journey.
func (a *Agent) journeyView(ctx context.Context, j store.Journey) (*Journey, error) {
	var st *addState
	if j.Kind == store.JourneyAddCard && len(j.State) > 0 {
		st = new(addState)
		if err := json.Unmarshal(j.State, st); err != nil {
			st = nil
		}
	}
	return a.view(ctx, j, st)
}

// view builds the caller's view of j, with st its decoded add-card state.
func (a *Agent) view(ctx context.Context, j store.Journey, st *addState) (*Journey, error) {
	v := &Journey{ID: j.ID, Kind: j.Kind, UserID: j.UserID, Status: j.Status, ExpiresAt: j.ExpiresAt}
	if j.Status == store.JourneyWaiting && Action(j.NextAction) == ActionPasskey && a.relayed() {
		var holder struct {
			Frame frameConv `json:"frame"`
		}
		if json.Unmarshal(j.State, &holder) == nil && holder.Frame.Token != "" {
			v.Next = &NextAction{Action: ActionPasskey, PromptID: promptID(j), PasskeyURL: a.passkeyURL(j.ID, &holder.Frame)}
		}
	}
	if j.Status == store.JourneyWaiting && st != nil && Action(j.NextAction) != ActionPasskey {
		n := &NextAction{Action: Action(j.NextAction), PromptID: promptID(j)}
		switch n.Action {
		case ActionChooseOTPMethod:
			n.Methods = st.Offered
		case ActionEnterOTP:
			n.Method, n.Destination, n.CodeExpiresAt = st.Choice.Method, st.Choice.Value, st.CodeUntil
			n.CodeSent, n.Attempt = st.CodeSent, st.Attempts
			n.AttemptsLeft, n.CodesLeft = max(0, st.MaxTries-st.Tries), max(0, st.MaxCodes-st.Codes)
			if st.LastCode != "" {
				n.LastError = replayed(st.LastCode, st.LastWhy)
			}
		}
		v.Next = n
	}
	if !j.Status.Final() {
		return v, nil
	}
	switch j.Kind {
	case store.JourneyAddCard:
		if j.Status == store.JourneySucceeded {
			c, err := a.store.GetCard(ctx, j.ResultID)
			if err != nil {
				return v, fmt.Errorf("agent: the added card: %w", err)
			}
			v.Card = &AddCardResult{Card: c}
			if st != nil {
				v.Card.StepUp = st.StepUp
			}
		} else {
			v.Err = replayed(j.FailureCode, j.FailureReason)
		}
	case store.JourneyPurchase:
		rec, err := a.storedReceipt(ctx, j.ID)
		if err == nil {
			v.Receipt = rec
		}
		if j.Status != store.JourneySucceeded {
			v.Err = replayed(j.FailureCode, j.FailureReason)
		}
	}
	return v, nil
}

// addCardToken is the token an add-card journey provisioned, if any.
func addCardToken(j store.Journey) string {
	if j.Kind != store.JourneyAddCard {
		return ""
	}
	return j.ResultID
}

func offered(methods []vts.StepUpRequest, id string) bool {
	for _, m := range methods {
		if m.Identifier == id {
			return true
		}
	}
	return false
}
