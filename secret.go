package visa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"sync"
	"unique"
)

// Redacted is what every redacting type prints instead of its value.
const Redacted = "[REDACTED]"

// Secret holds a credential or other sensitive string: an api key, a
// shared secret, a private key in PEM, a secureToken. Printing it with any
// fmt verb, logging it with slog, or marshalling it to JSON or text shows
// only "[REDACTED]" (or nothing, when the secret is empty); gob refuses
// it (ErrSecretNotEncodable); Reveal is the one way to the clear value.
//
// The value is not held in clear: it is encrypted under a key made when
// the process starts (see "Values that never print" in the package
// documentation), so a printer or debugger that walks fields by
// reflection, such as testify's diff, finds the mask and ciphertext, never
// the value.
//
// Two Secrets holding the same value are equal with ==, Equal and
// reflect.DeepEqual alike (the encryption is deterministic within a
// process), so assert.Equal and go-cmp compare them as values; none of the
// three takes longer for a longer common prefix.
//
// A Secret can be decoded from JSON or text (so a wire response or a
// configuration file can fill one), but never from the mask itself:
// decoding "[REDACTED]" fails, so a value that went through a log cannot
// silently come back as a credential.
type Secret struct {
	m string // the mask: what a reflection walker finds
	v sealed
}

// NewSecret returns a Secret holding s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{m: Redacted, v: seal(s)}
}

// Reveal returns the clear value. Call it only where the value goes on
// the wire or into a key derivation.
func (s Secret) Reveal() string { return s.v.open() }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v.isZero() }

// Equal reports whether s and o hold the same value, in constant time.
func (s Secret) Equal(o Secret) bool { return s.v.equal(o.v) }

// GobEncode refuses: a secret never leaves the process through gob, in
// clear or masked. It returns ErrSecretNotEncodable.
func (s Secret) GobEncode() ([]byte, error) { return nil, notEncodable("Secret") }

// String returns "[REDACTED]" (or "" for an empty secret).
func (s Secret) String() string { return s.m }

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

// ErrSecretNotEncodable is the error of GobEncode on every redacting type
// (PAN, CVV2, OTP, Secret, and fido.Blob): gob would carry the value out
// of the process, or, through MarshalText, silently turn it into its mask.
// Encode the result of Reveal explicitly where a value must travel.
var ErrSecretNotEncodable = errors.New("visa: a secret value cannot be gob-encoded")

func notEncodable(typ string) error { return fmt.Errorf("%w (visa.%s)", ErrSecretNotEncodable, typ) }

// sealed is the in-memory form of every redacting value: the value
// encrypted with AES-256 in counter mode (crypto/cipher's CTR) under a key
// made when the process starts, with a synthetic IV (the first 16 bytes of
// an HMAC-SHA-256 of the value under a second such key), interned with
// package unique. The same value therefore seals to the same handle within
// a process, which keeps ==, Equal and reflect.DeepEqual comparing values,
// and a printer that walks fields by reflection finds only ciphertext. It
// is a defence against printers, dumps and walkers, not against someone
// who can read the process's memory (the keys are there too). The zero
// sealed is the empty value. A sealed value never leaves the process (gob
// refuses the redacting types, JSON and text carry their masks), so the
// format can change between versions.
type sealed struct {
	h unique.Handle[string] // iv ‖ ciphertext
}

// memKeys are the process's keys for sealed values, made on first use
// and never printed, stored or sent anywhere.
type memKeys struct {
	block cipher.Block
	macs  sync.Pool // of *sealState, each with an HMAC-SHA-256 keyed once
}

// sealState is the scratch one seal or open works in: a keyed
// HMAC-SHA-256 (Reset brings it back to its keyed state), room for its
// sum, and a buffer for iv ‖ text. Pooled, so a seal neither clones the
// HMAC nor grows a buffer; cleared before it goes back.
type sealState struct {
	mac hash.Hash
	sum [sha256.Size]byte
	buf []byte
}

// maxPooledSealBuf bounds the buffer a pooled sealState keeps: a long
// secret (a private key in PEM) gets a buffer of its own, dropped after.
const maxPooledSealBuf = 1 << 10

var processKeys = sync.OnceValue(func() *memKeys {
	var k [64]byte
	_, _ = rand.Read(k[:]) // crypto/rand never fails (it aborts the process instead)
	block, err := aes.NewCipher(k[:32])
	if err != nil {
		panic("visa: AES-256 is unavailable: " + err.Error())
	}
	macKey := make([]byte, 32) // kept for the pool's new states
	copy(macKey, k[32:])
	clear(k[:])
	mk := &memKeys{block: block}
	mk.macs.New = func() any { return &sealState{mac: hmac.New(sha256.New, macKey)} }
	return mk
})

const sealedIVSize = aes.BlockSize

// getState returns a pooled sealState whose buf has length n.
func (k *memKeys) getState(n int) *sealState {
	st := k.macs.Get().(*sealState)
	if cap(st.buf) < n {
		st.buf = make([]byte, n)
	}
	st.buf = st.buf[:n]
	return st
}

// putState clears st and returns it to the pool.
func (k *memKeys) putState(st *sealState) {
	clear(st.buf)
	clear(st.sum[:])
	if cap(st.buf) > maxPooledSealBuf {
		st.buf = nil
	}
	st.buf = st.buf[:0]
	k.macs.Put(st)
}

// seal encrypts s; "" seals to the zero sealed.
func seal(s string) sealed {
	if s == "" {
		return sealed{}
	}
	k := processKeys()
	st := k.getState(sealedIVSize + len(s))
	iv, text := st.buf[:sealedIVSize], st.buf[sealedIVSize:]
	copy(text, s)
	st.mac.Reset()
	_, _ = st.mac.Write(text)
	copy(iv, st.mac.Sum(st.sum[:0]))
	cipher.NewCTR(k.block, iv).XORKeyStream(text, text)
	h := unique.Make(string(st.buf))
	k.putState(st)
	return sealed{h: h}
}

// open decrypts p ("" for the zero sealed).
func (p sealed) open() string {
	if p.isZero() {
		return ""
	}
	k := processKeys()
	v := p.h.Value()
	st := k.getState(len(v))
	copy(st.buf, v)
	iv, text := st.buf[:sealedIVSize], st.buf[sealedIVSize:]
	cipher.NewCTR(k.block, iv).XORKeyStream(text, text)
	s := string(text)
	k.putState(st)
	return s
}

func (p sealed) isZero() bool { return p == sealed{} }

// equal reports whether p and o hold the same value: equal values seal to
// the same handle, so this is one pointer comparison, whatever the values.
func (p sealed) equal(o sealed) bool { return p == o }
