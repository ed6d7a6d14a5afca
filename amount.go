package visa

import (
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency: its alpha code (VIC bodies), numeric
// code (VTS bodies) and minor-unit exponent.
type Currency struct {
	Alpha    string
	Numeric  string
	Exponent int
}

// LookupCurrency finds a currency by alpha ("USD") or numeric ("840")
// code. Alpha codes are matched case-insensitively.
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

// Amount is a non-negative decimal amount of money in a currency, held as
// an integer count of minor units, so no float ever touches it.
type Amount struct {
	minor    int64
	currency Currency
}

// maxMinor bounds amounts to 15 significant digits.
const maxMinor = 999_999_999_999_999

// ParseAmount parses a decimal string such as "129.99" in the currency
// with the given alpha or numeric code. It refuses signs, exponents,
// more fraction digits than the currency has, and unknown currencies.
func ParseAmount(value, currency string) (Amount, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return Amount{}, NewInputError("Currency", "is not a known ISO 4217 code")
	}
	if value == "" {
		return Amount{}, NewInputError("Amount", "is empty")
	}
	if len(value) > 24 {
		return Amount{}, NewInputError("Amount", "is too long")
	}
	intPart, frac, hasDot := strings.Cut(value, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return Amount{}, NewInputError("Amount", "must be a non-negative decimal such as 129.99")
	}
	if len(frac) > c.Exponent {
		return Amount{}, NewInputError("Amount", "has more decimal places than "+c.Alpha+" allows")
	}
	frac += strings.Repeat("0", c.Exponent-len(frac))
	n, err := strconv.ParseInt(strings.TrimLeft(intPart+frac, "0")+"0", 10, 64)
	if err != nil || n/10 > maxMinor {
		return Amount{}, NewInputError("Amount", "is too large")
	}
	return Amount{minor: n / 10, currency: c}, nil
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

// IsZero reports whether a is the zero Amount (no currency).
func (a Amount) IsZero() bool { return a.currency.Alpha == "" }

// Value returns the decimal string with exactly the currency's number of
// fraction digits, e.g. "129.99" or "0.00" (or "710" for JPY).
func (a Amount) Value() string {
	s := strconv.FormatInt(a.minor, 10)
	e := a.currency.Exponent
	if e == 0 {
		return s
	}
	if len(s) <= e {
		s = strings.Repeat("0", e-len(s)+1) + s
	}
	return s[:len(s)-e] + "." + s[len(s)-e:]
}

// String returns e.g. "129.99 USD".
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
