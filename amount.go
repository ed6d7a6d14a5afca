package visa

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency: its alpha code (VIC bodies), numeric
// code (VTS bodies, three digits with leading zeros, e.g. "036") and
// minor-unit exponent (2 for USD, 0 for JPY, 3 for KWD).
type Currency struct {
	Alpha    string
	Numeric  string
	Exponent int
}

// LookupCurrency finds an active currency by alpha ("USD") or numeric
// ("840") code. Alpha codes are matched case-insensitively; numeric codes
// must have their three digits ("036", not "36").
func LookupCurrency(code string) (Currency, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if c, ok := currencies[code]; ok {
		return c, true
	}
	if c, ok := currencyByNumeric[code]; ok {
		return c, true
	}
	return Currency{}, false
}

// Currencies returns every currency LookupCurrency knows, sorted by alpha
// code. The slice is a copy.
func Currencies() []Currency { return slices.Clone(currencyList) }

// Amount is a non-negative decimal amount of money in a currency, held as
// an integer count of minor units, so no float ever touches it. The zero
// Amount has no currency (IsZero); amounts are comparable with ==.
type Amount struct {
	minor    int64
	currency Currency
}

// MaxAmountMinor is the largest amount, in minor units, that an Amount
// holds: fifteen nines.
const MaxAmountMinor = maxMinor

// maxMinor bounds amounts to 15 significant digits.
const maxMinor = 999_999_999_999_999

// ParseAmount parses a decimal string such as "129.99" in the currency
// with the given alpha or numeric code. Fewer fraction digits than the
// currency has are accepted ("710" and "7.1" are 710.00 and 7.10 USD). It
// refuses signs, spaces, exponents, a dot without digits on both sides
// ("1.", ".5"), more fraction digits than the currency has, more than
// MaxAmountMinor minor units, and unknown currencies.
func ParseAmount(value, currency string) (Amount, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return Amount{}, NewInputError("Currency", "is not a known ISO 4217 code")
	}
	if value == "" {
		return Amount{}, NewInputError("Amount", "is empty")
	}
	intPart, frac, hasDot := strings.Cut(value, ".")
	if !allDigits(intPart) || (hasDot && !allDigits(frac)) {
		return Amount{}, NewInputError("Amount", "must be a non-negative decimal such as 129.99")
	}
	if len(frac) > c.Exponent {
		return Amount{}, NewInputError("Amount", "has more decimal places than "+c.Alpha+" allows")
	}
	intPart = strings.TrimLeft(intPart, "0")
	// 15 significant digits at most: longer can only be too large.
	if len(intPart)+c.Exponent > 15 {
		return Amount{}, NewInputError("Amount", "is too large")
	}
	var n int64
	for _, d := range intPart + frac + strings.Repeat("0", c.Exponent-len(frac)) {
		n = n*10 + int64(d-'0')
	}
	return Amount{minor: n, currency: c}, nil
}

// MustParseAmount is ParseAmount for constants in tests and examples; it
// panics on error.
func MustParseAmount(value, currency string) Amount {
	a, err := ParseAmount(value, currency)
	if err != nil {
		panic(err)
	}
	return a
}

// NewAmountMinor returns an amount of minor units (cents for USD).
func NewAmountMinor(minor int64, currency string) (Amount, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return Amount{}, NewInputError("Currency", "is not a known ISO 4217 code")
	}
	if minor < 0 || minor > maxMinor {
		return Amount{}, NewInputError("Amount", "must be between 0 and 999999999999999 minor units")
	}
	return Amount{minor: minor, currency: c}, nil
}

// Minor returns the amount in minor units.
func (a Amount) Minor() int64 { return a.minor }

// Currency returns the amount's currency.
func (a Amount) Currency() Currency { return a.currency }

// IsZero reports whether a is the zero Amount (no currency). An amount of
// 0.00 USD is not zero in this sense.
func (a Amount) IsZero() bool { return a.currency.Alpha == "" }

// Value returns the decimal string with exactly the currency's number of
// fraction digits, e.g. "129.99" or "0.00" (or "710" for JPY). The wire
// encoders send it with the currency's Alpha (VIC) or Numeric (VTS) code.
func (a Amount) Value() string {
	var digits [20]byte
	s := strconv.AppendInt(digits[:0], a.minor, 10)
	e := a.currency.Exponent
	if e == 0 {
		return string(s)
	}
	// Zeros before the digits so that one stands before the point, then
	// the point e digits from the end; one allocation, the string.
	var out [32]byte
	b := out[:0]
	for n := len(s); n <= e; n++ {
		b = append(b, '0')
	}
	b = append(b, s...)
	i := len(b) - e
	b = append(b, 0)
	copy(b[i+1:], b[i:])
	b[i] = '.'
	return string(b)
}

// String returns e.g. "129.99 USD" ("" for the zero Amount).
func (a Amount) String() string {
	if a.IsZero() {
		return ""
	}
	return a.Value() + " " + a.currency.Alpha
}

// Cmp compares two amounts of the same currency: -1, 0 or +1. The second
// result is false when the currencies differ.
func (a Amount) Cmp(b Amount) (int, bool) {
	if a.currency.Alpha != b.currency.Alpha {
		return 0, false
	}
	switch {
	case a.minor < b.minor:
		return -1, true
	case a.minor > b.minor:
		return 1, true
	}
	return 0, true
}

// Add returns a+b. It fails when the currencies differ (or either is the
// zero Amount) or the sum exceeds MaxAmountMinor.
func (a Amount) Add(b Amount) (Amount, error) {
	if err := sameCurrency(a, b); err != nil {
		return Amount{}, err
	}
	// Both are at most maxMinor, so the sum cannot overflow int64.
	if a.minor+b.minor > maxMinor {
		return Amount{}, NewInputError("Amount", "sum is too large")
	}
	return Amount{minor: a.minor + b.minor, currency: a.currency}, nil
}

// Sub returns a-b. It fails when the currencies differ (or either is the
// zero Amount) or b is larger than a, since an Amount is never negative.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := sameCurrency(a, b); err != nil {
		return Amount{}, err
	}
	if b.minor > a.minor {
		return Amount{}, NewInputError("Amount", "difference would be negative")
	}
	return Amount{minor: a.minor - b.minor, currency: a.currency}, nil
}

func sameCurrency(a, b Amount) error {
	if a.IsZero() || b.IsZero() {
		return NewInputError("Amount", "has no currency")
	}
	if a.currency.Alpha != b.currency.Alpha {
		return NewInputError("Currency", "amounts are in different currencies")
	}
	return nil
}

// amountJSON is the JSON form of an Amount.
type amountJSON struct {
	Value    json.RawMessage `json:"value"`
	Currency string          `json:"currency"`
}

// MarshalJSON emits {"value":"129.99","currency":"USD"}, for logs and
// configuration; the zero Amount is null. The wire encoders do not use it:
// they send Value() with the code each service wants.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		Value    string `json:"value"`
		Currency string `json:"currency"`
	}{a.Value(), a.currency.Alpha})
}

// UnmarshalJSON reads the form MarshalJSON writes; value may also be a
// JSON number (129.99) and currency a numeric code ("840"). It applies
// ParseAmount's rules; null gives the zero Amount.
func (a *Amount) UnmarshalJSON(data []byte) error {
	if strings.TrimSpace(string(data)) == "null" {
		*a = Amount{}
		return nil
	}
	var j amountJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return NewInputError("Amount", `must be an object such as {"value":"129.99","currency":"USD"}`)
	}
	var value string
	switch v := strings.TrimSpace(string(j.Value)); {
	case v == "" || v == "null":
		return NewInputError("Amount", "value is required")
	case v[0] == '"':
		if err := json.Unmarshal(j.Value, &value); err != nil {
			return NewInputError("Amount", "value must be a string or a number")
		}
	case v[0] >= '0' && v[0] <= '9' || v[0] == '-':
		value = v
	default:
		return NewInputError("Amount", "value must be a string or a number")
	}
	p, err := ParseAmount(value, j.Currency)
	if err != nil {
		return err
	}
	*a = p
	return nil
}
