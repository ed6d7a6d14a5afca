package mcpserver

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// The journey tools run on the agent's step API: a journey waiting for the
// user is a stored row, not a goroutine, so a -continue call may reach any
// server instance sharing the store, and survives a restart. A flowId is
// the journey's id (for a card-entry link not used yet, an "entry." id
// naming the link).

// AddCardInput adds a card for a user (journey steps 1 to 9).
type AddCardInput struct {
	User         UserInput    `json:"user" jsonschema:"the cardholder"`
	Card         *CardInput   `json:"card,omitempty" jsonschema:"the card as typed by the cardholder, for headless use only: it passes through the agent. Leave it out and the shopper types it on a one-time card-entry page instead"`
	Device       *DeviceInput `json:"device,omitempty" jsonschema:"the cardholder's device (optional)"`
	StepUpMethod string       `json:"stepUpMethod,omitempty" jsonschema:"preferred one-time code channel; used without asking when offered"`
}

// ContinueInput continues an add-card journey: it answers the step the
// journey waits for, or just reads where it stands.
type ContinueInput struct {
	FlowID string `json:"flowId" jsonschema:"the flowId add-card returned"`
	Method string `json:"method,omitempty" jsonschema:"answer to CHOOSE_STEP_UP: one of the offered methods"`
	OTP    string `json:"otp,omitempty" jsonschema:"answer to OTP_REQUIRED: the code the user received"`
	Resend bool   `json:"resend,omitempty" jsonschema:"answer to OTP_REQUIRED: send a new code instead"`
	Cancel bool   `json:"cancel,omitempty" jsonschema:"abandon the journey (the half-added card is removed)"`
}

// PurchaseContinueInput follows a purchase.
type PurchaseContinueInput struct {
	FlowID string `json:"flowId" jsonschema:"the flowId purchase returned"`
	Cancel bool   `json:"cancel,omitempty" jsonschema:"cancel the purchase if it has not reached the merchant"`
}

// PurchaseInput buys one thing with a card added by add-card (journey steps
// 10 to 16).
type PurchaseInput struct {
	UserID         string        `json:"userId,omitempty" jsonschema:"the user id given to add-card (default: the signed-in user, or the server's single local user)"`
	TokenID        string        `json:"tokenId" jsonschema:"the card's tokenId from add-card"`
	Amount         string        `json:"amount" jsonschema:"the amount, a decimal such as 129.99"`
	Currency       string        `json:"currency" jsonschema:"ISO 4217 code, e.g. USD"`
	Merchant       MerchantInput `json:"merchant" jsonschema:"where to buy"`
	Description    string        `json:"description" jsonschema:"what is bought (the mandate's description)"`
	ConsumerPrompt string        `json:"consumerPrompt,omitempty" jsonschema:"what the user asked for, in their words"`
	OrderID        string        `json:"orderId,omitempty" jsonschema:"the merchant's order id, when known"`
	IdempotencyKey string        `json:"idempotencyKey,omitempty" jsonschema:"makes the purchase safe to repeat: a call with the key of an earlier purchase returns that purchase's outcome and never charges again (default: derived from orderId when given; without either every call is a new purchase)"`
	Device         *DeviceInput  `json:"device,omitempty" jsonschema:"the cardholder's device; must be the one of add-card (default: derived from the user id, as add-card does)"`
}

// ListTransactionsInput selects stored purchases.
type ListTransactionsInput struct {
	UserID  string `json:"userId,omitempty" jsonschema:"whose purchases (default: the signed-in user, or the server's single local user)"`
	TokenID string `json:"tokenId,omitempty" jsonschema:"only those paid with this card"`
	Status  string `json:"status,omitempty" jsonschema:"only those in this status"`
	Limit   int    `json:"limit,omitempty" jsonschema:"at most this many (default 20, at most 100)"`
	Cursor  string `json:"cursor,omitempty" jsonschema:"nextCursor of the previous page, with the same filter"`
}

// ListTransactionsResult lists purchases, newest first.
type ListTransactionsResult struct {
	Transactions []TransactionView `json:"transactions"`
	NextCursor   string            `json:"nextCursor,omitempty" jsonschema:"pass it as cursor for older purchases; absent on the last page"`
}

// ListCardsInput names a user.
type ListCardsInput struct {
	UserID string `json:"userId,omitempty" jsonschema:"whose cards (default: the signed-in user, or the server's single local user)"`
}

// ListCardsResult lists a user's cards.
type ListCardsResult struct {
	Cards []CardView `json:"cards"`
}

// AuthorizationView is a merchant's answer.
type AuthorizationView struct {
	Approved                 bool   `json:"approved"`
	ResponseCode             string `json:"responseCode"`
	DeclineReason            string `json:"declineReason,omitempty"`
	AuthorizationCode        string `json:"authorizationCode,omitempty"`
	RetrievalReferenceNumber string `json:"retrievalReferenceNumber,omitempty"`
}

// CredentialView is a one-time payment credential as tools show it: the
// masked token and the credential's ids; the clear token number and
// dynamic value only from retrieve-payment-credentials, when the reveal
// policy allows it.
type CredentialView struct {
	PaymentToken           string `json:"paymentToken" jsonschema:"the token number, masked (****8717)"`
	TokenExpirationMonth   string `json:"tokenExpirationMonth"`
	TokenExpirationYear    string `json:"tokenExpirationYear"`
	DynamicDataID          string `json:"dynamicDataId" jsonschema:"echo it in confirm-transaction-events"`
	TransactionReferenceID string `json:"transactionReferenceId"`
	ExpiresAt              string `json:"expiresAt,omitempty"`
	Revealed               bool   `json:"revealed" jsonschema:"whether the clear values below are present"`
	PaymentTokenNumber     string `json:"paymentTokenNumber,omitempty" jsonschema:"the clear token number (only when revealed)"`
	DynamicDataValue       string `json:"dynamicDataValue,omitempty" jsonschema:"the clear one-time value (only when revealed)"`
}

// revealed is c in clear, for retrieve-payment-credentials when the policy
// allows the caller clear credentials, else masked.
func (s *Server) revealed(ctx context.Context, c vic.Credential) *CredentialView {
	v := maskedCredential(c)
	if s.mayReveal(ctx) {
		v.Revealed = true
		v.PaymentTokenNumber = c.PaymentToken.Reveal()
		v.DynamicDataValue = c.DynamicDataValue.Reveal()
	}
	return v
}

// mayReveal is the reveal policy: the server allows it, and an
// authenticated caller holds ScopeReveal.
func (s *Server) mayReveal(ctx context.Context) bool {
	c := callerFrom(ctx)
	return s.reveal && (!c.authed || c.has(ScopeReveal))
}

var stepUpMethods = map[string]bool{
	vts.MethodOTPSMS: true, vts.MethodOTPEmail: true, vts.MethodOTPOnlineBanking: true,
	vts.MethodCustomerService: true, vts.MethodAppToApp: true, vts.MethodOutboundCall: true,
}

// agentFields names add-card's arguments for the agent's InputError fields.
var agentFields = map[string]string{"User.ID": "user.id", "User.Email": "user.email", "User.Country": "user.country",
	"User.Language": "user.language", "Card.PAN": "card.pan", "Card.CVV2": "card.cvv2", "Card.ExpirationDate": "card.expiryYear",
	"Card.Name": "card.name", "UserID": "userId", "TokenID": "tokenId", "Amount": "amount", "Merchant.Name": "merchant.name",
	"Merchant.URL": "merchant.url", "Merchant.CountryCode": "merchant.countryCode", "Merchant.CategoryCode": "merchant.categoryCode",
	"Description": "description", "ConsumerPrompt": "consumerPrompt", "OrderID": "orderId", "IdempotencyKey": "idempotencyKey",
	"Device.ClientDeviceID": "device.clientDeviceId", "JourneyID": "flowId", "Method": "method", "OTP": "otp"}

// addCardRequest checks add-card's arguments (every problem at once) and
// builds the agent's request, without the card.
func (s *Server) addCardRequest(ctx context.Context, in *AddCardInput, a *args) agent.AddCardRequest {
	id := s.userID(ctx, "user.id", in.User.ID, a)
	u := in.User.user("user", id, a)
	dev := s.device("device", id, u.Country, in.Device, a)
	if in.StepUpMethod != "" && !stepUpMethods[in.StepUpMethod] {
		a.add("stepUpMethod", "must be OTPSMS or OTPEMAIL (or another VTS step-up method)")
	}
	return agent.AddCardRequest{User: u, Device: dev}
}

func (s *Server) addCard(ctx context.Context, in *AddCardInput) (*FlowResult, error) {
	if r, ok, err := s.resumeRound(ctx); ok {
		return r, err
	}
	var a args
	req := s.addCardRequest(ctx, in, &a)
	switch {
	case in.Card != nil && !s.cardArgs:
		a.add("card", "is not accepted by this server: card numbers are typed on the card-entry page, never passed through the agent")
	case in.Card != nil:
		req.Card = in.Card.card("card", s.now(), true, &a)
	case s.publicURL == "":
		a.add("card", "is required: this server has no card-entry page (WithPublicURL)")
	}
	if !a.ok() {
		return nil, a.err()
	}
	if in.Card == nil {
		return s.startCardEntry(ctx, req, in.StepUpMethod)
	}
	j, err := s.agent.StartAddCard(ctx, req)
	if err != nil {
		return s.addCardError(ctx, j, err)
	}
	return s.addCardSteps(ctx, j, in.StepUpMethod)
}

// addCardSteps answers what can be answered without the model: the
// preferred step-up method, then, where the client supports it, the
// method and code through form elicitation. It returns where the journey
// stands.
func (s *Server) addCardSteps(ctx context.Context, j *agent.Journey, preferred string) (*FlowResult, error) {
	return s.addCardRound(ctx, j, preferred, 0)
}

// resumeRound goes on with the journey of a multi round-trip call's retry
// (a call carrying the RequestState of an earlier input-required answer):
// the retry repeats the first call's arguments, which are not applied
// again. ok is false for a call that is not such a retry.
func (s *Server) resumeRound(ctx context.Context) (_ *FlowResult, ok bool, _ error) {
	c := callerFrom(ctx)
	if c.state == "" {
		return nil, false, nil
	}
	p, err := s.openState(ctx, c.state)
	if err != nil {
		return nil, true, err
	}
	if p.Link != "" {
		ec, err := s.openEntry(p.Link)
		if err != nil {
			return nil, true, argErr("requestState", "names a card-entry link that has expired: call add-card again")
		}
		r, err := s.cardEntryRound(ctx, ec, p.Link, p.Round)
		return r, true, err
	}
	j, err := s.journeyOf(ctx, p.Journey, store.JourneyAddCard)
	if err != nil {
		return nil, true, err
	}
	r, err := s.addCardRound(ctx, j, "", p.Round)
	return r, true, err
}

// addCardRound is addCardSteps at round round of a multi round-trip call.
func (s *Server) addCardRound(ctx context.Context, j *agent.Journey, preferred string, round int) (*FlowResult, error) {
	if j.Status == store.JourneyWaiting && j.Next != nil && j.Next.Action == agent.ActionChooseOTPMethod && preferred != "" {
		for _, m := range j.Next.Methods {
			if m.Method == preferred {
				next, err := s.agent.Continue(ctx, j.ID, agent.Answer{PromptID: j.Next.PromptID, Method: m.Identifier, UserID: owner(ctx)})
				if err != nil {
					return s.addCardError(ctx, next, err)
				}
				j = next
				break
			}
		}
	}
	j, note, err := s.elicitSteps(ctx, j, round)
	if err != nil {
		return nil, err
	}
	r := s.journeyResult(j)
	r.Next = note + r.Next
	return r, nil
}

// addCardError is the answer to a step API error: a result where the
// journey has one to tell, else a tool error.
func (s *Server) addCardError(ctx context.Context, j *agent.Journey, err error) (*FlowResult, error) {
	var a args
	switch {
	case errors.Is(err, agent.ErrJourneyNotFound):
		return nil, argErr("flowId", "is not a journey of yours (it may have expired)")
	case errors.Is(err, agent.ErrIdempotencyMismatch):
		return nil, argErr("flowId", "was used for another request")
	case errors.Is(err, agent.ErrJourneyBusy):
		if j != nil {
			return &FlowResult{Status: StatusInProgress, FlowID: j.ID,
				Next: "another request is working on this journey; call add-card-continue with flowId (no answer) to read where it stands"}, nil
		}
	case errors.Is(err, agent.ErrUnexpectedAnswer):
		status := "moved on"
		if j != nil {
			status = s.journeyResult(j).Status
		}
		return nil, argErr("flowId", "does not wait for this answer now (the journey is "+status+"); call add-card-continue with flowId alone to read what it waits for")
	case a.library(err, agentFields):
		return nil, a.err()
	}
	if j != nil && j.ID != "" {
		// The journey has moved (an OTP limit, an expiry): tell where it
		// stands now, from the store.
		if cur, gerr := s.agent.GetJourney(ctx, j.ID); gerr == nil {
			return s.journeyResult(cur), nil
		}
	}
	return nil, err
}

// journeyOf loads a journey of the caller: another user's is not found.
func (s *Server) journeyOf(ctx context.Context, id string, kind store.JourneyKind) (*agent.Journey, error) {
	if reason := check.ID(id, MaxIDBytes); reason != "" {
		return nil, argErr("flowId", reason)
	}
	j, err := s.agent.GetJourney(ctx, id)
	if errors.Is(err, agent.ErrJourneyNotFound) || err == nil && (j.Kind != kind || (owner(ctx) != "" && j.UserID != owner(ctx))) {
		return nil, argErr("flowId", "is not "+kindName(kind)+" journey of yours (it may have expired)")
	}
	return j, err
}

func kindName(k store.JourneyKind) string {
	if k == store.JourneyPurchase {
		return "a purchase"
	}
	return "an add-card"
}

func (s *Server) addCardContinue(ctx context.Context, in *ContinueInput) (*FlowResult, error) {
	if r, ok, err := s.resumeRound(ctx); ok {
		return r, err
	}
	var a args
	if in.FlowID == "" {
		a.add("flowId", "is required")
	}
	answers := 0
	for _, set := range []bool{in.Method != "", in.OTP != "", in.Resend, in.Cancel} {
		if set {
			answers++
		}
	}
	if answers > 1 {
		a.add("otp", "give one answer at a time: method, otp, resend or cancel")
	}
	var otp visa.OTP
	if in.OTP != "" {
		var err error
		if otp, err = visa.ParseOTP(in.OTP); err != nil {
			a.add("otp", "must be the digits of the code")
		}
	}
	if in.Method != "" && !stepUpMethods[in.Method] {
		a.add("method", "is not a step-up method (OTPSMS, OTPEMAIL, ...)")
	}
	if !a.ok() {
		return nil, a.err()
	}
	if strings.HasPrefix(in.FlowID, entryPrefix) {
		return s.continueCardEntry(ctx, in)
	}
	j, err := s.journeyOf(ctx, in.FlowID, store.JourneyAddCard)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Cancel:
		if j.Status.Final() {
			return s.journeyResult(j), nil
		}
		c, err := s.agent.CancelJourney(ctx, j.ID)
		if err != nil {
			return s.addCardError(ctx, j, err)
		}
		return s.journeyResult(c), nil
	case answers == 0:
		if j.Status == store.JourneyRunning {
			j = s.awaitMove(ctx, j)
		}
		return s.addCardSteps(ctx, j, "")
	case j.Status.Final():
		field := "otp"
		if in.Method != "" {
			field = "method"
		}
		return nil, argErr(field, "is not expected now: the journey is "+s.journeyResult(j).Status)
	}
	ans := agent.Answer{UserID: owner(ctx), OTP: otp, Resend: in.Resend}
	if j.Next != nil {
		ans.PromptID = j.Next.PromptID
	}
	if in.Method != "" {
		found := false
		if j.Next != nil && j.Next.Action == agent.ActionChooseOTPMethod {
			for _, m := range j.Next.Methods {
				if m.Method == in.Method || m.Identifier == in.Method {
					ans.Method, found = m.Identifier, true
					break
				}
			}
			if !found {
				return nil, argErr("method", "is not one of the offered methods")
			}
		} else {
			return nil, argErr("method", "is not expected now: the journey is "+s.journeyResult(j).Status)
		}
	}
	if (in.OTP != "" || in.Resend) && (j.Next == nil || j.Next.Action != agent.ActionEnterOTP) {
		return nil, argErr("otp", "is not expected now: the journey is "+s.journeyResult(j).Status)
	}
	next, err := s.agent.Continue(ctx, j.ID, ans)
	if err != nil {
		return s.addCardError(ctx, j, err)
	}
	return s.addCardSteps(ctx, next, "")
}

// awaitMove waits, polling the store, up to the wait timeout for a journey
// another request works on to move on. A running journey nobody holds
// (its process left it to the reconciler: a charge to confirm, an outcome
// to ask the merchant) is not waited for: it is answered as it stands.
func (s *Server) awaitMove(ctx context.Context, j *agent.Journey) *agent.Journey {
	deadline := time.NewTimer(s.waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		rec, err := s.store.GetJourney(ctx, j.ID)
		if err != nil {
			return j
		}
		if rec.Status != store.JourneyRunning || !rec.Leased("", s.now()) {
			if cur, err := s.agent.GetJourney(ctx, j.ID); err == nil {
				return cur
			}
			return j
		}
		select {
		case <-ctx.Done():
			return j
		case <-deadline.C:
			return j
		case <-tick.C:
		}
	}
}

// pastMerchant says the stored purchase has reached the merchant (or
// ended): it can no longer be cancelled, so a cancel is not even tried;
// trying would take the journey's lease from the reconciler settling it.
func (s *Server) pastMerchant(ctx context.Context, id string) bool {
	tx, err := s.store.GetTransaction(ctx, id)
	return err == nil && (tx.Status == store.TxAuthorizing || tx.Status == store.TxAuthorized || tx.Status.Final())
}

// withStoredTx gives a purchase journey that has not ended the stored
// transaction as its receipt, so its result tells what the record says
// (charged and unconfirmed, sent to the merchant) rather than only
// "under way".
func (s *Server) withStoredTx(ctx context.Context, j *agent.Journey) *agent.Journey {
	if j == nil || j.Kind != store.JourneyPurchase || j.Receipt != nil {
		return j
	}
	tx, err := s.store.GetTransaction(ctx, j.ID)
	if err != nil {
		return j
	}
	cp := *j
	cp.Receipt = &agent.Receipt{Transaction: tx}
	if tx.ResponseCode != "" {
		status, approved := "APPROVED", tx.Status != store.TxDeclined
		if !approved {
			status = "DECLINED"
		}
		cp.Receipt.Authorization = &agent.Authorization{Approved: approved, Status: status, ResponseCode: tx.ResponseCode,
			AuthorizationCode: tx.AuthorizationCode}
	}
	return &cp
}

func (s *Server) purchase(ctx context.Context, in *PurchaseInput) (*FlowResult, error) {
	if !s.charges {
		return nil, agent.ErrNoMerchant
	}
	var a args
	userID := s.userID(ctx, "userId", in.UserID, &a)
	a.id("tokenId", in.TokenID, MaxIDBytes)
	amt := amount("amount", in.Amount, "currency", in.Currency, &a)
	m := in.Merchant.info("merchant", &a)
	a.text("description", in.Description, 1024, true)
	a.text("consumerPrompt", in.ConsumerPrompt, 1024, false)
	a.optID("orderId", in.OrderID, 64)
	key := in.IdempotencyKey
	if key == "" && in.OrderID != "" {
		key = "order:" + in.OrderID
	}
	if key != "" {
		a.id("idempotencyKey", key, 128)
	}
	if !a.ok() {
		return nil, a.err()
	}
	card, err := s.store.GetCard(ctx, in.TokenID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && card.UserID != userID:
		return nil, argErr("tokenId", "is not a card of this user added with add-card")
	case err != nil:
		return nil, err
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return nil, errors.New("the user's record could not be read")
	}
	dev := s.device("device", u.ID, u.Country, in.Device, &a)
	if !a.ok() {
		return nil, a.err()
	}
	req := agent.PurchaseRequest{IdempotencyKey: key, UserID: userID, TokenID: in.TokenID, Device: dev, Amount: amt, Merchant: m,
		Description: in.Description, ConsumerPrompt: in.ConsumerPrompt, OrderID: in.OrderID}
	j, err := s.agent.StartPurchase(ctx, req)
	switch {
	case j != nil:
		return s.purchaseResult(j, err), nil
	case errors.Is(err, agent.ErrIdempotencyMismatch):
		return nil, argErr("idempotencyKey", "was used before for a different purchase; use a new key for a new purchase")
	case a.library(err, agentFields):
		return nil, a.err()
	}
	return nil, err
}

func (s *Server) purchaseContinue(ctx context.Context, in *PurchaseContinueInput) (*FlowResult, error) {
	if in.FlowID == "" {
		return nil, argErr("flowId", "is required")
	}
	j, err := s.journeyOf(ctx, in.FlowID, store.JourneyPurchase)
	if err != nil {
		return nil, err
	}
	if in.Cancel && !j.Status.Final() && !s.pastMerchant(ctx, j.ID) {
		c, err := s.agent.CancelJourney(ctx, j.ID)
		switch {
		case err == nil:
			return s.purchaseResult(c, c.Err), nil
		case errors.Is(err, agent.ErrJourneyBusy):
			return &FlowResult{Status: StatusInProgress, FlowID: j.ID,
				Next: "the purchase is under way and cannot be cancelled now; call purchase-continue with flowId to read its outcome"}, nil
		}
		if cur, gerr := s.agent.GetJourney(ctx, j.ID); gerr == nil {
			cur = s.withStoredTx(ctx, cur)
			// Too late to cancel (the merchant was called, or the
			// journey ended meanwhile): the record tells the outcome.
			if r := s.purchaseResult(cur, cur.Err); r.Status != StatusInProgress {
				return r, nil
			}
		}
		return nil, err
	}
	if j.Status == store.JourneyRunning {
		j = s.awaitMove(ctx, j)
	}
	j = s.withStoredTx(ctx, j)
	return s.purchaseResult(j, j.Err), nil
}

func authView(a *agent.Authorization) *AuthorizationView {
	if a == nil {
		return nil
	}
	return &AuthorizationView{Approved: a.Approved, ResponseCode: a.ResponseCode, DeclineReason: a.DeclineReason,
		AuthorizationCode: a.AuthorizationCode, RetrievalReferenceNumber: a.RetrievalReferenceNumber}
}

func (s *Server) listTransactions(ctx context.Context, in *ListTransactionsInput) (*ListTransactionsResult, error) {
	var a args
	userID := s.userID(ctx, "userId", in.UserID, &a)
	a.optID("tokenId", in.TokenID, MaxIDBytes)
	f := store.TxFilter{UserID: userID, TokenID: in.TokenID, Order: store.NewestFirst, Cursor: in.Cursor}
	if in.Status != "" {
		st := store.TxStatus(in.Status)
		if !st.Valid() {
			a.add("status", "is not a transaction status (COMPLETED, DECLINED, FAILED, CANCELLED, AUTHORIZED, AUTHORIZING, ...)")
		}
		f.Status = []store.TxStatus{st}
	}
	limit := 20
	switch {
	case in.Limit < 0 || in.Limit > 100:
		a.add("limit", "must be 1 to 100")
	case in.Limit > 0:
		limit = in.Limit
	}
	if !a.ok() {
		return nil, a.err()
	}
	f.Limit = limit + 1
	out := &ListTransactionsResult{Transactions: []TransactionView{}}
	var last store.Transaction
	n := 0
	for tx, err := range s.agent.Transactions(ctx, f) {
		if errors.Is(err, store.ErrInvalid) {
			return nil, argErr("cursor", "is not a cursor of this listing")
		}
		if err != nil {
			return nil, err
		}
		n++
		if n > limit {
			page := f
			page.Cursor, page.Limit = "", 0
			out.NextCursor = store.CursorAfter(page, last)
			break
		}
		last = tx
		out.Transactions = append(out.Transactions, *txView(tx))
	}
	return out, nil
}

func (s *Server) listCards(ctx context.Context, in *ListCardsInput) (*ListCardsResult, error) {
	var a args
	userID := s.userID(ctx, "userId", in.UserID, &a)
	if !a.ok() {
		return nil, a.err()
	}
	out := &ListCardsResult{Cards: []CardView{}}
	for c, err := range s.agent.Cards(ctx, userID) {
		if err != nil {
			return nil, err
		}
		out.Cards = append(out.Cards, *cardView(c))
	}
	return out, nil
}

// publicPasskeyURL is the public URL of a passkey page path.
func (s *Server) publicPasskeyURL(path string) string {
	if path == "" {
		return ""
	}
	return s.passkeyBase + path
}
