package vic

import (
	"net/mail"
	"strconv"

	"github.com/google/uuid"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// maxIDLen bounds every id the SDK passes through (docs/wire.md §11.7:
// opaque strings of up to 64 characters).
const maxIDLen = 64

func clientReferenceID(s string) (string, error) {
	if s == "" {
		return visa.NewClientReferenceID(), nil
	}
	if !check.ReferenceID(s) {
		return "", visa.NewInputError("ClientReferenceID", "must be 1 to 36 characters of [A-Za-z0-9-]")
	}
	return s, nil
}

func checkID(field, s string) error {
	switch {
	case s == "":
		return visa.NewInputError(field, "is required")
	case len(s) > maxIDLen:
		return visa.NewInputError(field, "is longer than 64 characters")
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return visa.NewInputError(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

func checkText(field, s string, required bool, max int) error {
	switch {
	case s == "" && required:
		return visa.NewInputError(field, "is required")
	case len(s) > max:
		return visa.NewInputError(field, "is longer than "+strconv.Itoa(max)+" bytes")
	}
	return nil
}

func validEmail(s string) bool {
	if s == "" || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func upperAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
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

// newUUID returns a random (version 4) UUID.
func newUUID() string { return uuid.NewString() }
