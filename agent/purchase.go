package agent

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// MerchantInfo says where the agent buys.
type MerchantInfo struct {
	Name string
	// URL is the merchant's site: https (plain http only for a loopback
	// host, in development).
	URL string
	// CountryCode is ISO 3166 alpha-2, e.g. "US".
	CountryCode string
	// Category and CategoryCode (MCC, 4 digits) are optional.
	Category     string
	CategoryCode string
}

// PurchaseRequest buys one thing for a user with a stored card.
type PurchaseRequest struct {
	// IdempotencyKey makes the purchase safe to repeat: a request with the
	// key of an earlier one of the same user returns that purchase's outcome
	// (its Receipt, or the same typed error) and never starts a second one,
	// from any process sharing the Store; the same key with a different
	// request is ErrIdempotencyMismatch. Pass one, made once per intended
	// purchase (an order id, or a random id kept with the shopper's
	// request): without it, every call is a new purchase. At most 128
	// visible ASCII characters.
	IdempotencyKey string
	UserID         string
	// TokenID is the card's vProvisionedTokenID.
	TokenID  string
	Device   Device
	Amount   visa.Amount
	Merchant MerchantInfo
	// Description is the mandate's description of what is bought.
	Description string
	// ConsumerPrompt is what the shopper asked for, in their words.
	ConsumerPrompt string
	// OrderID, when the merchant has one, goes into the confirmation.
	OrderID string
}

// Receipt is the outcome of a purchase.
type Receipt struct {
	// Transaction is the stored record as the purchase left it.
	Transaction store.Transaction
	// Credential is the one-time credential used (prints redacted). It is
	// never stored, so a replayed Receipt has none.
	Credential vic.Credential
	// Authorization is the merchant's answer, when there was one.
	Authorization *Authorization
	// Replayed says the Receipt is the stored outcome of an earlier request
	// with the same idempotency key.
	Replayed bool
}

// Purchase runs Phases 4 and 5 of the journey (docs/journey.md), steps 10
// to 16, as the declared table purchaseSteps:
//
//	10 iFrame session → 11 attestation options (amount, merchant) → 12 passkey
//	assertion → 13 purchase instruction → 14 credentials (verified)
//	→ 15 merchant charge → 16 confirmation.
//
// Everything the journey will send is validated before its first request;
// bad input is a *visa.InputError and records nothing. Then the purchase is
// a store.Journey (its lease says this process works on it) and a
// store.Transaction whose status moves by compare-and-swap, recorded before
// every side effect that must not repeat, so a crash at any point leaves a
// record the reconciler settles without a second credential or a second
// charge.
//
// Once the purchase is recorded, Purchase returns its Receipt with every
// error; the package documentation has the table of outcomes. In short:
// nil (COMPLETED); a *DeclineError (DECLINED: nothing charged); an
// *OutcomeError (ErrChargedUnconfirmed, ErrOutcomeUnknown,
// ErrOwnershipLost: the merchant may have charged — never retry, the
// reconciler settles it); any other error with a FAILED or CANCELLED
// record (nothing charged: safe to try again).
//
// With a relayed Bridge (WithBridge), the passkey is the cardholder's to
// give on the Bridge page: Purchase then waits, polling the Store, until the
// journey has ended or ctx is done; StartPurchase returns at once instead.
func (a *Agent) Purchase(ctx context.Context, req PurchaseRequest) (*Receipt, error) {
	card, err := a.checkPurchase(ctx, req)
	if err != nil {
		return nil, err
	}
	tx := req.transaction()
	j, replay, recorded, err := a.beginJourney(ctx, store.JourneyPurchase, req.UserID, req.IdempotencyKey, req.hash(), "authenticate", &tx)
	if err != nil {
		return nil, err
	}
	if replay {
		return a.replayPurchase(ctx, j)
	}
	p := &purchase{a: a, req: req, card: card, j: j, tx: tx, recorded: recorded}
	rec, err := p.start(ctx)
	if !p.waiting {
		return rec, err
	}
	return a.awaitPurchase(ctx, p.j.ID)
}

// StartPurchase starts a purchase and runs it until it ends or waits for
// the cardholder's passkey on the Bridge page (ActionPasskey, with
// NextAction.PasskeyURL), which happens only with a relayed Bridge
// (WithBridge). The returned Journey has the Receipt once the purchase
// ended, and Err as Purchase would return it. The page's events continue
// the purchase on whichever replica they reach; GetJourney tells how it
// stands.
func (a *Agent) StartPurchase(ctx context.Context, req PurchaseRequest) (*Journey, error) {
	card, err := a.checkPurchase(ctx, req)
	if err != nil {
		return nil, err
	}
	tx := req.transaction()
	j, replay, recorded, err := a.beginJourney(ctx, store.JourneyPurchase, req.UserID, req.IdempotencyKey, req.hash(), "authenticate", &tx)
	if err != nil {
		return nil, err
	}
	if replay {
		rec, err := a.replayPurchase(ctx, j)
		if cur, gerr := a.store.GetJourney(ctx, j.ID); gerr == nil {
			j = cur
		}
		v, _ := a.journeyView(ctx, j)
		if v == nil {
			v = &Journey{ID: j.ID, Kind: j.Kind, UserID: j.UserID, Status: j.Status}
		}
		v.Receipt, v.Err = rec, err
		return v, err
	}
	p := &purchase{a: a, req: req, card: card, j: j, tx: tx, recorded: recorded}
	rec, err := p.start(ctx)
	return p.view(ctx, rec, err)
}

// view is the Journey of a purchase as a run left it.
func (p *purchase) view(ctx context.Context, rec *Receipt, err error) (*Journey, error) {
	v, verr := p.a.journeyView(ctx, p.j)
	if v == nil {
		return nil, errors.Join(err, verr)
	}
	if !p.waiting {
		v.Receipt, v.Err = rec, err
	}
	return v, err
}

// awaitPurchase waits until the purchase journey id has ended (or left its
// outcome to the reconciler) and returns its outcome as Purchase does.
func (a *Agent) awaitPurchase(ctx context.Context, id string) (*Receipt, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		j, err := a.store.GetJourney(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("agent: journey %s: %w", id, err)
		}
		if j.Status.Final() || (j.Status == store.JourneyRunning && !j.Leased("", a.now())) {
			rec, err := a.storedReceipt(ctx, id)
			if err != nil {
				return nil, replayed(j.FailureCode, j.FailureReason)
			}
			rec.Replayed = false
			return rec, outcomeOf(rec.Transaction)
		}
		select {
		case <-ctx.Done():
			rec, _ := a.storedReceipt(context.WithoutCancel(ctx), id)
			return rec, fmt.Errorf("agent: waiting for the cardholder's passkey: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (a *Agent) checkPurchase(ctx context.Context, req PurchaseRequest) (store.Card, error) {
	if a.merchant == nil {
		return store.Card{}, ErrNoMerchant
	}
	in := inputs{}
	in.id("UserID", req.UserID, 64)
	in.id("TokenID", req.TokenID, 64)
	if req.IdempotencyKey != "" {
		in.id("IdempotencyKey", req.IdempotencyKey, check.MaxID)
	}
	if req.Amount.IsZero() || req.Amount.Minor() <= 0 {
		in.add("Amount", "is required and must be above zero")
	}
	in.text("Merchant.Name", req.Merchant.Name, 128, true)
	in.url("Merchant.URL", req.Merchant.URL)
	in.rule("Merchant.CountryCode", check.Country(req.Merchant.CountryCode))
	in.text("Merchant.Category", req.Merchant.Category, 128, false)
	if req.Merchant.CategoryCode != "" {
		in.rule("Merchant.CategoryCode", check.MCC(req.Merchant.CategoryCode))
	}
	in.text("Description", req.Description, 1024, true)
	in.text("ConsumerPrompt", req.ConsumerPrompt, 4096, false)
	if req.OrderID != "" {
		in.id("OrderID", req.OrderID, 64)
	}
	in.err(req.Device.validate())
	if err := in.result(); err != nil {
		return store.Card{}, err
	}
	card, err := a.store.GetCard(ctx, req.TokenID)
	if err != nil {
		return store.Card{}, fmt.Errorf("agent: card %s: %w", req.TokenID, err)
	}
	if card.UserID != req.UserID {
		return store.Card{}, visa.NewInputError("TokenID", "is not a card of this user")
	}
	if card.TokenStatus != store.TokenActive || card.VICEnrollment != store.VICEnrolled {
		return store.Card{}, fmt.Errorf("agent: card is %s/%s: %w", card.TokenStatus, card.VICEnrollment, visa.ErrTokenInactive)
	}
	return card, nil
}

// hash fingerprints what the purchase asks for. The device's changing
// details (IP address, user agent, browser data) are left out: a repeated
// request from the same device is the same purchase.
func (req PurchaseRequest) hash() string {
	h := sha256.New()
	for _, s := range []string{"purchase/v1", req.UserID, req.TokenID, req.Device.ClientDeviceID,
		req.Amount.Value(), req.Amount.Currency().Alpha, req.Merchant.Name, req.Merchant.URL,
		req.Merchant.CountryCode, req.Merchant.Category, req.Merchant.CategoryCode, req.Description,
		req.ConsumerPrompt, req.OrderID} {
		fmt.Fprintf(h, "%d:", len(s))
		_, _ = io.WriteString(h, s)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// purchase is one Purchase in progress.
type purchase struct {
	a    *Agent
	req  PurchaseRequest
	card store.Card
	j    store.Journey
	tx   store.Transaction
	// recorded says tx was stored with the journey, closed that the
	// journey's close was written (or tried) with the last move
	// (store.PurchaseWriter).
	recorded, closed bool
	lease            *lease
	// frame is the conversation with the cardholder's Bridge page (relay
	// mode), ans the page's event being handled, and waiting says the run
	// ended waiting for the page.
	frame   frameConv
	ans     *Answer
	waiting bool

	// In memory only, for the steps that follow: never stored.
	assurance fido.Assurance
	session   *authframe.Session
	ins       *vic.InstructionResponse
	cred      *vic.Credential
	auth      *Authorization
}

// transaction is the record of the purchase req asks for, PENDING, its ID
// still to be set (the journey's).
func (req PurchaseRequest) transaction() store.Transaction {
	return store.Transaction{
		UserID: req.UserID, TokenID: req.TokenID, ClientReferenceID: visa.NewClientReferenceID(),
		MandateID: check.NewUUID(), Amount: req.Amount.Value(), Currency: req.Amount.Currency().Alpha,
		MerchantName: req.Merchant.Name, MerchantURL: req.Merchant.URL, Status: store.TxPending,
		IdempotencyKey: req.IdempotencyKey,
	}
}

// start records the transaction (the journey's twin, same ID) unless
// beginJourney recorded it with the journey, and runs the table from
// PENDING.
func (p *purchase) start(ctx context.Context) (*Receipt, error) {
	a := p.a
	p.lease = a.hold(ctx, p.j)
	defer p.lease.release()
	if !p.recorded {
		p.tx.ID = p.j.ID
		if err := a.store.CreateTransaction(ctx, p.tx); err != nil {
			a.endJourney(context.WithoutCancel(ctx), &p.j, store.JourneyFailed, "", err)
			return nil, fmt.Errorf("agent: recording the purchase: %w", err)
		}
	}
	if a.crashed(string(boundaryAfterPending)) {
		return nil, ErrInterrupted
	}
	return p.run(ctx)
}

// run executes the purchase table from the transaction's status until it
// is final or a step fails, then closes the journey.
func (p *purchase) run(ctx context.Context) (*Receipt, error) {
	for {
		step := purchaseStepAt(p.tx)
		if step == nil {
			return p.finish(ctx, nil)
		}
		if err := p.exec(ctx, step); err != nil {
			switch {
			case errors.Is(err, ErrInterrupted):
				return nil, err
			case errors.Is(err, errWaitPasskey):
				return nil, p.suspend(ctx)
			}
			return p.finish(ctx, err)
		}
	}
}

// purchaseState is what a purchase waiting for the cardholder's page keeps
// (store.Journey.State): the request, nothing secret, and the page's
// conversation.
type purchaseState struct {
	Request  PurchaseRequest `json:"request"`
	Amount   string          `json:"amount"`
	Currency string          `json:"currency"`
	Frame    frameConv       `json:"frame"`
}

// suspend records the purchase as waiting for the cardholder's page.
func (p *purchase) suspend(ctx context.Context) error {
	a := p.a
	p.lease.release()
	req := p.req
	req.Amount = visa.Amount{}
	state, err := json.Marshal(purchaseState{Request: req, Amount: p.req.Amount.Value(),
		Currency: p.req.Amount.Currency().Alpha, Frame: p.frame})
	if err != nil {
		return err
	}
	next := p.j
	next.Status, next.NextAction, next.State, next.ExpiresAt = store.JourneyWaiting, string(ActionPasskey), state, a.now().Add(a.choiceTTL)
	next.LeaseOwner, next.LeaseExpiresAt = "", zeroTime
	got, err := a.store.UpdateJourney(context.WithoutCancel(ctx), next)
	if err != nil {
		return fmt.Errorf("agent: recording the journey: %w", err)
	}
	p.j, p.waiting = got, true
	return nil
}

// continuePurchase resumes a purchase waiting for the page, which j's
// claim now holds, with the page's event.
func (a *Agent) continuePurchase(ctx context.Context, j store.Journey, ans Answer) (*Journey, error) {
	var st purchaseState
	if err := json.Unmarshal(j.State, &st); err != nil {
		a.releaseJourney(ctx, &j, j.ResultID)
		return nil, fmt.Errorf("agent: the journey's state cannot be read: %w", visa.ErrMalformedResponse)
	}
	amount, err := visa.ParseAmount(st.Amount, st.Currency)
	if err != nil {
		a.releaseJourney(ctx, &j, j.ResultID)
		return nil, fmt.Errorf("agent: the journey's state: %w", err)
	}
	p := &purchase{a: a, req: st.Request, j: j, frame: st.Frame, ans: &ans}
	p.req.Amount = amount
	if p.tx, err = a.store.GetTransaction(ctx, j.ID); err == nil {
		p.card, err = a.store.GetCard(ctx, p.req.TokenID)
	}
	if err != nil {
		a.releaseJourney(ctx, &j, j.ResultID)
		return nil, fmt.Errorf("agent: resuming purchase %s: %w", j.ID, err)
	}
	p.lease = a.hold(ctx, j)
	defer p.lease.release()
	rec, err := p.run(ctx)
	return p.view(ctx, rec, err)
}

// exec runs one row of the table: the status recorded before the effect
// (if any), the effect, the status after it; a failure is handled as the
// row declares.
func (p *purchase) exec(ctx context.Context, s *purchaseStep) error {
	a := p.a
	if p.lease.lost.Load() && !s.afterMerchant() {
		return fmt.Errorf("%w: the lease of journey %s passed to another process", ErrSuperseded, p.j.ID)
	}
	from := p.tx.Status
	if s.pending != "" {
		if err := p.move(ctx, from, s.pending, store.TxUpdate{}); err != nil {
			return err
		}
		if a.crashed(string(s.pendingBoundary)) {
			return ErrInterrupted
		}
		from = s.pending
	}
	to, upd, err := s.effect(p, ctx)
	if errors.Is(err, errWaitPasskey) {
		return err
	}
	if err != nil {
		return p.failed(ctx, s, from, err)
	}
	if a.crashed(string(s.effectBoundary)) {
		return ErrInterrupted
	}
	if err := p.record(ctx, from, to, upd); err != nil {
		return err
	}
	if a.crashed(string(s.doneBoundary)) {
		return ErrInterrupted
	}
	return nil
}

// failed applies the row's failure rule to cause.
func (p *purchase) failed(ctx context.Context, s *purchaseStep, from store.TxStatus, cause error) error {
	ctx = context.WithoutCancel(ctx)
	how := s.onFailure
	if _, ok := cause.(notCharged); ok {
		how = failAbandon
	}
	switch how {
	case failNothingCharged:
		to := store.TxFailed
		if errors.Is(cause, authframe.ErrUserCancelled) || errors.Is(cause, context.Canceled) {
			to = store.TxCancelled
		}
		return p.settleFailure(ctx, from, to, cause)
	case failAbandon:
		// A credential may exist but will never be charged: the
		// instruction is cancelled so it cannot be used.
		p.a.cancelInstruction(ctx, &p.tx, p.req.Device.appInstance())
		return p.settleFailure(ctx, from, store.TxCancelled, cause)
	case failMerchantUnknown:
		return &OutcomeError{Outcome: ErrOutcomeUnknown, TransactionID: p.tx.ID, Status: p.tx.Status, Cause: cause}
	case failChargedUnconfirmed:
		return &OutcomeError{Outcome: ErrChargedUnconfirmed, TransactionID: p.tx.ID, Status: p.tx.Status, Cause: cause}
	case failDeclineUnconfirmed:
		// Nothing was charged; the reconciler sends the confirmation.
		p.a.logger.WarnContext(ctx, "agent: confirming a decline failed; the reconciler retries it",
			"transaction", p.tx.ID, "error", cause.Error())
		return errDeferred
	}
	return cause
}

// settleFailure records a failure that moved no money.
func (p *purchase) settleFailure(ctx context.Context, from, to store.TxStatus, cause error) error {
	reason, code := reasonOf(cause), failureCode(cause)
	if err := p.move(ctx, from, to, store.TxUpdate{FailureReason: &reason, FailureCode: &code}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// finish closes the journey as the transaction stands and builds the
// outcome. After an error the record is read again, since another flow (a
// cancel, the reconciler) may have moved it.
func (p *purchase) finish(ctx context.Context, err error) (*Receipt, error) {
	a := p.a
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		if cur, gerr := a.store.GetTransaction(ctx, p.tx.ID); gerr == nil {
			p.tx = cur
		}
	}
	if !p.closed {
		a.closeJourney(ctx, &p.j, p.tx, err)
	}
	rec := &Receipt{Transaction: p.tx, Authorization: p.auth}
	if p.cred != nil {
		rec.Credential = *p.cred
	}
	if errors.Is(err, errDeferred) {
		err = nil
	}
	if err == nil && p.tx.Status == store.TxDeclined {
		err = declineOf(p.auth, p.tx)
	}
	return rec, err
}

// declineOf is the *DeclineError of a declined purchase.
func declineOf(auth *Authorization, tx store.Transaction) error {
	if auth != nil {
		return &DeclineError{ResponseCode: auth.ResponseCode, DeclineReason: auth.DeclineReason}
	}
	reason := strings.TrimPrefix(strings.TrimPrefix(tx.FailureReason, "declined "+tx.ResponseCode), " ")
	return &DeclineError{ResponseCode: tx.ResponseCode, DeclineReason: reason}
}

// move is the compare-and-swap of one status change. Losing it before the
// merchant was called means another flow (the reconciler, a cancel) owns
// the transaction now: ErrSuperseded, and this flow stops without side
// effects. Losing it after is ErrOwnershipLost, loudly.
func (p *purchase) move(ctx context.Context, from, to store.TxStatus, upd store.TxUpdate) error {
	tx, err := p.a.store.TransitionTransaction(ctx, p.tx.ID, from, to, upd)
	if err != nil {
		return p.notMoved(ctx, from, to, err)
	}
	p.tx = tx
	return nil
}

// notMoved is move's error for a compare-and-swap that failed with err.
func (p *purchase) notMoved(ctx context.Context, from, to store.TxStatus, err error) error {
	if errors.Is(err, store.ErrConflict) {
		if merchantCalled(from) {
			p.a.logger.ErrorContext(ctx, "agent: another process moved a purchase after the merchant was called",
				"transaction", p.tx.ID, "from", string(from), "to", string(to))
			return &OutcomeError{Outcome: ErrOwnershipLost, TransactionID: p.tx.ID, Status: from, Cause: err}
		}
		return fmt.Errorf("%w: %s → %s: %w", ErrSuperseded, from, to, err)
	}
	return fmt.Errorf("agent: recording %s: %w", to, err)
}

// record makes the move that ends a step. The move of the confirmation
// (step 16), which completes the purchase, closes the journey in the same
// write when the Store is a store.PurchaseWriter, as finish would close it
// right after; the journey never closes without the move. Every other move
// is move's.
func (p *purchase) record(ctx context.Context, from, to store.TxStatus, upd store.TxUpdate) error {
	w, ok := p.a.store.(store.PurchaseWriter)
	if !ok || !upd.Confirmed || (to != store.TxCompleted && to != store.TxDeclined) {
		return p.move(ctx, from, to, upd)
	}
	// What closeJourney writes for a COMPLETED or DECLINED transaction.
	tx, j, err := w.FinishPurchase(ctx, ended(p.j, store.JourneySucceeded, p.tx.ID, nil), from, to, upd)
	switch {
	case tx.ID == "" && errors.Is(err, store.ErrInvalid):
		return p.move(ctx, from, to, upd) // the journey as held cannot be written: move alone
	case tx.ID == "":
		return p.notMoved(ctx, from, to, err)
	}
	// The move stands. The journey's close was tried with it: when its
	// compare-and-swap failed (another process took the journey), trying
	// again in finish would fail the same way.
	p.tx, p.closed = tx, true
	if err != nil {
		p.a.journeyNotSaved(ctx, p.j.ID, err)
		return nil
	}
	p.j = j
	return nil
}

// The effects of the purchase table's rows.

// authenticate runs steps 10 to 12: a fresh session and a passkey
// assertion for this amount and merchant. With a relayed Bridge it runs in
// two waits for the cardholder's page (errWaitPasskey): the session, then
// the ceremony.
func (p *purchase) authenticate(ctx context.Context) (store.TxStatus, store.TxUpdate, error) {
	a, req := p.a, p.req
	var as fido.Assurance
	if a.relayed() && p.frame.Phase == "assert" {
		var err error
		if as, err = a.ceremony(ctx, &p.frame, nil, visa.AuthenticationContext{}, p.ans, StepAssertPasskey, p.tx.ID); err != nil {
			return "", store.TxUpdate{}, err
		}
	} else {
		s, err := a.openSession(ctx, &p.frame, req.Device, p.ans, StepPurchaseSession, p.tx.ID)
		if err != nil {
			return "", store.TxUpdate{}, err
		}
		if !a.relayed() {
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = a.frame.Close(cctx, s)
			}()
		}
		p.session = s
		var ao *vts.AttestationOptionsResponse
		if err := a.step(ctx, StepPurchaseOptions, p.tx.ID, func() (string, error) {
			var err error
			ao, err = a.vts.AttestationOptions(ctx, vts.AttestationOptionsRequest{
				VProvisionedTokenID: req.TokenID, ClientReferenceID: p.tx.ClientReferenceID, Type: visa.ActionAuthenticate,
				SessionContext: s.SessionContext, BrowserData: s.BrowserData, Amount: req.Amount,
				MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: a.externalClientID, ApplicationURL: req.Merchant.URL, MerchantName: req.Merchant.Name},
				Email:              p.email(ctx),
			})
			if err != nil {
				return "", err
			}
			return string(ao.AuthenticationContext.Action), nil
		}); err != nil {
			return "", store.TxUpdate{}, err
		}
		if ao.AuthenticationContext.Action != visa.ActionAuthenticate {
			return "", store.TxUpdate{}, fmt.Errorf("agent: this device has no passkey for the card (attestation answered %s): %w",
				ao.AuthenticationContext.Action, visa.ErrAssuranceInvalid)
		}
		if as, err = a.ceremony(ctx, &p.frame, s, ao.AuthenticationContext, p.ans, StepAssertPasskey, p.tx.ID); err != nil {
			return "", store.TxUpdate{}, err
		}
	}
	p.assurance = as
	if a.relayed() {
		p.session = p.frame.session()
	}
	return store.TxAuthenticated, store.TxUpdate{}, nil
}

// email is the user's email for encAuthenticationData; empty if unknown.
func (p *purchase) email(ctx context.Context) string {
	u, err := p.a.store.GetUser(ctx, p.req.UserID)
	if err != nil {
		return ""
	}
	return u.Email
}

// instruct runs step 13.
func (p *purchase) instruct(ctx context.Context) (store.TxStatus, store.TxUpdate, error) {
	a, req := p.a, p.req
	err := a.step(ctx, StepCreateInstruction, p.tx.ID, func() (string, error) {
		var err error
		p.ins, err = a.vic.CreateInstruction(ctx, vic.CreateInstructionRequest{
			ClientReferenceID: p.tx.ClientReferenceID, ConsumerID: req.UserID, TokenID: req.TokenID,
			AppInstance: req.Device.appInstance(), Assurance: p.assurance, DFPSessionID: p.session.DFPSessionID,
			ConsumerPrompt: req.ConsumerPrompt,
			Mandates: []vic.Mandate{{
				MandateID: p.tx.MandateID, Description: req.Description, DeclineThreshold: req.Amount,
				PreferredMerchantName: req.Merchant.Name, MerchantCategory: req.Merchant.Category,
				MerchantCategoryCode: req.Merchant.CategoryCode, Quantity: 1,
			}},
		})
		if err != nil {
			return "", err
		}
		return string(p.ins.Status), nil
	})
	if err != nil {
		return "", store.TxUpdate{}, err
	}
	return store.TxInstructed, store.TxUpdate{InstructionID: &p.ins.InstructionID}, nil
}

// credentials runs step 14, recorded before it is asked and never asked
// twice.
func (p *purchase) credentials(ctx context.Context) (store.TxStatus, store.TxUpdate, error) {
	a, req := p.a, p.req
	txRef := p.tx.InstructionID
	err := a.step(ctx, StepCredentials, p.tx.ID, func() (string, error) {
		cr, err := a.vic.RetrieveCredentials(ctx, vic.CredentialsRequest{
			ClientReferenceID: p.tx.ClientReferenceID, InstructionID: p.tx.InstructionID, TokenID: req.TokenID,
			Transactions: []vic.TransactionData{{TransactionReferenceID: txRef, Amount: req.Amount,
				MerchantName: req.Merchant.Name, MerchantCountryCode: req.Merchant.CountryCode,
				MerchantURL: req.Merchant.URL, MandateIDs: []string{p.tx.MandateID}}},
		})
		if err != nil {
			return "", err
		}
		if len(cr.Credentials.DynamicData) == 0 {
			return "", fmt.Errorf("agent: no credential: %w", visa.ErrMalformedResponse)
		}
		p.cred = &cr.Credentials.DynamicData[0]
		return "credential " + p.cred.PaymentToken.String(), nil
	})
	if err != nil {
		return "", store.TxUpdate{}, err
	}
	return store.TxCredentialsIssued, store.TxUpdate{TransactionReferenceID: &txRef, DynamicDataID: &p.cred.DynamicDataID}, nil
}

// charge runs step 15, recorded (AUTHORIZING) before the merchant is
// called. It asks the merchant once; if the answer is lost it asks what
// happened instead of charging again.
func (p *purchase) charge(ctx context.Context) (store.TxStatus, store.TxUpdate, error) {
	a, req := p.a, p.req
	var auth *Authorization
	err := a.step(ctx, StepAuthorize, p.tx.ID, func() (string, error) {
		mctx, cancel := context.WithTimeout(ctx, a.merchantTimeout)
		defer cancel()
		var err error
		auth, err = a.merchant.Authorize(mctx, Charge{
			MerchantName: req.Merchant.Name, MerchantCountryCode: req.Merchant.CountryCode, MerchantURL: req.Merchant.URL,
			Credential: *p.cred, Amount: req.Amount, TransactionReferenceID: p.tx.TransactionReferenceID,
		})
		if err != nil {
			got, lerr := a.lookup(context.WithoutCancel(ctx), p.tx.TransactionReferenceID)
			switch {
			case lerr == nil:
				auth = got
			case errors.Is(lerr, ErrNoAuthorization) && merchantAnswered(err):
				// The merchant answered the charge with an error and has
				// no record of it: it refused the charge.
				return "", notCharged{err}
			default:
				return "", err
			}
		}
		return auth.Status + " " + auth.ResponseCode, nil
	})
	if err != nil {
		return "", store.TxUpdate{}, err
	}
	p.auth = auth
	upd := store.TxUpdate{ResponseCode: &auth.ResponseCode, AuthorizationCode: &auth.AuthorizationCode}
	if auth.Approved {
		return store.TxAuthorized, upd, nil
	}
	reason, code := declineReason(auth), "declined"
	upd.FailureReason, upd.FailureCode = &reason, &code
	return store.TxDeclined, upd, nil
}

// confirm runs step 16 for an approval (AUTHORIZED → COMPLETED) or a
// decline (DECLINED, recorded as confirmed).
func (p *purchase) confirm(ctx context.Context) (store.TxStatus, store.TxUpdate, error) {
	auth := p.auth
	if auth == nil {
		auth = storedAuthorization(p.tx)
	}
	if err := p.a.confirm(ctx, &p.tx, auth, p.req.OrderID); err != nil {
		return "", store.TxUpdate{}, err
	}
	if p.tx.Status == store.TxDeclined {
		return store.TxDeclined, store.TxUpdate{Confirmed: true}, nil
	}
	return store.TxCompleted, store.TxUpdate{Confirmed: true}, nil
}

// merchantAnswered reports whether the merchant's call ended with an HTTP
// answer (an error status), rather than a lost request or answer.
func merchantAnswered(err error) bool {
	var ae *visa.APIError
	return errors.As(err, &ae) && ae.HTTPStatus > 0
}

// notCharged marks a failure of the charge step that the merchant proved
// moved no money.
type notCharged struct{ error }

func (e notCharged) Unwrap() error { return e.error }

// lookup asks the merchant what happened to a charge, within the merchant
// timeout.
func (a *Agent) lookup(ctx context.Context, ref string) (*Authorization, error) {
	ctx, cancel := context.WithTimeout(ctx, a.merchantTimeout)
	defer cancel()
	return a.merchant.Lookup(ctx, ref)
}

// declineReason is what a DECLINED record says: "declined 51
// INSUFFICIENT_FUNDS".
func declineReason(auth *Authorization) string {
	r := "declined " + auth.ResponseCode
	if auth.DeclineReason != "" {
		r += " " + auth.DeclineReason
	}
	return store.Reason(r)
}

// storedAuthorization is the merchant's answer as the record keeps it, for
// a confirmation sent after a restart.
func storedAuthorization(tx store.Transaction) *Authorization {
	approved := tx.Status != store.TxDeclined
	status := "APPROVED"
	if !approved {
		status = "DECLINED"
	}
	return &Authorization{Approved: approved, Status: status, ResponseCode: tx.ResponseCode, AuthorizationCode: tx.AuthorizationCode}
}

// confirm sends the commerce signal of step 16 for tx.
func (a *Agent) confirm(ctx context.Context, tx *store.Transaction, auth *Authorization, orderID string) error {
	amount, err := visa.ParseAmount(tx.Amount, tx.Currency)
	if err != nil {
		return fmt.Errorf("agent: stored amount: %w", err)
	}
	var order *vic.Order
	if orderID != "" {
		order = &vic.Order{OrderID: orderID, Date: tx.CreatedAt, Amount: amount}
	}
	status := vic.TransactionApproved
	if !auth.Approved {
		status = vic.TransactionDeclined
	}
	return a.step(ctx, StepConfirm, tx.ID, func() (string, error) {
		_, err := a.vic.ConfirmTransaction(ctx, vic.ConfirmRequest{
			ClientReferenceID: tx.ClientReferenceID, InstructionID: tx.InstructionID,
			Confirmations: []vic.Confirmation{{
				TransactionReferenceID: tx.TransactionReferenceID, DynamicDataID: tx.DynamicDataID, Status: status,
				Timestamp: auth.Timestamp, Amount: amount, ResponseCode: auth.ResponseCode,
				AuthorizationCode: auth.AuthorizationCode, RetrievalReferenceNumber: auth.RetrievalReferenceNumber,
				SystemTraceAuditNumber: auth.SystemTraceAuditNumber, MerchantName: tx.MerchantName, Order: order,
			}},
		})
		if err != nil {
			return "", err
		}
		return "confirmed " + string(status), nil
	})
}

// cancelInstruction cancels tx's instruction at VIC, best effort: an
// instruction already completed, cancelled or expired is fine.
func (a *Agent) cancelInstruction(ctx context.Context, tx *store.Transaction, ai visa.AppInstance) {
	if tx.InstructionID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := a.vic.CancelInstruction(ctx, vic.CancelRequest{ClientReferenceID: tx.ClientReferenceID, InstructionID: tx.InstructionID, AppInstance: ai})
	if err != nil && !errors.Is(err, visa.ErrInstructionExpired) && !errors.Is(err, visa.ErrNotFound) {
		a.logger.WarnContext(ctx, "agent: cancelling the instruction failed", "transaction", tx.ID, "error", err.Error())
	}
}

// reasonOf is a short, secret-free failure reason the store accepts.
func reasonOf(err error) string { return store.Reason(err.Error()) }
