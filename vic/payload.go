package vic

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vicgo/visa"
)

// ErrPayloadInvalid is matched by every signedPayload verification
// failure: bad signature, algorithm not allowed, expired, malformed, or
// claims that do not fit the request (a *ClaimError).
var ErrPayloadInvalid = errors.New("vic: signedPayload invalid")

// The claim mismatches a *ClaimError reports; each also matches
// ErrPayloadInvalid.
var (
	// ErrInstructionMismatch: the payload's instructionId is missing or
	// names another instruction than the one asked for.
	ErrInstructionMismatch = errors.New("vic: signedPayload is not for the requested instruction")
	// ErrTransactionMismatch: a credential's transactionReferenceId is
	// missing, repeated, or names a transaction the request did not.
	ErrTransactionMismatch = errors.New("vic: signedPayload holds a credential for a transaction not requested")
	// ErrIssuerMismatch: iss is not the one WithIssuer requires.
	ErrIssuerMismatch = errors.New("vic: signedPayload issuer is not the expected one")
	// ErrAudienceMismatch: aud does not hold the one WithAudience requires.
	ErrAudienceMismatch = errors.New("vic: signedPayload audience is not this client")
)

// ClaimError reports a signedPayload, correctly signed or not, whose claims
// do not fit what was asked: a credential for another instruction or
// another transaction is refused even when Visa's key signed it, because a
// replayed or misrouted payload must never be used to pay. It matches
// ErrPayloadInvalid and the sentinel of its claim (ErrInstructionMismatch,
// ErrTransactionMismatch, ErrIssuerMismatch, ErrAudienceMismatch). Its
// message names the claim, never a credential.
type ClaimError struct {
	// Claim is the wire name: "instructionId", "transactionReferenceId",
	// "iss" or "aud".
	Claim string
	// Reason says what is wrong, e.g. "is missing".
	Reason string

	kind error
}

// Error returns e.g. "vic: signedPayload claim instructionId is missing".
func (e *ClaimError) Error() string {
	return "vic: signedPayload claim " + e.Claim + " " + e.Reason
}

// Unwrap returns ErrPayloadInvalid and the claim's sentinel.
func (e *ClaimError) Unwrap() []error { return []error{ErrPayloadInvalid, e.kind} }

// defaultAlgorithms is the allow-list of DefaultAlgorithms, held in an
// array so that no caller can change it.
var defaultAlgorithms = [...]string{"RS256", "PS256", "ES256"}

// DefaultAlgorithms returns the JWS algorithms a Verifier accepts unless
// told otherwise (docs/wire.md §8), as a fresh copy: changing it changes
// nothing else. "none" and HMAC algorithms are never accepted: an HMAC
// keyed with a public key is the classic algorithm-confusion forgery.
func DefaultAlgorithms() []string { return append([]string(nil), defaultAlgorithms[:]...) }

// maxPayloadBytes bounds a signedPayload before it is parsed.
const maxPayloadBytes = 64 << 10

// Verifier checks the signature and lifetime of a credentials
// signedPayload (docs/wire.md §8) and decodes it into Credentials.
type Verifier struct {
	keys     KeySource
	algs     []string
	leeway   time.Duration
	now      func() time.Time
	issuer   string
	audience string
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier) error

// WithAlgorithms sets the JWS algorithm allow-list; only RS256, RS384,
// RS512, PS256, PS384, PS512, ES256, ES384 and ES512 may be named.
func WithAlgorithms(algs ...string) VerifierOption {
	return func(v *Verifier) error {
		if len(algs) == 0 {
			return visa.NewInputError("Algorithms", "is empty")
		}
		for _, a := range algs {
			switch a {
			case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512":
			default:
				return visa.NewInputError("Algorithms", fmt.Sprintf("%q is not an asymmetric JWS algorithm", a))
			}
		}
		v.algs = append([]string(nil), algs...)
		return nil
	}
}

// WithLeeway sets the clock leeway for exp and iat (default 60 s).
func WithLeeway(d time.Duration) VerifierOption {
	return func(v *Verifier) error {
		if d < 0 || d > 10*time.Minute {
			return visa.NewInputError("Leeway", "must be between 0 and 10 minutes")
		}
		v.leeway = d
		return nil
	}
}

// WithIssuer makes the Verifier require the payload's iss to be iss.
// Visa's issuer is not published (docs/wire.md §8.1); the local sandbox's is
// "vic-sandbox" (sandbox.Issuer), and its Config sets it.
func WithIssuer(iss string) VerifierOption {
	return func(v *Verifier) error {
		if iss == "" {
			return visa.NewInputError("Issuer", "is empty")
		}
		v.issuer = iss
		return nil
	}
}

// WithAudience makes the Verifier require the payload's aud to hold aud,
// normally the VIC external client id, which is what the local sandbox
// issues. Visa's audience is not published (docs/wire.md §8.1), so it is
// required only when configured (Config.SignedPayload.Audience).
func WithAudience(aud string) VerifierOption {
	return func(v *Verifier) error {
		if aud == "" {
			return visa.NewInputError("Audience", "is empty")
		}
		v.audience = aud
		return nil
	}
}

// WithVerifierClock sets the clock (for tests).
func WithVerifierClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) error { v.now = now; return nil }
}

// NewVerifier returns a Verifier that takes its keys from keys.
func NewVerifier(keys KeySource, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil {
		return nil, visa.NewInputError("KeySource", "is required")
	}
	v := &Verifier{keys: keys, algs: defaultAlgorithms[:], leeway: time.Minute, now: time.Now}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// payloadClaims is the claim set of docs/wire.md §8.1. It is a struct, so
// golang-jwt decodes it with json.Unmarshal (no WithJSONNumber: the one
// number that must stay exact, dynamicDataExpiration, is a json.Number
// field), which refuses anything after the claims object.
type payloadClaims struct {
	jwt.RegisteredClaims
	InstructionID     string             `json:"instructionId"`
	ClientReferenceID string             `json:"clientReferenceId"`
	DynamicData       []dynamicDataClaim `json:"dynamicData"`
}

// claimsPool recycles decoded claim sets: json.Unmarshal decodes the
// dynamicData array into the slice the set already has, so a pooled set
// grows no slice. A set goes back cleared (nothing of one payload meets the
// next) and without its slice if that grew past maxTransactions.
var claimsPool = sync.Pool{New: func() any { return new(payloadClaims) }}

func getClaims() *payloadClaims { return claimsPool.Get().(*payloadClaims) }

// putClaims clears p and returns it to the pool. Nothing decoded from p
// may alias it: credentials copies what it keeps.
func putClaims(p *payloadClaims) {
	dd := p.DynamicData[:cap(p.DynamicData)]
	clear(dd)
	if cap(dd) > maxTransactions {
		dd = nil
	}
	*p = payloadClaims{DynamicData: dd[:0]}
	claimsPool.Put(p)
}

type tokenClaim struct {
	PaymentToken         string `json:"paymentToken"`
	TokenExpirationMonth string `json:"tokenExpirationMonth"`
	TokenExpirationYear  string `json:"tokenExpirationYear"`
}

type dynamicDataClaim struct {
	DynamicDataID          string          `json:"dynamicDataId"`
	DynamicDataValue       string          `json:"dynamicDataValue"`
	DynamicDataExpiration  json.Number     `json:"dynamicDataExpiration"`
	TransactionReferenceID string          `json:"transactionReferenceId"`
	PaymentToken           string          `json:"paymentToken"`
	TokenExpirationMonth   string          `json:"tokenExpirationMonth"`
	TokenExpirationYear    string          `json:"tokenExpirationYear"`
	Token                  *tokenClaim     `json:"token"`
	Extra                  json.RawMessage `json:"-"`
}

// Verify checks signedPayload's signature against the key source, its
// algorithm against the allow-list and its exp/iat with the leeway, then
// decodes it. The claims segment must be one JSON object: anything after
// it (a second object, stray bytes) is refused, signed or not. Every
// failure matches ErrPayloadInvalid (and ErrUnknownKey when no key
// matches); no error contains the payload.
func (v *Verifier) Verify(ctx context.Context, signedPayload string) (*Credentials, error) {
	if len(signedPayload) > maxPayloadBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPayloadInvalid, maxPayloadBytes)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(v.algs),
		jwt.WithLeeway(v.leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
	)
	claims := getClaims()
	defer putClaims(claims)
	_, err := parser.ParseWithClaims(signedPayload, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := v.keys.Key(ctx, kid)
		if err != nil {
			return nil, err
		}
		// The key type must fit the algorithm family, so an RSA key can
		// never be used under an EC name and vice versa.
		switch t.Method.(type) {
		case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
			if _, ok := key.(*rsa.PublicKey); !ok {
				return nil, errors.New("key is not RSA")
			}
		case *jwt.SigningMethodECDSA:
			if _, ok := key.(*ecdsa.PublicKey); !ok {
				return nil, errors.New("key is not ECDSA")
			}
		default:
			return nil, errors.New("algorithm not allowed")
		}
		return key, nil
	})
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return nil, fmt.Errorf("%w: %w", ErrPayloadInvalid, ErrUnknownKey)
		}
		if errors.Is(err, ErrKeysUnavailable) {
			// Not the payload's fault: the keys could not be had. The
			// cause (and visa.ErrNetwork, when it is one) stays reachable
			// through golang-jwt's wrapping.
			return nil, fmt.Errorf("%w: %w", ErrPayloadInvalid, err)
		}
		return nil, fmt.Errorf("%w: %s", ErrPayloadInvalid, jwtReason(err))
	}
	if err := v.checkIssuerAudience(claims); err != nil {
		return nil, err
	}
	c, err := claims.credentials(true)
	if err != nil {
		return nil, err
	}
	// dynamicDataExpiration is checked like exp, with the same leeway.
	now := v.now()
	for _, d := range c.DynamicData {
		if !d.Expiration.IsZero() && now.After(d.Expiration.Add(v.leeway)) {
			return nil, fmt.Errorf("%w: dynamic data expired", ErrPayloadInvalid)
		}
	}
	return c, nil
}

func (v *Verifier) checkIssuerAudience(c *payloadClaims) error {
	switch {
	case v.issuer == "":
	case c.Issuer == "":
		return &ClaimError{Claim: "iss", Reason: "is missing", kind: ErrIssuerMismatch}
	case c.Issuer != v.issuer:
		return &ClaimError{Claim: "iss", Reason: "is not the expected issuer", kind: ErrIssuerMismatch}
	}
	switch {
	case v.audience == "":
	case len(c.Audience) == 0:
		return &ClaimError{Claim: "aud", Reason: "is missing", kind: ErrAudienceMismatch}
	case !slices.Contains(c.Audience, v.audience):
		return &ClaimError{Claim: "aud", Reason: "does not name this client", kind: ErrAudienceMismatch}
	}
	return nil
}

// checkRequest refuses credentials that are not for what was asked: the
// payload's instructionId must be the request's, and every credential's
// transactionReferenceId one the request named (txs), once. Credentials
// for fewer transactions than asked are not refused here; the caller
// matches them by reference.
func (c *Credentials) checkRequest(instructionID string, txs []wireTransactionData) error {
	switch {
	case c.InstructionID == "":
		return &ClaimError{Claim: "instructionId", Reason: "is missing", kind: ErrInstructionMismatch}
	case c.InstructionID != instructionID:
		return &ClaimError{Claim: "instructionId", Reason: "names another instruction", kind: ErrInstructionMismatch}
	}
	for i, d := range c.DynamicData {
		ref := d.TransactionReferenceID
		reason := ""
		switch {
		case ref == "":
			reason = "is missing"
		case !slices.ContainsFunc(txs, func(t wireTransactionData) bool { return t.TransactionReferenceID == ref }):
			reason = "names a transaction that was not requested"
		// Those before are requested and distinct, so at most
		// maxTransactions of them: a scan, not a map.
		case slices.ContainsFunc(c.DynamicData[:i], func(e Credential) bool { return e.TransactionReferenceID == ref }):
			reason = "is repeated"
		default:
			continue
		}
		return &ClaimError{Claim: "dynamicData[" + strconv.Itoa(i) + "].transactionReferenceId", Reason: reason, kind: ErrTransactionMismatch}
	}
	return nil
}

// jwtReason turns a golang-jwt error into a short reason without token
// material.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature invalid or algorithm not allowed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable"
	}
	return "invalid"
}

// DecodeCredentialsUnverified decodes a signedPayload WITHOUT checking its
// signature or lifetime, for callers that have no verification key (as
// Visa's Python reference agent does). The result has Verified false.
// Anyone can forge such a payload; prefer Client.RetrieveCredentials with a
// key source.
func DecodeCredentialsUnverified(signedPayload string) (*Credentials, error) {
	if len(signedPayload) > maxPayloadBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPayloadInvalid, maxPayloadBytes)
	}
	claims := getClaims()
	defer putClaims(claims)
	if _, _, err := jwt.NewParser().ParseUnverified(signedPayload, claims); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPayloadInvalid, jwtReason(err))
	}
	return claims.credentials(false)
}

// credentials converts verified (or explicitly unverified) claims.
func (p *payloadClaims) credentials(verified bool) (*Credentials, error) {
	if len(p.DynamicData) == 0 {
		return nil, fmt.Errorf("%w: no dynamicData", ErrPayloadInvalid)
	}
	c := &Credentials{
		Verified:          verified,
		InstructionID:     p.InstructionID,
		ClientReferenceID: p.ClientReferenceID,
	}
	if p.ExpiresAt != nil {
		c.ExpiresAt = p.ExpiresAt.Time
	}
	c.DynamicData = make([]Credential, len(p.DynamicData))
	for i, d := range p.DynamicData {
		cred, err := d.credential()
		if err != nil {
			return nil, fmt.Errorf("%w: dynamicData[%d]: %s", ErrPayloadInvalid, i, err)
		}
		c.DynamicData[i] = cred
	}
	return c, nil
}

// months are the two-digit months, "01" to "12", one after the other.
const months = "010203040506070809101112"

func (d dynamicDataClaim) credential() (Credential, error) {
	tok, month, year := d.PaymentToken, d.TokenExpirationMonth, d.TokenExpirationYear
	if d.Token != nil { // the nested form (S2) fills what the flat form lacks
		if tok == "" {
			tok = d.Token.PaymentToken
		}
		if month == "" {
			month = d.Token.TokenExpirationMonth
		}
		if year == "" {
			year = d.Token.TokenExpirationYear
		}
	}
	pan, err := visa.ParsePAN(tok)
	if err != nil {
		return Credential{}, errors.New("paymentToken is not a valid token number")
	}
	if d.DynamicDataValue == "" {
		return Credential{}, errors.New("dynamicDataValue is missing")
	}
	m, err := strconv.Atoi(month)
	if err != nil || m < 1 || m > 12 {
		return Credential{}, errors.New("tokenExpirationMonth is invalid")
	}
	y, err := strconv.Atoi(year)
	if err != nil || y < 2000 || y > 2200 {
		return Credential{}, errors.New("tokenExpirationYear is invalid")
	}
	if len(year) != 4 { // "+2029", "02029": written as "2029"
		year = strconv.Itoa(y)
	}
	cred := Credential{
		PaymentToken:           pan,
		DynamicDataValue:       visa.NewSecret(d.DynamicDataValue),
		TokenExpirationMonth:   months[2*m-2 : 2*m],
		TokenExpirationYear:    year,
		DynamicDataID:          d.DynamicDataID,
		TransactionReferenceID: d.TransactionReferenceID,
	}
	if s := strings.TrimSpace(d.DynamicDataExpiration.String()); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Credential{}, errors.New("dynamicDataExpiration is invalid")
		}
		cred.Expiration = time.Unix(n, 0).UTC()
	}
	return cred, nil
}
