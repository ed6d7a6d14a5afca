package visa

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"
)

// Redacted is what every redacting type prints instead of its value.
const Redacted = "[REDACTED]"

// Secret holds a credential or other sensitive string: an api key, a
// shared secret, a private key in PEM, a secureToken. Printing it with any
// fmt verb, logging it with slog, or marshalling it to JSON shows only
// "[REDACTED]"; Reveal is the one way to the clear value.
//
// The value lives behind a pointer, so even a struct printed by fmt
// through an unexported field shows an address, not the secret.
type Secret struct{ p *string }

// NewSecret returns a Secret holding s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the clear value. Call it only where the value goes on
// the wire or into a key derivation.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String returns "[REDACTED]" (or "" for an empty secret).
func (s Secret) String() string { return mask(s.IsZero(), Redacted) }

// GoString returns a redacted Go-syntax form.
func (s Secret) GoString() string { return "visa.Secret(" + Redacted + ")" }

// Format prints the mask for every verb.
func (s Secret) Format(f fmt.State, verb rune) { formatMask(f, verb, s.String(), s.GoString()) }

// LogValue makes slog print the mask.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON emits the mask, so a Secret in a struct logged as JSON does
// not leak. Wire encoders call Reveal explicitly.
func (s Secret) MarshalJSON() ([]byte, error) { return jsonString(s.String()), nil }

// MarshalText emits the mask.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func mask(empty bool, m string) string {
	if empty {
		return ""
	}
	return m
}

// formatMask writes m for every verb; %#v gets the Go-syntax form and %q
// a quoted mask, so no verb reaches the value.
func formatMask(f fmt.State, verb rune, m, gostr string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, gostr)
	case verb == 'q':
		fmt.Fprintf(f, "%q", m)
	default:
		fmt.Fprint(f, m)
	}
}

func jsonString(s string) []byte {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return []byte(b.String())
}
