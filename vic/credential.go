package vic

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/vicgo/visa"
)

// Credentials is a decoded signedPayload: one Credential per transaction
// requested (docs/wire.md §8.1).
type Credentials struct {
	// Verified is true when the signature, algorithm and lifetime were
	// checked against a key source.
	Verified          bool
	InstructionID     string
	ClientReferenceID string
	// ExpiresAt is the payload's exp.
	ExpiresAt   time.Time
	DynamicData []Credential
}

// Credential is a one-time payment credential for one transaction: the
// token number, its expiry and the dynamic data value (a one-time CVV2 or
// cryptogram). The token number and the dynamic value print redacted;
// reveal them only to hand them to the merchant.
type Credential struct {
	// PaymentToken is the token PAN; prints as ****8717.
	PaymentToken visa.PAN
	// DynamicDataValue is the one-time value; prints as [REDACTED].
	DynamicDataValue visa.Secret
	// TokenExpirationMonth ("MM") and TokenExpirationYear ("YYYY").
	TokenExpirationMonth string
	TokenExpirationYear  string
	// DynamicDataID is echoed in the confirmation (Step 16).
	DynamicDataID string
	// Expiration is dynamicDataExpiration.
	Expiration time.Time
	// TransactionReferenceID ties the credential to its transaction.
	TransactionReferenceID string
}

// String describes the credential without its secrets, e.g.
// "****8717 exp 12/2029 dynamic [REDACTED] until 2026-01-01T00:10:00Z".
func (c Credential) String() string {
	return fmt.Sprintf("%s exp %s/%s dynamic %s until %s", c.PaymentToken, c.TokenExpirationMonth,
		c.TokenExpirationYear, c.DynamicDataValue, c.Expiration.UTC().Format(time.RFC3339))
}

// LogValue makes slog print the redacted form.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("paymentToken", c.PaymentToken.String()),
		slog.String("expiry", c.TokenExpirationMonth+"/"+c.TokenExpirationYear),
		slog.String("dynamicDataId", c.DynamicDataID),
		slog.Time("expiration", c.Expiration),
	)
}
