package tap

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/vicgo/visa/tap/httpsig"
)

// KeyQuery is what a verifier knows when it looks a key up.
type KeyQuery struct {
	// KeyID is the signature's keyid.
	KeyID string
	// Alg is the signature's alg parameter; empty when absent.
	Alg httpsig.Algorithm
	// Tag is the signature's tag.
	Tag Tag
	// Agent is the Signature-Agent member the signature covers (an https
	// URL); empty when there is none.
	Agent string
}

// ResolvedKey is a key a KeyResolver found, with where it came from.
type ResolvedKey struct {
	Key *httpsig.VerifyingKey
	// Source is the URL the key was fetched from (a JWKS, or the Web Bot
	// Auth directory that identifies the agent); empty for static keys.
	Source string
}

// KeyResolver finds the key of a signature. It returns an error wrapping
// ErrUnknownKey when it knows no such key, ErrKeyUnavailable when it
// could not fetch its keys.
type KeyResolver interface {
	ResolveKey(ctx context.Context, q KeyQuery) (ResolvedKey, error)
}

// StaticKeys is a KeyResolver over keys known in advance, by keyid.
type StaticKeys map[string]*httpsig.VerifyingKey

// ResolveKey implements KeyResolver.
func (s StaticKeys) ResolveKey(_ context.Context, q KeyQuery) (ResolvedKey, error) {
	k, ok := s[q.KeyID]
	if !ok || k == nil {
		return ResolvedKey{}, ErrUnknownKey
	}
	return ResolvedKey{Key: k}, nil
}

// Resolvers tries each resolver in order and returns the first key found.
// An ErrUnknownKey moves on to the next; any other error is returned when
// no resolver knows the key.
type Resolvers []KeyResolver

// ResolveKey implements KeyResolver.
func (rs Resolvers) ResolveKey(ctx context.Context, q KeyQuery) (ResolvedKey, error) {
	var firstErr error
	for _, r := range rs {
		k, err := r.ResolveKey(ctx, q)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, ErrUnknownKey) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return ResolvedKey{}, firstErr
	}
	return ResolvedKey{}, ErrUnknownKey
}

// JWKS is a KeyResolver over a JSON Web Key Set URL (such as Visa's key
// registry): keyid matches a key's kid, or its JWK thumbprint. The set is
// fetched without following redirects, bounded in size, and cached (see
// FetchOption).
type JWKS struct {
	url   string
	cache *keySetCache
}

// NewJWKS returns a resolver over the JWKS at rawURL (https, or http on a
// loopback host).
func NewJWKS(rawURL string, opts ...FetchOption) (*JWKS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("tap: NewJWKS: %q is not an https URL", rawURL)
	}
	c, err := newKeySetCache(false, opts)
	if err != nil {
		return nil, err
	}
	return &JWKS{url: u.String(), cache: c}, nil
}

// ResolveKey implements KeyResolver.
func (j *JWKS) ResolveKey(ctx context.Context, q KeyQuery) (ResolvedKey, error) {
	k, err := j.cache.lookup(ctx, j.url, q)
	if err != nil {
		return ResolvedKey{}, err
	}
	return ResolvedKey{Key: k, Source: j.url}, nil
}

// Directories is a KeyResolver for Web Bot Auth: it fetches the key
// directory at /.well-known/http-message-signatures-directory of the https
// origin the signature's Signature-Agent member names, without following
// redirects, bounded in size, and caches it. keyid matches a key's JWK
// thumbprint (or its kid). The directory's URL becomes the identity's
// Source.
type Directories struct {
	cache   *keySetCache
	allowed map[string]bool
}

// NewDirectories returns a Web Bot Auth directory resolver. With
// WithAllowedAgents, only those origins are fetched; otherwise any https
// origin a request names is (the fetch is bounded, never redirected).
func NewDirectories(opts ...FetchOption) (*Directories, error) {
	c, err := newKeySetCache(true, opts)
	if err != nil {
		return nil, err
	}
	return &Directories{cache: c, allowed: c.cfg.allowed}, nil
}

// ResolveKey implements KeyResolver.
func (d *Directories) ResolveKey(ctx context.Context, q KeyQuery) (ResolvedKey, error) {
	if q.Agent == "" {
		return ResolvedKey{}, ErrUnknownKey
	}
	dir, err := directoryURL(q.Agent)
	if err != nil {
		return ResolvedKey{}, &VerifyError{Reason: ErrUnknownKey, Detail: "Signature-Agent is not an https origin"}
	}
	if d.allowed != nil && !d.allowed[strings.TrimSuffix(dir, DirectoryPath)] {
		return ResolvedKey{}, &VerifyError{Reason: ErrUnknownKey, Detail: "Signature-Agent origin not allowed"}
	}
	k, err := d.cache.lookup(ctx, dir, q)
	if err != nil {
		return ResolvedKey{}, err
	}
	return ResolvedKey{Key: k, Source: dir}, nil
}

// directoryURL returns the well-known directory URL of an agent origin.
func directoryURL(agent string) (string, error) {
	u, err := url.Parse(agent)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("not an https origin")
	}
	return "https://" + strings.ToLower(u.Host) + DirectoryPath, nil
}

// jwkAlgorithms maps JWS algorithm names to HTTP signature algorithms.
var jwkAlgorithms = map[string]httpsig.Algorithm{
	"EdDSA": httpsig.Ed25519, "Ed25519": httpsig.Ed25519, "ES256": httpsig.ECDSAP256SHA256,
	"PS512": httpsig.RSAPSSSHA512, "PS256": httpsig.RSAPSSSHA256, "RS256": httpsig.RSAV15SHA256,
}

// keyEntry is one usable key of a set.
type keyEntry struct {
	kid, thumb string
	alg        httpsig.Algorithm // from the JWK; empty when it names none
	pub        crypto.PublicKey
}

// entriesOf keeps the public signing keys of a set.
func entriesOf(set jose.JSONWebKeySet) []keyEntry {
	out := make([]keyEntry, 0, len(set.Keys))
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		tp, err := Thumbprint(k.Key)
		if err != nil {
			continue
		}
		var alg httpsig.Algorithm
		if k.Algorithm != "" {
			a, ok := jwkAlgorithms[k.Algorithm]
			if !ok {
				a = httpsig.Algorithm(k.Algorithm)
			}
			if !a.Valid() {
				continue
			}
			alg = a
		}
		out = append(out, keyEntry{kid: k.KeyID, thumb: tp, alg: alg, pub: k.Key})
	}
	return out
}

// verifyingKey picks the algorithm: the JWK's, else the signature's alg
// when it fits the key, else the key type's default (rsa-pss-sha256, TAP's,
// for RSA).
func (e keyEntry) verifyingKey(q KeyQuery) (*httpsig.VerifyingKey, error) {
	alg := e.alg
	if alg == "" {
		alg = q.Alg
	}
	if alg == "" {
		var err error
		if alg, err = httpsig.DefaultAlgorithm(e.pub); err != nil {
			return nil, err
		}
		if alg == httpsig.RSAPSSSHA512 {
			alg = httpsig.RSAPSSSHA256
		}
	}
	return httpsig.NewVerifyingKey(alg, e.pub)
}

// StaticKeysFromJWKS reads a JSON Web Key Set (such as a file of agent
// keys) into StaticKeys, each public signing key under its kid and under
// its JWK thumbprint. A key's algorithm is its JWK alg, else the key
// type's default (rsa-pss-sha256, TAP's, for RSA).
func StaticKeysFromJWKS(data []byte) (StaticKeys, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("tap: StaticKeysFromJWKS: not a JWKS: %w", err)
	}
	if len(set.Keys) > maxKeys {
		return nil, fmt.Errorf("tap: StaticKeysFromJWKS: more than %d keys", maxKeys)
	}
	out := StaticKeys{}
	for _, e := range entriesOf(set) {
		k, err := e.verifyingKey(KeyQuery{})
		if err != nil {
			return nil, fmt.Errorf("tap: StaticKeysFromJWKS: key %q: %w", e.kid, err)
		}
		out[e.thumb] = k
		if e.kid != "" {
			out[e.kid] = k
		}
	}
	if len(out) == 0 {
		return nil, errors.New("tap: StaticKeysFromJWKS: no public signing key")
	}
	return out, nil
}
