package store

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vicgo/visa/internal/check"
)

// Limits on stored values. Ids are Visa's or the integrator's opaque strings;
// the bounds keep garbage out without guessing at formats Visa may change.
const (
	// MaxIDLen bounds every id field, in bytes.
	MaxIDLen = 128
	// MaxTextLen bounds free text (MerchantName, FailureReason), in bytes.
	MaxTextLen = 512
	// MaxURLLen bounds CardArtURL and MerchantURL, in bytes.
	MaxURLLen = 2048
	// MaxEmailLen bounds User.Email, in bytes.
	MaxEmailLen = 254
	// MaxSealedBlobLen bounds Passkey.SealedBlob, in bytes.
	MaxSealedBlobLen = 128 << 10
)

// Validate reports the first field of u that a Store would refuse, as a
// *ValidationError, or nil. Time stamps are not checked: the Store sets them.
func (u User) Validate() error {
	const r = "user"
	if err := checkID(r, "ID", u.ID, true); err != nil {
		return err
	}
	if err := checkEmail(r, "Email", u.Email); err != nil {
		return err
	}
	if u.Country != "" {
		if reason := check.Country(u.Country); reason != "" {
			return invalid(r, "Country", reason)
		}
	}
	if u.Language != "" {
		if reason := check.Language(u.Language); reason != "" {
			return invalid(r, "Language", reason)
		}
	}
	return nil
}

// Validate reports the first field of c that a Store would refuse.
func (c Card) Validate() error {
	const r = "card"
	if err := checkID(r, "TokenID", c.TokenID, true); err != nil {
		return err
	}
	if err := checkID(r, "UserID", c.UserID, true); err != nil {
		return err
	}
	if err := checkID(r, "TokenReferenceID", c.TokenReferenceID, false); err != nil {
		return err
	}
	if !isDigits(c.Last4, 4) {
		return invalid(r, "Last4", "must be 4 digits")
	}
	if c.ExpiryMonth < 1 || c.ExpiryMonth > 12 {
		return invalid(r, "ExpiryMonth", "must be 1 to 12")
	}
	if c.ExpiryYear < 2000 || c.ExpiryYear > 2199 {
		return invalid(r, "ExpiryYear", "must be a four-digit year")
	}
	if err := checkURL(r, "CardArtURL", c.CardArtURL); err != nil {
		return err
	}
	if !c.TokenStatus.Valid() {
		return invalid(r, "TokenStatus", "unknown token status")
	}
	if c.VICEnrollment != "" && !c.VICEnrollment.Valid() {
		return invalid(r, "VICEnrollment", "unknown enrollment state")
	}
	return nil
}

// Validate reports the first field of p that a Store would refuse.
func (p Passkey) Validate() error {
	const r = "passkey"
	if err := checkID(r, "UserID", p.UserID, true); err != nil {
		return err
	}
	if err := checkID(r, "TokenID", p.TokenID, true); err != nil {
		return err
	}
	if err := checkID(r, "DeviceID", p.DeviceID, true); err != nil {
		return err
	}
	if err := checkID(r, "Identifier", p.Identifier, true); err != nil {
		return err
	}
	switch {
	case len(p.SealedBlob) == 0:
		return invalid(r, "SealedBlob", "is required")
	case len(p.SealedBlob) > MaxSealedBlobLen:
		return invalid(r, "SealedBlob", "is too long")
	}
	return checkID(r, "RPID", p.RPID, false)
}

// Validate reports the first field of t that a Store would refuse on
// CreateTransaction.
func (t Transaction) Validate() error {
	const r = "transaction"
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"ID", t.ID, true},
		{"UserID", t.UserID, true},
		{"TokenID", t.TokenID, true},
		{"InstructionID", t.InstructionID, false},
		{"ClientReferenceID", t.ClientReferenceID, false},
		{"TransactionReferenceID", t.TransactionReferenceID, false},
		{"MandateID", t.MandateID, false},
		{"IdempotencyKey", t.IdempotencyKey, false},
		{"FailureCode", t.FailureCode, false},
		{"ResponseCode", t.ResponseCode, false},
		{"AuthorizationCode", t.AuthorizationCode, false},
		{"DynamicDataID", t.DynamicDataID, false},
	} {
		if err := checkID(r, f.name, f.v, f.required); err != nil {
			return err
		}
	}
	if !isAmount(t.Amount) {
		return invalid(r, "Amount", "must be a decimal such as 129.99 (at most 3 decimals)")
	}
	if !KnownCurrency(t.Currency) {
		return invalid(r, "Currency", "must be an ISO 4217 alphabetic code such as USD")
	}
	if err := checkText(r, "MerchantName", t.MerchantName); err != nil {
		return err
	}
	if err := checkURL(r, "MerchantURL", t.MerchantURL); err != nil {
		return err
	}
	if !t.Status.Valid() {
		return invalid(r, "Status", "unknown transaction status")
	}
	return checkText(r, "FailureReason", t.FailureReason)
}

// Validate reports the first field of u that a Store would refuse.
func (u TxUpdate) Validate() error {
	const r = "update"
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"InstructionID", u.InstructionID},
		{"TransactionReferenceID", u.TransactionReferenceID},
		{"MandateID", u.MandateID},
		{"ResponseCode", u.ResponseCode},
		{"AuthorizationCode", u.AuthorizationCode},
		{"DynamicDataID", u.DynamicDataID},
		{"FailureCode", u.FailureCode},
	} {
		if f.v == nil {
			continue
		}
		if err := checkID(r, f.name, *f.v, false); err != nil {
			return err
		}
	}
	if u.FailureReason != nil {
		return checkText(r, "FailureReason", *u.FailureReason)
	}
	return nil
}

// Validate reports the first field of f that a Store would refuse.
func (f TxFilter) Validate() error {
	const r = "filter"
	if err := checkID(r, "UserID", f.UserID, false); err != nil {
		return err
	}
	if err := checkID(r, "TokenID", f.TokenID, false); err != nil {
		return err
	}
	for _, s := range f.Status {
		if !s.Valid() {
			return invalid(r, "Status", "unknown transaction status")
		}
	}
	if f.Order != NewestFirst && f.Order != OldestFirst {
		return invalid(r, "Order", "must be NewestFirst or OldestFirst")
	}
	if f.Limit < 0 {
		return invalid(r, "Limit", "must not be negative")
	}
	_, err := f.After()
	return err
}

// Validate reports the first field of j that a Store would refuse on
// CreateJourney or UpdateJourney.
func (j Journey) Validate() error {
	const r = "journey"
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"ID", j.ID, true},
		{"UserID", j.UserID, true},
		{"IdempotencyKey", j.IdempotencyKey, false},
		{"RequestHash", j.RequestHash, false},
		{"Step", j.Step, true},
		{"NextAction", j.NextAction, false},
		{"ResultID", j.ResultID, false},
		{"FailureCode", j.FailureCode, false},
		{"LeaseOwner", j.LeaseOwner, false},
	} {
		if err := checkID(r, f.name, f.v, f.required); err != nil {
			return err
		}
	}
	switch {
	case !j.Kind.Valid():
		return invalid(r, "Kind", "unknown journey kind")
	case !j.Status.Valid():
		return invalid(r, "Status", "unknown journey status")
	case len(j.State) > MaxJourneyState:
		return invalid(r, "State", "is too long")
	case j.Status == JourneyWaiting && j.NextAction == "":
		return invalid(r, "NextAction", "is required while WAITING")
	case j.LeaseOwner != "" && j.LeaseExpiresAt.IsZero():
		return invalid(r, "LeaseExpiresAt", "is required with a LeaseOwner")
	}
	return checkText(r, "FailureReason", j.FailureReason)
}

// Validate reports the first field of f that a Store would refuse.
func (f JourneyFilter) Validate() error {
	const r = "filter"
	if err := checkID(r, "UserID", f.UserID, false); err != nil {
		return err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return invalid(r, "Kind", "unknown journey kind")
	}
	if f.Limit < 0 {
		return invalid(r, "Limit", "must not be negative")
	}
	return nil
}

// CheckTransition validates a TransitionTransaction request before any stored
// state is consulted: the statuses and the update must be valid (else a
// *ValidationError), and the state machine must allow from → to (else an
// error wrapping ErrConflict). from == to asks for a field update guarded by
// the status: allowed in a non-final status, and in a final one only to record
// Confirmed. Implementations call it first, then compare-and-swap.
func CheckTransition(id string, from, to TxStatus, upd TxUpdate) error {
	if err := checkID("transition", "ID", id, true); err != nil {
		return err
	}
	if !from.Valid() {
		return invalid("transition", "From", "unknown transaction status")
	}
	if !to.Valid() {
		return invalid("transition", "To", "unknown transaction status")
	}
	if err := upd.Validate(); err != nil {
		return err
	}
	if from == to {
		if from.Final() && !upd.OnlyConfirmed() {
			return transitionError(id, from, to)
		}
		return nil
	}
	if !CanTransition(from, to) {
		return transitionError(id, from, to)
	}
	return nil
}

// CheckID validates an id argument (a lookup key) as the Store does: required,
// at most MaxIDLen bytes of visible ASCII.
func CheckID(field, v string) error { return checkID("argument", field, v, true) }

func checkID(record, field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if reason := check.ID(v, MaxIDLen); reason != "" {
		return invalid(record, field, reason)
	}
	return nil
}

func checkText(record, field, v string) error {
	if reason := check.Text(v, MaxTextLen, false); reason != "" {
		return invalid(record, field, reason)
	}
	return nil
}

// checkURL accepts an empty URL (the fields are optional) or one the SDK
// could send card data to: https, or plain http to a loopback host.
func checkURL(record, field, v string) error {
	if v == "" {
		return nil
	}
	if reason := check.URL(v, MaxURLLen); reason != "" {
		return invalid(record, field, reason)
	}
	return nil
}

func checkEmail(record, field, v string) error {
	if reason := check.Email(v); reason != "" {
		return invalid(record, field, reason)
	}
	return nil
}

// Reason turns any text (an error's message, say) into a FailureReason every
// Store accepts: the text is brought to Unicode NFKC, invalid UTF-8 and
// control characters become spaces, a run of digits that holds a card number
// becomes "[number removed]", and the result is cut to MaxTextLen bytes on a
// character boundary.
func Reason(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = check.MaskCardNumbers(s)
	if len(s) > MaxTextLen {
		cut := MaxTextLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isAmount accepts a non-negative decimal: no sign, no leading zeros, at most
// 15 integer digits and 3 decimals ("0", "0.00", "129.99").
func isAmount(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if len(intPart) == 0 || len(intPart) > 15 || (len(intPart) > 1 && intPart[0] == '0') {
		return false
	}
	if !isDigits(intPart, len(intPart)) {
		return false
	}
	if hasDot && (len(frac) == 0 || len(frac) > 3 || !isDigits(frac, len(frac))) {
		return false
	}
	return true
}

// CheckClaim validates a ClaimJourney request before any stored state is
// consulted: the id and the owner are ids, and until is set.
func CheckClaim(id, owner string, until time.Time) error {
	if err := checkID("claim", "ID", id, true); err != nil {
		return err
	}
	if err := checkID("claim", "Owner", owner, true); err != nil {
		return err
	}
	if until.IsZero() {
		return invalid("claim", "Until", "is required")
	}
	return nil
}
