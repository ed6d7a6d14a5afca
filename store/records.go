package store

import (
	"fmt"
	"log/slog"
	"time"
)

// User is the person a payment agent acts for. VTS and VIC need the email
// (clientWalletAccountEmailAddress, consumerIdentity), the country and the
// language (consumer.countryCode, languageCode).
type User struct {
	// ID is the integrator's stable user id (VIC consumer.consumerId).
	ID string
	// Email is the user's email address.
	Email string
	// Country is an ISO 3166-1 alpha-2 code ("US"); optional.
	Country string
	// Language is a language tag ("en", "en-US"); optional.
	Language string
	// CreatedAt and UpdatedAt are set by the Store.
	CreatedAt, UpdatedAt time.Time
}

// Card is a provisioned VTS token and the display metadata shown to the user.
// It never holds the PAN: only the token's last four digits and expiry.
type Card struct {
	// TokenID is the vProvisionedTokenID; it identifies the card.
	TokenID string
	// UserID is the owner; the user must exist, and a card never changes owner.
	UserID string
	// TokenReferenceID is VTS's tokenReferenceID.
	TokenReferenceID string
	// Last4 is the token's last four digits (tokenInfo.last4).
	Last4 string
	// ExpiryMonth (1–12) and ExpiryYear (four digits) are the token's expiry.
	ExpiryMonth, ExpiryYear int
	// CardArtURL is the card art image (cardMetaData); optional, http(s).
	CardArtURL string
	// TokenStatus is the VTS token status; change it with UpdateCardStatus.
	TokenStatus TokenStatus
	// VICEnrollment is whether the card is enrolled in VIC; empty means NONE.
	VICEnrollment VICEnrollment
	// CreatedAt and UpdatedAt are set by the Store.
	CreatedAt, UpdatedAt time.Time
}

// Passkey is a passkey bound to a token on one device, with the fidoBlob of its
// registration sealed (fido.Sealer) so the Store never sees the clear blob.
type Passkey struct {
	// UserID is the owner; it must be the card's owner.
	UserID string
	// TokenID is the card's vProvisionedTokenID; the card must exist.
	TokenID string
	// DeviceID is the client device identifier (appInstance clientDeviceId).
	// (TokenID, DeviceID) identifies a passkey.
	DeviceID string
	// Identifier is the passkey identifier the Auth iFrame returned.
	Identifier string
	// SealedBlob is the fidoBlob sealed by fido.Sealer. Never a clear blob.
	SealedBlob SealedBlob
	// RPID is the WebAuthn relying party id; optional.
	RPID string
	// CreatedAt is set by the Store on every Put (a re-registration is new).
	CreatedAt time.Time
}

// Transaction is one purchase: what was asked for, how far it got, and the
// identifiers Visa and the merchant gave it. It holds no PAN, CVV2, OTP,
// secureToken, fidoBlob or payment credential (dynamicDataValue).
type Transaction struct {
	// ID is the SDK's id for the purchase; it identifies the transaction.
	ID string
	// UserID is the buyer; the user must exist.
	UserID string
	// TokenID is the vProvisionedTokenID paid with.
	TokenID string
	// InstructionID is VIC's instructionId (set from INSTRUCTED on).
	InstructionID string
	// ClientReferenceID is the purchase's clientReferenceId.
	ClientReferenceID string
	// TransactionReferenceID is the transactionData[].transactionReferenceId
	// of the credential retrieval and the confirmation.
	TransactionReferenceID string
	// MandateID is the mandates[].mandateId of the instruction.
	MandateID string
	// IdempotencyKey is the caller's key for this purchase; optional. Two
	// transactions of one user never share a key (the second create is
	// ErrDuplicateKey), so a repeated request finds the first purchase.
	IdempotencyKey string
	// Amount is a decimal string with at most three decimals ("129.99").
	Amount string
	// Currency is an ISO 4217 alphabetic code ("USD").
	Currency string
	// MerchantName and MerchantURL describe the merchant; optional.
	MerchantName, MerchantURL string
	// Status is where the journey stands; change it with TransitionTransaction.
	Status TxStatus
	// ResponseCode and AuthorizationCode are the merchant authorization's answer.
	ResponseCode, AuthorizationCode string
	// DynamicDataID identifies the issued credential (signedPayload); it is
	// not the credential itself.
	DynamicDataID string
	// FailureReason says why a transaction FAILED, was DECLINED or was
	// CANCELLED: UTF-8 text without control characters, at most MaxTextLen
	// bytes; text holding a card number is refused. Reason(err.Error())
	// always fits.
	FailureReason string
	// FailureCode is the stable code of the error that ended the purchase
	// (the agent's vocabulary, e.g. "declined", "otp_invalid"), so that a
	// repeated request can return the same typed error; optional.
	FailureCode string
	// CreatedAt and UpdatedAt are set by the Store.
	CreatedAt, UpdatedAt time.Time
	// CompletedAt is set by the Store when Status becomes final; zero before.
	CompletedAt time.Time
	// ConfirmedAt is set by the Store when a TxUpdate with Confirmed records
	// that the outcome was confirmed to VIC (journey step 16); zero before.
	ConfirmedAt time.Time
}

// TxUpdate carries the fields TransitionTransaction sets together with the
// status change. A nil pointer leaves the field as it is; a pointer to "" clears
// an optional field.
type TxUpdate struct {
	InstructionID          *string
	TransactionReferenceID *string
	MandateID              *string
	ResponseCode           *string
	AuthorizationCode      *string
	DynamicDataID          *string
	FailureReason          *string
	FailureCode            *string
	// Confirmed records that the outcome was confirmed to VIC: the Store sets
	// ConfirmedAt. It is allowed once per transaction (a second is ErrConflict),
	// and it is the one update a final transaction still accepts.
	Confirmed bool
}

// Ptr returns a pointer to v, for TxUpdate fields: TxUpdate{ResponseCode: store.Ptr("00")}.
func Ptr[T any](v T) *T { return &v }

// OnlyConfirmed reports whether u sets nothing but Confirmed.
func (u TxUpdate) OnlyConfirmed() bool {
	return u.Confirmed && u.InstructionID == nil && u.TransactionReferenceID == nil &&
		u.MandateID == nil && u.ResponseCode == nil && u.AuthorizationCode == nil &&
		u.DynamicDataID == nil && u.FailureReason == nil && u.FailureCode == nil
}

// Apply copies the fields u sets into t. It does not touch Status or time
// stamps; implementations set those.
func (u TxUpdate) Apply(t *Transaction) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.InstructionID, u.InstructionID)
	set(&t.TransactionReferenceID, u.TransactionReferenceID)
	set(&t.MandateID, u.MandateID)
	set(&t.ResponseCode, u.ResponseCode)
	set(&t.AuthorizationCode, u.AuthorizationCode)
	set(&t.DynamicDataID, u.DynamicDataID)
	set(&t.FailureReason, u.FailureReason)
	set(&t.FailureCode, u.FailureCode)
}

// TxFilter selects transactions for ListTransactions. Zero fields do not filter.
type TxFilter struct {
	// UserID and TokenID keep only that user's or that token's transactions.
	UserID, TokenID string
	// Status keeps only transactions in one of these statuses.
	Status []TxStatus
	// NonFinalOnly keeps only transactions still under way (for Resume).
	NonFinalOnly bool
	// Unconfirmed keeps only transactions whose outcome is known but not yet
	// confirmed to VIC (journey step 16): AUTHORIZED ones, and DECLINED ones
	// without ConfirmedAt. The reconciler confirms them.
	Unconfirmed bool
	// Order is NewestFirst (the zero value) or OldestFirst, by CreatedAt then
	// ID.
	Order Order
	// Cursor continues a listing after the transaction it was made from
	// (CursorAfter): an opaque string, valid only with the filter it was made
	// with. A cursor from another filter, or one that was altered, is a
	// *ValidationError (ErrInvalid).
	Cursor string
	// Limit caps how many are returned; 0 means no cap.
	Limit int
}

// Order is the order of a listing.
type Order int

const (
	// NewestFirst lists the most recent record first (by CreatedAt, then ID
	// descending). The default.
	NewestFirst Order = iota
	// OldestFirst lists the oldest record first.
	OldestFirst
)

// Match reports whether t passes the filter's conditions (for
// implementations that filter in Go, such as memstore). It ignores Order,
// Cursor and Limit.
func (f TxFilter) Match(t Transaction) bool {
	if f.UserID != "" && t.UserID != f.UserID {
		return false
	}
	if f.TokenID != "" && t.TokenID != f.TokenID {
		return false
	}
	if f.NonFinalOnly && t.Status.Final() {
		return false
	}
	if f.Unconfirmed && !(t.Status == TxAuthorized || (t.Status == TxDeclined && t.ConfirmedAt.IsZero())) {
		return false
	}
	if len(f.Status) == 0 {
		return true
	}
	for _, s := range f.Status {
		if s == t.Status {
			return true
		}
	}
	return false
}

// SealedBlob is a fidoBlob sealed by fido.Sealer: ciphertext bound to the user,
// the token and the device, opened only with the Sealer's keys. It still never prints: every
// fmt verb, String and LogValue show only its length.
type SealedBlob []byte

// String returns "[sealed fidoBlob len=N]".
func (b SealedBlob) String() string { return fmt.Sprintf("[sealed fidoBlob len=%d]", len(b)) }

// GoString is String, so %#v does not print the bytes either.
func (b SealedBlob) GoString() string { return b.String() }

// Format prints String for every verb.
func (b SealedBlob) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(b.String())) }

// LogValue implements slog.LogValuer with String.
func (b SealedBlob) LogValue() slog.Value { return slog.StringValue(b.String()) }

// Clock tells a Store the time. Implementations take it as an option so
// tests can fix time stamps; the default is time.Now.
type Clock func() time.Time

// Stamp returns t as every Store keeps time stamps: in UTC, truncated to the
// microsecond (PostgreSQL's precision), so a record reads back exactly as
// written whichever Store holds it.
func Stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
