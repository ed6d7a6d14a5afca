package visa

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what every redacting type prints instead of its value.
const Redacted = "[REDACTED]"

// Secret holds a credential or other sensitive string: an api key, a
// shared secret, a private key in PEM, a secureToken. Printing it with any
// fmt verb, logging it with slog, or marshalling it to JSON or text shows
// only "[REDACTED]" (or nothing, when the secret is empty); Reveal is the
// one way to the clear value.
//
// The value lives behind a pointer, so even a struct printed by fmt
// through an unexported field shows an address, not the secret. Two
// Secrets are equal with == only when they share that pointer; compare
// values with Equal.
//
// A Secret can be decoded from JSON or text (so a wire response or a
// configuration file can fill one), but never from the mask itself:
// decoding "[REDACTED]" fails, so a value that went through a log cannot
// silently come back as a credential.
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

// Equal compares two secrets in constant time (for equal lengths).
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// String returns "[REDACTED]" (or "" for an empty secret).
func (s Secret) String() string { return mask(s.IsZero(), Redacted) }

// GoString returns a redacted Go-syntax form.
func (s Secret) GoString() string { return "visa.Secret(" + s.String() + ")" }

// Format prints the mask for every verb; width, precision and flags
// apply to the mask.
func (s Secret) Format(f fmt.State, verb rune) { formatMask(f, verb, s.String(), s.GoString()) }

// LogValue makes slog print the mask.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON emits the mask, so a Secret in a struct logged as JSON does
// not leak. Wire encoders call Reveal explicitly.
func (s Secret) MarshalJSON() ([]byte, error) { return jsonString(s.String()), nil }

// MarshalText emits the mask.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalJSON reads a JSON string (null leaves an empty Secret). It
// refuses the mask "[REDACTED]".
func (s *Secret) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return NewInputError("Secret", "must be a JSON string")
	}
	return s.UnmarshalText([]byte(v))
}

// UnmarshalText sets the secret from text. It refuses the mask
// "[REDACTED]".
func (s *Secret) UnmarshalText(text []byte) error {
	if string(text) == Redacted {
		return NewInputError("Secret", "is the redaction mask, not a value")
	}
	*s = NewSecret(string(text))
	return nil
}

func mask(empty bool, m string) string {
	if empty {
		return ""
	}
	return m
}

// formatMask writes the mask m for every verb: %#v gets the Go-syntax
// form gostr, %s, %v and %q honour width, precision and flags, and every
// other verb (%x, %d, ...) prints the mask as is. No verb reaches the
// value.
func formatMask(f fmt.State, verb rune, m, gostr string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, gostr)
			return
		}
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 's'), m)
	case 's', 'q':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), m)
	default:
		_, _ = io.WriteString(f, m)
	}
}

// jsonString quotes a mask (plain ASCII) as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
