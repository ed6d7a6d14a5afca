package agent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// Device is the cardholder's device as the journey needs it.
type Device struct {
	// ClientDeviceID is the device's stable 24-character id; it must equal
	// AppInstance.ClientDeviceID.
	ClientDeviceID string
	// AppInstance describes the agent application on this device.
	AppInstance visa.AppInstance
	// BrowserData, when collected from the cardholder's browser, goes to
	// the iFrame; otherwise the iFrame supplies it.
	BrowserData *visa.BrowserData
	// Channel is the authframe.Bridge channel of the cardholder's page.
	Channel string
}

func (d Device) validate() error {
	if reason := check.ClientDeviceID(d.ClientDeviceID); reason != "" {
		return visa.NewInputError("Device.ClientDeviceID", reason)
	}
	if d.AppInstance.ClientDeviceID == "" {
		d.AppInstance.ClientDeviceID = d.ClientDeviceID
	}
	if d.AppInstance.ClientDeviceID != d.ClientDeviceID {
		return visa.NewInputError("Device.AppInstance.ClientDeviceID", "must equal Device.ClientDeviceID")
	}
	return d.AppInstance.Validate()
}

func (d Device) appInstance() visa.AppInstance {
	ai := d.AppInstance
	if ai.ClientDeviceID == "" {
		ai.ClientDeviceID = d.ClientDeviceID
	}
	return ai
}

func validDeviceID(s string) bool { return check.ClientDeviceID(s) == "" }

// AddCardRequest adds a card for a user on a device (Phases 2 and 3).
type AddCardRequest struct {
	// IdempotencyKey makes adding the card safe to repeat: a request with
	// the key of an earlier one of the same user returns that journey (its
	// card, where it waits, or the same typed error) and never tokenizes
	// the card again; the same key with a different request is
	// ErrIdempotencyMismatch. Optional; at most 128 visible ASCII
	// characters.
	IdempotencyKey string
	// User is created or updated: ID, Email, Country, Language.
	User store.User
	// Card is the card the cardholder typed; it goes only to VTS,
	// encrypted, and is never stored.
	Card   vts.Card
	Device Device
	// Cardholder answers the step-up (OTP) questions. AddCard needs one;
	// StartAddCard ignores it (the caller answers through Continue).
	Cardholder Cardholder
	Consents   []vic.Consent
}

// AddCardResult is the stored card.
type AddCardResult struct {
	Card store.Card
	// Ceremony is fido.Register when a passkey was created, or
	// fido.Authenticate when the device already had one.
	Ceremony fido.Ceremony
	// StepUp is the step-up method used ("OTPSMS", "OTPEMAIL"), or
	// "APPROVED" when Visa asked for none.
	StepUp string
}

// AddCard tokenizes the card, binds the token to the device with a
// passkey, enrolls it in VIC and stores the token and the sealed passkey
// (never the PAN or CVV2). Journey steps 1 to 9 (docs/journey.md):
//
//	1 EnrollPAN → 2 ProvisionToken → 3 iFrame session → 4 attestation probe
//	→ 5 device binding → 6, 7 OTP step-up (Cardholder) → token ACTIVE
//	→ 8 attestation REGISTER → 9 passkey ceremony → VIC card enrollment.
//
// It drives the step API (StartAddCard, Continue) with the Cardholder
// answering each human step, in this goroutine. If the journey fails after
// the token was provisioned, the token is deleted at VTS and the card
// record removed, so nothing half-added remains.
func (a *Agent) AddCard(ctx context.Context, req AddCardRequest) (*AddCardResult, error) {
	if req.Cardholder == nil {
		return nil, visa.NewInputError("Cardholder", "is required")
	}
	j, err := a.StartAddCard(ctx, req)
	for err == nil && j.Status == store.JourneyWaiting {
		if j.Next != nil && j.Next.Action == ActionPasskey {
			// The cardholder's Bridge page answers this one, through
			// any replica: wait for the journey to move on.
			j, err = a.awaitMove(ctx, j)
			continue
		}
		var ans Answer
		if ans, err = answerFrom(ctx, req.Cardholder, j.Next); err != nil {
			cctx := context.WithoutCancel(ctx)
			if _, cerr := a.CancelJourney(cctx, j.ID); cerr != nil {
				a.logger.WarnContext(cctx, "agent: cancelling the add-card journey failed", "journey", j.ID, "error", cerr.Error())
			}
			return nil, err
		}
		j, err = a.Continue(ctx, j.ID, ans)
	}
	if err != nil {
		return nil, err
	}
	if j.Err != nil {
		return nil, j.Err
	}
	return j.Card, nil
}

// awaitMove waits, polling the Store, until journey j no longer waits for
// the same prompt, and returns it as it then stands.
func (a *Agent) awaitMove(ctx context.Context, j *Journey) (*Journey, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("agent: waiting for the cardholder's passkey: %w", ctx.Err())
		case <-t.C:
		}
		cur, err := a.GetJourney(ctx, j.ID)
		if err != nil {
			return j, err
		}
		if cur.Status != store.JourneyWaiting || cur.Next == nil || cur.Next.PromptID != j.Next.PromptID {
			return cur, nil
		}
	}
}

// answerFrom asks the Cardholder what the journey waits for.
func answerFrom(ctx context.Context, ch Cardholder, next *NextAction) (Answer, error) {
	ans := Answer{PromptID: next.PromptID}
	switch next.Action {
	case ActionChooseOTPMethod:
		choice, err := ch.ChooseStepUp(ctx, next.Methods)
		if err != nil {
			return ans, fmt.Errorf("agent: choosing a step-up method: %w", err)
		}
		ans.Method = choice.Identifier
	case ActionEnterOTP:
		if next.AttemptsLeft == 0 {
			ans.Resend = true // this code is spent: ask for a new one
			return ans, nil
		}
		otp, err := ch.EnterOTP(ctx, OTPPrompt{Method: next.Method, Destination: next.Destination,
			Attempt: next.Attempt, ExpiresAt: next.CodeExpiresAt, LastError: next.LastError})
		switch {
		case errors.Is(err, ErrResendOTP):
			ans.Resend = true
		case err != nil:
			return ans, fmt.Errorf("agent: entering the OTP: %w", err)
		default:
			ans.OTP = otp
		}
	default:
		return ans, fmt.Errorf("agent: the journey waits for %s, which a Cardholder cannot answer: %w", next.Action, visa.ErrInvalidInput)
	}
	return ans, nil
}

// StartAddCard starts adding a card and runs it until it ends or waits for
// the cardholder: it returns the Journey, whose Next says what the human
// must do (choose where the OTP goes, enter it) when it is WAITING. Answer
// with Continue, from this process or any other sharing the Store. Nothing
// secret is kept while it waits: the PAN and CVV2 go to VTS in steps 1 and
// 2 and are forgotten, the Auth iFrame session is closed (a fresh one is
// opened after the OTP), and the state kept is the token id and Visa's
// masked step-up options.
//
// Everything the journey will send is validated first, the consumer's
// email included; bad input is a *visa.InputError and sends nothing.
func (a *Agent) StartAddCard(ctx context.Context, req AddCardRequest) (*Journey, error) {
	if err := a.checkAddCard(req); err != nil {
		return nil, err
	}
	j, replay, _, err := a.beginJourney(ctx, store.JourneyAddCard, req.User.ID, req.IdempotencyKey, req.hash(), "tokenize", nil)
	if err != nil {
		return nil, err
	}
	if replay {
		return a.journeyView(ctx, j)
	}
	f := &addFlow{a: a, j: j, st: addState{
		User: req.User, Device: req.Device, Consents: req.Consents, CRID: visa.NewClientReferenceID(),
		ExpiryMonth: req.Card.ExpirationDate.Month, ExpiryYear: req.Card.ExpirationDate.Year,
	}, card: &req.Card}
	return f.run(ctx, nil)
}

func (a *Agent) checkAddCard(req AddCardRequest) error {
	in := inputs{}
	in.err(checkUser(req.User))
	in.err(req.Device.validate())
	if req.IdempotencyKey != "" {
		in.id("IdempotencyKey", req.IdempotencyKey, check.MaxID)
	}
	if req.Card.PAN.IsZero() {
		in.add("Card.PAN", "is required")
	}
	if req.Card.CVV2.IsZero() {
		in.add("Card.CVV2", "is required")
	}
	e := req.Card.ExpirationDate
	if e.Month < 1 || e.Month > 12 || e.Year < 2000 || e.Year > 2199 {
		in.add("Card.ExpirationDate", "must be a month 1-12 and a four-digit year")
	} else if end := time.Date(e.Year, time.Month(e.Month)+1, 1, 0, 0, 0, 0, time.UTC); !end.After(a.now()) {
		in.add("Card.ExpirationDate", "is in the past")
	}
	in.text("Card.Name", req.Card.Name, 128, false)
	for i, c := range req.Consents {
		in.id(fmt.Sprintf("Consents[%d].ID", i), c.ID, 64)
	}
	return in.result()
}

func checkUser(u store.User) error {
	in := inputs{}
	in.id("User.ID", u.ID, 64)
	in.rule("User.Email", check.Email(u.Email))
	in.rule("User.Country", check.Country(u.Country))
	in.rule("User.Language", check.Language(u.Language))
	if err := in.result(); err != nil {
		return err
	}
	// The store's own rules, checked before anything is sent.
	return asInputError("User", u.Validate())
}

// asInputError turns a store validation failure into the SDK's input
// error (errors.Is(err, visa.ErrInvalidInput)), keeping the store's too.
func asInputError(prefix string, err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w (%w)", visa.NewInputError(prefix+"."+ve.Field, ve.Reason), store.ErrInvalid)
	}
	return err
}

// hash fingerprints the request: the user, the device, and of the card only
// what may be kept (its last four digits and expiry), never a digest of the
// whole number.
func (req AddCardRequest) hash() string {
	h := sha256.New()
	pan := req.Card.PAN.Reveal()
	last4 := ""
	if len(pan) >= 4 {
		last4 = pan[len(pan)-4:]
	}
	for _, s := range []string{"add-card/v1", req.User.ID, req.User.Email, req.User.Country, req.User.Language,
		req.Device.ClientDeviceID, last4, fmt.Sprint(req.Card.ExpirationDate.Month), fmt.Sprint(req.Card.ExpirationDate.Year)} {
		fmt.Fprintf(h, "%d:", len(s))
		_, _ = io.WriteString(h, s)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// addState is what an add-card journey keeps between its steps (stored as
// JSON in store.Journey.State): nothing secret.
type addState struct {
	User        store.User    `json:"user"`
	Device      Device        `json:"device"`
	Consents    []vic.Consent `json:"consents,omitempty"`
	CRID        string        `json:"crid"`
	ExpiryMonth int           `json:"expiryMonth"`
	ExpiryYear  int           `json:"expiryYear"`
	TokenID     string        `json:"tokenId,omitempty"`
	// Step-up (steps 5 to 7).
	Offered   []vts.StepUpRequest `json:"offered,omitempty"`
	Choice    vts.StepUpRequest   `json:"choice"`
	CodeUntil time.Time           `json:"codeUntil"`
	MaxCodes  int                 `json:"maxCodes,omitempty"`
	MaxTries  int                 `json:"maxTries,omitempty"`
	Codes     int                 `json:"codes,omitempty"`
	Tries     int                 `json:"tries,omitempty"`
	Attempts  int                 `json:"attempts,omitempty"`
	CodeSent  bool                `json:"codeSent,omitempty"`
	LastCode  string              `json:"lastCode,omitempty"`
	LastWhy   string              `json:"lastWhy,omitempty"`
	StepUp    string              `json:"stepUp,omitempty"`
	Existing  bool                `json:"existing,omitempty"`
	// Frame is the conversation with the cardholder's Bridge page, when
	// the Auth iFrame is reached through the relay (WithBridge).
	Frame frameConv `json:"frame"`
}

// addFlow is one add-card journey in progress on this process.
type addFlow struct {
	a     *Agent
	j     store.Journey
	st    addState
	card  *vts.Card // only in StartAddCard's call: never stored
	lease *lease

	session *authframe.Session
	ac      *visa.AuthenticationContext // the ceremony to run next, in memory
	result  *AddCardResult
}

// The add-card journey as a declared table: each step's name (stored as
// the journey's Step), the journey steps it covers, the human answer it
// waits for (if any), and its effect, which names the step to run next (""
// when the card is added). Every failure means the same: the half-added
// card is removed (token deleted at VTS, records removed) and the journey
// FAILED; a wrong or expired code is not a failure but a new prompt.
type addStep struct {
	name  string
	steps string
	wait  Action
	run   func(f *addFlow, ctx context.Context, ans *Answer) (next string, err error)
}

var addSteps = map[string]addStep{
	"tokenize":      {name: "tokenize", steps: "1-2", run: (*addFlow).tokenize},
	"bind":          {name: "bind", steps: "3-5", run: (*addFlow).bind},
	"choose-method": {name: "choose-method", steps: "6", wait: ActionChooseOTPMethod, run: (*addFlow).chooseMethod},
	"enter-otp":     {name: "enter-otp", steps: "7", wait: ActionEnterOTP, run: (*addFlow).enterOTP},
	"register":      {name: "register", steps: "3, 8", run: (*addFlow).register},
	"ceremony":      {name: "ceremony", steps: "9", run: (*addFlow).ceremony},
}

// run executes the table from the journey's step until the card is added,
// the journey fails, or a step waits for an answer it has not got.
func (f *addFlow) run(ctx context.Context, ans *Answer) (*Journey, error) {
	a := f.a
	f.lease = a.hold(ctx, f.j)
	defer f.lease.release()
	defer f.closeSession(ctx)
	for {
		s, ok := addSteps[f.j.Step]
		if !ok {
			return f.fail(ctx, fmt.Errorf("agent: add-card journey %s stands at unknown step %q: %w", f.j.ID, f.j.Step, visa.ErrInvalidInput))
		}
		if s.wait != "" && ans == nil {
			return f.suspend(ctx, s)
		}
		if f.lease.lost.Load() {
			return nil, fmt.Errorf("%w: the lease of journey %s passed to another process", ErrSuperseded, f.j.ID)
		}
		next, err := s.run(f, ctx, ans)
		ans = nil
		if errors.Is(err, errWaitPasskey) {
			return f.suspend(ctx, addStep{name: s.name, wait: ActionPasskey})
		}
		var bad badAnswer
		if errors.As(err, &bad) {
			// The answer was refused; the journey waits as it was.
			v, serr := f.suspend(ctx, s)
			if serr != nil {
				return nil, serr
			}
			return v, bad.error
		}
		if err != nil {
			return f.fail(ctx, err)
		}
		if a.crashed("add-card:after-" + s.name) {
			return nil, ErrInterrupted
		}
		if next == "" {
			return f.succeed(ctx)
		}
		f.j.Step = next
	}
}

// suspend records the journey as waiting for s's answer, releases it, and
// returns what the human must do.
func (f *addFlow) suspend(ctx context.Context, s addStep) (*Journey, error) {
	a := f.a
	f.closeSession(ctx)
	until := a.now().Add(a.choiceTTL)
	if s.wait == ActionEnterOTP && !f.st.CodeUntil.IsZero() {
		until = f.st.CodeUntil.Add(a.choiceTTL) // time to ask for a new code after this one expires
	}
	state, err := json.Marshal(f.st)
	if err != nil {
		return f.fail(ctx, fmt.Errorf("agent: encoding the journey state: %w", err))
	}
	next := f.j
	next.Step = s.name
	next.Status, next.NextAction, next.State, next.ExpiresAt = store.JourneyWaiting, string(s.wait), state, until
	next.LeaseOwner, next.LeaseExpiresAt = "", zeroTime
	f.lease.release()
	got, err := a.store.UpdateJourney(context.WithoutCancel(ctx), next)
	if err != nil {
		return nil, fmt.Errorf("agent: recording the journey: %w", err)
	}
	f.j = got
	return a.view(ctx, got, &f.st)
}

// succeed records the added card and ends the journey.
func (f *addFlow) succeed(ctx context.Context) (*Journey, error) {
	f.lease.release()
	f.a.endJourney(context.WithoutCancel(ctx), &f.j, store.JourneySucceeded, f.st.TokenID, nil)
	return &Journey{ID: f.j.ID, Kind: f.j.Kind, Status: f.j.Status, Card: f.result}, nil
}

// fail removes the half-added card and ends the journey as FAILED (or
// CANCELLED when the cardholder cancelled).
func (f *addFlow) fail(ctx context.Context, cause error) (*Journey, error) {
	a := f.a
	ctx = context.WithoutCancel(ctx)
	f.closeSession(ctx)
	f.lease.release()
	if f.st.TokenID != "" {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := a.removeToken(cctx, f.st.TokenID)
		cancel()
		if err != nil {
			// The half-added card could not be removed now: the journey
			// is left to the reconciler, with the reason it failed.
			next := f.j
			next.FailureCode, next.FailureReason = failureCode(cause), reasonOf(cause)
			f.j = next
			a.releaseJourney(ctx, &f.j, f.st.TokenID)
			return &Journey{ID: f.j.ID, Kind: f.j.Kind, Status: f.j.Status, Err: cause}, cause
		}
	}
	status := store.JourneyFailed
	if errors.Is(cause, authframe.ErrUserCancelled) || errors.Is(cause, context.Canceled) {
		status = store.JourneyCancelled
	}
	a.endJourney(ctx, &f.j, status, "", cause)
	return &Journey{ID: f.j.ID, Kind: f.j.Kind, Status: f.j.Status, Err: cause}, cause
}

// The effects of the add-card table.

// tokenize runs steps 1 and 2 and records the user, the new (not yet
// usable) card, and the token in the journey, so a crash from here on
// leaves a token the reconciler deletes.
func (f *addFlow) tokenize(ctx context.Context, _ *Answer) (string, error) {
	a, st := f.a, &f.st
	if f.card == nil {
		return "", fmt.Errorf("agent: the card is no longer at hand (journey %s resumed at tokenize): %w", f.j.ID, ErrInterrupted)
	}
	var enr *vts.EnrollPANResponse
	if err := a.step(ctx, StepEnrollPAN, "", func() (string, error) {
		var err error
		enr, err = a.vts.EnrollPAN(ctx, vts.EnrollPANRequest{Card: *f.card})
		return "enrolled ****" + lastOf(enr), err
	}); err != nil {
		return "", err
	}
	var tok *vts.ProvisionTokenResponse
	if err := a.step(ctx, StepProvisionToken, "", func() (string, error) {
		var err error
		tok, err = a.vts.ProvisionToken(ctx, vts.ProvisionTokenRequest{
			VPanEnrollmentID: enr.VPanEnrollmentID, Email: st.User.Email, ExpirationDate: f.card.ExpirationDate,
		})
		if err != nil {
			return "", err
		}
		return string(tok.TokenInfo.TokenStatus), nil
	}); err != nil {
		return "", err
	}
	f.card = nil // the PAN and CVV2 are not needed again
	st.TokenID = tok.VProvisionedTokenID
	// The journey names the token before anything else records it. The
	// lease goes on with a fresh expiry: f.j holds the one of the start,
	// which the renewals have moved on in the store since.
	next := f.j
	next.ResultID = st.TokenID
	next.LeaseExpiresAt = a.now().Add(a.leaseTTL)
	got, err := a.store.UpdateJourney(ctx, next)
	if err != nil {
		return "", fmt.Errorf("agent: recording the journey: %w", err)
	}
	f.j = got
	if err := f.persistToken(ctx, tok, enr); err != nil {
		return "", err
	}
	return "bind", nil
}

func lastOf(r *vts.EnrollPANResponse) string {
	if r == nil {
		return ""
	}
	return r.PaymentInstrument.Last4
}

// bind runs steps 3 to 5: a session, the probe, and device binding. A
// device that already holds a passkey for the token uses it; otherwise
// Visa approves the device or asks for an OTP.
func (f *addFlow) bind(ctx context.Context, ans *Answer) (string, error) {
	a, st := f.a, &f.st
	if err := f.open(ctx, StepOpenSession, ans); err != nil {
		return "", err
	}
	var probe *vts.AttestationOptionsResponse
	if err := a.step(ctx, StepProbe, "", func() (string, error) {
		var err error
		probe, err = a.vts.AttestationOptions(ctx, f.options(visa.ActionAuthenticate))
		if err != nil {
			return "", err
		}
		return string(probe.AuthenticationContext.Action), nil
	}); err != nil {
		return "", err
	}
	if probe.AuthenticationContext.Action == visa.ActionAuthenticate {
		// This device already holds a passkey for the token: use it.
		st.Existing = true
		f.ac = &probe.AuthenticationContext
		return "ceremony", nil
	}
	var db *vts.DeviceBindingResponse
	if err := a.step(ctx, StepDeviceBinding, "", func() (string, error) {
		var err error
		db, err = a.vts.DeviceBinding(ctx, vts.DeviceBindingRequest{
			VProvisionedTokenID: st.TokenID, ClientReferenceID: st.CRID, SessionContext: f.session.SessionContext,
			BrowserData: f.session.BrowserData, Email: st.User.Email,
			ExpirationDate: vts.ExpirationDate{Month: st.ExpiryMonth, Year: st.ExpiryYear},
		})
		if err != nil {
			return "", err
		}
		return string(db.Status), nil
	}); err != nil {
		return "", err
	}
	switch {
	case db.Status == vts.BindingApproved:
		st.StepUp = string(vts.BindingApproved)
		return "register", nil
	case db.Status != vts.BindingChallenge || len(db.StepUpRequest) == 0:
		return "", fmt.Errorf("agent: device binding answered %q: %w", db.Status, visa.ErrMalformedResponse)
	}
	st.Offered = db.StepUpRequest
	return "choose-method", nil
}

// chooseMethod runs step 6 with the cardholder's choice: the first code is
// sent.
func (f *addFlow) chooseMethod(ctx context.Context, ans *Answer) (string, error) {
	st := &f.st
	for _, o := range st.Offered {
		if o.Identifier == ans.Method {
			st.Choice = o
			return "enter-otp", f.sendCode(ctx)
		}
	}
	return "", badAnswer{visa.NewInputError("Method", "is not one of the offered step-up methods")}
}

// badAnswer is a refused answer: the journey keeps waiting for a good one.
type badAnswer struct{ error }

func (e badAnswer) Unwrap() error { return e.error }

// sendCode asks Visa to send a (new) code by the chosen method (step 6).
func (f *addFlow) sendCode(ctx context.Context) error {
	a, st := f.a, &f.st
	var sent *vts.SelectStepUpMethodResponse
	if err := a.step(ctx, StepSelectStepUp, "", func() (string, error) {
		var err error
		sent, err = a.vts.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{
			VProvisionedTokenID: st.TokenID, ClientReferenceID: st.CRID, StepUpRequestID: st.Choice.Identifier,
		})
		if err != nil {
			return "", err
		}
		return "code sent by " + st.Choice.Method, nil
	}); err != nil {
		return err
	}
	st.Codes++
	st.Tries = 0
	st.CodeSent = true
	st.MaxCodes, st.MaxTries = limit(sent.MaxOTPRequestsAllowed), limit(sent.MaxOTPVerificationAllowed)
	st.CodeUntil = sent.CodeExpiration
	return nil
}

func limit(n int) int {
	if n <= 0 {
		return 3
	}
	return n
}

// enterOTP runs step 7 with the cardholder's code, or sends a new code when
// asked. A wrong or expired code is a new prompt (with the reason and what
// is left), not a failure; running out of codes is ErrOTPLimitExceeded.
func (f *addFlow) enterOTP(ctx context.Context, ans *Answer) (string, error) {
	a, st := f.a, &f.st
	st.CodeSent = false
	if ans.Resend {
		if st.Codes >= st.MaxCodes {
			return "", fmt.Errorf("agent: OTP: no new code may be sent: %w", visa.ErrOTPLimitExceeded)
		}
		st.LastCode, st.LastWhy = "", ""
		return "enter-otp", f.sendCode(ctx)
	}
	if ans.OTP.IsZero() {
		return "", badAnswer{visa.NewInputError("OTP", "is required")}
	}
	if st.Tries >= st.MaxTries {
		return "", badAnswer{visa.NewInputError("OTP", "this code is spent: ask for a new one (Resend)")}
	}
	st.Attempts++
	st.Tries++
	err := a.step(ctx, StepValidateOTP, "", func() (string, error) {
		_, err := a.vts.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: st.TokenID, ClientReferenceID: st.CRID, OTP: ans.OTP})
		if err != nil {
			return "", err
		}
		return "code accepted", nil
	})
	switch {
	case err == nil:
		st.StepUp, st.LastCode, st.LastWhy = st.Choice.Method, "", ""
		if err := f.activate(ctx); err != nil {
			return "", err
		}
		return "register", nil
	case errors.Is(err, visa.ErrOTPInvalid), errors.Is(err, visa.ErrOTPExpired), errors.Is(err, visa.ErrOTPLimitExceeded):
		if !errors.Is(err, visa.ErrOTPInvalid) {
			st.Tries = st.MaxTries // this code can no longer be used
		}
		if st.Tries >= st.MaxTries && st.Codes >= st.MaxCodes {
			return "", fmt.Errorf("agent: OTP: %w (%w)", visa.ErrOTPLimitExceeded, err)
		}
		st.LastCode, st.LastWhy = failureCode(err), reasonOf(err)
		return "enter-otp", nil
	}
	return "", err
}

// activate checks that step-up made the token ACTIVE and records it.
func (f *addFlow) activate(ctx context.Context) error {
	a, st := f.a, &f.st
	var info *vts.GetTokenResponse
	if err := a.step(ctx, Step{7, "token status"}, "", func() (string, error) {
		var err error
		info, err = a.vts.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: st.TokenID})
		if err != nil {
			return "", err
		}
		return string(info.TokenInfo.TokenStatus), nil
	}); err != nil {
		return err
	}
	if info.TokenInfo.TokenStatus != visa.TokenActive {
		return fmt.Errorf("%w (status %s)", ErrTokenNotActive, info.TokenInfo.TokenStatus)
	}
	card, err := a.store.GetCard(ctx, st.TokenID)
	if err != nil {
		return fmt.Errorf("agent: reading the card: %w", err)
	}
	if card.TokenStatus == store.TokenActive {
		return nil
	}
	if _, err := a.store.UpdateCardStatus(ctx, st.TokenID, card.TokenStatus, store.TokenActive); err != nil {
		return fmt.Errorf("agent: recording the active token: %w", err)
	}
	return nil
}

// register runs step 8 in a fresh session when the one of step 5 was
// closed while the journey waited for the code.
func (f *addFlow) register(ctx context.Context, ans *Answer) (string, error) {
	a, st := f.a, &f.st
	if st.StepUp == string(vts.BindingApproved) && f.session != nil {
		// Approved without a code: the token is ACTIVE at once.
		if err := f.activate(ctx); err != nil {
			return "", err
		}
	}
	if f.session == nil {
		if err := f.open(ctx, StepOpenSession, ans); err != nil {
			return "", err
		}
	}
	var reg *vts.AttestationOptionsResponse
	if err := a.step(ctx, StepRegisterOptions, "", func() (string, error) {
		var err error
		reg, err = a.vts.AttestationOptions(ctx, f.options(visa.ActionRegister))
		if err != nil {
			return "", err
		}
		return string(reg.AuthenticationContext.Action), nil
	}); err != nil {
		return "", err
	}
	f.ac = &reg.AuthenticationContext
	return "ceremony", nil
}

// ceremony runs the passkey ceremony (step 9), enrolls the card in VIC, and
// stores the sealed passkey and the enrolled card.
func (f *addFlow) ceremony(ctx context.Context, ans *Answer) (string, error) {
	a, st := f.a, &f.st
	res := &AddCardResult{Ceremony: fido.Register, StepUp: st.StepUp}
	stepName := StepRegisterPasskey
	if st.Existing {
		res.Ceremony = fido.Authenticate
		stepName = Step{9, "passkey ceremony (existing passkey)"}
	}
	var ac visa.AuthenticationContext
	if f.ac != nil {
		ac = *f.ac
	} else if !a.relayed() || st.Frame.Phase != "assert" {
		return "", fmt.Errorf("agent: journey %s lost its ceremony (resumed at step 9): %w", f.j.ID, ErrInterrupted)
	}
	as, err := a.ceremony(ctx, &st.Frame, f.session, ac, ans, stepName, "")
	if err != nil {
		return "", err
	}
	dfp := st.Frame.DFP
	if f.session != nil {
		dfp = f.session.DFPSessionID
	}
	if err := a.step(ctx, StepEnrollCard, "", func() (string, error) {
		r, err := a.vic.EnrollCard(ctx, vic.EnrollCardRequest{
			ClientReferenceID: st.CRID, TokenID: st.TokenID, Assurance: as, Ceremony: res.Ceremony,
			DFPSessionID: dfp, AppInstance: st.Device.appInstance(), Consents: st.Consents,
			Consumer: vic.Consumer{ConsumerID: st.User.ID, Email: st.User.Email, CountryCode: st.User.Country, LanguageCode: st.User.Language},
		})
		if err != nil {
			return "", err
		}
		if r.Status != vic.StatusActive {
			return string(r.Status), fmt.Errorf("agent: VIC enrollment answered %q: %w", r.Status, visa.ErrMalformedResponse)
		}
		return string(r.Status), nil
	}); err != nil {
		return "", err
	}
	if err := f.persistPasskey(ctx, as); err != nil {
		return "", err
	}
	card, err := a.store.GetCard(ctx, st.TokenID)
	if err != nil {
		return "", fmt.Errorf("agent: reading the card: %w", err)
	}
	card.VICEnrollment = store.VICEnrolled
	if err := a.store.PutCard(ctx, card); err != nil {
		return "", fmt.Errorf("agent: storing the card: %w", err)
	}
	if res.Card, err = a.store.GetCard(ctx, card.TokenID); err != nil {
		return "", fmt.Errorf("agent: reading the card back: %w", err)
	}
	f.result = res
	return "", nil
}

// open starts an Auth iFrame session for the device (relayed: it may wait
// for the cardholder's page).
func (f *addFlow) open(ctx context.Context, step Step, ans *Answer) error {
	s, err := f.a.openSession(ctx, &f.st.Frame, f.st.Device, ans, step, "")
	if err != nil {
		return err
	}
	f.session = s
	return nil
}

// options builds an attestation options request of the onboarding.
func (f *addFlow) options(action visa.Action) vts.AttestationOptionsRequest {
	return vts.AttestationOptionsRequest{
		VProvisionedTokenID: f.st.TokenID, ClientReferenceID: f.st.CRID, Type: action,
		SessionContext: f.session.SessionContext, BrowserData: f.session.BrowserData,
		MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: f.a.externalClientID, ApplicationURL: f.a.appURL, MerchantName: f.a.appName},
		Email:              f.st.User.Email,
	}
}

// persistToken stores the user and the new, not yet usable, card.
func (f *addFlow) persistToken(ctx context.Context, tok *vts.ProvisionTokenResponse, enr *vts.EnrollPANResponse) error {
	a := f.a
	if err := a.store.PutUser(ctx, f.st.User); err != nil {
		return fmt.Errorf("agent: storing the user: %w", err)
	}
	card := store.Card{
		TokenID: tok.VProvisionedTokenID, UserID: f.st.User.ID, TokenReferenceID: tok.TokenReferenceID,
		Last4: tok.TokenInfo.Last4, ExpiryMonth: tok.TokenInfo.ExpirationDate.Month, ExpiryYear: tok.TokenInfo.ExpirationDate.Year,
		TokenStatus: store.TokenStatus(tok.TokenInfo.TokenStatus), VICEnrollment: store.VICNone,
	}
	if !card.TokenStatus.Valid() {
		card.TokenStatus = store.TokenInactive
	}
	meta := tok.CardMetaData
	if len(meta.CardArt()) == 0 {
		meta = enr.CardMetaData
	}
	if art := meta.CardArt(); len(art) > 0 {
		card.CardArtURL = a.cardArtURL(art[0].GUID)
	}
	if err := a.store.PutCard(ctx, card); err != nil {
		return fmt.Errorf("agent: storing the card: %w", err)
	}
	return nil
}

func (f *addFlow) persistPasskey(ctx context.Context, as fido.Assurance) error {
	a, st := f.a, &f.st
	sealed, err := a.sealer.Seal(as.FidoBlob, fido.Binding{UserID: st.User.ID, TokenID: st.TokenID, DeviceID: st.Device.ClientDeviceID})
	if err != nil {
		return fmt.Errorf("agent: sealing the passkey: %w", err)
	}
	err = a.store.PutPasskey(ctx, store.Passkey{
		UserID: st.User.ID, TokenID: st.TokenID, DeviceID: st.Device.ClientDeviceID,
		Identifier: as.Identifier, SealedBlob: sealed, RPID: as.RPID,
	})
	if err != nil {
		return fmt.Errorf("agent: storing the passkey: %w", err)
	}
	return nil
}

func (f *addFlow) closeSession(ctx context.Context) {
	if f.session == nil {
		return
	}
	if f.a.relayed() {
		f.session = nil // the page closes it after the ceremony
		return
	}
	s := f.session
	f.session = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = f.a.frame.Close(ctx, s) // best effort: the session expires anyway
}

// removeToken deletes a token at VTS (a token already gone is fine) and
// every record of it.
func (a *Agent) removeToken(ctx context.Context, tokenID string) error {
	if _, err := a.vts.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: tokenID}); err != nil &&
		!errors.Is(err, visa.ErrNotFound) && !errors.Is(err, visa.ErrTokenInactive) {
		a.logger.WarnContext(ctx, "agent: deleting the token failed", "error", err.Error())
		return err
	}
	if _, err := a.store.DeletePasskeys(ctx, tokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := a.store.DeleteCard(ctx, tokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (a *Agent) cardArtURL(guid string) string {
	if guid == "" {
		return ""
	}
	return a.vtsBase + "/vts/cps/getContent/" + url.PathEscape(guid)
}
