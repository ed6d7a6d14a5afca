package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// AddCardInput adds a card for a user (journey steps 1 to 9).
type AddCardInput struct {
	User         UserInput    `json:"user" jsonschema:"the cardholder"`
	Card         CardInput    `json:"card" jsonschema:"the card as typed by the cardholder; tokenized at once and never kept"`
	Device       *DeviceInput `json:"device,omitempty" jsonschema:"the cardholder's device (optional)"`
	StepUpMethod string       `json:"stepUpMethod,omitempty" jsonschema:"preferred one-time code channel, OTPSMS or OTPEMAIL; used without asking when offered"`
}

// ContinueInput continues a flow: it answers the step the flow waits for,
// or just waits for the next one.
type ContinueInput struct {
	FlowID string `json:"flowId" jsonschema:"the flowId of add-card or purchase"`
	Method string `json:"method,omitempty" jsonschema:"answer to CHOOSE_STEP_UP: one of the offered methods, e.g. OTPSMS"`
	OTP    string `json:"otp,omitempty" jsonschema:"answer to OTP_REQUIRED: the code the user received"`
	Resend bool   `json:"resend,omitempty" jsonschema:"answer to OTP_REQUIRED: send a new code instead"`
	Cancel bool   `json:"cancel,omitempty" jsonschema:"abandon the flow (a half-added card is removed)"`
}

// PurchaseInput buys one thing with a card added by add-card (journey steps
// 10 to 16).
type PurchaseInput struct {
	UserID         string        `json:"userId" jsonschema:"the user id given to add-card"`
	TokenID        string        `json:"tokenId" jsonschema:"the card's tokenId from add-card"`
	Amount         string        `json:"amount" jsonschema:"the amount, a decimal such as 129.99"`
	Currency       string        `json:"currency" jsonschema:"ISO 4217 code, e.g. USD"`
	Merchant       MerchantInput `json:"merchant" jsonschema:"where to buy"`
	Description    string        `json:"description" jsonschema:"what is bought (the mandate's description)"`
	ConsumerPrompt string        `json:"consumerPrompt,omitempty" jsonschema:"what the user asked for, in their words"`
	OrderID        string        `json:"orderId,omitempty" jsonschema:"the merchant's order id, when known"`
	IdempotencyKey string        `json:"idempotencyKey,omitempty" jsonschema:"makes the purchase safe to repeat: a call with the key of an earlier purchase returns that purchase's outcome and never charges again (default: derived from orderId when given; without either every call is a new purchase)"`
	Device         *DeviceInput  `json:"device,omitempty" jsonschema:"the cardholder's device; must be the one of add-card (default: derived from userId, as add-card does)"`
}

// ListTransactionsInput selects stored purchases.
type ListTransactionsInput struct {
	UserID  string `json:"userId" jsonschema:"whose purchases"`
	TokenID string `json:"tokenId,omitempty" jsonschema:"only those paid with this card"`
	Status  string `json:"status,omitempty" jsonschema:"only those in this status, e.g. COMPLETED"`
	Limit   int    `json:"limit,omitempty" jsonschema:"at most this many (default 50, at most 500)"`
}

// ListTransactionsResult lists purchases, oldest first.
type ListTransactionsResult struct {
	Transactions []TransactionView `json:"transactions"`
}

// ListCardsInput names a user.
type ListCardsInput struct {
	UserID string `json:"userId" jsonschema:"whose cards"`
}

// ListCardsResult lists a user's cards.
type ListCardsResult struct {
	Cards []CardView `json:"cards"`
}

// AuthorizationView is a merchant's answer.
type AuthorizationView struct {
	Approved                 bool   `json:"approved"`
	Status                   string `json:"status"`
	ResponseCode             string `json:"responseCode"`
	DeclineReason            string `json:"declineReason,omitempty"`
	AuthorizationCode        string `json:"authorizationCode,omitempty"`
	RetrievalReferenceNumber string `json:"retrievalReferenceNumber,omitempty"`
}

// CredentialView is a one-time payment credential as tools show it: the
// masked token and the credential's ids; the clear token number and
// dynamic value only when the server reveals credentials.
type CredentialView struct {
	PaymentToken           string `json:"paymentToken" jsonschema:"the token number, masked (****8717)"`
	TokenExpirationMonth   string `json:"tokenExpirationMonth"`
	TokenExpirationYear    string `json:"tokenExpirationYear"`
	DynamicDataID          string `json:"dynamicDataId" jsonschema:"echo it in confirm-transaction-events"`
	TransactionReferenceID string `json:"transactionReferenceId"`
	ExpiresAt              string `json:"expiresAt,omitempty"`
	Revealed               bool   `json:"revealed" jsonschema:"whether the clear values below are present"`
	PaymentTokenNumber     string `json:"paymentTokenNumber,omitempty" jsonschema:"the clear token number (only when the server reveals credentials)"`
	DynamicDataValue       string `json:"dynamicDataValue,omitempty" jsonschema:"the clear one-time value (only when the server reveals credentials)"`
}

func (s *Server) credentialView(c vic.Credential) *CredentialView {
	v := &CredentialView{PaymentToken: c.PaymentToken.String(), TokenExpirationMonth: c.TokenExpirationMonth,
		TokenExpirationYear: c.TokenExpirationYear, DynamicDataID: c.DynamicDataID,
		TransactionReferenceID: c.TransactionReferenceID, ExpiresAt: stamp(c.Expiration)}
	if s.reveal {
		v.Revealed = true
		v.PaymentTokenNumber = c.PaymentToken.Reveal()
		v.DynamicDataValue = c.DynamicDataValue.Reveal()
	}
	return v
}

var stepUpMethods = map[string]bool{
	vts.MethodOTPSMS: true, vts.MethodOTPEmail: true, vts.MethodOTPOnlineBanking: true,
	vts.MethodCustomerService: true, vts.MethodAppToApp: true, vts.MethodOutboundCall: true,
}

func (s *Server) addCard(ctx context.Context, in *AddCardInput) (*FlowResult, error) {
	u, err := in.User.user("user")
	if err != nil {
		return nil, err
	}
	card, err := in.Card.card("card", s.now())
	if err != nil {
		return nil, err
	}
	if card.CVV2.IsZero() {
		return nil, argErr("card.cvv2", "is required")
	}
	dev, err := s.device("device", u.ID, u.Country, in.Device)
	if err != nil {
		return nil, err
	}
	if in.StepUpMethod != "" && !stepUpMethods[in.StepUpMethod] {
		return nil, argErr("stepUpMethod", "must be OTPSMS or OTPEMAIL (or another VTS step-up method)")
	}
	ch := &flowCardholder{preferred: in.StepUpMethod}
	f, err := s.startFlow("add-card", func(ctx context.Context, f *flow) FlowResult {
		ch.f = f
		res, err := s.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: ch})
		if err != nil {
			return failed(err)
		}
		return FlowResult{Status: StatusCompleted, Card: cardView(res.Card), StepUp: res.StepUp,
			Next: "the card is ready: call purchase with userId and card.tokenId"}
	})
	if err != nil {
		return nil, err
	}
	res := f.wait(ctx, 0, s.waitTimeout)
	return &res, nil
}

func (s *Server) continueFlow(kind string) func(context.Context, *ContinueInput) (*FlowResult, error) {
	return func(ctx context.Context, in *ContinueInput) (*FlowResult, error) {
		if err := checkID("flowId", in.FlowID, MaxIDBytes); err != nil {
			return nil, err
		}
		f := s.flows.get(in.FlowID)
		if f == nil || f.kind != kind {
			return nil, argErr("flowId", "is not a "+kind+" flow of this server (it may have expired)")
		}
		if in.Cancel {
			_, after := f.snapshot()
			f.cancel()
			res := f.wait(ctx, after, s.waitTimeout)
			return &res, nil
		}
		after, err := f.answer(ctx, in)
		if err != nil {
			return nil, err
		}
		res := f.wait(ctx, after, s.waitTimeout)
		return &res, nil
	}
}

// answer checks in against the step the flow waits for and delivers it.
// It returns the state version to wait past.
func (f *flow) answer(ctx context.Context, in *ContinueInput) (uint64, error) {
	hasAnswer := in.Method != "" || in.OTP != "" || in.Resend
	f.mu.Lock()
	awaiting, offered, version, status := f.awaiting, f.offered, f.version, f.state.Status
	var a answer
	switch {
	case !hasAnswer:
		// No answer: wait for the next step or the end.
		f.mu.Unlock()
		return version, nil
	case awaiting == awaitNothing:
		f.mu.Unlock()
		field := "method"
		if in.OTP != "" || in.Resend {
			field = "otp"
		}
		return 0, argErr(field, "is not expected now: the flow is "+status)
	case awaiting == awaitMethod:
		if in.Method == "" {
			f.mu.Unlock()
			return 0, argErr("otp", "is not expected now: the flow is "+status+"; give method")
		}
		found := false
		for _, o := range offered {
			if o.Method == in.Method || o.Identifier == in.Method {
				a.method, found = o, true
				break
			}
		}
		if !found {
			f.mu.Unlock()
			return 0, argErr("method", "is not one of the offered methods")
		}
	case awaiting == awaitOTP:
		switch {
		case in.Method != "":
			f.mu.Unlock()
			return 0, argErr("method", "is not expected now: the flow is "+status+"; give otp or resend")
		case in.Resend && in.OTP != "":
			f.mu.Unlock()
			return 0, argErr("otp", "give either otp or resend, not both")
		case in.Resend:
			a.resend = true
		default:
			otp, err := visa.ParseOTP(in.OTP)
			if err != nil {
				f.mu.Unlock()
				return 0, argErr("otp", "must be the digits of the code")
			}
			a.otp = otp
		}
	}
	// Claim the step so a concurrent continue cannot answer it too, and
	// show the flow busy from now on: a caller that stops waiting must not
	// read the old question as still open.
	prev, prevOffered := f.state, f.offered
	f.awaiting, f.offered = awaitNothing, nil
	f.state = inProgress(f)
	f.mu.Unlock()
	if err := f.deliver(ctx, a); err != nil {
		f.mu.Lock()
		if f.version == version { // still the same step: reopen it
			f.state, f.awaiting, f.offered = prev, awaiting, prevOffered
		}
		f.mu.Unlock()
		return 0, err
	}
	return version, nil
}

func (s *Server) purchase(ctx context.Context, in *PurchaseInput) (*FlowResult, error) {
	if !s.charges {
		return nil, fmt.Errorf("%w (the server has no merchant: set VISA_MERCHANT_URL or use WithMerchant)", agent.ErrNoMerchant)
	}
	if err := checkID("userId", in.UserID, 64); err != nil {
		return nil, err
	}
	if err := checkID("tokenId", in.TokenID, MaxIDBytes); err != nil {
		return nil, err
	}
	amt, err := amount("amount", in.Amount, "currency", in.Currency)
	if err != nil {
		return nil, err
	}
	m, err := in.Merchant.info("merchant")
	if err != nil {
		return nil, err
	}
	if in.Description == "" || len(in.Description) > 1024 {
		return nil, argErr("description", "is required and at most 1024 bytes")
	}
	if len(in.ConsumerPrompt) > 1024 {
		return nil, argErr("consumerPrompt", "must be at most 1024 bytes")
	}
	if in.OrderID != "" {
		if err := checkID("orderId", in.OrderID, 64); err != nil {
			return nil, err
		}
	}
	card, err := s.store.GetCard(ctx, in.TokenID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, argErr("tokenId", "is not a card added with add-card")
	case err != nil:
		return nil, err
	case card.UserID != in.UserID:
		return nil, argErr("tokenId", "is not a card of this user")
	}
	u, err := s.store.GetUser(ctx, in.UserID)
	if err != nil {
		return nil, fmt.Errorf("reading the user: %w", err)
	}
	dev, err := s.device("device", u.ID, u.Country, in.Device)
	if err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	if key == "" && in.OrderID != "" {
		key = "order:" + in.OrderID
	}
	if key != "" {
		if err := checkID("idempotencyKey", key, 128); err != nil {
			return nil, err
		}
	}
	req := agent.PurchaseRequest{IdempotencyKey: key, UserID: in.UserID, TokenID: in.TokenID, Device: dev, Amount: amt, Merchant: m,
		Description: in.Description, ConsumerPrompt: in.ConsumerPrompt, OrderID: in.OrderID}
	f, err := s.startFlow("purchase", func(ctx context.Context, f *flow) FlowResult {
		rc, err := s.agent.Purchase(ctx, req)
		switch {
		case err == nil:
			return FlowResult{Status: StatusCompleted, Transaction: txView(rc.Transaction), Authorization: authView(rc.Authorization),
				Credential: s.credentialView(rc.Credential), Next: "the purchase is approved and confirmed to Visa"}
		case errors.Is(err, agent.ErrDeclined) && rc != nil:
			return FlowResult{Status: StatusDeclined, Transaction: txView(rc.Transaction), Authorization: authView(rc.Authorization),
				Credential: s.credentialView(rc.Credential), Error: errorText(err),
				Next: "the merchant declined the payment; tell the user"}
		}
		return purchaseOutcome(err, rc)
	})
	if err != nil {
		return nil, err
	}
	res := f.wait(ctx, 0, s.waitTimeout)
	return &res, nil
}

func authView(a *agent.Authorization) *AuthorizationView {
	if a == nil {
		return nil
	}
	return &AuthorizationView{Approved: a.Approved, Status: a.Status, ResponseCode: a.ResponseCode, DeclineReason: a.DeclineReason,
		AuthorizationCode: a.AuthorizationCode, RetrievalReferenceNumber: a.RetrievalReferenceNumber}
}

func (s *Server) listTransactions(ctx context.Context, in *ListTransactionsInput) (*ListTransactionsResult, error) {
	if err := checkID("userId", in.UserID, 64); err != nil {
		return nil, err
	}
	if in.TokenID != "" {
		if err := checkID("tokenId", in.TokenID, MaxIDBytes); err != nil {
			return nil, err
		}
	}
	f := store.TxFilter{UserID: in.UserID, TokenID: in.TokenID, Limit: 50}
	if in.Status != "" {
		st := store.TxStatus(in.Status)
		if !st.Valid() {
			return nil, argErr("status", "is not a transaction status (PENDING ... COMPLETED, DECLINED, FAILED, CANCELLED)")
		}
		f.Status = []store.TxStatus{st}
	}
	switch {
	case in.Limit < 0 || in.Limit > 500:
		return nil, argErr("limit", "must be 1 to 500")
	case in.Limit > 0:
		f.Limit = in.Limit
	}
	out := &ListTransactionsResult{Transactions: []TransactionView{}}
	for tx, err := range s.agent.Transactions(ctx, f) {
		if err != nil {
			return nil, err
		}
		out.Transactions = append(out.Transactions, *txView(tx))
	}
	return out, nil
}

func (s *Server) listCards(ctx context.Context, in *ListCardsInput) (*ListCardsResult, error) {
	if err := checkID("userId", in.UserID, 64); err != nil {
		return nil, err
	}
	out := &ListCardsResult{Cards: []CardView{}}
	for c, err := range s.agent.Cards(ctx, in.UserID) {
		if err != nil {
			return nil, err
		}
		out.Cards = append(out.Cards, *cardView(c))
	}
	return out, nil
}

// purchaseOutcome is the result of a purchase that did not end COMPLETED or
// DECLINED, told from the stored record: a charge that may have happened is
// never reported as a failure the caller could retry.
func purchaseOutcome(err error, rc *agent.Receipt) FlowResult {
	res := failed(err)
	if rc != nil {
		res.Transaction = txView(rc.Transaction)
	}
	switch {
	case errors.Is(err, agent.ErrChargedUnconfirmed):
		res.Status = StatusChargedUnconfirmed
		res.Next = "the card WAS charged; the confirmation to Visa is pending and the server's reconciler sends it. " +
			"Do not purchase again. Check the transaction later with list-transactions."
	case errors.Is(err, agent.ErrOutcomeUnknown), errors.Is(err, agent.ErrOwnershipLost), errors.Is(err, agent.ErrInProgress):
		res.Status = StatusOutcomeUnknown
		res.Next = "the card MAY have been charged; the server's reconciler asks the merchant and settles it. " +
			"Do not purchase again. Check the transaction later with list-transactions, or repeat this call with the same idempotencyKey."
	case rc != nil && rc.Transaction.Status == store.TxCancelled:
		res.Status = StatusCancelled
		res.Next = "the purchase was cancelled; nothing was charged"
	case rc != nil:
		res.Next = "nothing was charged; fix the cause and try again"
	}
	return res
}
