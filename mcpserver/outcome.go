package mcpserver

import (
	"context"
	"errors"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
)

// Statuses of a journey (the status of add-card, purchase and their
// -continue tools). A result's status is read from the stored record, never
// guessed from an error.
const (
	// StatusInProgress: the journey is working (on this or another server
	// instance); call the -continue tool with flowId to read where it stands.
	StatusInProgress = "IN_PROGRESS"
	// StatusCardEntryRequired: the shopper types the card on the
	// card-entry page at cardEntryUrl, outside the conversation; then call
	// add-card-continue with flowId.
	StatusCardEntryRequired = "CARD_ENTRY_REQUIRED"
	// StatusChooseStepUp: ask the user where the one-time passcode should
	// go (methods), then call add-card-continue with method.
	StatusChooseStepUp = "CHOOSE_STEP_UP"
	// StatusOTPRequired: ask the user for the code sent to destination,
	// then call add-card-continue with otp (or resend).
	StatusOTPRequired = "OTP_REQUIRED"
	// StatusPasskeyRequired: show the user pageUrl, where the passkey
	// ceremony runs, then call the -continue tool to read the outcome.
	StatusPasskeyRequired = "PASSKEY_REQUIRED"
	// StatusCompleted: the card was added, or the purchase was approved
	// and confirmed to Visa.
	StatusCompleted = "COMPLETED"
	// StatusDeclined: the merchant declined the purchase; nothing was
	// charged.
	StatusDeclined = "DECLINED"
	// StatusFailed: the journey stopped before anything was charged;
	// error and errorCode say why. Nothing half-made remains: safe to try
	// again.
	StatusFailed = "FAILED"
	// StatusCancelled: the journey was cancelled (or expired waiting for
	// the user); nothing was charged and no half-added card remains.
	StatusCancelled = "CANCELLED"
	// StatusChargedUnconfirmed: the card WAS charged, and the confirmation
	// to Visa is pending (the server's reconciler sends it). Never
	// purchase again.
	StatusChargedUnconfirmed = "CHARGED_UNCONFIRMED"
	// StatusOutcomeUnknown: the charge was sent and its answer was lost;
	// the card may have been charged (the server's reconciler asks the
	// merchant and settles it). Never purchase again.
	StatusOutcomeUnknown = "OUTCOME_UNKNOWN"
)

// flowStatuses is the enum of FlowResult.status.
var flowStatuses = []any{StatusInProgress, StatusCardEntryRequired, StatusChooseStepUp, StatusOTPRequired, StatusPasskeyRequired,
	StatusCompleted, StatusDeclined, StatusFailed, StatusCancelled, StatusChargedUnconfirmed, StatusOutcomeUnknown}

// StepUpMethod is one way to receive the one-time passcode, with its
// masked destination.
type StepUpMethod struct {
	Method      string `json:"method" jsonschema:"the channel: pass it as method to add-card-continue"`
	Destination string `json:"destination" jsonschema:"masked phone number or email address"`
}

// FlowResult is the answer of the journey tools: a status, what to do next,
// and the result once there is one. It never holds a card number, CVV2,
// OTP, secureToken, fidoBlob or clear payment credential.
type FlowResult struct {
	Status string `json:"status" jsonschema:"where the journey stands; CHARGED_UNCONFIRMED and OUTCOME_UNKNOWN mean never purchase again"`
	FlowID string `json:"flowId,omitempty" jsonschema:"pass it to the -continue tool"`
	Next   string `json:"next" jsonschema:"what to do next, in words"`

	CardEntryURL  string         `json:"cardEntryUrl,omitempty" jsonschema:"one-time page where the shopper types the card (CARD_ENTRY_REQUIRED); show it to the user only"`
	Methods       []StepUpMethod `json:"methods,omitempty" jsonschema:"step-up methods offered (CHOOSE_STEP_UP)"`
	Method        string         `json:"method,omitempty" jsonschema:"the step-up method in use (OTP_REQUIRED)"`
	Destination   string         `json:"destination,omitempty" jsonschema:"where the code went, masked (OTP_REQUIRED)"`
	CodeSent      bool           `json:"codeSent,omitempty" jsonschema:"a new code was just sent (OTP_REQUIRED)"`
	Attempt       int            `json:"attempt,omitempty" jsonschema:"codes entered so far"`
	AttemptsLeft  *int           `json:"attemptsLeft,omitempty" jsonschema:"how many more times the current code may be entered; at 0 only resend helps"`
	CodesLeft     *int           `json:"codesLeft,omitempty" jsonschema:"how many new codes may still be sent"`
	CodeExpiresAt string         `json:"codeExpiresAt,omitempty" jsonschema:"when the code expires, RFC 3339"`
	LastError     string         `json:"lastError,omitempty" jsonschema:"why the previous code was refused, in a sentence"`
	LastErrorCode string         `json:"lastErrorCode,omitempty" jsonschema:"a stable code for lastError"`
	PageURL       string         `json:"pageUrl,omitempty" jsonschema:"page where the user completes the passkey (PASSKEY_REQUIRED)"`
	ExpiresAt     string         `json:"expiresAt,omitempty" jsonschema:"when a journey waiting for the user is abandoned, RFC 3339"`

	Card          *CardView          `json:"card,omitempty" jsonschema:"the added card (add-card)"`
	StepUp        string             `json:"stepUp,omitempty" jsonschema:"step-up used: OTPSMS, OTPEMAIL or APPROVED (none needed)"`
	Transaction   *TransactionView   `json:"transaction,omitempty" jsonschema:"the purchase record (purchase)"`
	Authorization *AuthorizationView `json:"authorization,omitempty" jsonschema:"the merchant's answer (purchase)"`
	Credential    *CredentialView    `json:"credential,omitempty" jsonschema:"the one-time credential used (purchase), always masked"`
	Replayed      bool               `json:"replayed,omitempty" jsonschema:"this is the outcome of an earlier call with the same idempotencyKey; nothing new was charged"`
	Error         string             `json:"error,omitempty" jsonschema:"why the journey failed or was cancelled, in a sentence"`
	ErrorCode     string             `json:"errorCode,omitempty" jsonschema:"a stable code for error"`
}

func intp(n int) *int { return &n }

// plainErrors names the errors a tool result may report, as a stable code
// and a plain sentence: a result never shows a Go error chain. The first
// match names an error.
var plainErrors = []struct {
	err      error
	code, is string
}{
	{agent.ErrChargedUnconfirmed, "charged_unconfirmed", "The card was charged; the confirmation to Visa is pending."},
	{agent.ErrOutcomeUnknown, "outcome_unknown", "The charge was sent to the merchant and its answer was lost."},
	{agent.ErrOwnershipLost, "outcome_unknown", "Another server instance took over the purchase after the merchant was called."},
	{agent.ErrInProgress, "in_progress", "A purchase with this idempotency key is still under way."},
	{agent.ErrIdempotencyMismatch, "idempotency_mismatch", "The idempotency key was used before for a different request."},
	{agent.ErrDeclined, "declined", "The merchant declined the payment."},
	{agent.ErrJourneyExpired, "expired", "The journey waited too long for the user and was abandoned."},
	{agent.ErrNoMerchant, "no_merchant", "The server has no merchant to charge."},
	{agent.ErrTokenNotActive, "token_not_active", "The card's token is not active."},
	{authframe.ErrUserCancelled, "cancelled", "The user cancelled."},
	{context.Canceled, "cancelled", "The journey was cancelled."},
	{context.DeadlineExceeded, "timeout", "The journey timed out."},
	{visa.ErrOTPLimitExceeded, "otp_limit_exceeded", "Too many codes were entered or sent; start again."},
	{visa.ErrOTPExpired, "otp_expired", "The code has expired; ask for a new one (resend)."},
	{visa.ErrOTPInvalid, "otp_invalid", "The code was not accepted."},
	{visa.ErrCardDeclined, "card_declined", "The card issuer declined the card."},
	{visa.ErrCardExpired, "card_expired", "The card has expired."},
	{visa.ErrTokenInactive, "token_inactive", "The card's token is not active."},
	{visa.ErrAssuranceInvalid, "assurance_invalid", "The passkey confirmation was not accepted."},
	{visa.ErrSessionInvalid, "session_invalid", "The secure session expired; start again."},
	{visa.ErrStepUpRequired, "step_up_required", "Visa asks for more verification of the cardholder."},
	{visa.ErrAmountExceeded, "amount_exceeded", "The amount is above what the cardholder allowed."},
	{visa.ErrInstructionExpired, "instruction_expired", "The purchase instruction has expired."},
	{visa.ErrEnrollmentExpired, "enrollment_expired", "The card's enrollment has expired."},
	{authframe.ErrTimeout, "passkey_timeout", "The passkey step timed out."},
	{authframe.ErrFailed, "passkey_failed", "The passkey step failed."},
	{authframe.ErrSessionExpired, "session_expired", "The secure session expired; start again."},
	{vic.ErrKeysUnavailable, "visa_unavailable", "Visa's signing keys could not be fetched."},
	{vic.ErrPayloadInvalid, "credential_invalid", "The payment credential failed verification."},
	{visa.ErrUnauthorized, "visa_unauthorized", "Visa refused the server's credentials."},
	{visa.ErrServerUnavailable, "visa_unavailable", "Visa is unavailable at the moment; try again later."},
	{visa.ErrNetwork, "network", "A network error stopped the step; try again later."},
	{visa.ErrInvalidInput, "invalid_input", "The request was refused as invalid."},
}

// plain is the stable code and plain sentence of err.
func plain(err error) (code, sentence string) {
	if err == nil {
		return "", ""
	}
	for _, p := range plainErrors {
		if errors.Is(err, p.err) {
			return p.code, p.is
		}
	}
	var ae *visa.APIError
	if errors.As(err, &ae) {
		return "visa_error", "Visa refused the request."
	}
	return "failed", "The step failed."
}

// journeyResult is the FlowResult of a journey as it stands.
func (s *Server) journeyResult(j *agent.Journey) *FlowResult {
	if j.Kind == store.JourneyPurchase {
		return s.purchaseResult(j, j.Err)
	}
	r := &FlowResult{FlowID: j.ID}
	switch j.Status {
	case store.JourneyWaiting:
		s.waitingResult(r, j, "add-card")
	case store.JourneyRunning:
		r.Status, r.Next = StatusInProgress, "the journey is working; call add-card-continue with flowId to read where it stands"
	case store.JourneySucceeded:
		r.Status, r.Next = StatusCompleted, "the card is ready: call purchase with card.tokenId"
		if j.Card != nil {
			r.Card, r.StepUp = cardView(j.Card.Card), j.Card.StepUp
		}
	case store.JourneyCancelled, store.JourneyExpired:
		r.Status = StatusCancelled
		r.ErrorCode, r.Error = plain(j.Err)
		if j.Status == store.JourneyExpired {
			r.ErrorCode, r.Error = plain(agent.ErrJourneyExpired)
		}
		r.Next = "nothing was kept (a half-added card was removed); call add-card again to start over"
	default:
		r.Status = StatusFailed
		r.ErrorCode, r.Error = plain(j.Err)
		r.Next = "nothing was kept (a half-added card was removed); fix the cause and call add-card again"
	}
	return r
}

// waitingResult fills r for a journey waiting for the user.
func (s *Server) waitingResult(r *FlowResult, j *agent.Journey, kind string) {
	r.ExpiresAt = stamp(j.ExpiresAt)
	n := j.Next
	if n == nil {
		r.Status, r.Next = StatusInProgress, "call "+kind+"-continue with flowId to read where it stands"
		return
	}
	switch n.Action {
	case agent.ActionChooseOTPMethod:
		r.Status = StatusChooseStepUp
		for _, m := range n.Methods {
			r.Methods = append(r.Methods, StepUpMethod{Method: m.Method, Destination: m.Value})
		}
		r.Next = "ask the user where to receive a one-time code, then call add-card-continue with flowId and method"
	case agent.ActionEnterOTP:
		r.Status = StatusOTPRequired
		r.Method, r.Destination, r.CodeSent, r.Attempt = n.Method, n.Destination, n.CodeSent, n.Attempt
		r.AttemptsLeft, r.CodesLeft, r.CodeExpiresAt = intp(n.AttemptsLeft), intp(n.CodesLeft), stamp(n.CodeExpiresAt)
		r.LastErrorCode, r.LastError = plain(n.LastError)
		switch {
		case n.AttemptsLeft == 0 && n.CodesLeft > 0:
			r.Next = "this code may not be entered again: ask the user whether to send a new code, then call add-card-continue with flowId and resend: true (or cancel: true)"
		case n.AttemptsLeft == 0:
			r.Next = "no attempt and no new code is left: call add-card-continue with flowId and cancel: true, and start again later"
		case n.CodeSent:
			r.Next = "a code was sent to " + n.Destination + ": ask the user for it, then call add-card-continue with flowId and otp"
		default:
			r.Next = "ask the user for the code sent to " + n.Destination + ", then call add-card-continue with flowId and otp (or resend: true for a new code)"
		}
	case agent.ActionPasskey:
		r.Status, r.PageURL = StatusPasskeyRequired, s.publicPasskeyURL(n.PasskeyURL)
		r.Next = "show the user pageUrl (a secure Visa passkey window), then call " + kind + "-continue with flowId to read the outcome"
	default:
		r.Status, r.Next = StatusInProgress, "call "+kind+"-continue with flowId to read where it stands"
	}
}

// purchaseResult is the FlowResult of a purchase journey, told from the
// stored record: a charge that may have happened is never reported as a
// failure the caller could retry.
func (s *Server) purchaseResult(j *agent.Journey, err error) *FlowResult {
	r := &FlowResult{FlowID: j.ID}
	rc := j.Receipt
	if rc != nil {
		r.Transaction, r.Authorization, r.Replayed = txView(rc.Transaction), authView(rc.Authorization), rc.Replayed
		if rc.Credential.DynamicDataID != "" {
			r.Credential = maskedCredential(rc.Credential)
		}
	}
	tx := store.TxStatus("")
	if rc != nil {
		tx = rc.Transaction.Status
	}
	switch {
	case tx == store.TxCompleted:
		r.Status, r.Next = StatusCompleted, "the purchase is approved and confirmed to Visa; tell the user"
	case tx == store.TxDeclined:
		r.Status, r.Next = StatusDeclined, "the merchant declined the payment and nothing was charged; tell the user (another card may work)"
		r.ErrorCode, r.Error = plain(agent.ErrDeclined)
	case tx == store.TxAuthorized || errors.Is(err, agent.ErrChargedUnconfirmed):
		r.Status = StatusChargedUnconfirmed
		r.ErrorCode, r.Error = plain(agent.ErrChargedUnconfirmed)
		r.Next = "the card WAS charged; the confirmation to Visa is pending and the server sends it. Do NOT purchase again. " +
			"Follow up with purchase-continue (flowId) or list-transactions later."
	case tx == store.TxAuthorizing || (!tx.Final() && agent.MayHaveCharged(err) && !errors.Is(err, agent.ErrInProgress)):
		r.Status = StatusOutcomeUnknown
		r.ErrorCode, r.Error = plain(agent.ErrOutcomeUnknown)
		r.Next = "the card MAY have been charged; the server asks the merchant and settles it. Do NOT purchase again. " +
			"Follow up with purchase-continue (flowId), or repeat purchase with the same idempotencyKey, later."
	case tx == store.TxCancelled || j.Status == store.JourneyCancelled || j.Status == store.JourneyExpired:
		r.Status, r.Next = StatusCancelled, "the purchase was cancelled; nothing was charged"
		r.ErrorCode, r.Error = plain(err)
	case tx == store.TxFailed || j.Status == store.JourneyFailed:
		r.Status = StatusFailed
		r.ErrorCode, r.Error = plain(err)
		r.Next = "nothing was charged; it is safe to try again (with a new idempotencyKey)"
	case j.Status == store.JourneyWaiting:
		s.waitingResult(r, j, "purchase")
	default:
		r.Status = StatusInProgress
		r.Next = "the purchase is under way; do NOT purchase again: call purchase-continue with flowId to read its outcome"
	}
	return r
}

// maskedCredential is a credential as a journey result shows it: never
// clear (the reveal policy allows clear values only from
// retrieve-payment-credentials).
func maskedCredential(c vic.Credential) *CredentialView {
	return &CredentialView{PaymentToken: c.PaymentToken.String(), TokenExpirationMonth: c.TokenExpirationMonth,
		TokenExpirationYear: c.TokenExpirationYear, DynamicDataID: c.DynamicDataID,
		TransactionReferenceID: c.TransactionReferenceID, ExpiresAt: stamp(c.Expiration)}
}
