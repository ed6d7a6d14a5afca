package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// MerchantInfo says where the agent buys.
type MerchantInfo struct {
	Name string
	// URL is the merchant's site (https).
	URL string
	// CountryCode is ISO 3166 alpha-2, e.g. "US".
	CountryCode string
	// Category and CategoryCode (MCC, 4 digits) are optional.
	Category     string
	CategoryCode string
}

// PurchaseRequest buys one thing for a user with a stored card.
type PurchaseRequest struct {
	UserID string
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
	// Transaction is the stored record in its final state.
	Transaction store.Transaction
	// Credential is the one-time credential used (prints redacted).
	Credential vic.Credential
	// Authorization is the merchant's answer.
	Authorization *Authorization
}

// Purchase runs Phases 4 and 5 of the journey (docs/journey.md), steps 10 to 16:
//
//	10 iFrame session → 11 attestation options (amount, merchant) → 12 passkey
//	assertion → 13 purchase instruction → 14 credentials (verified)
//	→ 15 merchant charge → 16 confirmation.
//
// Every step records a compare-and-swap status in the Store before its
// side effect is trusted, so a crash at any point leaves a record that
// Resume brings to a final state without a second credential or a second
// charge. Once the purchase is recorded, Purchase returns a Receipt even
// with an error, so the caller knows the transaction's id and status
// (except after ErrInterrupted, which stands for a crash). A merchant
// decline returns the Receipt and a *DeclineError
// (errors.Is(err, ErrDeclined)); the decline is confirmed to VIC and
// recorded.
func (a *Agent) Purchase(ctx context.Context, req PurchaseRequest) (*Receipt, error) {
	card, err := a.checkPurchase(ctx, req)
	if err != nil {
		return nil, err
	}
	p := &purchase{a: a, req: req, card: card}
	return p.run(ctx)
}

func (a *Agent) checkPurchase(ctx context.Context, req PurchaseRequest) (store.Card, error) {
	if a.merchant == nil {
		return store.Card{}, ErrNoMerchant
	}
	switch {
	case req.UserID == "":
		return store.Card{}, visa.NewInputError("UserID", "is required")
	case req.TokenID == "":
		return store.Card{}, visa.NewInputError("TokenID", "is required")
	case req.Amount.IsZero() || req.Amount.Minor() <= 0:
		return store.Card{}, visa.NewInputError("Amount", "is required and must be above zero")
	case req.Merchant.Name == "" || len(req.Merchant.Name) > 128:
		return store.Card{}, visa.NewInputError("Merchant.Name", "is required and at most 128 bytes")
	case !strings.HasPrefix(req.Merchant.URL, "https://") && !strings.HasPrefix(req.Merchant.URL, "http://"):
		return store.Card{}, visa.NewInputError("Merchant.URL", "must be an http(s) URL")
	case len(req.Merchant.CountryCode) != 2:
		return store.Card{}, visa.NewInputError("Merchant.CountryCode", "must be an ISO 3166 alpha-2 code")
	case req.Description == "" || len(req.Description) > 1024:
		return store.Card{}, visa.NewInputError("Description", "is required and at most 1024 bytes")
	case len(req.Merchant.URL) > 2048:
		return store.Card{}, visa.NewInputError("Merchant.URL", "is longer than 2048 bytes")
	case len(req.Merchant.Category) > 128:
		return store.Card{}, visa.NewInputError("Merchant.Category", "is longer than 128 bytes")
	case req.Merchant.CategoryCode != "" && !isMCC(req.Merchant.CategoryCode):
		return store.Card{}, visa.NewInputError("Merchant.CategoryCode", "must be 4 digits")
	case len(req.ConsumerPrompt) > 4096:
		return store.Card{}, visa.NewInputError("ConsumerPrompt", "is longer than 4096 bytes")
	case len(req.OrderID) > 64:
		return store.Card{}, visa.NewInputError("OrderID", "is longer than 64 bytes")
	case len(req.UserID) > 64 || len(req.TokenID) > 64:
		return store.Card{}, visa.NewInputError("UserID/TokenID", "is longer than 64 bytes")
	}
	if err := req.Device.validate(); err != nil {
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

func isMCC(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// purchase is one Purchase in progress.
type purchase struct {
	a    *Agent
	req  PurchaseRequest
	card store.Card
	tx   store.Transaction
}

func (p *purchase) run(ctx context.Context) (*Receipt, error) {
	a, req := p.a, p.req
	p.tx = store.Transaction{
		ID: newID(), UserID: req.UserID, TokenID: req.TokenID, ClientReferenceID: visa.NewClientReferenceID(),
		MandateID: newID(), Amount: req.Amount.Value(), Currency: req.Amount.Currency().Alpha,
		MerchantName: req.Merchant.Name, MerchantURL: req.Merchant.URL, Status: store.TxPending,
	}
	if err := a.store.CreateTransaction(ctx, p.tx); err != nil {
		return nil, fmt.Errorf("agent: recording the purchase: %w", err)
	}
	if a.crashed(AfterPending) {
		return nil, ErrInterrupted
	}

	// Steps 10 to 12: a fresh session and a passkey assertion for this
	// amount and merchant.
	as, session, err := p.authenticate(ctx)
	if err != nil {
		return p.fail(ctx, store.TxPending, err)
	}
	if a.crashed(AfterAssertion) {
		return nil, ErrInterrupted
	}
	if err := p.move(ctx, store.TxPending, store.TxAuthenticated, store.TxUpdate{}); err != nil {
		return nil, err
	}
	if a.crashed(AfterAuthenticated) {
		return nil, ErrInterrupted
	}

	// Step 13.
	var ins *vic.InstructionResponse
	if err := a.step(ctx, StepCreateInstruction, p.tx.ID, func() (string, error) {
		ins, err = a.vic.CreateInstruction(ctx, vic.InstructionRequest{
			ClientReferenceID: p.tx.ClientReferenceID, ConsumerID: req.UserID, TokenID: req.TokenID,
			AppInstance: req.Device.appInstance(), Assurance: as, DFPSessionID: session.DFPSessionID,
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
		return ins.Status, nil
	}); err != nil {
		return p.fail(ctx, store.TxAuthenticated, err)
	}
	if a.crashed(AfterInstructionCreated) {
		return nil, ErrInterrupted
	}
	if err := p.move(ctx, store.TxAuthenticated, store.TxInstructed, store.TxUpdate{InstructionID: &ins.InstructionID}); err != nil {
		return nil, err
	}
	if a.crashed(AfterInstructed) {
		return nil, ErrInterrupted
	}

	// Step 14: recorded before it is asked, never asked twice.
	txRef := ins.InstructionID
	if err := p.move(ctx, store.TxInstructed, store.TxCredentialsRequested, store.TxUpdate{TransactionReferenceID: &txRef}); err != nil {
		return nil, err
	}
	if a.crashed(AfterCredentialsRequest) {
		return nil, ErrInterrupted
	}
	var cred vic.Credential
	if err := a.step(ctx, StepCredentials, p.tx.ID, func() (string, error) {
		cr, err := a.vic.RetrieveCredentials(ctx, vic.CredentialsRequest{
			ClientReferenceID: p.tx.ClientReferenceID, InstructionID: ins.InstructionID, TokenID: req.TokenID,
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
		cred = cr.Credentials.DynamicData[0]
		return "credential " + cred.PaymentToken.String(), nil
	}); err != nil {
		// The credential may or may not have been issued: it is never
		// asked for again. The instruction is cancelled.
		return p.abandon(ctx, store.TxCredentialsRequested, err)
	}
	if a.crashed(AfterCredentialsReceived) {
		return nil, ErrInterrupted
	}
	if err := p.move(ctx, store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxUpdate{DynamicDataID: &cred.DynamicDataID}); err != nil {
		return nil, err
	}
	if a.crashed(AfterCredentialsIssued) {
		return nil, ErrInterrupted
	}

	// Step 15: recorded before the merchant is called.
	if err := p.move(ctx, store.TxCredentialsIssued, store.TxAuthorizing, store.TxUpdate{}); err != nil {
		return nil, err
	}
	if a.crashed(AfterAuthorizing) {
		return nil, ErrInterrupted
	}
	auth, err := p.charge(ctx, cred)
	if err != nil {
		// Whether the merchant charged is unknown: Resume will ask it.
		return &Receipt{Transaction: p.tx}, fmt.Errorf("agent: merchant authorization: %w", err)
	}
	if a.crashed(AfterCharge) {
		return nil, ErrInterrupted
	}
	return p.settle(ctx, auth, &cred)
}

// authenticate runs steps 10 to 12.
func (p *purchase) authenticate(ctx context.Context) (fido.Assurance, *authframe.Session, error) {
	a, req := p.a, p.req
	var s *authframe.Session
	if err := a.step(ctx, StepPurchaseSession, p.tx.ID, func() (string, error) {
		var err error
		s, err = a.frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: req.Device.ClientDeviceID,
			BrowserData: req.Device.BrowserData, Channel: req.Device.Channel})
		return "session open", err
	}); err != nil {
		return fido.Assurance{}, nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.frame.Close(cctx, s)
	}()
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
		return fido.Assurance{}, nil, err
	}
	if ao.AuthenticationContext.Action != visa.ActionAuthenticate {
		return fido.Assurance{}, nil, fmt.Errorf("agent: this device has no passkey for the card (attestation answered %s): %w",
			ao.AuthenticationContext.Action, visa.ErrAssuranceInvalid)
	}
	var as fido.Assurance
	if err := a.step(ctx, StepAssertPasskey, p.tx.ID, func() (string, error) {
		var err error
		as, err = a.frame.Authenticate(ctx, s, ao.AuthenticationContext)
		return "assurance received", err
	}); err != nil {
		return fido.Assurance{}, nil, err
	}
	return as, s, nil
}

// email is the user's email for encAuthenticationData; empty if unknown.
func (p *purchase) email(ctx context.Context) string {
	u, err := p.a.store.GetUser(ctx, p.req.UserID)
	if err != nil {
		return ""
	}
	return u.Email
}

// charge asks the merchant to authorize, once. If the answer is lost, it
// asks the merchant what happened instead of charging again.
func (p *purchase) charge(ctx context.Context, cred vic.Credential) (*Authorization, error) {
	a, req := p.a, p.req
	var auth *Authorization
	err := a.step(ctx, StepAuthorize, p.tx.ID, func() (string, error) {
		var err error
		auth, err = a.merchant.Authorize(ctx, Charge{
			MerchantName: req.Merchant.Name, MerchantCountryCode: req.Merchant.CountryCode, MerchantURL: req.Merchant.URL,
			Credential: cred, Amount: req.Amount, TransactionReferenceID: p.tx.TransactionReferenceID,
		})
		if err != nil {
			var lerr error
			if auth, lerr = a.merchant.Lookup(ctx, p.tx.TransactionReferenceID); lerr != nil {
				return "", err
			}
		}
		return auth.Status + " " + auth.ResponseCode, nil
	})
	return auth, err
}

// settle records the merchant's answer, confirms it to VIC (step 16) and
// closes the record.
func (p *purchase) settle(ctx context.Context, auth *Authorization, cred *vic.Credential) (*Receipt, error) {
	a := p.a
	upd := store.TxUpdate{ResponseCode: &auth.ResponseCode, AuthorizationCode: &auth.AuthorizationCode}
	if auth.Approved {
		if err := p.move(ctx, store.TxAuthorizing, store.TxAuthorized, upd); err != nil {
			return nil, err
		}
		if a.crashed(AfterAuthorized) {
			return nil, ErrInterrupted
		}
	}
	if err := a.confirm(ctx, &p.tx, auth, p.req.OrderID); err != nil {
		// The charge stands; the confirmation is retried by Resume.
		return nil, err
	}
	if a.crashed(AfterConfirmed) {
		return nil, ErrInterrupted
	}
	receipt := &Receipt{Authorization: auth}
	if cred != nil {
		receipt.Credential = *cred
	}
	if auth.Approved {
		if err := p.move(ctx, store.TxAuthorized, store.TxCompleted, store.TxUpdate{Confirmed: true}); err != nil {
			return nil, err
		}
		receipt.Transaction = p.tx
		return receipt, nil
	}
	reason := "declined " + auth.ResponseCode
	upd.FailureReason = &reason
	upd.Confirmed = true
	if err := p.move(ctx, store.TxAuthorizing, store.TxDeclined, upd); err != nil {
		return nil, err
	}
	receipt.Transaction = p.tx
	return receipt, &DeclineError{ResponseCode: auth.ResponseCode, DeclineReason: auth.DeclineReason}
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
		return "confirmed " + status, nil
	})
}

// move is the compare-and-swap of one status change. Losing it means
// another flow (Resume, another replica) owns the transaction now: this
// one stops without side effects.
func (p *purchase) move(ctx context.Context, from, to store.TxStatus, upd store.TxUpdate) error {
	tx, err := p.a.store.TransitionTransaction(ctx, p.tx.ID, from, to, upd)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %s → %s: %w", ErrSuperseded, from, to, err)
		}
		return fmt.Errorf("agent: recording %s: %w", to, err)
	}
	p.tx = tx
	return nil
}

// fail records a failure before anything chargeable exists.
func (p *purchase) fail(ctx context.Context, from store.TxStatus, cause error) (*Receipt, error) {
	to := store.TxFailed
	if errors.Is(cause, authframe.ErrUserCancelled) || errors.Is(cause, context.Canceled) {
		to = store.TxCancelled
	}
	reason := reasonOf(cause)
	if err := p.move(context.WithoutCancel(ctx), from, to, store.TxUpdate{FailureReason: &reason}); err != nil {
		return &Receipt{Transaction: p.tx}, errors.Join(cause, err)
	}
	return &Receipt{Transaction: p.tx}, cause
}

// abandon cancels the instruction and records the purchase as cancelled:
// used when a credential may exist but will never be charged.
func (p *purchase) abandon(ctx context.Context, from store.TxStatus, cause error) (*Receipt, error) {
	ctx = context.WithoutCancel(ctx)
	p.a.cancelInstruction(ctx, &p.tx, p.req.Device.appInstance())
	reason := reasonOf(cause)
	if err := p.move(ctx, from, store.TxCancelled, store.TxUpdate{FailureReason: &reason}); err != nil {
		return &Receipt{Transaction: p.tx}, errors.Join(cause, err)
	}
	return &Receipt{Transaction: p.tx}, cause
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
