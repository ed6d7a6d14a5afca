package sandbox

// The Auth iFrame (Visa Payment Passkey), sandbox side: docs/wire.md §7.
//
// Visa's Auth iFrame is the WebAuthn relying party of VIC: the integrator
// never sees an attestation or an assertion, only the opaque fidoBlob the
// iFrame hands back (with rpID and identifier), which VIC later redeems. The
// sandbox reproduces that with real cryptography in two faces that share one
// state (*authState):
//
//   - JSON mode (§7.3): GET {base}/vts-auth/authenticate with
//     Accept: application/json answers AUTH_READY with a fresh requestID; POST
//     of the iFrame commands CREATE_AUTH_SESSION, AUTHENTICATE and
//     CLOSE_AUTH_SESSION answers with the event the browser protocol would
//     post. For AUTHENTICATE the sandbox plays the user's device: it keeps
//     a software FIDO2 authenticator (fido.Authenticator, ES256, packed self
//     attestation) per client device id, creates or uses a real passkey, and
//     verifies the result with go-webauthn exactly as it verifies a browser.
//     The request header X-Sandbox-Auth-Outcome (CANCELLED, FAILED,
//     NOT_SUPPORTED, NOT_PERFORMED) makes the user cancel or the ceremony fail.
//   - The browser page (§7.2): GET of the same URL without the JSON Accept
//     header serves a small HTML page (static/iframe.html, iframe.js) that
//     speaks the postMessage protocol with its parent (iframe) or opener
//     (popup), only with allowlisted origins, calls JSON mode for the session,
//     fetches WebAuthn options from /vts-auth/fido/options, runs
//     navigator.credentials.create or get behind a "Continue with passkey"
//     button (a cross-origin iframe needs a user gesture), and posts the
//     credential to /vts-auth/fido/finish, which verifies it with go-webauthn
//     (cross-origin: the parent is the top origin) and returns the event the
//     page relays.
//
// Lifecycle, as seen by the server half through the authority interface:
//
//  1. AUTH_READY mints a requestID (10 min). CREATE_AUTH_SESSION binds it to
//     a device (client.id, 24 characters of [A-Za-z0-9_-]) and mints a
//     secureToken (256 random bits), a dfpSessionID and the echoed or
//     synthesized browserData.
//  2. VTS attestation options (§5.3) call IssueChallenge with the
//     secureToken: a fresh 32-byte WebAuthn challenge bound to the token,
//     amount, currency and merchant is recorded as the session's outstanding
//     challenge (a newer call replaces it) and returned inside a signed JWS
//     payload (§8.3) with an identifier ("ID-" + random) naming the passkey
//     slot of (token, device).
//  3. AUTHENTICATE presents that payload; it must verify and be the
//     session's outstanding challenge (else CHALLENGE_MISMATCH or
//     CHALLENGE_EXPIRED, which leave the session usable). Once the ceremony
//     runs, the secureToken is consumed whatever its outcome.
//  4. Success mints a fidoBlob: a compact JWE (dir + A256GCM) under a key
//     that exists only in this process, so only the sandbox can open it. It
//     lives 5 min and RedeemBlob accepts it once, for its token, identifier
//     and kind (fido-attestation after REGISTER, fido-assertion after
//     AUTHENTICATE).
//
// Passkeys live per (vProvisionedTokenID, client.id); the RP id is the host
// of the sandbox's base URL ("localhost"; an IP address cannot be an RP id).
// All times come from authDeps.now.
//
// Failure events carry requestID and error: AUTH_FAILED with
// UNKNOWN_REQUEST_ID, SESSION_EXPIRED, SESSION_CONSUMED (also for a second
// device on one requestID, or after CLOSE_AUTH_SESSION), CHALLENGE_MISMATCH,
// CHALLENGE_EXPIRED, INVALID_CLIENT_ID or CEREMONY_FAILED (verification
// failed); AUTH_CANCELLED (USER_CANCELLED), AUTH_NOT_SUPPORTED
// (PASSKEY_NOT_SUPPORTED), AUTH_NOT_PERFORMED (NOT_PERFORMED). A request
// that is not a well-formed command (bad JSON, unknown type, bad hook value)
// and bad credentials in the query string get a gateway responseStatus
// error instead (400 INVALID_REQUEST, 401 APIKEY_MISSING / APIKEY_UNKNOWN,
// 403 APP_ID_UNKNOWN).
//
// Stats: Sessions counts CREATE_AUTH_SESSIONs that made a session;
// Registrations and Assertions count verified ceremonies; BlobsMinted and
// BlobsRedeemed count fidoBlobs; Failures counts AUTHENTICATE commands (JSON
// mode or page) that did not end in AUTH_COMPLETE, whether refused before
// the ceremony or failed in it.
//
// Nothing here logs; secureTokens, fidoBlobs and api keys appear only in
// the wire messages that carry them by definition, never in errors.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
)

var _ authority = (*authState)(nil)

// Errors of the Auth half besides the shared sentinels of contract.go.
var (
	// errNoPasskey: IssueChallenge with ActionAuthenticate for a token
	// that has no passkey on the session's device.
	errNoPasskey = sandboxError("no passkey for this token on this device")
	// errBadChallengeSpec: IssueChallenge with an incomplete or malformed
	// ChallengeSpec.
	errBadChallengeSpec = sandboxError("invalid challenge spec")
)

// iFrame failure codes carried in the error member of failure events
// (docs/wire.md §7.3).
const (
	codeSessionExpired    = "SESSION_EXPIRED"
	codeUnknownRequestID  = "UNKNOWN_REQUEST_ID"
	codeSessionConsumed   = "SESSION_CONSUMED"
	codeChallengeExpired  = "CHALLENGE_EXPIRED"
	codeChallengeMismatch = "CHALLENGE_MISMATCH"
	codeInvalidClientID   = "INVALID_CLIENT_ID"
	codeUserCancelled     = "USER_CANCELLED"
	codeCeremonyFailed    = "CEREMONY_FAILED"
	codeNotSupported      = "PASSKEY_NOT_SUPPORTED"
	codeNotPerformed      = "NOT_PERFORMED"
)

// rpDisplayName is the WebAuthn relying party name shown by browsers.
const rpDisplayName = "Visa Sandbox"

// authState is the Auth iFrame half of the sandbox. It implements
// authority; every method is safe for concurrent use.
type authState struct {
	d       authDeps
	life    Lifetimes
	blobKey []byte // 32 random bytes: the fidoBlob JWE key, never leaves the process

	mu        sync.Mutex
	requests  map[string]*iframeSession // by requestID
	tokens    map[string]*iframeSession // by secureToken
	devices   map[string]*fido.Authenticator
	passkeys  map[slotKey]*passkey
	redeemed  map[string]time.Time // blob jti → blob expiry
	stats     AuthStats
	lastSweep time.Time
}

// iframeSession is one requestID: ready, then (after CREATE_AUTH_SESSION)
// a session with a secureToken, then consumed or closed.
type iframeSession struct {
	requestID    string
	readyAt      time.Time
	created      bool
	createdAt    time.Time
	secureToken  string
	dfpSessionID string
	deviceID     string
	browserData  visa.BrowserData
	consumed     bool // a ceremony ran (or the session was closed)
	closed       bool

	challenge *challenge       // outstanding, replaced by each IssueChallenge
	pending   *browserCeremony // options handed to the browser page
}

// challenge is an outstanding attestation challenge (§5.3, §8.3).
type challenge struct {
	jti        string
	action     visa.Action
	tokenID    string
	identifier string
	raw        []byte // the 32-byte WebAuthn challenge
	userID     []byte
	userName   string
	amount     string
	currency   string
	merchant   string
	popup      bool
	issuedAt   time.Time
	expiresAt  time.Time
	payload    string // the signed JWS handed out
}

type slotKey struct{ tokenID, deviceID string }

// passkey is a registered credential of one (token, device) slot.
type passkey struct {
	identifier string
	userID     []byte
	userName   string
	cred       webauthn.Credential
	createdAt  time.Time
	usedAt     time.Time // last registration or assertion
}

// newAuthority builds the Auth iFrame half from the server's dependencies.
func newAuthority(d authDeps) *authState {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("sandbox: crypto/rand failed: " + err.Error())
	}
	return &authState{
		d:        d,
		life:     d.lifetimes.withDefaults(),
		blobKey:  key,
		requests: map[string]*iframeSession{},
		tokens:   map[string]*iframeSession{},
		devices:  map[string]*fido.Authenticator{},
		passkeys: map[slotKey]*passkey{},
		redeemed: map[string]time.Time{},
	}
}

// randomID returns prefix + base64url of n random bytes.
func randomID(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sandbox: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sandbox: crypto/rand failed: " + err.Error())
	}
	return b
}

// newRequestID starts a requestID (AUTH_READY).
func (a *authState) newRequestID() string {
	now := a.d.now()
	id := randomID("REQ-", 16)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweepLocked(now)
	a.requests[id] = &iframeSession{requestID: id, readyAt: now}
	return id
}

// sweepLocked forgets sessions and redeemed blob ids long past their
// lifetime, at most once a minute. Expired sessions are kept for one more
// lifetime so that late commands get SESSION_EXPIRED, not
// UNKNOWN_REQUEST_ID.
func (a *authState) sweepLocked(now time.Time) {
	a.evictLocked(now)
	if now.Sub(a.lastSweep) < time.Minute {
		return
	}
	a.lastSweep = now
	keep := 2 * max(a.life.RequestID, a.life.SecureToken)
	for id, s := range a.requests {
		if now.Sub(s.readyAt) > keep {
			delete(a.requests, id)
			if s.secureToken != "" {
				delete(a.tokens, s.secureToken)
			}
		}
	}
	for jti, exp := range a.redeemed {
		if now.After(exp) {
			delete(a.redeemed, jti)
		}
	}
}

// expiredLocked reports whether the session's requestID or secureToken
// has outlived its lifetime.
func (a *authState) expiredLocked(s *iframeSession, now time.Time) bool {
	if !now.Before(s.readyAt.Add(a.life.RequestID)) {
		return true
	}
	return s.created && !now.Before(s.createdAt.Add(a.life.SecureToken))
}

// Session returns the live session that owns secureToken.
func (a *authState) Session(secureToken string) (AuthSession, error) {
	now := a.d.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.tokens[secureToken]
	if !ok || s.consumed || s.closed || a.expiredLocked(s, now) {
		return AuthSession{}, errSessionInvalid
	}
	return AuthSession{RequestID: s.requestID, DeviceID: s.deviceID, DFPSessionID: s.dfpSessionID, CreatedAt: s.createdAt}, nil
}

var (
	amountRe   = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)
	numericRe  = regexp.MustCompile(`^[0-9]{3}$`)
	maxTokenID = 64
)

func (spec ChallengeSpec) validate() error {
	switch {
	case spec.TokenID == "" || len(spec.TokenID) > maxTokenID:
		return fmt.Errorf("%w: TokenID must be 1..%d characters", errBadChallengeSpec, maxTokenID)
	case spec.Action != visa.ActionRegister && spec.Action != visa.ActionAuthenticate:
		return fmt.Errorf("%w: Action must be REGISTER or AUTHENTICATE", errBadChallengeSpec)
	case !amountRe.MatchString(spec.Amount):
		return fmt.Errorf("%w: Amount must be a decimal string", errBadChallengeSpec)
	case !numericRe.MatchString(spec.CurrencyNumeric):
		return fmt.Errorf("%w: CurrencyNumeric must be an ISO 4217 numeric code", errBadChallengeSpec)
	}
	return nil
}

// payloadClaims are the claims of authenticationContext.payload (§8.3).
type payloadClaims struct {
	Action       string      `json:"action"`
	Identifier   string      `json:"identifier"`
	TokenID      string      `json:"vProvisionedTokenID"`
	Challenge    string      `json:"challenge"`
	RP           payloadRP   `json:"rp"`
	User         payloadUser `json:"user"`
	Amount       string      `json:"amount"`
	CurrencyCode string      `json:"currencyCode"`
	MerchantName string      `json:"merchantName"`
	IssuedAt     int64       `json:"iat"`
	ExpiresAt    int64       `json:"exp"`
	JTI          string      `json:"jti"`
}

type payloadRP struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type payloadUser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// IssueChallenge records spec as the session's outstanding challenge and
// returns the authenticationContext of the attestation options response.
func (a *authState) IssueChallenge(secureToken string, spec ChallengeSpec) (visa.AuthenticationContext, error) {
	if err := spec.validate(); err != nil {
		return visa.AuthenticationContext{}, err
	}
	now := a.d.now()
	rpID, base, err := a.rp()
	if err != nil {
		return visa.AuthenticationContext{}, err
	}

	a.mu.Lock()
	s, ok := a.tokens[secureToken]
	if !ok || s.consumed || s.closed || a.expiredLocked(s, now) {
		a.mu.Unlock()
		return visa.AuthenticationContext{}, errSessionInvalid
	}
	deviceID := s.deviceID
	pk := a.passkeys[slotKey{spec.TokenID, deviceID}]
	c := &challenge{
		jti:       randomID("", 16),
		action:    spec.Action,
		tokenID:   spec.TokenID,
		raw:       randomBytes(32),
		amount:    spec.Amount,
		currency:  spec.CurrencyNumeric,
		merchant:  spec.MerchantName,
		popup:     spec.PopupRequested,
		issuedAt:  now,
		expiresAt: now.Add(a.life.Challenge),
		userName:  spec.UserEmail,
	}
	if c.userName == "" {
		c.userName = "token-" + spec.TokenID
	}
	switch {
	case spec.Action == visa.ActionAuthenticate && pk == nil:
		a.mu.Unlock()
		return visa.AuthenticationContext{}, errNoPasskey
	case spec.Action == visa.ActionAuthenticate:
		c.identifier, c.userID, c.userName = pk.identifier, pk.userID, pk.userName
	case pk != nil: // re-registration keeps the user handle, gets a new slot identifier
		c.identifier, c.userID = randomID("ID-", 16), pk.userID
	default:
		c.identifier, c.userID = randomID("ID-", 16), randomBytes(32)
	}
	a.mu.Unlock()

	claims := payloadClaims{
		Action:       string(c.action),
		Identifier:   c.identifier,
		TokenID:      c.tokenID,
		Challenge:    base64.RawURLEncoding.EncodeToString(c.raw),
		RP:           payloadRP{ID: rpID, Name: rpDisplayName},
		User:         payloadUser{ID: base64.RawURLEncoding.EncodeToString(c.userID), Name: c.userName, DisplayName: c.userName},
		Amount:       c.amount,
		CurrencyCode: c.currency,
		MerchantName: c.merchant,
		IssuedAt:     now.Unix(),
		ExpiresAt:    c.expiresAt.Unix(),
		JTI:          c.jti,
	}
	payload, err := a.d.sign(claims)
	if err != nil {
		return visa.AuthenticationContext{}, fmt.Errorf("sandbox: sign attestation payload: %w", err)
	}
	c.payload = payload

	a.mu.Lock()
	// The session may have been consumed or closed while signing.
	if s.consumed || s.closed || a.expiredLocked(s, a.d.now()) {
		a.mu.Unlock()
		return visa.AuthenticationContext{}, errSessionInvalid
	}
	s.challenge = c
	s.pending = nil
	a.mu.Unlock()

	return visa.AuthenticationContext{
		Action:       c.action,
		Identifier:   c.identifier,
		Payload:      payload,
		Endpoint:     base + "/vts-auth/fido",
		PlatformType: "WEB",
		AuthenticationPreferencesEnabled: &visa.AuthenticationPreferences{
			ResponseMode: "IFRAME",
			ResponseType: "FIDO_BLOB",
		},
	}, nil
}

// HasPasskey reports whether deviceID holds a passkey for tokenID.
func (a *authState) HasPasskey(tokenID, deviceID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.passkeys[slotKey{tokenID, deviceID}] != nil
}

// ForgetToken drops every passkey and outstanding challenge of tokenID.
// The software authenticators keep their keys, as a real device would;
// the relying party no longer knows them.
func (a *authState) ForgetToken(tokenID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.passkeys {
		if k.tokenID == tokenID {
			delete(a.passkeys, k)
		}
	}
	for _, s := range a.requests {
		if s.challenge != nil && s.challenge.tokenID == tokenID {
			s.challenge, s.pending = nil, nil
		}
	}
}

// Stats reports counts for the inspection API.
func (a *authState) Stats() AuthStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// errRP is returned when the base URL has no usable host name.
var errRP = errors.New("sandbox: base URL has no host name usable as a WebAuthn RP id")
