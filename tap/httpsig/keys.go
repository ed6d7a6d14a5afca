package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/big"
	"sync"
)

// Algorithm is an HTTP signature algorithm name (RFC 9421 §3.3, plus
// Visa's rsa-pss-sha256 of the Trusted Agent Protocol).
type Algorithm string

// The supported algorithms.
const (
	// Ed25519 is EdDSA over edwards25519 (RFC 9421 §3.3.6).
	Ed25519 Algorithm = "ed25519"
	// ECDSAP256SHA256 is ECDSA over P-256 with SHA-256, the signature as
	// the 64-byte concatenation r||s (RFC 9421 §3.3.4).
	ECDSAP256SHA256 Algorithm = "ecdsa-p256-sha256"
	// RSAPSSSHA512 is RSASSA-PSS with SHA-512, MGF1 SHA-512 and a 64-byte
	// salt (RFC 9421 §3.3.1).
	RSAPSSSHA512 Algorithm = "rsa-pss-sha512"
	// RSAPSSSHA256 is RSASSA-PSS with SHA-256, the algorithm Visa's Trusted
	// Agent Protocol sample declares. It is not in the RFC 9421 registry.
	// Signatures made here use a 32-byte salt; verification accepts any
	// salt length, because Visa's sample signs with the longest salt the
	// key allows.
	RSAPSSSHA256 Algorithm = "rsa-pss-sha256"
	// RSAV15SHA256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 9421 §3.3.2).
	RSAV15SHA256 Algorithm = "rsa-v1_5-sha256"
	// HMACSHA256 is HMAC with SHA-256 over a shared secret (RFC 9421
	// §3.3.3).
	HMACSHA256 Algorithm = "hmac-sha256"
)

// MinHMACSecret is the shortest HMAC secret accepted, in bytes.
const MinHMACSecret = 32

// Algorithms lists the supported algorithms.
func Algorithms() []Algorithm {
	return []Algorithm{Ed25519, ECDSAP256SHA256, RSAPSSSHA512, RSAPSSSHA256, RSAV15SHA256, HMACSHA256}
}

// Valid reports whether a is a supported algorithm.
func (a Algorithm) Valid() bool {
	switch a {
	case Ed25519, ECDSAP256SHA256, RSAPSSSHA512, RSAPSSSHA256, RSAV15SHA256, HMACSHA256:
		return true
	}
	return false
}

// DefaultAlgorithm returns the algorithm this package uses for a public key
// when none is named: ed25519 for Ed25519 keys, ecdsa-p256-sha256 for P-256
// keys and rsa-pss-sha512 for RSA keys.
func DefaultAlgorithm(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return Ed25519, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ECDSAP256SHA256, nil
		}
		return "", fmt.Errorf("%w: ECDSA curve %s (only P-256)", ErrInvalidKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		return RSAPSSSHA512, nil
	}
	return "", fmt.Errorf("%w: public key of type %T", ErrInvalidKey, pub)
}

// checkPublic reports whether pub fits alg.
func checkPublic(alg Algorithm, pub crypto.PublicKey) error {
	switch alg {
	case Ed25519:
		if k, ok := pub.(ed25519.PublicKey); ok && len(k) == ed25519.PublicKeySize {
			return nil
		}
	case ECDSAP256SHA256:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
			return nil
		}
	case RSAPSSSHA512, RSAPSSSHA256, RSAV15SHA256:
		if k, ok := pub.(*rsa.PublicKey); ok {
			if k.N.BitLen() < 2048 {
				return fmt.Errorf("%w: %s needs an RSA key of at least 2048 bits, got %d", ErrInvalidKey, alg, k.N.BitLen())
			}
			return nil
		}
	case HMACSHA256:
		return fmt.Errorf("%w: %s takes a shared secret, not a public key", ErrInvalidKey, alg)
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, string(alg))
	}
	return fmt.Errorf("%w: %s cannot use a key of type %T", ErrInvalidKey, alg, pub)
}

// SigningKey signs signature bases with one algorithm: a crypto.Signer (so
// keys held in a KMS or an HSM work) or an HMAC secret. Its printed forms
// show the algorithm only, never key material.
type SigningKey struct {
	alg    Algorithm
	signer crypto.Signer
	secret []byte
	rand   io.Reader
}

// NewSigningKey returns a key that signs with alg through s. The public key
// of s must fit alg (an Ed25519 key for ed25519, P-256 for
// ecdsa-p256-sha256, RSA of 2048 bits or more for the RSA algorithms). An
// empty alg picks DefaultAlgorithm.
func NewSigningKey(alg Algorithm, s crypto.Signer) (*SigningKey, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidKey)
	}
	pub := s.Public()
	if alg == "" {
		a, err := DefaultAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		alg = a
	}
	if err := checkPublic(alg, pub); err != nil {
		return nil, err
	}
	return &SigningKey{alg: alg, signer: s, rand: rand.Reader}, nil
}

// NewHMACKey returns an hmac-sha256 key over a copy of secret, which must
// hold at least MinHMACSecret bytes.
func NewHMACKey(secret []byte) (*SigningKey, error) {
	if len(secret) < MinHMACSecret {
		return nil, fmt.Errorf("%w: an HMAC secret needs at least %d bytes, got %d", ErrInvalidKey, MinHMACSecret, len(secret))
	}
	return &SigningKey{alg: HMACSHA256, secret: append([]byte(nil), secret...)}, nil
}

// Algorithm returns the key's algorithm.
func (k *SigningKey) Algorithm() Algorithm { return k.alg }

// Public returns the public key, or nil for an HMAC key.
func (k *SigningKey) Public() crypto.PublicKey {
	if k.signer == nil {
		return nil
	}
	return k.signer.Public()
}

// VerifyingKey returns the key that verifies this key's signatures.
func (k *SigningKey) VerifyingKey() *VerifyingKey {
	if k.alg == HMACSHA256 {
		return &VerifyingKey{alg: k.alg, macs: newMACPool(k.secret)}
	}
	return &VerifyingKey{alg: k.alg, pub: k.signer.Public()}
}

// Sign signs base.
func (k *SigningKey) Sign(base []byte) ([]byte, error) {
	switch k.alg {
	case HMACSHA256:
		m := hmac.New(sha256.New, k.secret)
		m.Write(base)
		return m.Sum(nil), nil
	case Ed25519:
		return k.signer.Sign(k.rand, base, crypto.Hash(0))
	case ECDSAP256SHA256:
		d := sha256.Sum256(base)
		der, err := k.signer.Sign(k.rand, d[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return ecdsaRaw(der)
	case RSAPSSSHA512:
		d := sha512.Sum512(base)
		return k.signer.Sign(k.rand, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA512})
	case RSAPSSSHA256:
		d := sha256.Sum256(base)
		return k.signer.Sign(k.rand, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	case RSAV15SHA256:
		d := sha256.Sum256(base)
		return k.signer.Sign(k.rand, d[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, string(k.alg))
}

// String shows the algorithm only.
func (k *SigningKey) String() string { return "httpsig.SigningKey{" + string(k.alg) + "}" }

// Format prints String for every verb, so %v, %+v and %#v never show key
// material.
func (k *SigningKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue shows the algorithm only.
func (k *SigningKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON shows the algorithm only.
func (k *SigningKey) MarshalJSON() ([]byte, error) {
	return []byte(`{"alg":"` + string(k.alg) + `"}`), nil
}

// VerifyingKey checks signatures of one algorithm: a public key, or an HMAC
// secret. Its printed forms show the algorithm only.
type VerifyingKey struct {
	alg Algorithm
	pub crypto.PublicKey
	// macs holds keyed HMAC-SHA256 states of an HMAC key's secret (see
	// macState); its New keeps the secret.
	macs *sync.Pool
}

// macState is a keyed HMAC-SHA256 and room for its sum. crypto/hmac keeps
// the hash state after the key's inner and outer pads once Reset has been
// called, and Reset and Sum restore it (FIPS 198-1 §6 allows this
// precomputation), so a pooled state checks a signature without setting
// the key up again: it holds what the secret itself is, no more.
type macState struct {
	mac hash.Hash
	sum [sha256.Size]byte
	// base is where Signature.Verify builds the signature base it checks
	// with this state (one pooled object for both), cleared after use.
	base []byte
}

// check reports whether sig is the MAC of base, and leaves the state keyed
// with nothing written, its sum cleared.
func (m *macState) check(base, sig []byte) bool {
	m.mac.Write(base)
	ok := hmac.Equal(m.mac.Sum(m.sum[:0]), sig)
	m.mac.Reset()
	m.sum = [sha256.Size]byte{} // the right MAC of a base that may be forged
	return ok
}

func newMACPool(secret []byte) *sync.Pool {
	return &sync.Pool{New: func() any {
		m := &macState{mac: hmac.New(sha256.New, secret)}
		m.mac.Reset() // precomputes the keyed state
		return m
	}}
}

// NewVerifyingKey returns a key that verifies alg signatures with pub. An
// empty alg picks DefaultAlgorithm.
func NewVerifyingKey(alg Algorithm, pub crypto.PublicKey) (*VerifyingKey, error) {
	if alg == "" {
		a, err := DefaultAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		alg = a
	}
	if err := checkPublic(alg, pub); err != nil {
		return nil, err
	}
	return &VerifyingKey{alg: alg, pub: pub}, nil
}

// NewHMACVerifyingKey returns an hmac-sha256 verifying key over a copy of
// secret (at least MinHMACSecret bytes).
func NewHMACVerifyingKey(secret []byte) (*VerifyingKey, error) {
	k, err := NewHMACKey(secret)
	if err != nil {
		return nil, err
	}
	return k.VerifyingKey(), nil
}

// Algorithm returns the key's algorithm.
func (k *VerifyingKey) Algorithm() Algorithm { return k.alg }

// Public returns the public key, or nil for an HMAC key.
func (k *VerifyingKey) Public() crypto.PublicKey { return k.pub }

// Verify checks sig over base. A failure is ErrInvalidSignature.
func (k *VerifyingKey) Verify(base, sig []byte) error {
	ok := false
	switch k.alg {
	case HMACSHA256:
		m := k.macs.Get().(*macState) // keyed, nothing written
		ok = m.check(base, sig)
		k.macs.Put(m)
	case Ed25519:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub.(ed25519.PublicKey), base, sig)
	case ECDSAP256SHA256:
		if len(sig) == 64 {
			d := sha256.Sum256(base)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(k.pub.(*ecdsa.PublicKey), d[:], r, s)
		}
	case RSAPSSSHA512:
		d := sha512.Sum512(base)
		ok = rsa.VerifyPSS(k.pub.(*rsa.PublicKey), crypto.SHA512, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case RSAPSSSHA256:
		d := sha256.Sum256(base)
		ok = rsa.VerifyPSS(k.pub.(*rsa.PublicKey), crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case RSAV15SHA256:
		d := sha256.Sum256(base)
		ok = rsa.VerifyPKCS1v15(k.pub.(*rsa.PublicKey), crypto.SHA256, d[:], sig) == nil
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, string(k.alg))
	}
	if !ok {
		return k.notVerified()
	}
	return nil
}

// String shows the algorithm only.
func (k *VerifyingKey) String() string { return "httpsig.VerifyingKey{" + string(k.alg) + "}" }

// Format prints String for every verb.
func (k *VerifyingKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue shows the algorithm only.
func (k *VerifyingKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON shows the algorithm only.
func (k *VerifyingKey) MarshalJSON() ([]byte, error) {
	return []byte(`{"alg":"` + string(k.alg) + `"}`), nil
}

// ecdsaRaw turns a crypto.Signer's ASN.1 ECDSA signature into RFC 9421's
// fixed 64-byte r||s.
func ecdsaRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 ||
		sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, fmt.Errorf("%w: the signer returned a malformed ECDSA signature", ErrInvalidKey)
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// notVerified is the error of a signature that does not verify with k.
func (k *VerifyingKey) notVerified() error {
	return fmt.Errorf("%w: it does not verify with the %s key", ErrInvalidSignature, k.alg)
}
