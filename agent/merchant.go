package agent

import (
	"context"
	"errors"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/vic"
)

// Merchant charges a one-time credential (journey step 15). From the
// merchant's side the payment is an ordinary card-not-present charge: the
// token number as the card number, the dynamic value as the CVV2.
type Merchant interface {
	// Authorize charges the credential once. A returned *Authorization
	// with Approved false is a decline, not an error.
	Authorize(ctx context.Context, c Charge) (*Authorization, error)
	// Lookup returns the recorded result for a transaction reference, or
	// ErrNoAuthorization when the merchant never saw it. Resume uses it
	// to learn whether an interrupted charge happened.
	Lookup(ctx context.Context, transactionReferenceID string) (*Authorization, error)
}

// ErrNoAuthorization means the merchant has no record of the transaction.
var ErrNoAuthorization = errors.New("agent: merchant has no authorization for this transaction")

// Charge is what a merchant needs to authorize a payment.
type Charge struct {
	MerchantName           string
	MerchantCountryCode    string
	MerchantURL            string
	Credential             vic.Credential
	Amount                 visa.Amount
	TransactionReferenceID string
}

// Authorization is a merchant's answer.
type Authorization struct {
	Approved                 bool
	Status                   string // APPROVED or DECLINED
	ResponseCode             string // ISO 8583: "00", "51", ...
	DeclineReason            string
	AuthorizationCode        string
	RetrievalReferenceNumber string
	SystemTraceAuditNumber   string
	Timestamp                time.Time
}
