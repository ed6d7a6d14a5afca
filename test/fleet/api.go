package fleet

import "time"

// The HTTP API of a replica, as the fleet test drives it. Every answer of
// the agent is 200 with a Reply; 400 means the request could not be read.
const (
	// PathAddCard starts adding a card: POST an AddCardRequest.
	PathAddCard = "/v1/add-card"
	// PathPurchases buys: POST a PurchaseRequest.
	PathPurchases = "/v1/purchases"
	// PathJourneys prefixes a journey: GET PathJourneys+id for its view,
	// POST PathJourneys+id+"/answer" an Answer, POST
	// PathJourneys+id+"/cancel" to cancel it.
	PathJourneys = "/v1/journeys/"
	// URLLine prefixes the line a replica prints on stdout once it serves:
	// FLEET_REPLICA_URL=http://127.0.0.1:port.
	URLLine = "FLEET_REPLICA_URL="
)

// AddCardRequest is agent.AddCardRequest over HTTP: the user, card and
// device are derived from these fields (a test card, a 24-character device
// id).
type AddCardRequest struct {
	IdempotencyKey string `json:"idempotencyKey"`
	UserID         string `json:"userId"`
	Email          string `json:"email"`
	PAN            string `json:"pan"`
	CVV2           string `json:"cvv2"`
	ExpiryMonth    int    `json:"expiryMonth"`
	ExpiryYear     int    `json:"expiryYear"`
	DeviceID       string `json:"deviceId"`
}

// Answer is agent.Answer over HTTP.
type Answer struct {
	PromptID string `json:"promptId,omitempty"`
	Method   string `json:"method,omitempty"`
	OTP      string `json:"otp,omitempty"`
	Resend   bool   `json:"resend,omitempty"`
}

// PurchaseRequest is agent.PurchaseRequest over HTTP, for a fixed merchant
// and description.
type PurchaseRequest struct {
	IdempotencyKey string `json:"idempotencyKey"`
	UserID         string `json:"userId"`
	TokenID        string `json:"tokenId"`
	DeviceID       string `json:"deviceId"`
	// Amount is in USD, such as "12.34".
	Amount string `json:"amount"`
}

// Reply is a replica's answer: what the agent returned.
type Reply struct {
	// Replica names the process that answered (its -name and process id).
	Replica string       `json:"replica"`
	Journey *JourneyView `json:"journey,omitempty"`
	Receipt *ReceiptView `json:"receipt,omitempty"`
	Error   *ErrorView   `json:"error,omitempty"`
}

// JourneyView is agent.Journey without secrets.
type JourneyView struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"`
	Status    string       `json:"status"`
	Next      *NextView    `json:"next,omitempty"`
	ExpiresAt time.Time    `json:"expiresAt"`
	TokenID   string       `json:"tokenId,omitempty"`
	Receipt   *ReceiptView `json:"receipt,omitempty"`
	Err       *ErrorView   `json:"err,omitempty"`
}

// NextView is agent.NextAction: what the human must do.
type NextView struct {
	Action       string   `json:"action"`
	PromptID     string   `json:"promptId"`
	Methods      []string `json:"methods,omitempty"` // identifiers of the offered step-up methods
	AttemptsLeft int      `json:"attemptsLeft"`
	CodesLeft    int      `json:"codesLeft"`
	LastError    string   `json:"lastError,omitempty"`
}

// ReceiptView is agent.Receipt without the credential.
type ReceiptView struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
	ResponseCode  string `json:"responseCode,omitempty"`
	Replayed      bool   `json:"replayed,omitempty"`
}

// ErrorView is an error of the agent, classified.
type ErrorView struct {
	// Kind is what the caller branches on: one of the Kind constants.
	Kind string `json:"kind"`
	// Class is the typed family (reliability.ErrorClass), or "replayed
	// <code>" for a stored failure returned again; "" means untyped.
	Class string `json:"class"`
	// Code is the stored failure code of a replayed failure.
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// Kinds of ErrorView.
const (
	KindInput              = "input"                // visa.ErrInvalidInput
	KindNotFound           = "not_found"            // agent.ErrJourneyNotFound
	KindOver               = "over"                 // agent.ErrJourneyOver
	KindBusy               = "busy"                 // agent.ErrJourneyBusy
	KindUnexpected         = "unexpected_answer"    // agent.ErrUnexpectedAnswer
	KindExpired            = "expired"              // agent.ErrJourneyExpired
	KindInProgress         = "in_progress"          // agent.ErrInProgress
	KindMismatch           = "idempotency_mismatch" // agent.ErrIdempotencyMismatch
	KindChargedUnconfirmed = "charged_unconfirmed"  // agent.ErrChargedUnconfirmed
	KindOutcomeUnknown     = "outcome_unknown"      // agent.ErrOutcomeUnknown
	KindOwnershipLost      = "ownership_lost"       // agent.ErrOwnershipLost
	KindDeclined           = "declined"             // agent.ErrDeclined
	KindSuperseded         = "superseded"           // agent.ErrSuperseded
	KindFailed             = "failed"               // any other error
)
