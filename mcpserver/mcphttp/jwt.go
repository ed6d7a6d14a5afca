package mcphttp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// Defaults of JWTConfig.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultJWKSRefresh is how often the issuer's keys are fetched again.
	DefaultJWKSRefresh = time.Hour
	// DefaultJWKSMinRefresh is the least time between two fetches: a token
	// signed with an unknown key id fetches the keys again at most this
	// often, so bad tokens cannot make the server hammer the issuer.
	DefaultJWKSMinRefresh = 30 * time.Second
	// MaxTokenBytes bounds a bearer token.
	MaxTokenBytes = 16 << 10
	// maxJWKSBytes bounds an issuer's metadata or key set document.
	maxJWKSBytes = 1 << 20
)

// DefaultAlgorithms returns the signature algorithms accepted by default:
// the asymmetric ones OAuth issuers sign access tokens with. Symmetric (HS*)
// and "none" are never accepted. It returns a copy: the allow-list itself
// cannot be changed by a caller.
func DefaultAlgorithms() []jose.SignatureAlgorithm { return slices.Clone(defaultAlgorithms[:]) }

var defaultAlgorithms = [...]jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// JWTConfig configures a JWTVerifier.
type JWTConfig struct {
	// Issuer is the authorization server's issuer identifier; a token's
	// iss must equal it. Required.
	Issuer string
	// Audiences: a token's aud must hold one of them (RFC 8707: the
	// resource, e.g. https://mcp.example.com/mcp).
	Audiences []string
	// ClientIDs: a token's client_id (or azp) must be one of them. Issuers
	// whose access tokens carry no aud (Amazon Cognito) are checked this
	// way. At least one of Audiences and ClientIDs is required; when both
	// are set a token must pass both.
	ClientIDs []string
	// JWKSURL is where the issuer's signing keys are. Default: the
	// jwks_uri of the issuer's metadata (OpenID Connect discovery, else
	// RFC 8414), fetched on first use.
	JWKSURL string
	// Algorithms are the accepted signature algorithms (default
	// DefaultAlgorithms); only asymmetric ones are allowed.
	Algorithms []jose.SignatureAlgorithm
	// Leeway is the clock skew tolerated (default DefaultLeeway).
	Leeway time.Duration
	// Refresh is how often keys are fetched again (default
	// DefaultJWKSRefresh); MinRefresh the least time between fetches
	// (default DefaultJWKSMinRefresh).
	Refresh, MinRefresh time.Duration
	// HTTPClient fetches metadata and keys (default: a client with a 10 s
	// timeout). Issuer and key URLs must be https (plain http only to a
	// loopback host).
	HTTPClient *http.Client
}

// JWTVerifier is an OAuth 2.1 resource server's check of JWT access
// tokens: signature against the issuer's JWKS (cached, fetched again
// periodically and when a token names an unknown key), algorithm
// allow-list, iss, aud or client_id, exp (required), nbf and iat. Its
// Verify method is an auth.TokenVerifier. It is safe for concurrent use.
type JWTVerifier struct {
	cfg  JWTConfig
	now  func() time.Time
	mu   sync.Mutex
	keys *jose.JSONWebKeySet
	// fetched is when keys were last fetched; tried when a fetch was
	// last attempted.
	fetched, tried time.Time
	jwksURL        string
}

// NewJWTVerifier checks cfg and returns the verifier. It fetches nothing
// yet: keys are fetched on the first token.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if reason := check.URL(cfg.Issuer, check.MaxURL); reason != "" {
		return nil, visa.NewInputError("Issuer", reason)
	}
	if len(cfg.Audiences) == 0 && len(cfg.ClientIDs) == 0 {
		return nil, visa.NewInputError("Audiences", "at least one audience or client id is required")
	}
	if cfg.JWKSURL != "" {
		if reason := check.URL(cfg.JWKSURL, check.MaxURL); reason != "" {
			return nil, visa.NewInputError("JWKSURL", reason)
		}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms()
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(defaultAlgorithms[:], a) {
			return nil, visa.NewInputError("Algorithms", fmt.Sprintf("%q is not an asymmetric signature algorithm", a))
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = DefaultJWKSMinRefresh
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	cfg.Audiences = slices.Clone(cfg.Audiences)
	cfg.ClientIDs = slices.Clone(cfg.ClientIDs)
	return &JWTVerifier{cfg: cfg, now: time.Now, jwksURL: cfg.JWKSURL}, nil
}

// tokenClaims are the claims read besides the registered ones.
type tokenClaims struct {
	Scope    string          `json:"scope"`
	Scp      json.RawMessage `json:"scp"`
	ClientID string          `json:"client_id"`
	AZP      string          `json:"azp"`
}

// invalid is a refusal of the token: 401.
func invalid(reason string) error { return fmt.Errorf("%w: %s", auth.ErrInvalidToken, reason) }

// Verify checks token and returns what it says: UserID is StoreUserID of
// its subject, Scopes its scope (or scp) claim, Expiration its exp. A
// refused token is an error wrapping auth.ErrInvalidToken whose text
// never quotes the token; keys that cannot be fetched are another error.
func (v *JWTVerifier) Verify(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	if len(token) > MaxTokenBytes {
		return nil, invalid("token too long")
	}
	tok, err := jwt.ParseSigned(token, v.cfg.Algorithms)
	if err != nil {
		return nil, invalid("not a signed JWT with an accepted algorithm")
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("not a single-signature JWT")
	}
	kid := tok.Headers[0].KeyID
	keys, err := v.keysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	var claims jwt.Claims
	var extra tokenClaims
	verified := false
	for _, k := range keys {
		if k.Algorithm != "" && k.Algorithm != tok.Headers[0].Algorithm {
			continue
		}
		if err := tok.Claims(k.Key, &claims, &extra); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalid("bad signature or unknown key")
	}
	now := v.now()
	if claims.Expiry == nil {
		return nil, invalid("no exp claim")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, Time: now}, v.cfg.Leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, invalid("token expired")
		case errors.Is(err, jwt.ErrNotValidYet):
			return nil, invalid("token not valid yet")
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return nil, invalid("wrong issuer")
		case errors.Is(err, jwt.ErrIssuedInTheFuture):
			return nil, invalid("token issued in the future")
		}
		return nil, invalid("invalid claims")
	}
	if len(v.cfg.Audiences) > 0 && !slices.ContainsFunc(v.cfg.Audiences, claims.Audience.Contains) {
		return nil, invalid("wrong audience")
	}
	if len(v.cfg.ClientIDs) > 0 {
		client := extra.ClientID
		if client == "" {
			client = extra.AZP
		}
		if !slices.Contains(v.cfg.ClientIDs, client) {
			return nil, invalid("wrong client")
		}
	}
	if claims.Subject == "" {
		return nil, invalid("no sub claim")
	}
	info := &auth.TokenInfo{UserID: StoreUserID(claims.Subject), Scopes: scopes(extra),
		Expiration: claims.Expiry.Time(), Extra: map[string]any{"iss": claims.Issuer, "sub": claims.Subject}}
	return info, nil
}

// scopes reads the scope claim (a space-separated string, RFC 9068) or
// scp (a string or an array, as some issuers write it).
func scopes(c tokenClaims) []string {
	if c.Scope != "" {
		return strings.Fields(c.Scope)
	}
	if len(c.Scp) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(c.Scp, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(c.Scp, &s) == nil {
		return strings.Fields(s)
	}
	return nil
}

// StoreUserID maps a token's subject to the store's user id: the subject
// itself when the store accepts it as an id (visible ASCII, at most 128
// bytes, no card number), else "sub-" and the base64url SHA-256 of it, so
// every subject maps to one stable, valid user.
func StoreUserID(sub string) string {
	if check.ID(sub, 128) == "" && !strings.HasPrefix(sub, "sub-") {
		return sub
	}
	sum := sha256.Sum256([]byte(sub))
	return "sub-" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// keysFor returns the keys that may have signed a token naming kid,
// fetching the key set when it is missing, stale, or lacks kid (at most
// once per MinRefresh).
func (v *JWTVerifier) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	find := func() []jose.JSONWebKey {
		if v.keys == nil {
			return nil
		}
		var out []jose.JSONWebKey
		for _, k := range v.keys.Keys {
			if (kid == "" || k.KeyID == kid) && (k.Use == "" || k.Use == "sig") && k.IsPublic() {
				out = append(out, k)
			}
		}
		return out
	}
	stale := v.keys == nil || now.Sub(v.fetched) >= v.cfg.Refresh
	found := find()
	if (stale || len(found) == 0) && (v.tried.IsZero() || now.Sub(v.tried) >= v.cfg.MinRefresh) {
		v.tried = now
		if err := v.fetch(ctx); err != nil {
			if v.keys == nil {
				return nil, err
			}
			// Keep the keys we have: the issuer may be down for a moment.
		} else {
			v.fetched = now
			found = find()
		}
	}
	if v.keys == nil {
		return nil, errors.New("the issuer's signing keys are not available yet")
	}
	if len(found) == 0 {
		return nil, invalid("bad signature or unknown key")
	}
	return found, nil
}

// fetch reads the key set (discovering its URL first if need be).
func (v *JWTVerifier) fetch(ctx context.Context) error {
	if v.jwksURL == "" {
		u, err := v.discover(ctx)
		if err != nil {
			return err
		}
		v.jwksURL = u
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, v.jwksURL, &set); err != nil {
		return fmt.Errorf("fetching the issuer's signing keys: %w", err)
	}
	v.keys = &set
	return nil
}

// discover finds the jwks_uri in the issuer's metadata: OpenID Connect
// discovery, then RFC 8414.
func (v *JWTVerifier) discover(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(v.cfg.Issuer, "/")
	var errs []error
	for _, u := range []string{base + "/.well-known/openid-configuration", wellKnown(v.cfg.Issuer, "oauth-authorization-server")} {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, u, &meta); err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.TrimSuffix(meta.Issuer, "/") != base {
			errs = append(errs, fmt.Errorf("%s names another issuer", u))
			continue
		}
		if reason := check.URL(meta.JWKSURI, check.MaxURL); reason != "" {
			errs = append(errs, fmt.Errorf("%s: jwks_uri %s", u, reason))
			continue
		}
		return meta.JWKSURI, nil
	}
	return "", fmt.Errorf("discovering the issuer's signing keys: %w", errors.Join(errs...))
}

// wellKnown inserts /.well-known/name between an issuer's host and path
// (RFC 8414 §3.1).
func wellKnown(issuer, name string) string {
	scheme, rest, _ := strings.Cut(issuer, "://")
	host, path, _ := strings.Cut(rest, "/")
	path = strings.TrimSuffix(path, "/")
	if path != "" {
		path = "/" + path
	}
	return scheme + "://" + host + "/.well-known/" + name + path
}

func (v *JWTVerifier) getJSON(ctx context.Context, u string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(data) > maxJWKSBytes {
		return fmt.Errorf("GET %s: larger than 1 MiB", u)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("GET %s: not JSON of the expected shape", u)
	}
	return nil
}
