package fido

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/vicgo/visa"
)

// MaxBlobLen is the largest fidoBlob NewBlob accepts, in bytes. Visa's blob is a
// JWT of a few hundred bytes; the bound only keeps garbage out of memory and storage.
const MaxBlobLen = 64 << 10

// Blob is the opaque fidoBlob that Visa's Auth iFrame returns after a passkey
// ceremony (AUTH_COMPLETE assuranceData.fidoBlob) and that the SDK passes on,
// verbatim, in VIC assuranceData (methodResults.fido*Data.code).
//
// The SDK never parses a Blob. It is a bearer credential for one enrollment or
// one purchase, so it never prints: String, GoString, Format (every verb),
// LogValue and MarshalJSON all render a mask such as
// "[REDACTED fidoBlob len=812]", and gob refuses it
// (visa.ErrSecretNotEncodable). The clear value is held like a visa.Secret,
// encrypted in memory under a per-process key, so a printer that walks fields
// by reflection (testify's diff, a deep dumper, a debugger) finds the mask and
// ciphertext only. Reveal is the one way to the clear value;
// AssuranceData.WireValue (which WireJSON encodes) and Sealer.Seal are its
// only callers in this package.
//
// The zero Blob is empty; IsZero reports it. Blobs are immutable and safe to
// copy and share between goroutines. Two Blobs holding the same value are
// equal with ==, Equal and reflect.DeepEqual.
type Blob struct {
	m string // the mask
	n int    // the length of the value, which is not secret
	v visa.Secret
}

// NewBlob validates s and wraps it. s must be 1..MaxBlobLen bytes of the
// base64url/JWT alphabet (A-Z a-z 0-9 - _ and the '.' separator); the standard
// base64 characters + / = are also accepted, because the wire reference describes the
// blob as "a JWT base64 encoded string". Errors wrap ErrBlobEmpty,
// ErrBlobTooLarge or ErrBlobCharset and never contain the input.
func NewBlob(s string) (Blob, error) {
	if err := validateBlob(s); err != nil {
		return Blob{}, err
	}
	return Blob{m: "[REDACTED fidoBlob len=" + strconv.Itoa(len(s)) + "]", n: len(s), v: visa.NewSecret(s)}, nil
}

func validateBlob(s string) error {
	switch {
	case s == "":
		return ErrBlobEmpty
	case len(s) > MaxBlobLen:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrBlobTooLarge, len(s), MaxBlobLen)
	}
	for i := 0; i < len(s); i++ {
		if !blobChar(s[i]) {
			return fmt.Errorf("%w at byte %d", ErrBlobCharset, i)
		}
	}
	return nil
}

func blobChar(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	case c == '-', c == '_', c == '.', c == '+', c == '/', c == '=':
		return true
	}
	return false
}

// Reveal returns the clear fidoBlob ("" for the zero Blob). Call it only to put
// the value on the wire or into a Sealer; never log or store its result.
func (b Blob) Reveal() string { return b.v.Reveal() }

// IsZero reports whether b holds no value.
func (b Blob) IsZero() bool { return b.v.IsZero() }

// Len returns the length of the clear value in bytes. The length is not secret
// and appears in the mask.
func (b Blob) Len() int { return b.n }

// Equal reports whether b and o hold the same value (in constant time).
func (b Blob) Equal(o Blob) bool { return b.v.Equal(o.v) }

// GobEncode refuses: a fidoBlob leaves the process only through
// AssuranceData.WireValue or WireJSON, or sealed. The error wraps
// visa.ErrSecretNotEncodable.
func (b Blob) GobEncode() ([]byte, error) {
	return nil, fmt.Errorf("%w (fido.Blob)", visa.ErrSecretNotEncodable)
}

// mask is the only rendering of a Blob outside Reveal.
func (b Blob) mask() string {
	if b.IsZero() {
		return "[REDACTED fidoBlob empty]"
	}
	return b.m
}

// String returns the mask, never the value.
func (b Blob) String() string { return b.mask() }

// GoString returns the mask, so %#v does not leak either.
func (b Blob) GoString() string { return b.mask() }

// Format renders the mask for every verb and flag (%v %+v %#v %s %q %x %X %d
// ...); %q quotes it. The value itself is never formatted.
func (b Blob) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = f.Write([]byte(strconv.Quote(b.mask())))
		return
	}
	_, _ = f.Write([]byte(b.mask()))
}

// LogValue implements slog.LogValuer with the mask.
func (b Blob) LogValue() slog.Value { return slog.StringValue(b.mask()) }

// MarshalJSON renders the mask as a JSON string, so a Blob inside any struct
// that is logged or dumped as JSON stays hidden. It is deliberately not the
// inverse of UnmarshalJSON: the wire form comes only from
// AssuranceData.WireValue and WireJSON, and at rest a Blob is kept sealed
// (Sealer).
func (b Blob) MarshalJSON() ([]byte, error) { return json.Marshal(b.mask()) }

// UnmarshalJSON accepts the clear fidoBlob as a JSON string (as found in an
// AUTH_COMPLETE message) and validates it like NewBlob. JSON null and "" leave
// the zero Blob. A masked rendering is refused (its characters are invalid), so
// a redacted dump can never be decoded back into a usable Blob by mistake.
func (b *Blob) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = Blob{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: not a JSON string", ErrBlobCharset)
	}
	if s == "" {
		*b = Blob{}
		return nil
	}
	nb, err := NewBlob(s)
	if err != nil {
		return err
	}
	*b = nb
	return nil
}

var (
	_ fmt.Stringer     = Blob{}
	_ fmt.GoStringer   = Blob{}
	_ fmt.Formatter    = Blob{}
	_ slog.LogValuer   = Blob{}
	_ json.Marshaler   = Blob{}
	_ json.Unmarshaler = (*Blob)(nil)
)
