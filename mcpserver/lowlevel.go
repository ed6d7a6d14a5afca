package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// The low-level tools map one to one onto the VTS and VIC calls of the
// journey's 16 steps, for agents that drive the journey themselves. What
// must stay on the server (the secureToken of an Auth iFrame session, the
// fidoBlob of a passkey ceremony) is replaced by opaque handles.

// ProvisionInput tokenizes a card (journey steps 1 and 2 in one call).
type ProvisionInput struct {
	Card  CardInput `json:"card" jsonschema:"the card as typed by the cardholder; tokenized at once and never kept"`
	Email string    `json:"email" jsonschema:"the cardholder's email address"`
}

// ProvisionResult is the new token.
type ProvisionResult struct {
	Status              string `json:"status" jsonschema:"the token status: INACTIVE until step-up, or ACTIVE"`
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	TokenReferenceID    string `json:"tokenReferenceId"`
	Last4               string `json:"last4" jsonschema:"the token's last four digits"`
	ExpiryMonth         int    `json:"expiryMonth"`
	ExpiryYear          int    `json:"expiryYear"`
	ClientReferenceID   string `json:"clientReferenceId" jsonschema:"pass it to the next VTS tools of this onboarding"`
}

// MerchantRef names who asks for an authentication: the merchant of a
// purchase (default: this agent application, for onboarding).
type MerchantRef struct {
	Name string `json:"name" jsonschema:"the merchant's name"`
	URL  string `json:"url" jsonschema:"the merchant's site, an http(s) URL"`
}

// AttestationInput asks Visa how to authenticate the cardholder on a
// device (journey steps 4, 8 and 11).
type AttestationInput struct {
	VProvisionedTokenID string       `json:"vProvisionedTokenId"`
	ClientReferenceID   string       `json:"clientReferenceId" jsonschema:"the flow's reference (from provision-token-given-pan-data, or a new one for a purchase)"`
	Action              string       `json:"action" jsonschema:"REGISTER (create a passkey, after step-up) or AUTHENTICATE (onboarding probe, or purchase with amount)"`
	SessionHandle       string       `json:"sessionHandle,omitempty" jsonschema:"an open session from an earlier call; empty opens a new Auth iFrame session"`
	ClientDeviceID      string       `json:"clientDeviceId,omitempty" jsonschema:"the device (24 characters); required when opening a session unless consumerId is given"`
	ConsumerID          string       `json:"consumerId,omitempty" jsonschema:"derives the device id as the journey tools do, when clientDeviceId is empty (default: the signed-in user)"`
	Email               string       `json:"email" jsonschema:"the cardholder's email address"`
	Amount              string       `json:"amount,omitempty" jsonschema:"purchase amount (AUTHENTICATE for a purchase)"`
	Currency            string       `json:"currency,omitempty" jsonschema:"ISO 4217 code of amount"`
	Merchant            *MerchantRef `json:"merchant,omitempty" jsonschema:"the merchant of a purchase"`
}

// AttestationResult says which ceremony the session is ready for.
type AttestationResult struct {
	SessionHandle string `json:"sessionHandle" jsonschema:"pass it to device-binding-request and authenticate-passkey"`
	Action        string `json:"action" jsonschema:"REGISTER: no passkey on this device yet; AUTHENTICATE: use the passkey"`
	ExpiresAt     string `json:"expiresAt" jsonschema:"when the handle expires"`
	Next          string `json:"next"`
}

// DeviceBindingInput binds a token to the session's device (journey step 5).
type DeviceBindingInput struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	ClientReferenceID   string `json:"clientReferenceId"`
	SessionHandle       string `json:"sessionHandle" jsonschema:"from get-device-attestation-options"`
	Email               string `json:"email" jsonschema:"the cardholder's email address"`
	ExpiryMonth         int    `json:"expiryMonth,omitempty" jsonschema:"the card's expiry month, for risk data"`
	ExpiryYear          int    `json:"expiryYear,omitempty" jsonschema:"the card's expiry year, for risk data"`
}

// StepUpOption is one way to receive the one-time code.
type StepUpOption struct {
	Method          string `json:"method"`
	Destination     string `json:"destination" jsonschema:"masked phone number or email"`
	StepUpRequestID string `json:"stepUpRequestId" jsonschema:"pass it to submit-idv-step-up-method"`
}

// DeviceBindingResult says whether a step-up is needed.
type DeviceBindingResult struct {
	Status        string         `json:"status" jsonschema:"APPROVED (token active) or CHALLENGE (step up with an OTP)"`
	StepUpMethods []StepUpOption `json:"stepUpMethods,omitempty"`
}

// StepUpInput chooses where the OTP goes (journey step 6).
type StepUpInput struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	ClientReferenceID   string `json:"clientReferenceId"`
	StepUpRequestID     string `json:"stepUpRequestId" jsonschema:"from device-binding-request"`
}

// StepUpResult says the code is on its way.
type StepUpResult struct {
	Status              string `json:"status" jsonschema:"CODE_SENT"`
	MaxOTPRequests      int    `json:"maxOtpRequests"`
	MaxOTPVerifications int    `json:"maxOtpVerifications"`
	CodeExpiresAt       string `json:"codeExpiresAt"`
}

// ValidateOTPInput submits the code the cardholder received (journey step 7).
type ValidateOTPInput struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	ClientReferenceID   string `json:"clientReferenceId"`
	OTP                 string `json:"otp" jsonschema:"the code; never stored, logged or returned"`
}

// StatusResult is a plain acknowledgement.
type StatusResult struct {
	Status string `json:"status"`
}

// PasskeyInput runs the passkey ceremony of a session (journey steps 9, 12).
type PasskeyInput struct {
	SessionHandle string `json:"sessionHandle" jsonschema:"from get-device-attestation-options; the session is used up"`
}

// PasskeyResult stands for the ceremony's assurance.
type PasskeyResult struct {
	AssuranceHandle string `json:"assuranceHandle" jsonschema:"pass it once to enroll-card, initiate- or update-purchase-instruction"`
	Ceremony        string `json:"ceremony" jsonschema:"REGISTER or AUTHENTICATE"`
	ExpiresAt       string `json:"expiresAt"`
}

// EnrollCardInput enrolls a token in VIC (after journey step 9).
type EnrollCardInput struct {
	VProvisionedTokenID string       `json:"vProvisionedTokenId"`
	AssuranceHandle     string       `json:"assuranceHandle" jsonschema:"from authenticate-passkey"`
	ClientReferenceID   string       `json:"clientReferenceId,omitempty"`
	Consumer            UserInput    `json:"consumer" jsonschema:"the cardholder"`
	Device              *DeviceInput `json:"device,omitempty"`
}

// EnrollCardResult is VIC's answer.
type EnrollCardResult struct {
	Status            string `json:"status" jsonschema:"ACTIVE on success"`
	ClientReferenceID string `json:"clientReferenceId"`
}

// MandateInput is what the cardholder allowed the agent to buy.
type MandateInput struct {
	MandateID            string `json:"mandateId,omitempty" jsonschema:"default: a new UUID"`
	Description          string `json:"description" jsonschema:"what is bought"`
	Amount               string `json:"amount" jsonschema:"the most that may be charged, a decimal"`
	Currency             string `json:"currency" jsonschema:"ISO 4217 code"`
	MerchantName         string `json:"merchantName,omitempty"`
	MerchantCategoryCode string `json:"merchantCategoryCode,omitempty"`
	MerchantCategory     string `json:"merchantCategory,omitempty"`
	Quantity             int    `json:"quantity,omitempty" jsonschema:"credential retrievals allowed (default 1)"`
	EffectiveUntil       string `json:"effectiveUntil,omitempty" jsonschema:"RFC 3339 end of the mandate (default now + 5 minutes)"`
}

// InstructionInput creates a purchase instruction (journey step 13).
type InstructionInput struct {
	VProvisionedTokenID string         `json:"vProvisionedTokenId"`
	AssuranceHandle     string         `json:"assuranceHandle" jsonschema:"from authenticate-passkey, for this purchase"`
	ConsumerID          string         `json:"consumerId,omitempty" jsonschema:"the cardholder (default: the signed-in user, or the server's single local user)"`
	ClientReferenceID   string         `json:"clientReferenceId,omitempty"`
	ConsumerPrompt      string         `json:"consumerPrompt,omitempty" jsonschema:"what the user asked for, in their words"`
	Mandates            []MandateInput `json:"mandates" jsonschema:"one or more mandates"`
	Device              *DeviceInput   `json:"device,omitempty"`
}

// UpdateInstructionInput replaces the mandates of a purchase instruction.
type UpdateInstructionInput struct {
	InstructionID string `json:"instructionId" jsonschema:"the instruction to update"`
	InstructionInput
}

// InstructionResult is VIC's answer about an instruction.
type InstructionResult struct {
	InstructionID     string   `json:"instructionId"`
	Status            string   `json:"status"`
	ClientReferenceID string   `json:"clientReferenceId"`
	MandateIDs        []string `json:"mandateIds,omitempty"`
}

// CancelInstructionInput cancels an instruction.
type CancelInstructionInput struct {
	InstructionID     string       `json:"instructionId"`
	ConsumerID        string       `json:"consumerId,omitempty" jsonschema:"the cardholder, deriving the device as the other tools do (default: the signed-in user, or the server's single local user)"`
	ClientReferenceID string       `json:"clientReferenceId,omitempty"`
	Device            *DeviceInput `json:"device,omitempty"`
}

// TransactionInput is one transaction to obtain a credential for.
type TransactionInput struct {
	TransactionReferenceID string        `json:"transactionReferenceId,omitempty" jsonschema:"unique within the instruction (default: the instructionId for the first)"`
	Amount                 string        `json:"amount"`
	Currency               string        `json:"currency"`
	Merchant               MerchantInput `json:"merchant"`
	MandateIDs             []string      `json:"mandateIds,omitempty"`
}

// CredentialsInput asks for payment credentials (journey step 14).
type CredentialsInput struct {
	InstructionID       string             `json:"instructionId"`
	VProvisionedTokenID string             `json:"vProvisionedTokenId"`
	ClientReferenceID   string             `json:"clientReferenceId,omitempty"`
	Transactions        []TransactionInput `json:"transactions"`
}

// CredentialsResult carries the verified credentials, masked unless the
// server reveals them.
type CredentialsResult struct {
	Status        string           `json:"status"`
	InstructionID string           `json:"instructionId"`
	Verified      bool             `json:"verified" jsonschema:"whether the signedPayload signature was checked"`
	Credentials   []CredentialView `json:"credentials"`
}

// ConfirmationInput reports the merchant's result for one credential.
type ConfirmationInput struct {
	TransactionReferenceID   string `json:"transactionReferenceId"`
	DynamicDataID            string `json:"dynamicDataId"`
	Status                   string `json:"status" jsonschema:"APPROVED or DECLINED"`
	Amount                   string `json:"amount"`
	Currency                 string `json:"currency"`
	ResponseCode             string `json:"responseCode,omitempty"`
	AuthorizationCode        string `json:"authorizationCode,omitempty"`
	RetrievalReferenceNumber string `json:"retrievalReferenceNumber,omitempty"`
	SystemTraceAuditNumber   string `json:"systemTraceAuditNumber,omitempty"`
	MerchantName             string `json:"merchantName,omitempty"`
}

// ConfirmInput confirms transactions (journey step 16).
type ConfirmInput struct {
	InstructionID     string              `json:"instructionId"`
	ClientReferenceID string              `json:"clientReferenceId" jsonschema:"the purchase's reference, as initiate-purchase-instruction returned it"`
	Confirmations     []ConfirmationInput `json:"confirmations"`
}

// ConfirmResult acknowledges the confirmations.
type ConfirmResult struct {
	Status        string `json:"status" jsonschema:"CONFIRMED"`
	InstructionID string `json:"instructionId"`
	Confirmed     int    `json:"confirmed"`
}

// TokenInput names a token.
type TokenInput struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
}

// TokenStatusResult is a token's status.
type TokenStatusResult struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	Status              string `json:"status" jsonschema:"INACTIVE, ACTIVE, SUSPENDED or DELETED"`
	Last4               string `json:"last4"`
	ExpiryMonth         int    `json:"expiryMonth"`
	ExpiryYear          int    `json:"expiryYear"`
}

// DeleteTokenInput names the token to delete.
type DeleteTokenInput struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	ReasonCode          string `json:"reasonCode,omitempty" jsonschema:"default CUSTOMER_CONFIRMED"`
}

// DeleteTokenResult acknowledges a deletion.
type DeleteTokenResult struct {
	VProvisionedTokenID string `json:"vProvisionedTokenId"`
	Status              string `json:"status" jsonschema:"DELETED"`
	RemovedFromStore    bool   `json:"removedFromStore" jsonschema:"whether a card added by add-card was removed too"`
}

// llFields names the low-level tools' arguments for the library's
// InputError fields.
var llFields = map[string]string{"VProvisionedTokenID": "vProvisionedTokenId", "ClientReferenceID": "clientReferenceId",
	"TokenID": "vProvisionedTokenId", "InstructionID": "instructionId", "StepUpRequestID": "stepUpRequestId", "OTP": "otp",
	"ReasonCode": "reasonCode", "Consumer.ConsumerID": "consumer.id", "Consumer.Email": "consumer.email",
	"Consumer.CountryCode": "consumer.country", "Consumer.LanguageCode": "consumer.language", "Mandates": "mandates",
	"Transactions": "transactions", "Confirmations": "confirmations", "Email": "email"}

// crid checks a clientReferenceId.
func (a *args) crid(field, v string, required bool) {
	if v == "" && !required {
		return
	}
	if v == "" {
		a.add(field, "is required")
		return
	}
	a.rule(field, check.ClientReferenceID(v))
}

// ownToken records a problem unless tokenID may be used by the caller:
// with authentication, only a stored card of the caller's (another user's
// token is "not a card of yours", as one that does not exist).
func (s *Server) ownToken(ctx context.Context, field, tokenID string, a *args) {
	if a.id(field, tokenID, MaxIDBytes); owner(ctx) == "" || check.ID(tokenID, MaxIDBytes) != "" {
		return
	}
	c, err := s.store.GetCard(ctx, tokenID)
	if err != nil || c.UserID != owner(ctx) {
		a.add(field, "is not a card of yours")
	}
}

// ownInstruction records a problem unless the caller may act on the
// instruction: with authentication, one this server created for the
// caller (initiate-purchase-instruction here, within the handle TTL) or
// one of the caller's stored purchases.
func (s *Server) ownInstruction(ctx context.Context, field, id string, a *args) {
	if a.id(field, id, MaxIDBytes); owner(ctx) == "" || check.ID(id, MaxIDBytes) != "" {
		return
	}
	if h := s.handles.get("instr:" + id); h != nil && h.owner == owner(ctx) {
		return
	}
	for tx, err := range s.store.ListTransactions(ctx, store.TxFilter{UserID: owner(ctx), Limit: 500}) {
		if err != nil {
			break
		}
		if tx.InstructionID == id {
			return
		}
	}
	a.add(field, "is not an instruction of yours")
}

func (s *Server) provisionToken(ctx context.Context, in *ProvisionInput) (*ProvisionResult, error) {
	var a args
	card := in.Card.card("card", s.now(), false, &a)
	a.rule("email", check.Email(in.Email))
	if !a.ok() {
		return nil, a.err()
	}
	tok, err := s.vts.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: card, Email: in.Email})
	if err != nil {
		return nil, err
	}
	if user := owner(ctx); user != "" {
		if err := s.bindToken(ctx, user, in.Email, tok.VProvisionedTokenID, tok.TokenReferenceID, tok.TokenInfo); err != nil {
			// A token nobody owns must not stay usable at Visa.
			if _, derr := s.vts.DeleteToken(context.WithoutCancel(ctx), vts.DeleteTokenRequest{VProvisionedTokenID: tok.VProvisionedTokenID}); derr != nil {
				s.logger.WarnContext(ctx, "mcpserver: deleting a token that could not be recorded failed", "token", tok.VProvisionedTokenID)
			}
			return nil, errors.New("the card was tokenized, but recording it as yours failed, so the token was deleted; try again")
		}
	}
	return &ProvisionResult{Status: string(tok.TokenInfo.TokenStatus), VProvisionedTokenID: tok.VProvisionedTokenID,
		TokenReferenceID: tok.TokenReferenceID, Last4: tok.TokenInfo.Last4, ExpiryMonth: tok.TokenInfo.ExpirationDate.Month,
		ExpiryYear: tok.TokenInfo.ExpirationDate.Year, ClientReferenceID: visa.NewClientReferenceID()}, nil
}

// bindToken records a token provision-token-given-pan-data made for a
// signed-in caller as the caller's card (and the caller as a user, with
// the email given, when unknown): ownToken then lets the caller, and only
// the caller, use it. It is not enrolled in VIC until enroll-card says so;
// the reconciler removes a card left unenrolled (a half-added card) after
// an hour.
func (s *Server) bindToken(ctx context.Context, userID, email, tokenID, tokenRef string, info vts.TokenInfo) error {
	if _, err := s.store.GetUser(ctx, userID); errors.Is(err, store.ErrNotFound) {
		if err := s.store.PutUser(ctx, store.User{ID: userID, Email: email}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return s.store.PutCard(ctx, store.Card{TokenID: tokenID, UserID: userID, TokenReferenceID: tokenRef, Last4: info.Last4,
		ExpiryMonth: info.ExpirationDate.Month, ExpiryYear: info.ExpirationDate.Year,
		TokenStatus: store.TokenStatus(info.TokenStatus), VICEnrollment: store.VICNone})
}

// errBridgeLowLevel: the low-level passkey tools drive the iFrame from the
// server, which a Bridge (the cardholder's browser) cannot do.
var errBridgeLowLevel = errors.New("the low-level passkey tools need the Direct Auth iFrame; with a browser Bridge use add-card and purchase")

func (s *Server) attestationOptions(ctx context.Context, in *AttestationInput) (*AttestationResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, true)
	action := visa.Action(in.Action)
	if action != visa.ActionRegister && action != visa.ActionAuthenticate {
		a.add("action", "must be REGISTER or AUTHENTICATE")
	}
	a.rule("email", check.Email(in.Email))
	var amt visa.Amount
	if in.Amount != "" || in.Currency != "" {
		if action != visa.ActionAuthenticate {
			a.add("amount", "goes only with AUTHENTICATE (a purchase)")
		} else {
			amt = amount("amount", in.Amount, "currency", in.Currency, &a)
		}
	}
	mi := vts.MerchantIdentifier{ExternalClientID: s.externalClientID, ApplicationURL: s.appURL, MerchantName: s.appName}
	if in.Merchant != nil {
		m := MerchantInput{Name: in.Merchant.Name, URL: in.Merchant.URL, CountryCode: "US"}.info("merchant", &a)
		mi.ApplicationURL, mi.MerchantName = m.URL, m.Name
	}
	var se *sessionEntry
	id := in.SessionHandle
	dev := in.ClientDeviceID
	if id != "" {
		se = s.session(ctx, "sessionHandle", id, in.VProvisionedTokenID, &a)
	} else {
		switch {
		case s.bridged:
			return nil, errBridgeLowLevel
		case dev != "":
			a.rule("clientDeviceId", check.ClientDeviceID(dev))
		default:
			consumer := s.userID(ctx, "consumerId", in.ConsumerID, &a)
			if in.ConsumerID == "" && owner(ctx) == "" {
				a.add("clientDeviceId", "is required to open a session (or give consumerId)")
			}
			dev = s.deviceIDFor(consumer)
		}
	}
	if !a.ok() {
		return nil, a.err()
	}
	if se == nil {
		sess, err := s.frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: dev})
		if err != nil {
			return nil, err
		}
		se = &sessionEntry{session: sess, tokenID: in.VProvisionedTokenID, deviceID: dev}
		var ok bool
		if id, ok = s.handles.put("sess_", &handle{owner: owner(ctx), session: se}, s.handleTTL); !ok {
			s.closeSession(ctx, sess)
			return nil, errors.New("too many open sessions; try again later")
		}
	}
	ao, err := s.vts.AttestationOptions(ctx, vts.AttestationOptionsRequest{
		VProvisionedTokenID: in.VProvisionedTokenID, ClientReferenceID: in.ClientReferenceID, Type: action,
		SessionContext: se.session.SessionContext, BrowserData: se.session.BrowserData, Amount: amt,
		MerchantIdentifier: mi, Email: in.Email,
	})
	if err != nil {
		return nil, err
	}
	ac := ao.AuthenticationContext
	s.handles.mu.Lock()
	se.ac = &ac
	s.handles.mu.Unlock()
	next := "call authenticate-passkey with sessionHandle"
	if ac.Action == visa.ActionRegister {
		next = "bind the device first if not done (device-binding-request with sessionHandle), then call authenticate-passkey with sessionHandle"
	}
	return &AttestationResult{SessionHandle: id, Action: string(ac.Action), ExpiresAt: stamp(s.now().Add(s.handleTTL)), Next: next}, nil
}

func (s *Server) closeSession(ctx context.Context, sess *authframe.Session) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.frame.Close(ctx, sess) // best effort: the session expires anyway
}

// session finds the caller's session behind a handle (tokenID "" for any
// token), recording a problem otherwise.
func (s *Server) session(ctx context.Context, field, id, tokenID string, a *args) *sessionEntry {
	if a.id(field, id, MaxIDBytes); check.ID(id, MaxIDBytes) != "" {
		return nil
	}
	h := s.handles.get(id)
	switch {
	case h == nil || h.session == nil || h.owner != owner(ctx):
		a.add(field, "is unknown or expired")
		return nil
	case tokenID != "" && h.session.tokenID != tokenID:
		a.add(field, "belongs to another token")
		return nil
	}
	return h.session
}

func (s *Server) deviceBinding(ctx context.Context, in *DeviceBindingInput) (*DeviceBindingResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, true)
	a.rule("email", check.Email(in.Email))
	var exp vts.ExpirationDate
	if in.ExpiryMonth != 0 || in.ExpiryYear != 0 {
		if in.ExpiryMonth < 1 || in.ExpiryMonth > 12 {
			a.add("expiryMonth", "must be 1 to 12")
		}
		if in.ExpiryYear < 2000 || in.ExpiryYear > 2099 {
			a.add("expiryYear", "must be a four-digit year")
		}
		exp = vts.ExpirationDate{Month: in.ExpiryMonth, Year: in.ExpiryYear}
	}
	se := s.session(ctx, "sessionHandle", in.SessionHandle, in.VProvisionedTokenID, &a)
	if !a.ok() {
		return nil, a.err()
	}
	db, err := s.vts.DeviceBinding(ctx, vts.DeviceBindingRequest{VProvisionedTokenID: in.VProvisionedTokenID,
		ClientReferenceID: in.ClientReferenceID, SessionContext: se.session.SessionContext, BrowserData: se.session.BrowserData,
		Email: in.Email, ExpirationDate: exp})
	if err != nil {
		return nil, err
	}
	out := &DeviceBindingResult{Status: string(db.Status)}
	for _, o := range db.StepUpRequest {
		out.StepUpMethods = append(out.StepUpMethods, StepUpOption{Method: o.Method, Destination: o.Value, StepUpRequestID: o.Identifier})
	}
	return out, nil
}

func (s *Server) selectStepUp(ctx context.Context, in *StepUpInput) (*StepUpResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, true)
	a.id("stepUpRequestId", in.StepUpRequestID, MaxIDBytes)
	if !a.ok() {
		return nil, a.err()
	}
	r, err := s.vts.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: in.VProvisionedTokenID,
		ClientReferenceID: in.ClientReferenceID, StepUpRequestID: in.StepUpRequestID})
	if err != nil {
		return nil, err
	}
	return &StepUpResult{Status: "CODE_SENT", MaxOTPRequests: r.MaxOTPRequestsAllowed, MaxOTPVerifications: r.MaxOTPVerificationAllowed,
		CodeExpiresAt: stamp(r.CodeExpiration)}, nil
}

func (s *Server) validateOTP(ctx context.Context, in *ValidateOTPInput) (*StatusResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, true)
	otp, err := visa.ParseOTP(in.OTP)
	switch {
	case in.OTP == "":
		a.add("otp", "is required")
	case err != nil:
		a.add("otp", "must be the digits of the code")
	}
	if !a.ok() {
		return nil, a.err()
	}
	if _, err := s.vts.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: in.VProvisionedTokenID,
		ClientReferenceID: in.ClientReferenceID, OTP: otp}); err != nil {
		return nil, err
	}
	return &StatusResult{Status: "VALIDATED"}, nil
}

func (s *Server) authenticatePasskey(ctx context.Context, in *PasskeyInput) (*PasskeyResult, error) {
	if s.bridged {
		return nil, errBridgeLowLevel
	}
	var a args
	se := s.session(ctx, "sessionHandle", in.SessionHandle, "", &a)
	if !a.ok() {
		return nil, a.err()
	}
	s.handles.mu.Lock()
	ac := se.ac
	s.handles.mu.Unlock()
	if ac == nil {
		return nil, argErr("sessionHandle", "has no authentication context yet: call get-device-attestation-options first")
	}
	// The secureToken is single use: whatever the outcome, the session is
	// spent.
	s.handles.drop(in.SessionHandle)
	defer s.closeSession(ctx, se.session)
	as, err := s.frame.Authenticate(ctx, se.session, *ac)
	if err != nil {
		return nil, err
	}
	ceremony := fido.Register
	if ac.Action == visa.ActionAuthenticate {
		ceremony = fido.Authenticate
	}
	id, ok := s.handles.put("asr_", &handle{owner: owner(ctx), assurance: &assuranceEntry{assurance: as, ceremony: ceremony,
		dfp: se.session.DFPSessionID, tokenID: se.tokenID, deviceID: se.deviceID}}, s.handleTTL)
	if !ok {
		return nil, errors.New("too many open handles; try again later")
	}
	return &PasskeyResult{AssuranceHandle: id, Ceremony: string(ceremony), ExpiresAt: stamp(s.now().Add(s.handleTTL))}, nil
}

// peekAssurance checks a single-use assurance for tokenID without using it
// up: a call consumes it only once every argument is valid.
func (s *Server) peekAssurance(ctx context.Context, field, id, tokenID string, a *args) *assuranceEntry {
	if a.id(field, id, MaxIDBytes); check.ID(id, MaxIDBytes) != "" {
		return nil
	}
	h := s.handles.get(id)
	switch {
	case h == nil || h.assurance == nil || h.owner != owner(ctx):
		a.add(field, "is unknown, expired or already used")
		return nil
	case h.assurance.tokenID != tokenID:
		a.add(field, "belongs to another token")
		return nil
	}
	return h.assurance
}

// takeAssurance uses up the assurance peekAssurance checked.
func (s *Server) takeAssurance(field, id string) (*assuranceEntry, error) {
	h := s.handles.take(id)
	if h == nil || h.assurance == nil {
		return nil, argErr(field, "is unknown, expired or already used")
	}
	return h.assurance, nil
}

func (s *Server) enrollCard(ctx context.Context, in *EnrollCardInput) (*EnrollCardResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, false)
	id := s.userID(ctx, "consumer.id", in.Consumer.ID, &a)
	u := in.Consumer.user("consumer", id, &a)
	as := s.peekAssurance(ctx, "assuranceHandle", in.AssuranceHandle, in.VProvisionedTokenID, &a)
	var assured string
	if as != nil {
		assured = as.deviceID
	}
	ai := s.lowDevice(u.ID, u.Country, assured, in.Device, &a)
	if !a.ok() {
		return nil, a.err()
	}
	as, err := s.takeAssurance("assuranceHandle", in.AssuranceHandle)
	if err != nil {
		return nil, err
	}
	r, err := s.vic.EnrollCard(ctx, vic.EnrollCardRequest{ClientReferenceID: in.ClientReferenceID, TokenID: in.VProvisionedTokenID,
		Assurance: as.assurance, Ceremony: as.ceremony, DFPSessionID: as.dfp, AppInstance: ai,
		Consumer: vic.Consumer{ConsumerID: u.ID, Email: u.Email, CountryCode: u.Country, LanguageCode: u.Language}})
	if err != nil {
		return nil, err
	}
	if owner(ctx) != "" && r.Status == vic.StatusActive {
		// The caller's card (bound by provision-token-given-pan-data) is
		// enrolled now: the reconciler keeps it.
		if c, err := s.store.GetCard(ctx, in.VProvisionedTokenID); err == nil {
			c.TokenStatus, c.VICEnrollment = store.TokenActive, store.VICEnrolled
			if err := s.store.PutCard(ctx, c); err != nil {
				return nil, errors.New("the card is enrolled at Visa, but recording it on this server failed; call enroll-card again")
			}
		}
	}
	return &EnrollCardResult{Status: string(r.Status), ClientReferenceID: r.ClientReferenceID}, nil
}

// lowDevice is the appInstance of a low-level VIC call: the device of the
// assurance when there is one, else derived from the consumer.
func (s *Server) lowDevice(consumerID, country, assuredDevice string, d *DeviceInput, a *args) visa.AppInstance {
	if d == nil && assuredDevice != "" {
		d = &DeviceInput{ClientDeviceID: assuredDevice}
	}
	return s.device("device", consumerID, country, d, a).AppInstance
}

func mandates(in []MandateInput, now time.Time, a *args) []vic.Mandate {
	if len(in) == 0 {
		a.add("mandates", "needs at least one mandate")
	}
	out := make([]vic.Mandate, len(in))
	for i, m := range in {
		p := fmt.Sprintf("mandates[%d]", i)
		a.text(p+".description", m.Description, 1024, true)
		amt := amount(p+".amount", m.Amount, p+".currency", m.Currency, a)
		a.optID(p+".mandateId", m.MandateID, 64)
		if m.MerchantCategoryCode != "" {
			a.rule(p+".merchantCategoryCode", check.MCC(m.MerchantCategoryCode))
		}
		if m.Quantity < 0 || m.Quantity > 100 {
			a.add(p+".quantity", "must be 1 to 100")
		}
		var until time.Time
		if m.EffectiveUntil != "" {
			var err error
			if until, err = time.Parse(time.RFC3339, m.EffectiveUntil); err != nil || !until.After(now) {
				a.add(p+".effectiveUntil", "must be a future RFC 3339 time")
			}
		}
		out[i] = vic.Mandate{MandateID: m.MandateID, Description: m.Description, DeclineThreshold: amt, EffectiveUntil: until,
			Quantity: m.Quantity, PreferredMerchantName: m.MerchantName, MerchantCategory: m.MerchantCategory,
			MerchantCategoryCode: m.MerchantCategoryCode}
		if out[i].MandateID == "" {
			out[i].MandateID = check.NewUUID()
		}
	}
	return out
}

func (s *Server) initiateInstruction(ctx context.Context, in *InstructionInput) (*InstructionResult, error) {
	return s.instruction(ctx, "", in)
}

func (s *Server) updateInstruction(ctx context.Context, in *UpdateInstructionInput) (*InstructionResult, error) {
	var a args
	s.ownInstruction(ctx, "instructionId", in.InstructionID, &a)
	if !a.ok() {
		return nil, a.err()
	}
	return s.instruction(ctx, in.InstructionID, &in.InstructionInput)
}

func (s *Server) instruction(ctx context.Context, update string, in *InstructionInput) (*InstructionResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	consumer := s.userID(ctx, "consumerId", in.ConsumerID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, false)
	a.text("consumerPrompt", in.ConsumerPrompt, 1024, false)
	ms := mandates(in.Mandates, s.now(), &a)
	as := s.peekAssurance(ctx, "assuranceHandle", in.AssuranceHandle, in.VProvisionedTokenID, &a)
	var assured string
	if as != nil {
		assured = as.deviceID
	}
	ai := s.lowDevice(consumer, "", assured, in.Device, &a)
	if !a.ok() {
		return nil, a.err()
	}
	as, err := s.takeAssurance("assuranceHandle", in.AssuranceHandle)
	if err != nil {
		return nil, err
	}
	var r *vic.InstructionResponse
	if update != "" {
		r, err = s.vic.UpdateInstruction(ctx, vic.UpdateInstructionRequest{ClientReferenceID: in.ClientReferenceID, InstructionID: update,
			ConsumerID: consumer, TokenID: in.VProvisionedTokenID, AppInstance: ai, Assurance: as.assurance,
			DFPSessionID: as.dfp, Mandates: ms, ConsumerPrompt: in.ConsumerPrompt})
	} else {
		r, err = s.vic.CreateInstruction(ctx, vic.CreateInstructionRequest{ClientReferenceID: in.ClientReferenceID,
			ConsumerID: consumer, TokenID: in.VProvisionedTokenID, AppInstance: ai, Assurance: as.assurance,
			DFPSessionID: as.dfp, Mandates: ms, ConsumerPrompt: in.ConsumerPrompt})
	}
	if err != nil {
		return nil, err
	}
	s.handles.bind("instr:"+r.InstructionID, owner(ctx), 24*time.Hour)
	out := &InstructionResult{InstructionID: r.InstructionID, Status: string(r.Status), ClientReferenceID: r.ClientReferenceID}
	for _, m := range ms {
		out.MandateIDs = append(out.MandateIDs, m.MandateID)
	}
	return out, nil
}

func (s *Server) cancelInstruction(ctx context.Context, in *CancelInstructionInput) (*InstructionResult, error) {
	var a args
	s.ownInstruction(ctx, "instructionId", in.InstructionID, &a)
	consumer := s.userID(ctx, "consumerId", in.ConsumerID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, false)
	ai := s.lowDevice(consumer, "", "", in.Device, &a)
	if !a.ok() {
		return nil, a.err()
	}
	r, err := s.vic.CancelInstruction(ctx, vic.CancelRequest{ClientReferenceID: in.ClientReferenceID, InstructionID: in.InstructionID, AppInstance: ai})
	if err != nil {
		return nil, err
	}
	return &InstructionResult{InstructionID: r.InstructionID, Status: string(r.Status), ClientReferenceID: r.ClientReferenceID}, nil
}

func (s *Server) retrieveCredentials(ctx context.Context, in *CredentialsInput) (*CredentialsResult, error) {
	var a args
	s.ownInstruction(ctx, "instructionId", in.InstructionID, &a)
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, false)
	if len(in.Transactions) == 0 {
		a.add("transactions", "needs at least one transaction")
	}
	txs := make([]vic.TransactionData, len(in.Transactions))
	for i, t := range in.Transactions {
		p := fmt.Sprintf("transactions[%d]", i)
		a.optID(p+".transactionReferenceId", t.TransactionReferenceID, 64)
		amt := amount(p+".amount", t.Amount, p+".currency", t.Currency, &a)
		m := t.Merchant.info(p+".merchant", &a)
		for j, id := range t.MandateIDs {
			a.id(fmt.Sprintf("%s.mandateIds[%d]", p, j), id, 64)
		}
		txs[i] = vic.TransactionData{TransactionReferenceID: t.TransactionReferenceID, Amount: amt, MerchantName: m.Name,
			MerchantCountryCode: m.CountryCode, MerchantURL: m.URL, MandateIDs: t.MandateIDs}
	}
	if !a.ok() {
		return nil, a.err()
	}
	r, err := s.vic.RetrieveCredentials(ctx, vic.CredentialsRequest{ClientReferenceID: in.ClientReferenceID,
		InstructionID: in.InstructionID, TokenID: in.VProvisionedTokenID, Transactions: txs})
	if err != nil {
		return nil, err
	}
	out := &CredentialsResult{Status: string(r.Status), InstructionID: r.InstructionID, Credentials: []CredentialView{}}
	if r.Credentials != nil {
		out.Verified = r.Credentials.Verified
		for _, c := range r.Credentials.DynamicData {
			out.Credentials = append(out.Credentials, *s.revealed(ctx, c))
		}
	}
	return out, nil
}

func (s *Server) confirmTransactions(ctx context.Context, in *ConfirmInput) (*ConfirmResult, error) {
	var a args
	s.ownInstruction(ctx, "instructionId", in.InstructionID, &a)
	a.crid("clientReferenceId", in.ClientReferenceID, true)
	if len(in.Confirmations) == 0 {
		a.add("confirmations", "needs at least one confirmation")
	}
	cs := make([]vic.Confirmation, len(in.Confirmations))
	for i, c := range in.Confirmations {
		p := fmt.Sprintf("confirmations[%d]", i)
		a.id(p+".transactionReferenceId", c.TransactionReferenceID, 64)
		a.id(p+".dynamicDataId", c.DynamicDataID, MaxIDBytes)
		if st := vic.TransactionStatus(c.Status); st != vic.TransactionApproved && st != vic.TransactionDeclined {
			a.add(p+".status", "must be APPROVED or DECLINED")
		}
		amt := amount(p+".amount", c.Amount, p+".currency", c.Currency, &a)
		cs[i] = vic.Confirmation{TransactionReferenceID: c.TransactionReferenceID, DynamicDataID: c.DynamicDataID, Status: vic.TransactionStatus(c.Status),
			Amount: amt, ResponseCode: c.ResponseCode, AuthorizationCode: c.AuthorizationCode,
			RetrievalReferenceNumber: c.RetrievalReferenceNumber, SystemTraceAuditNumber: c.SystemTraceAuditNumber, MerchantName: c.MerchantName}
	}
	if !a.ok() {
		return nil, a.err()
	}
	r, err := s.vic.ConfirmTransaction(ctx, vic.ConfirmRequest{ClientReferenceID: in.ClientReferenceID, InstructionID: in.InstructionID, Confirmations: cs})
	if err != nil {
		return nil, err
	}
	id := r.InstructionID
	if id == "" {
		id = in.InstructionID
	}
	return &ConfirmResult{Status: "CONFIRMED", InstructionID: id, Confirmed: len(cs)}, nil
}

func (s *Server) tokenStatus(ctx context.Context, in *TokenInput) (*TokenStatusResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	if !a.ok() {
		return nil, a.err()
	}
	r, err := s.vts.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: in.VProvisionedTokenID})
	if err != nil {
		return nil, err
	}
	return &TokenStatusResult{VProvisionedTokenID: in.VProvisionedTokenID, Status: string(r.TokenInfo.TokenStatus), Last4: r.TokenInfo.Last4,
		ExpiryMonth: r.TokenInfo.ExpirationDate.Month, ExpiryYear: r.TokenInfo.ExpirationDate.Year}, nil
}

func (s *Server) deleteToken(ctx context.Context, in *DeleteTokenInput) (*DeleteTokenResult, error) {
	var a args
	s.ownToken(ctx, "vProvisionedTokenId", in.VProvisionedTokenID, &a)
	a.optID("reasonCode", in.ReasonCode, 64)
	if !a.ok() {
		return nil, a.err()
	}
	if _, err := s.vts.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: in.VProvisionedTokenID, ReasonCode: in.ReasonCode}); err != nil {
		return nil, err
	}
	out := &DeleteTokenResult{VProvisionedTokenID: in.VProvisionedTokenID, Status: string(visa.TokenDeleted)}
	if _, err := s.store.DeletePasskeys(ctx, in.VProvisionedTokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("the token is deleted at Visa, but removing its passkeys on this server failed")
	}
	switch err := s.store.DeleteCard(ctx, in.VProvisionedTokenID); {
	case err == nil:
		out.RemovedFromStore = true
	case !errors.Is(err, store.ErrNotFound):
		return nil, errors.New("the token is deleted at Visa, but removing its card record on this server failed")
	}
	return out, nil
}
