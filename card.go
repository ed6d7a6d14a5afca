package visa

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// PAN is a primary account number: 12 to 19 digits that pass the Luhn
// check. It prints, logs and marshals to JSON as "****1111"; gob refuses
// it; Reveal is the one way to the digits. Like Secret, it holds the
// digits encrypted in memory, so reflection-based printers (testify's
// diff, deep dumpers) find only the mask; ==, Equal and reflect.DeepEqual
// compare numbers.
type PAN struct {
	m string // "****" and the last four digits
	v sealed
}

// ParsePAN parses s as a PAN. Spaces and hyphens between digit groups are
// removed; anything else that is not an ASCII digit is refused. The error
// names the rule broken, never the number.
func ParsePAN(s string) (PAN, error) {
	if len(s) > 64 {
		return PAN{}, NewInputError("PAN", "must have 12 to 19 digits")
	}
	var buf [19]byte
	n, nonDigit := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			if n < len(buf) {
				buf[n] = c
			}
			n++
		default:
			nonDigit = true
		}
	}
	switch {
	case n == 0 && !nonDigit:
		return PAN{}, NewInputError("PAN", "is empty")
	case nonDigit:
		return PAN{}, NewInputError("PAN", "must contain only digits")
	case n < 12 || n > 19:
		return PAN{}, NewInputError("PAN", "must have 12 to 19 digits")
	}
	d := buf[:n]
	if !luhnBytes(d) {
		clear(buf[:])
		return PAN{}, NewInputError("PAN", "fails the Luhn check")
	}
	p := PAN{m: "****" + string(d[n-4:]), v: seal(string(d))}
	clear(buf[:])
	return p, nil
}

// luhnBytes is Luhn on ASCII digits.
func luhnBytes(s []byte) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		n := int(s[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// Reveal returns the digits. Call it only to encrypt them.
func (p PAN) Reveal() string { return p.v.open() }

// IsZero reports whether p holds no number.
func (p PAN) IsZero() bool { return p.v.isZero() }

// Last4 returns the last four digits, which may be shown and stored.
func (p PAN) Last4() string {
	if p.IsZero() {
		return ""
	}
	return p.m[len(p.m)-4:]
}

// Equal reports whether p and o are the same number (in constant time).
func (p PAN) Equal(o PAN) bool { return p.v.equal(o.v) }

// String returns the mask "****1111".
func (p PAN) String() string { return p.m }

// GobEncode refuses with ErrSecretNotEncodable.
func (p PAN) GobEncode() ([]byte, error) { return nil, notEncodable("PAN") }

// GoString returns a redacted Go-syntax form.
func (p PAN) GoString() string { return "visa.PAN(" + p.String() + ")" }

// Format prints the mask for every verb.
func (p PAN) Format(f fmt.State, verb rune) { formatMask(f, verb, p.String(), p.GoString()) }

// LogValue makes slog print the mask.
func (p PAN) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON emits the mask.
func (p PAN) MarshalJSON() ([]byte, error) { return jsonString(p.String()), nil }

// MarshalText emits the mask.
func (p PAN) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalJSON parses a JSON string with ParsePAN (null leaves p empty).
// A mask such as "****1111" is refused.
func (p *PAN) UnmarshalJSON(data []byte) error {
	return unmarshalDigits(data, "PAN", func(s string) error {
		v, err := ParsePAN(s)
		if err == nil {
			*p = v
		}
		return err
	}, func() { *p = PAN{} })
}

// CVV2 is a card verification value: 3 or 4 digits. It never prints (the
// mask is "[REDACTED]"), gob refuses it, and it is held encrypted in
// memory like Secret.
type CVV2 struct {
	m string
	v sealed
}

// ParseCVV2 parses a 3- or 4-digit CVV2.
func ParseCVV2(s string) (CVV2, error) {
	if s == "" {
		return CVV2{}, NewInputError("CVV2", "is empty")
	}
	if !allDigits(s) || len(s) < 3 || len(s) > 4 {
		return CVV2{}, NewInputError("CVV2", "must be 3 or 4 digits")
	}
	return CVV2{m: Redacted, v: seal(s)}, nil
}

// Reveal returns the digits. Call it only to encrypt them.
func (c CVV2) Reveal() string { return c.v.open() }

// IsZero reports whether c holds no value.
func (c CVV2) IsZero() bool { return c.v.isZero() }

// Equal reports whether c and x hold the same digits (in constant time).
func (c CVV2) Equal(x CVV2) bool { return c.v.equal(x.v) }

// GobEncode refuses with ErrSecretNotEncodable.
func (c CVV2) GobEncode() ([]byte, error) { return nil, notEncodable("CVV2") }

// String returns "[REDACTED]".
func (c CVV2) String() string { return c.m }

// GoString returns a redacted Go-syntax form.
func (c CVV2) GoString() string { return "visa.CVV2(" + c.String() + ")" }

// Format prints the mask for every verb.
func (c CVV2) Format(f fmt.State, verb rune) { formatMask(f, verb, c.String(), c.GoString()) }

// LogValue makes slog print the mask.
func (c CVV2) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON emits the mask.
func (c CVV2) MarshalJSON() ([]byte, error) { return jsonString(c.String()), nil }

// MarshalText emits the mask.
func (c CVV2) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalJSON parses a JSON string with ParseCVV2 (null leaves c empty).
func (c *CVV2) UnmarshalJSON(data []byte) error {
	return unmarshalDigits(data, "CVV2", func(s string) error {
		v, err := ParseCVV2(s)
		if err == nil {
			*c = v
		}
		return err
	}, func() { *c = CVV2{} })
}

// OTP is a one-time passcode of 4 to 8 digits. It never prints (the mask
// is "[REDACTED]"), gob refuses it, and it is held encrypted in memory
// like Secret.
type OTP struct {
	m string
	v sealed
}

// ParseOTP parses a one-time passcode of 4 to 8 digits.
func ParseOTP(s string) (OTP, error) {
	if s == "" {
		return OTP{}, NewInputError("OTP", "is empty")
	}
	if !allDigits(s) || len(s) < 4 || len(s) > 8 {
		return OTP{}, NewInputError("OTP", "must be 4 to 8 digits")
	}
	return OTP{m: Redacted, v: seal(s)}, nil
}

// Reveal returns the digits. Call it only to put them on the wire.
func (o OTP) Reveal() string { return o.v.open() }

// IsZero reports whether o holds no value.
func (o OTP) IsZero() bool { return o.v.isZero() }

// Equal reports whether o and x hold the same digits (in constant time).
func (o OTP) Equal(x OTP) bool { return o.v.equal(x.v) }

// GobEncode refuses with ErrSecretNotEncodable.
func (o OTP) GobEncode() ([]byte, error) { return nil, notEncodable("OTP") }

// String returns "[REDACTED]".
func (o OTP) String() string { return o.m }

// GoString returns a redacted Go-syntax form.
func (o OTP) GoString() string { return "visa.OTP(" + o.String() + ")" }

// Format prints the mask for every verb.
func (o OTP) Format(f fmt.State, verb rune) { formatMask(f, verb, o.String(), o.GoString()) }

// LogValue makes slog print the mask.
func (o OTP) LogValue() slog.Value { return slog.StringValue(o.String()) }

// MarshalJSON emits the mask.
func (o OTP) MarshalJSON() ([]byte, error) { return jsonString(o.String()), nil }

// MarshalText emits the mask.
func (o OTP) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalJSON parses a JSON string with ParseOTP (null leaves o empty).
func (o *OTP) UnmarshalJSON(data []byte) error {
	return unmarshalDigits(data, "OTP", func(s string) error {
		v, err := ParseOTP(s)
		if err == nil {
			*o = v
		}
		return err
	}, func() { *o = OTP{} })
}

// unmarshalDigits decodes a JSON string and hands it to parse; null calls
// clear. Errors never contain the value.
func unmarshalDigits(data []byte, field string, parse func(string) error, clear func()) error {
	if string(data) == "null" {
		clear()
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return NewInputError(field, "must be a JSON string")
	}
	return parse(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
