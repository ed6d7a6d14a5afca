package jwe

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Header values Visa's VTS field JWEs carry besides alg/enc/kid/iv/tag.
const (
	fieldTyp             = "JOSE"
	fieldChannelSecurity = "SHARED_SECRET"
)

var (
	fieldAlgs = []jose.KeyAlgorithm{jose.A256GCMKW}
	fieldEncs = []jose.ContentEncryption{jose.A256GCM}
)

// FieldCipher encrypts and decrypts VTS field-level JWEs
// (encPaymentInstrument, encRiskDataInfo, ...): alg A256GCMKW, enc A256GCM,
// key-encryption key SHA-256(UTF-8 encSharedSecret), kid = encAPIKey. The
// protected header also carries typ "JOSE", channelSecurityContext
// "SHARED_SECRET" and iat as a string of epoch seconds, as Visa's own
// examples do.
//
// A FieldCipher is immutable and safe for concurrent use.
type FieldCipher struct {
	kid string
	kek []byte // 32 bytes
	now func() time.Time
}

// NewFieldCipher returns a FieldCipher for the encryption API key and shared
// secret issued with the token-requestor credentials. It returns an error
// wrapping ErrKey if either is empty.
func NewFieldCipher(encAPIKey, encSharedSecret string) (*FieldCipher, error) {
	if encAPIKey == "" {
		return nil, errorf(ErrKey, "encryption API key is empty")
	}
	if encSharedSecret == "" {
		return nil, errorf(ErrKey, "encryption shared secret is empty")
	}
	sum := sha256.Sum256([]byte(encSharedSecret))
	return &FieldCipher{kid: encAPIKey, kek: sum[:], now: time.Now}, nil
}

// check refuses a nil or zero FieldCipher (not made by NewFieldCipher).
func (c *FieldCipher) check() error {
	if c == nil || c.kid == "" || len(c.kek) != 32 { // go-jose does not check the A256GCMKW key size
		return errorf(ErrKey, "FieldCipher not initialised by NewFieldCipher")
	}
	return nil
}

// KeyID returns the kid this cipher writes and expects: the encryption API key.
func (c *FieldCipher) KeyID() string { return c.kid }

// String describes the cipher by its key ID only; the key never prints,
// whatever the verb (%v, %+v, %s).
func (c FieldCipher) String() string { return "jwe.FieldCipher{kid: " + strconv.Quote(c.kid) + "}" }

// GoString is String, so that %#v does not print the key either.
func (c FieldCipher) GoString() string { return c.String() }

// Encrypt encrypts plaintext (raw bytes, normally UTF-8 JSON) into a compact
// JWE, stamping iat with the current time.
func (c *FieldCipher) Encrypt(plaintext []byte) (string, error) {
	if c == nil || c.now == nil {
		return c.EncryptAt(plaintext, time.Now())
	}
	return c.EncryptAt(plaintext, c.now())
}

// EncryptAt is Encrypt with an explicit issued-at time (for tests and
// injectable clocks).
func (c *FieldCipher) EncryptAt(plaintext []byte, now time.Time) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	opts := (&jose.EncrypterOptions{}).
		WithType(fieldTyp).
		WithHeader("channelSecurityContext", fieldChannelSecurity).
		WithHeader("iat", strconv.FormatInt(now.Unix(), 10))
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.A256GCMKW, Key: c.kek, KeyID: c.kid}, opts)
	if err != nil {
		return "", errorf(ErrKey, "cannot build encrypter")
	}
	return encryptCompact(enc, plaintext)
}

// EncryptJSON marshals v to JSON (without HTML escaping) and encrypts it.
func (c *FieldCipher) EncryptJSON(v any) (string, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return "", err
	}
	return c.Encrypt(b)
}

// Decrypt decrypts a compact field JWE. Only alg A256GCMKW and enc A256GCM
// are accepted (ErrAlgorithm otherwise), and kid must equal KeyID()
// (ErrKeyID otherwise).
func (c *FieldCipher) Decrypt(compact string) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	p, err := parseCompact(compact, fieldAlgs, fieldEncs)
	if err != nil {
		if errors.Is(err, ErrAlgorithm) { // name both, as Visa's field JWEs fix both
			if q, qerr := splitCompact(compact); qerr == nil {
				return nil, errorf(ErrAlgorithm, "field JWE must be A256GCMKW/A256GCM, got %q/%q",
					truncate(q.header.Alg, 32), truncate(q.header.Enc, 32))
			}
		}
		return nil, err
	}
	if p.header.KeyID != c.kid {
		return nil, errorf(ErrKeyID, "kid does not match the encryption API key")
	}
	// RFC 7518 §4.7: the key wrap's 96-bit IV and 128-bit tag.
	if err := p.checkB64Member("iv", 12); err != nil {
		return nil, err
	}
	if err := p.checkB64Member("tag", 16); err != nil {
		return nil, err
	}
	return p.decrypt(c.kek)
}

// DecryptJSON decrypts compact and unmarshals the plaintext into v.
func (c *FieldCipher) DecryptJSON(compact string, v any) error {
	pt, err := c.Decrypt(compact)
	if err != nil {
		return err
	}
	return unmarshalJSON(pt, v)
}

// encryptCompact encrypts and serializes; it never passes AAD (go-jose's
// compact serialization silently drops it).
func encryptCompact(enc jose.Encrypter, plaintext []byte) (string, error) {
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", errorf(ErrKey, "encryption failed")
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return "", errorf(ErrAlgorithm, "compact serialization failed")
	}
	return s, nil
}

// marshalJSON is json.Marshal without HTML escaping and without the
// trailing newline of json.Encoder. Errors never include the value.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, errorf(ErrMalformed, "cannot marshal %s to JSON", typeName(v))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// unmarshalJSON decodes JSON into v; the error never quotes the input
// (encoding/json errors can contain values such as a numeric PAN).
func unmarshalJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return errorf(ErrMalformed, "plaintext does not decode into %s", typeName(v))
	}
	return nil
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}
