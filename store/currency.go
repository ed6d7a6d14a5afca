package store

import "github.com/vicgo/visa"

// KnownCurrency reports whether code is an ISO 4217 currency a Transaction
// may carry: an alphabetic code, upper case ("USD"), of the SDK's one
// currency table (visa.LookupCurrency). Numeric codes, lower case and codes
// that are not money a purchase is made in (precious metals, XTS, XXX,
// withdrawn codes) are refused.
func KnownCurrency(code string) bool {
	c, ok := visa.LookupCurrency(code)
	return ok && c.Alpha == code
}
