package vic

import (
	"strconv"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// Every caller-supplied value is checked here, with the SDK's one
// validation vocabulary (internal/check), before anything is sent: ids in
// a path or body, references, text, email, countries. A value that holds
// a card number is refused whatever the field (the card-number screen), and a
// refusal names the field, never the value.

// maxIDLen bounds every id the SDK passes through (docs/wire.md §11.7:
// opaque strings of up to 64 characters).
const maxIDLen = 64

// rule turns a check reason into a *visa.InputError for field.
func rule(field, reason string) error {
	if reason == "" {
		return nil
	}
	return visa.NewInputError(field, reason)
}

func clientReferenceID(s string) (string, error) {
	if s == "" {
		return visa.NewClientReferenceID(), nil
	}
	if err := rule("ClientReferenceID", check.ClientReferenceID(s)); err != nil {
		return "", err
	}
	return s, nil
}

// checkID refuses an empty, over-long, non-ASCII or card-number id.
func checkID(field, s string) error { return rule(field, check.ID(s, maxIDLen)) }

// checkText refuses over-long text, control characters, invalid UTF-8
// and text holding a card number.
func checkText(field, s string, required bool, max int) error {
	return rule(field, check.Text(s, max, required))
}

// elemField names the fields of element i of a list in errors
// ("Transactions[3].MerchantName", "Transactions[3].ShippingAddress.Zip").
// The name is built only when a check fails: a valid request makes no
// field-name strings.
type elemField struct {
	list string // "Transactions"
	i    int
	sub  string // a path inside the element, ending in "." ("ShippingAddress."), or ""
}

// elem names element i of list.
func elem(list string, i int) elemField { return elemField{list: list, i: i} }

// in descends into the sub-path sub (ending in ".") of the element.
func (f elemField) in(sub string) elemField { f.sub += sub; return f }

// name is the full field name of n: list[i].sub n.
func (f elemField) name(n string) string { return f.list + "[" + strconv.Itoa(f.i) + "]." + f.sub + n }

// input is the *visa.InputError for field n.
func (f elemField) input(n, reason string) error { return visa.NewInputError(f.name(n), reason) }

// rule turns a check reason into a *visa.InputError for field n.
func (f elemField) rule(n, reason string) error {
	if reason == "" {
		return nil
	}
	return f.input(n, reason)
}

// id is checkID for field n.
func (f elemField) id(n, s string) error { return f.rule(n, check.ID(s, maxIDLen)) }

// text is checkText for field n.
func (f elemField) text(n, s string, required bool, max int) error {
	return f.rule(n, check.Text(s, max, required))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
