package store

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
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
	if u.Country != "" && !isUpperAlpha(u.Country, 2) {
		return invalid(r, "Country", "must be an ISO 3166-1 alpha-2 code")
	}
	if u.Language != "" && !isLanguageTag(u.Language) {
		return invalid(r, "Language", "must be a language tag such as en or en-US")
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
	if v == "" {
		if required {
			return invalid(record, field, "is required")
		}
		return nil
	}
	if len(v) > MaxIDLen {
		return invalid(record, field, "is too long")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return invalid(record, field, "must be visible ASCII without spaces")
		}
	}
	return nil
}

func checkText(record, field, v string) error {
	switch {
	case len(v) > MaxTextLen:
		return invalid(record, field, "is too long")
	case !utf8.ValidString(v):
		return invalid(record, field, "must be UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return invalid(record, field, "must not hold control characters")
	case looksLikePAN(v):
		return invalid(record, field, "looks like a card number")
	}
	return nil
}

func checkURL(record, field, v string) error {
	if v == "" {
		return nil
	}
	if len(v) > MaxURLLen {
		return invalid(record, field, "is too long")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid(record, field, "must be an absolute http(s) URL")
	}
	return nil
}

func checkEmail(record, field, v string) error {
	if v == "" {
		return invalid(record, field, "is required")
	}
	if len(v) > MaxEmailLen {
		return invalid(record, field, "is too long")
	}
	at := strings.LastIndexByte(v, '@')
	if at < 1 || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n<>") || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalid(record, field, "must be an email address")
	}
	return nil
}

// looksLikePAN reports whether free text holds a card number: 13 to 19 digits
// in a row, or in groups separated by spaces or dashes, that pass the Luhn check.
func looksLikePAN(s string) bool {
	for _, r := range digitRuns(s) {
		if r.pan {
			return true
		}
	}
	return false
}

// digitRun is a maximal run of digits, spaces and dashes in s, starting and
// ending with a digit: s[start:end].
type digitRun struct {
	start, end int
	pan        bool
}

func digitRuns(s string) []digitRun {
	var runs []digitRun
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		start, end := i, i
		var digits []byte
		groups := []int{0} // digit offsets where a group starts, then the total
		for j := i; j < len(s); j++ {
			c := s[j]
			if c >= '0' && c <= '9' {
				if j > i && (s[j-1] == ' ' || s[j-1] == '-') {
					groups = append(groups, len(digits))
				}
				digits = append(digits, c-'0')
				end = j + 1
			} else if c != ' ' && c != '-' {
				break
			}
		}
		groups = append(groups, len(digits))
		runs = append(runs, digitRun{start: start, end: end, pan: hasLuhnSpan(digits, groups)})
		i = end
	}
	return runs
}

// hasLuhnSpan reports whether whole groups of d, 13 to 19 digits together,
// pass the Luhn check ("4111 1111 1111 1111 2026" holds a card number; a
// 13-digit epoch in milliseconds usually does not).
func hasLuhnSpan(d []byte, groups []int) bool {
	for a := 0; a < len(groups); a++ {
		for b := a + 1; b < len(groups); b++ {
			if n := groups[b] - groups[a]; n >= 13 && n <= 19 && luhn(d[groups[a]:groups[b]]) {
				return true
			}
		}
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i])
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// Reason turns any text (an error's message, say) into a FailureReason every
// Store accepts: invalid UTF-8 and control characters become spaces, a digit
// run that could be a card number becomes "[number removed]", and the result
// is cut to MaxTextLen bytes on a character boundary.
func Reason(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	var b strings.Builder
	last := 0
	for _, r := range digitRuns(s) {
		if r.pan {
			b.WriteString(s[last:r.start])
			b.WriteString("[number removed]")
			last = r.end
		}
	}
	b.WriteString(s[last:])
	s = b.String()
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

func isUpperAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isLanguageTag accepts a BCP 47-shaped tag: 2–8 letter primary subtag, then
// hyphenated alphanumeric subtags of 1–8 characters, 35 bytes at most.
func isLanguageTag(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if len(part) == 0 || len(part) > 8 || (i == 0 && len(part) < 2) {
			return false
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
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
