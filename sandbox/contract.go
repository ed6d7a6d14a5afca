package sandbox

// This file is the contract between the two halves of the sandbox:
//
//   - the server half (server.go, vts*.go, vic*.go, merchant*.go, faults*.go,
//     inspect*.go, ...): serving, X-Pay, MLE, VTS and VIC state, the merchant
//     authorizer, fault injection, inspection;
//   - the Auth iFrame half (auth*.go, iframe*.go, page*.go, webauthn*.go):
//     sessions, secureTokens, attestation challenges, passkeys per
//     (token, device), the software authenticator of JSON mode, the browser
//     page, and the fidoBlobs it mints and later redeems.
//
// The server half builds the Auth half with newAuthority(authDeps) and uses
// it only through the authority interface below.

import (
	"net/http"
	"time"

	"github.com/vicgo/visa"
)

// authority is the Auth iFrame's state as the VTS and VIC handlers see it.
// *authState (Auth half) implements it; every method is safe for
// concurrent use and uses authDeps.now for time.
type authority interface {
	// Routes registers the iFrame endpoints (/vts-auth/...) on mux: the
	// JSON mode of docs/wire.md §7.3 and the browser page of §7.2.
	Routes(mux *http.ServeMux)

	// Session returns the live session that owns secureToken. It fails
	// with errSessionInvalid when the token is unknown, expired or already
	// consumed by a ceremony. Any number of VTS calls may present a live
	// token (docs/wire.md §7.3).
	Session(secureToken string) (AuthSession, error)

	// IssueChallenge records spec as the session's outstanding challenge,
	// replacing any earlier one, and returns the authenticationContext of
	// the attestation options response (action, identifier, payload,
	// endpoint, platformType, authenticationPreferencesEnabled). The
	// payload is a signed JWT (§8.3) carrying a real WebAuthn challenge
	// bound to the token, amount, currency and merchant. For
	// ActionAuthenticate the spec's token must have a passkey on the
	// session's device; the caller decides the action with HasPasskey.
	IssueChallenge(secureToken string, spec ChallengeSpec) (visa.AuthenticationContext, error)

	// HasPasskey reports whether deviceID holds a passkey for tokenID.
	HasPasskey(tokenID, deviceID string) bool

	// RedeemBlob opens a fidoBlob minted by a ceremony, checks that it is
	// of the wanted kind, for want.TokenID (and want.Identifier when set),
	// unexpired and not yet redeemed, marks it redeemed and returns its
	// claims. Failures are errAssuranceInvalid (wrapped with a reason).
	RedeemBlob(blob string, want BlobWant) (BlobClaims, error)

	// ForgetToken drops every passkey and outstanding challenge of a
	// deleted token.
	ForgetToken(tokenID string)

	// Stats reports counts for the inspection API.
	Stats() AuthStats
}

// AuthSession is what VTS handlers learn about an iFrame session.
type AuthSession struct {
	RequestID    string
	DeviceID     string // client.id of CREATE_AUTH_SESSION (clientDeviceId)
	DFPSessionID string
	CreatedAt    time.Time
}

// ChallengeSpec is what an attestation options call asks the iFrame to
// prove (docs/wire.md §5.3).
type ChallengeSpec struct {
	TokenID string
	Action  visa.Action
	// Amount is the decimal authenticationAmount ("0.00" at onboarding).
	Amount string
	// CurrencyNumeric is the ISO 4217 numeric currencyCode ("840").
	CurrencyNumeric string
	// MerchantName is the decoded dynamicData.merchantIdentifier.merchantName.
	MerchantName string
	// UserEmail is the decrypted consumer email (WebAuthn user name).
	UserEmail string
	// PopupRequested mirrors authenticationPreferencesRequested.
	PopupRequested bool
}

// Blob kinds (the "typ" claim of §8.3).
const (
	BlobAttestation = "fido-attestation" // from a REGISTER ceremony
	BlobAssertion   = "fido-assertion"   // from an AUTHENTICATE ceremony
)

// BlobWant says what a VIC call expects of a fidoBlob.
type BlobWant struct {
	TokenID    string
	Identifier string // methodResults.identifier; empty = not checked
	// Kinds lists acceptable kinds: BlobAttestation and/or BlobAssertion.
	Kinds []string
}

// BlobClaims is what a redeemed fidoBlob proves.
type BlobClaims struct {
	Kind            string
	Identifier      string
	TokenID         string
	DeviceID        string
	Amount          string // authenticated decimal amount
	CurrencyNumeric string
	MerchantName    string
	IssuedAt        time.Time
}

// AuthStats counts iFrame activity for inspection.
type AuthStats struct {
	Sessions      int
	Registrations int
	Assertions    int
	BlobsMinted   int
	BlobsRedeemed int
	Failures      int
}

// authDeps is what the Auth half needs from the server half.
type authDeps struct {
	now func() time.Time
	// baseURL returns the sandbox's base URL (scheme://host:port); the
	// WebAuthn RP id is its host name ("localhost").
	baseURL func() string
	// sign returns a compact RS256 JWS of claims, signed with the key
	// published at /.well-known/jwks.json (kid in the header).
	sign func(claims any) (string, error)
	// verify checks a JWS made by sign (signature, alg, exp) and decodes
	// its claims into dst.
	verify func(token string, dst any) error
	// apiKeyOK reports whether key is the sandbox's iFrame or VTS api key (the
	// iFrame URL carries apikey/apiKey and clientAppID/externalAppId).
	apiKeyOK func(key string) bool
	// appIDOK reports whether id is the sandbox's client app id.
	appIDOK func(id string) bool
	// lifetimes of sessions (secureToken, requestID), challenges and blobs.
	lifetimes Lifetimes
	// writeGatewayError writes a plaintext responseStatus error (§10.1)
	// with X-CORRELATION-ID already set by the server's middleware.
	writeGatewayError func(w http.ResponseWriter, status int, code, message string)
	// allowedOrigins lists origins allowed to post commands to the
	// browser page; empty means any http://localhost:* origin.
	allowedOrigins []string
	// maxRetained bounds finished sessions and idle passkeys by count
	// (WithMaxRetained); retention is how long a passkey counts as in use
	// after its last ceremony. 0 turns the count bound off.
	maxRetained int
	retention   time.Duration
}

// Lifetimes are the sandbox's durations (docs/wire.md §11.3); tests
// shorten them. Zero fields take the defaults in DefaultLifetimes.
type Lifetimes struct {
	Enrollment  time.Duration // vPanEnrollmentID: 5 min
	RequestID   time.Duration // iFrame requestID: 10 min
	SecureToken time.Duration // secureToken: 10 min
	Challenge   time.Duration // attestation payload: 5 min
	Blob        time.Duration // fidoBlob: 5 min
	OTP         time.Duration // OTP code: 5 min
	Instruction time.Duration // purchase instruction: 5 min
	Credential  time.Duration // dynamicDataValue: 15 min
}

// DefaultLifetimes are the durations of docs/wire.md §11.3.
var DefaultLifetimes = Lifetimes{
	Enrollment:  5 * time.Minute,
	RequestID:   10 * time.Minute,
	SecureToken: 10 * time.Minute,
	Challenge:   5 * time.Minute,
	Blob:        5 * time.Minute,
	OTP:         5 * time.Minute,
	Instruction: 5 * time.Minute,
	Credential:  15 * time.Minute,
}

// withDefaults fills zero fields from DefaultLifetimes.
func (l Lifetimes) withDefaults() Lifetimes {
	d := DefaultLifetimes
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.Enrollment, d.Enrollment)
	set(&l.RequestID, d.RequestID)
	set(&l.SecureToken, d.SecureToken)
	set(&l.Challenge, d.Challenge)
	set(&l.Blob, d.Blob)
	set(&l.OTP, d.OTP)
	set(&l.Instruction, d.Instruction)
	set(&l.Credential, d.Credential)
	return l
}

// Sentinel errors shared by both halves; handlers map them to the wire
// codes of docs/wire.md §10.1 (sessionInvalid, ASSURANCE_INVALID).
var (
	errSessionInvalid   = sandboxError("session invalid")
	errAssuranceInvalid = sandboxError("assurance invalid")
)

type sandboxError string

func (e sandboxError) Error() string { return "sandbox: " + string(e) }
