package vic

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// KeySource finds the public key that verifies a signedPayload by its
// key id. Implementations must be safe for concurrent use.
type KeySource interface {
	// Key returns the key for kid. An empty kid asks for the only key,
	// when there is exactly one.
	Key(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// ErrUnknownKey means no verification key matches the signedPayload's kid,
// even after one refresh of the key set.
var ErrUnknownKey = errors.New("vic: unknown signing key")

// ErrKeysUnavailable means the key set could not be fetched or read (the
// JWKS URL answered an error or garbage, or not at all, after a retry): the
// payload may be fine but cannot be verified now. A network failure also
// matches visa.ErrNetwork.
var ErrKeysUnavailable = errors.New("vic: signing keys unavailable")

// JWKS is a KeySource backed by a JSON Web Key Set URL. Keys are fetched on
// first use and cached; an unknown kid triggers at most one refresh per
// MinRefreshInterval, so a rotation at Visa is picked up at once while a
// flood of forged kids cannot make it hammer the URL. Responses are
// bounded in size and in number of keys.
type JWKS struct {
	url string
	// t is the SDK's one transport in its unsigned mode (bounded read,
	// redaction, retry classifier, Observer); tErr is why it could not be
	// built, reported by Key.
	t    *transport.Client
	tErr error

	mu          sync.Mutex
	keys        map[string]crypto.PublicKey
	fetchedAt   time.Time
	lastAttempt time.Time
	fetches     int

	// now is the clock; tests replace it.
	now func() time.Time
	// minRefresh is the least time between two fetches caused by an
	// unknown kid.
	minRefresh time.Duration
	// ttl is how long a fetched set is trusted before a refetch.
	ttl time.Duration
}

// JWKS limits.
const (
	maxJWKSBytes = 256 << 10
	maxJWKSKeys  = 64
)

// JWKSOption configures a JWKS.
type JWKSOption func(*JWKS)

// WithMinRefreshInterval sets the least time between two fetches caused by
// an unknown kid (default 30 s).
func WithMinRefreshInterval(d time.Duration) JWKSOption { return func(j *JWKS) { j.minRefresh = d } }

// WithCacheTTL sets how long a fetched key set is used before it is
// fetched again (default 1 h).
func WithCacheTTL(d time.Duration) JWKSOption { return func(j *JWKS) { j.ttl = d } }

// WithJWKSClock sets the clock (for tests).
func WithJWKSClock(now func() time.Time) JWKSOption { return func(j *JWKS) { j.now = now } }

// NewJWKS returns a key source that fetches url with client (nil means
// Go's default client), through the SDK's transport: 10 s per fetch,
// retries by the SDK's one classifier, the body bounded. A URL or client
// the transport refuses is reported by Key.
func NewJWKS(url string, client *http.Client, opts ...JWKSOption) *JWKS {
	t, err := newJWKSTransport(visa.Config{HTTPClient: client}, url)
	return newJWKS(url, t, err, opts...)
}

// jwksTimeout bounds one fetch of the key set, retries included.
const jwksTimeout = 10 * time.Second

// newJWKSTransport is the unsigned transport of a JWKS fetch with cfg's
// HTTP settings (TLS, Observer, WrapTransport, retry policy).
func newJWKSTransport(cfg visa.Config, url string) (*transport.Client, error) {
	return transport.NewUnsigned(cfg, visa.ProductVIC, url, nil,
		transport.WithTimeout(jwksTimeout), transport.WithMaxResponseBytes(maxJWKSBytes))
}

func newJWKS(url string, t *transport.Client, err error, opts ...JWKSOption) *JWKS {
	j := &JWKS{url: url, t: t, tErr: err, now: time.Now, minRefresh: 30 * time.Second, ttl: time.Hour}
	for _, o := range opts {
		o(j)
	}
	return j
}

// Fetches reports how many times the key set was fetched.
func (j *JWKS) Fetches() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetches
}

// Key returns the key for kid, fetching the set when it is missing or
// stale, and refreshing once when kid is unknown.
func (j *JWKS) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	if j.keys == nil || now.Sub(j.fetchedAt) > j.ttl {
		if err := j.fetchLocked(ctx, now); err != nil {
			return nil, err
		}
	}
	if k, ok := lookup(j.keys, kid); ok {
		return k, nil
	}
	if now.Sub(j.lastAttempt) >= j.minRefresh {
		if err := j.fetchLocked(ctx, now); err != nil {
			return nil, err
		}
		if k, ok := lookup(j.keys, kid); ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, printableKid(kid))
}

func lookup(keys map[string]crypto.PublicKey, kid string) (crypto.PublicKey, bool) {
	if kid == "" {
		if len(keys) == 1 {
			for _, k := range keys {
				return k, true
			}
		}
		return nil, false
	}
	k, ok := keys[kid]
	return k, ok
}

func (j *JWKS) fetchLocked(ctx context.Context, now time.Time) error {
	j.lastAttempt = now
	keys, err := j.fetch(ctx)
	if err != nil {
		return err
	}
	j.keys, j.fetchedAt = keys, now
	return nil
}

// fetch fetches and parses the key set: one operation (vic.FetchJWKS) of
// the SDK's transport, which retries it (a GET) by the SDK's classifier.
// Any failure matches ErrKeysUnavailable; a network failure also
// visa.ErrNetwork, a non-200 answer *visa.APIError.
func (j *JWKS) fetch(ctx context.Context) (map[string]crypto.PublicKey, error) {
	if j.tErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, j.tErr)
	}
	j.fetches++
	var body []byte
	if _, err := j.t.Do(ctx, &transport.Request{Op: "vic.FetchJWKS", Method: http.MethodGet}, &body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	return keys, nil
}

// parseJWKS keeps the public signature keys of a JSON Web Key Set.
func parseJWKS(body []byte) (map[string]crypto.PublicKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("vic: jwks malformed: %w", err)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("vic: jwks has %d keys, more than %d", len(set.Keys), maxJWKSKeys)
	}
	keys := make(map[string]crypto.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				continue
			}
			keys[k.KeyID] = pk
		case *ecdsa.PublicKey:
			keys[k.KeyID] = pk
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("vic: jwks has no usable signature key")
	}
	return keys, nil
}

// StaticKeys is a KeySource of fixed keys, e.g. from PEM configuration.
type StaticKeys map[string]crypto.PublicKey

// Key returns the key for kid (or the only key when kid is empty).
func (s StaticKeys) Key(_ context.Context, kid string) (crypto.PublicKey, error) {
	if k, ok := lookup(s, kid); ok {
		return k, nil
	}
	if len(s) == 1 {
		// A single configured key verifies whatever kid the token names;
		// the signature check still decides.
		for _, k := range s {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, printableKid(kid))
}

// ParseKeysPEM reads public keys and certificates (RSA or ECDSA) from PEM.
// Keys get the ids "pem-0", "pem-1", ...; a single key also verifies
// tokens whatever their kid.
func ParseKeysPEM(data []byte) (StaticKeys, error) {
	keys := StaticKeys{}
	for i := 0; ; {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var pub any
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("vic: signedPayload key %d: %w", i, err)
			}
			pub = cert.PublicKey
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("vic: signedPayload key %d: %w", i, err)
			}
			pub = k
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("vic: signedPayload key %d: %w", i, err)
			}
			pub = k
		default:
			continue
		}
		switch pub.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return nil, fmt.Errorf("vic: signedPayload key %d: unsupported key type %T", i, pub)
		}
		keys[fmt.Sprintf("pem-%d", i)] = pub
		i++
	}
	if len(keys) == 0 {
		return nil, errors.New("vic: no public key or certificate in PEM")
	}
	return keys, nil
}

// printableKid bounds an attacker-chosen kid before it goes into an error.
func printableKid(kid string) string {
	if len(kid) > 64 {
		kid = kid[:64]
	}
	return kid
}

// multiSource tries each source in order.
type multiSource []KeySource

// Key returns the first key found.
func (m multiSource) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	var last error
	for _, s := range m {
		k, err := s.Key(ctx, kid)
		if err == nil {
			return k, nil
		}
		last = err
	}
	return nil, last
}
