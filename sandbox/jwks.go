package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signer holds the RS256 keys of signedPayload and of the iFrame's opaque
// values (docs/wire.md §8). The newest key signs; every key stays in the
// JWKS so tokens signed before a rotation still verify.
type signer struct {
	mu   sync.RWMutex
	keys []sigKey // oldest first; the last one signs
	now  func() time.Time
}

type sigKey struct {
	kid string
	key *rsa.PrivateKey
}

func newSigner(first *rsa.PrivateKey, now func() time.Time) *signer {
	return &signer{keys: []sigKey{{kid: SigningKeyID, key: first}}, now: now}
}

// current returns the signing key.
func (s *signer) current() sigKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[len(s.keys)-1]
}

// rotate adds a new key that signs from now on.
func (s *signer) rotate() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("sandbox: rotate signing key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kid := "sbx-sig-" + strconv.Itoa(len(s.keys)+1)
	s.keys = append(s.keys, sigKey{kid: kid, key: k})
	return kid, nil
}

// sign returns a compact RS256 JWS of claims with header
// {"alg":"RS256","typ":"JWT","kid":...}.
func (s *signer) sign(claims any) (string, error) {
	k := s.current()
	b, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sandbox: sign: %w", err)
	}
	var mc jwt.MapClaims
	if err := json.Unmarshal(b, &mc); err != nil {
		return "", fmt.Errorf("sandbox: sign: claims must be a JSON object: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	t.Header["kid"] = k.kid
	return t.SignedString(k.key)
}

// errTokenInvalid is returned by verify for any bad JWS.
var errTokenInvalid = errors.New("sandbox: signed token invalid")

// verify checks a JWS made by sign (RS256 only, known kid, signature, exp
// against the sandbox clock) and decodes its claims into dst.
func (s *signer) verify(token string, dst any) error {
	var mc jwt.MapClaims
	_, err := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	).ParseWithClaims(token, &mc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		s.mu.RLock()
		defer s.mu.RUnlock()
		for _, k := range s.keys {
			if k.kid == kid {
				return &k.key.PublicKey, nil
			}
		}
		return nil, errors.New("unknown kid")
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errTokenInvalid, err)
	}
	b, err := json.Marshal(mc)
	if err != nil {
		return fmt.Errorf("%w: %w", errTokenInvalid, err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%w: %w", errTokenInvalid, err)
	}
	return nil
}

// JWK is one RSA public key of the sandbox's JWKS.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is the document served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

func (s *signer) jwks() JWKS {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := JWKS{Keys: make([]JWK, 0, len(s.keys))}
	for _, k := range s.keys {
		pub := k.key.PublicKey
		out.Keys = append(out.Keys, JWK{
			Kty: "RSA", Kid: k.kid, Use: "sig", Alg: "RS256",
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	return out
}

func (s *Sandbox) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSON(w, http.StatusOK, s.signer.jwks())
}

// JWKS returns the public signing keys, as served at /.well-known/jwks.json.
func (s *Sandbox) JWKS() JWKS { return s.signer.jwks() }

// RotateSigningKey adds a new signedPayload signing key and returns its
// kid. New signatures use it; the JWKS lists the old and the new keys.
func (s *Sandbox) RotateSigningKey() (string, error) { return s.signer.rotate() }
