package fido

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Envelope layout of a sealed fidoBlob (format version 2):
//
//	version (1 byte, 0x02) ‖ kid length (1 byte, 1..64) ‖ kid ‖ nonce (12 bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)
//
// The additional data is a domain label, the header (version ‖ kid length ‖
// kid) and the length-prefixed Binding fields (user, token and device), so
// neither the key id nor the row the blob belongs to can be changed without
// Open failing.
//
// Format 1 had the same layout with version 0x01 and bound user and token
// only. Open refuses it (ErrLegacySealed); Reseal still opens it, once, and
// rewrites it in format 2 bound to the device as well.
const (
	sealVersion     byte = 2
	legacyVersion   byte = 1
	sealNonceSize        = 12
	sealTagSize          = 16
	sealKeySize          = 32
	maxKeyIDLen          = 64
	maxBindingLen        = 1024
	sealDomain           = "vicgo/fido/blob-at-rest"
	minSealedLen         = 2 + 1 + sealNonceSize + sealTagSize
	maxSealedLen         = 2 + maxKeyIDLen + sealNonceSize + MaxBlobLen + sealTagSize
	keyringEntrySep      = ","
	keyringKIDSep        = ":"
)

// Binding names the row a sealed blob belongs to: the user, the token and the
// device, which together identify a passkey. It is authenticated with the
// ciphertext (GCM additional data), so a sealed blob copied to another user's,
// another token's or another device's row does not open.
//
// UserID and TokenID are required. DeviceID is bound as given: a blob sealed
// for a device opens only for that device, and one sealed with an empty
// DeviceID only with an empty one. The agent always binds the device.
type Binding struct {
	// UserID is the store's user id.
	UserID string
	// TokenID is the provisioned token (vProvisionedTokenID) the passkey is bound to.
	TokenID string
	// DeviceID is the clientDeviceId of the device the passkey lives on.
	DeviceID string
}

func (b Binding) validate() error {
	if b.UserID == "" || b.TokenID == "" {
		return fmt.Errorf("%w: UserID and TokenID are required", ErrInvalidBinding)
	}
	if len(b.UserID) > maxBindingLen || len(b.TokenID) > maxBindingLen || len(b.DeviceID) > maxBindingLen {
		return fmt.Errorf("%w: field longer than %d bytes", ErrInvalidBinding, maxBindingLen)
	}
	return nil
}

// Sealer encrypts fidoBlobs for storage (AES-256-GCM with random 96-bit
// nonces) under a keyring: it seals with the current key and opens with any
// key it knows. NeedsRotation and Reseal move sealed blobs to the current key
// (agent.Reseal does it for a whole store), after which the old key can leave
// the keyring.
//
// Random nonces keep GCM safe for about 2^32 seals per key (NIST SP 800-38D);
// rotate well before that. A Sealer is immutable and safe for concurrent use.
// It never prints its keys: every fmt verb shows only the key ids, and the
// keyring is reachable only through a function value, which reflection-based
// printers cannot enter.
type Sealer struct {
	k func() *keyring
}

type keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewSealer builds a Sealer from keys (key id → 32-byte AES-256 key) that seals
// with keys[currentKeyID]. Key ids must be 1..64 printable ASCII characters
// without spaces. The key bytes are copied into the cipher state; the caller may
// wipe its slices afterwards. Errors wrap ErrInvalidKeyring and name key ids
// only, never key material.
func NewSealer(currentKeyID string, keys map[string][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKeyring)
	}
	kr := &keyring{current: currentKeyID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for kid, key := range keys {
		if err := validateKeyID(kid); err != nil {
			return nil, err
		}
		if len(key) != sealKeySize {
			return nil, fmt.Errorf("%w: key %q is %d bytes, want %d", ErrInvalidKeyring, kid, len(key), sealKeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: AES setup failed", ErrInvalidKeyring, kid)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: GCM setup failed", ErrInvalidKeyring, kid)
		}
		kr.aeads[kid] = aead
	}
	if _, ok := kr.aeads[currentKeyID]; !ok {
		return nil, fmt.Errorf("%w: current key id %q is not in the keyring", ErrInvalidKeyring, currentKeyID)
	}
	return &Sealer{k: func() *keyring { return kr }}, nil
}

func validateKeyID(kid string) error {
	if kid == "" || len(kid) > maxKeyIDLen {
		return fmt.Errorf("%w: key id must be 1..%d characters", ErrInvalidKeyring, maxKeyIDLen)
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] < 0x21 || kid[i] > 0x7e {
			return fmt.Errorf("%w: key id has a non-printable or space character at byte %d", ErrInvalidKeyring, i)
		}
	}
	return nil
}

// ParseKeyring builds a Sealer from a configuration string of the form
// "kid1:base64key,kid2:base64key": comma-separated entries, each a key id, a
// colon and a 32-byte key in base64 (standard or URL alphabet, padded or
// not). The first entry is the current key. Spaces around entries are ignored.
// Key ids may not contain ':' or ','. Errors wrap ErrInvalidKeyring and cite
// entries by position, never by content.
func ParseKeyring(spec string) (*Sealer, error) {
	entries := strings.Split(spec, keyringEntrySep)
	keys := make(map[string][]byte, len(entries))
	current := ""
	for i, e := range entries {
		e = strings.TrimSpace(e)
		kid, enc, ok := strings.Cut(e, keyringKIDSep)
		if !ok || kid == "" || enc == "" {
			return nil, fmt.Errorf("%w: entry %d is not kid:base64key", ErrInvalidKeyring, i+1)
		}
		if err := validateKeyID(kid); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		if _, dup := keys[kid]; dup {
			return nil, fmt.Errorf("%w: entry %d repeats key id %q", ErrInvalidKeyring, i+1, kid)
		}
		key, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (key id %q): key is not base64", ErrInvalidKeyring, i+1, kid)
		}
		keys[kid] = key
		if i == 0 {
			current = kid
		}
	}
	s, err := NewSealer(current, keys)
	for _, k := range keys {
		clear(k)
	}
	return s, err
}

func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// CurrentKeyID returns the id of the key Seal uses.
func (s *Sealer) CurrentKeyID() string { return s.k().current }

// KeyIDs returns the ids of every key the Sealer can open with, sorted.
func (s *Sealer) KeyIDs() []string {
	kr := s.k()
	ids := make([]string, 0, len(kr.aeads))
	for kid := range kr.aeads {
		ids = append(ids, kid)
	}
	slices.Sort(ids)
	return ids
}

// String describes the Sealer by its key ids only.
func (s *Sealer) String() string {
	if s == nil || s.k == nil {
		return "fido.Sealer(nil)"
	}
	return fmt.Sprintf("fido.Sealer{current:%s keys:%v}", s.k().current, s.KeyIDs())
}

// GoString is String, so %#v shows no key material either.
func (s *Sealer) GoString() string { return s.String() }

// additionalData binds header (which holds the format version) and the
// binding; format 1 did not bind the device.
func additionalData(header []byte, bind Binding) []byte {
	ad := make([]byte, 0, len(sealDomain)+1+len(header)+12+len(bind.UserID)+len(bind.TokenID)+len(bind.DeviceID))
	ad = append(ad, sealDomain...)
	ad = append(ad, 0)
	ad = append(ad, header...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(bind.UserID)))
	ad = append(ad, bind.UserID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(bind.TokenID)))
	ad = append(ad, bind.TokenID...)
	if header[0] != legacyVersion {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(bind.DeviceID)))
		ad = append(ad, bind.DeviceID...)
	}
	return ad
}

// Seal encrypts b for the row bind names (user, token and device), under the
// current key, with a fresh random nonce. Errors wrap ErrBlobEmpty or
// ErrInvalidBinding.
func (s *Sealer) Seal(b Blob, bind Binding) ([]byte, error) {
	if b.IsZero() {
		return nil, ErrBlobEmpty
	}
	if err := bind.validate(); err != nil {
		return nil, err
	}
	kr := s.k()
	kid := kr.current
	aead := kr.aeads[kid]
	plain := b.Reveal()

	out := make([]byte, 0, 2+len(kid)+sealNonceSize+len(plain)+sealTagSize)
	out = append(out, sealVersion, byte(len(kid)))
	out = append(out, kid...)
	header := out[:2+len(kid)]
	nonce := out[len(out) : len(out)+sealNonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("fido: seal: nonce: %w", err)
	}
	out = out[:len(out)+sealNonceSize]
	return aead.Seal(out, nonce, []byte(plain), additionalData(header, bind)), nil
}

// envelope is a parsed sealed blob; its slices alias the input.
type envelope struct {
	version    byte
	header     []byte
	kid        string
	nonce      []byte
	ciphertext []byte
}

func parseEnvelope(sealed []byte) (envelope, error) {
	if len(sealed) < minSealedLen {
		return envelope{}, fmt.Errorf("%w: %d bytes is too short", ErrSealedMalformed, len(sealed))
	}
	if len(sealed) > maxSealedLen {
		return envelope{}, fmt.Errorf("%w: %d bytes is too long", ErrSealedMalformed, len(sealed))
	}
	if sealed[0] != sealVersion && sealed[0] != legacyVersion {
		return envelope{}, fmt.Errorf("%w: unknown format version %d", ErrSealedMalformed, sealed[0])
	}
	n := int(sealed[1])
	if n == 0 || n > maxKeyIDLen {
		return envelope{}, fmt.Errorf("%w: key id length %d", ErrSealedMalformed, n)
	}
	if len(sealed) < 2+n+sealNonceSize+sealTagSize {
		return envelope{}, fmt.Errorf("%w: %d bytes is too short", ErrSealedMalformed, len(sealed))
	}
	kid := string(sealed[2 : 2+n])
	if validateKeyID(kid) != nil {
		return envelope{}, fmt.Errorf("%w: key id is not printable", ErrSealedMalformed)
	}
	return envelope{
		version:    sealed[0],
		header:     sealed[:2+n],
		kid:        kid,
		nonce:      sealed[2+n : 2+n+sealNonceSize],
		ciphertext: sealed[2+n+sealNonceSize:],
	}, nil
}

// Open decrypts sealed for the row bind names, with whichever keyring key its
// key id names. Errors wrap ErrInvalidBinding, ErrSealedMalformed,
// ErrUnknownKey, ErrLegacySealed (format 1, sealed before the device was
// bound: Reseal it), or ErrOpenFailed (wrong key, tampered bytes, or a binding
// other than the one it was sealed to: another user, token or device). Errors
// never contain plaintext.
func (s *Sealer) Open(sealed []byte, bind Binding) (Blob, error) {
	return s.open(sealed, bind, false)
}

// open is Open; legacy admits format 1, for Reseal alone.
func (s *Sealer) open(sealed []byte, bind Binding, legacy bool) (Blob, error) {
	if err := bind.validate(); err != nil {
		return Blob{}, err
	}
	env, err := parseEnvelope(sealed)
	if err != nil {
		return Blob{}, err
	}
	if env.version == legacyVersion && !legacy {
		return Blob{}, fmt.Errorf("%w (key id %q)", ErrLegacySealed, env.kid)
	}
	aead, ok := s.k().aeads[env.kid]
	if !ok {
		return Blob{}, fmt.Errorf("%w %q", ErrUnknownKey, env.kid)
	}
	plain, err := aead.Open(nil, env.nonce, env.ciphertext, additionalData(env.header, bind))
	if err != nil {
		return Blob{}, fmt.Errorf("%w (key id %q)", ErrOpenFailed, env.kid)
	}
	b, err := NewBlob(string(plain))
	clear(plain)
	if err != nil {
		// Authentic, yet not a blob: sealed by something other than Seal.
		return Blob{}, fmt.Errorf("%w: content is not a fidoBlob", ErrSealedMalformed)
	}
	return b, nil
}

// KeyID returns the key id sealed names, without decrypting it. Errors wrap
// ErrSealedMalformed.
func (s *Sealer) KeyID(sealed []byte) (string, error) {
	env, err := parseEnvelope(sealed)
	if err != nil {
		return "", err
	}
	return env.kid, nil
}

// NeedsRotation reports whether sealed is a well-formed envelope that Reseal
// would rewrite: one under a key other than the current one, or one in format
// 1 (sealed before the device was bound). It is false for malformed input
// (Open reports that). It decrypts nothing, so a scan over every stored blob
// is cheap.
func (s *Sealer) NeedsRotation(sealed []byte) bool {
	env, err := parseEnvelope(sealed)
	return err == nil && (env.kid != s.k().current || env.version != sealVersion)
}

// Reseal opens sealed with any keyring key and seals the blob again under the
// current key (with a fresh nonce), for bind. It is the migration of format 1
// too: a blob sealed before the device was bound opens here (bound to user and
// token only) and comes back in format 2, bound to bind.DeviceID as well; Open
// refuses it until then. Errors are those of Open and Seal.
func (s *Sealer) Reseal(sealed []byte, bind Binding) ([]byte, error) {
	b, err := s.open(sealed, bind, true)
	if err != nil {
		return nil, err
	}
	return s.Seal(b, bind)
}
