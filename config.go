package visa

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"
)

// Environment names a Visa environment. It selects the default base URLs of
// the three Visa surfaces (VIC, VTS and the Auth iFrame).
type Environment string

const (
	// Sandbox is Visa's developer sandbox (sandbox.api.visa.com,
	// cert.api.visa.com and sbx.vts.auth.visa.com).
	Sandbox Environment = "sandbox"
	// Production is Visa's production environment. Its hosts are not
	// published in the sources this SDK was written from, so a production
	// Config must set VICBaseURL, VTSBaseURL and AuthBaseURL explicitly.
	Production Environment = "production"
)

// Default base URLs of Visa's sandbox environment (docs/wire.md §1).
const (
	SandboxVICBaseURL  = "https://sandbox.api.visa.com"
	SandboxVTSBaseURL  = "https://cert.api.visa.com"
	SandboxAuthBaseURL = "https://sbx.vts.auth.visa.com"
)

// MLE content encryption algorithms (docs/wire.md §2.2).
const (
	MLEEncA128GCM = "A128GCM"
	MLEEncA256GCM = "A256GCM"
)

// Config holds everything a client needs to talk to Visa: credentials for
// each product, base URLs and HTTP behaviour. One Config builds every service
// client (vts.New(cfg), vic.New(cfg), ...). A Config is a plain value: the
// clients copy what they need and never modify it.
//
// Secrets are held in redacting types, so printing or logging a Config never
// shows them.
type Config struct {
	// Environment selects default base URLs. Empty means Sandbox.
	Environment Environment
	// VICBaseURL, VTSBaseURL and AuthBaseURL override the environment's
	// base URLs (scheme and host, optionally a path prefix; no query).
	// Plain http is accepted only for loopback hosts (localhost,
	// 127.0.0.1, ::1), as used by the local sandbox.
	VICBaseURL  string
	VTSBaseURL  string
	AuthBaseURL string

	// VIC holds the Visa Intelligent Commerce credentials.
	VIC VICCredentials
	// VTS holds the Visa Token Service (token requestor) credentials.
	VTS VTSCredentials
	// TLS holds optional trust roots and the mutual-TLS client identity.
	TLS TLSConfig
	// SignedPayload configures how the credentials signedPayload JWT is
	// verified (docs/wire.md §8.2).
	SignedPayload SignedPayloadConfig

	// HTTPClient is the client to send requests with. It is copied, never
	// modified. Nil means a client with production timeouts and TLS 1.2
	// as the minimum version.
	HTTPClient *http.Client
	// Timeout bounds one whole call, retries included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Retry is the retry policy. The zero value means DefaultRetryPolicy.
	Retry RetryPolicy
	// Logger receives debug records per attempt (method, redacted URL,
	// status, duration, attempt, correlation id); never a body or a
	// secret. Nil means no logging.
	Logger *slog.Logger
	// UserAgentSuffix is appended to the SDK's User-Agent header, e.g.
	// "acme-agent/1.4".
	UserAgentSuffix string
	// MaxResponseBytes bounds every response body read. Zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Observer is told about every operation and attempt (see Observer).
	// Nil means none.
	Observer Observer `json:"-"`
	// WrapTransport, when set, wraps the RoundTripper the SDK builds
	// (after it has applied TLS: roots, mutual TLS, minimum version), for
	// instrumentation such as otelhttp. It is applied once per client.
	WrapTransport func(http.RoundTripper) http.RoundTripper `json:"-"`
}

// VICCredentials are the Visa Intelligent Commerce credentials
// (docs/wire.md §11.1).
type VICCredentials struct {
	// APIKey goes in the query string of every VIC call (apikey=...).
	APIKey Secret
	// SharedSecret keys the X-Pay-Token HMAC.
	SharedSecret Secret
	// MLEKeyID identifies the client's MLE key pair (header keyId and JWE kid).
	MLEKeyID string
	// MLEServerCertPEM is Visa's MLE server certificate (or RSA public key)
	// in PEM; requests are encrypted to it.
	MLEServerCertPEM []byte
	// MLEClientPrivateKeyPEM is the client's MLE private key in PEM
	// (PKCS#1 or PKCS#8); responses are decrypted with it.
	MLEClientPrivateKeyPEM Secret
	// MLEEnc is the JWE content encryption of requests: MLEEncA128GCM
	// (the default) or MLEEncA256GCM.
	MLEEnc string
	// MLEKeys are older MLE keys still live during a rotation (at most
	// MaxMLEKeys-1): responses encrypted for their key ids are decrypted
	// with their private keys. Requests use the current key above.
	MLEKeys []MLEKey
	// ExternalClientID and ExternalAppID fill the "client" object of every
	// VIC call (docs/wire.md §6.1).
	ExternalClientID string
	ExternalAppID    string
	// Authorization and RelationshipID are optional members of "client".
	Authorization  string
	RelationshipID string
}

// VTSCredentials are the Visa Token Service token-requestor credentials
// (docs/wire.md §11.1). The Auth iFrame uses ClientAppID and an api key
// too (AuthFrameKey).
type VTSCredentials struct {
	// APIKey goes in the query string of every VTS call, and of the Auth
	// iFrame URL unless AuthFrameAPIKey is set.
	APIKey Secret
	// AuthFrameAPIKey, when set, is the api key of the Auth iFrame URL
	// instead of APIKey. Visa's iFrame takes its key in the URL, so the
	// cardholder's browser sees it (authframe.Bridge serves it in the page):
	// it is not a secret, and a key Visa scopes to the iFrame keeps the VTS
	// api key out of every browser.
	AuthFrameAPIKey string
	// SharedSecret keys the X-Pay-Token HMAC.
	SharedSecret Secret
	// ClientAppID identifies the integrator's application.
	ClientAppID string
	// ClientWalletAccountID identifies the token requestor's wallet account.
	ClientWalletAccountID string
	// EncAPIKey is the encryption API key: the kid of field-level JWEs
	// (encPaymentInstrument and friends). It is not the MLE key id.
	EncAPIKey Secret
	// EncSharedSecret keys field-level JWE (the key is its SHA-256).
	EncSharedSecret Secret
	// HashSecret keys the email address hash (docs/wire.md §2.4).
	HashSecret Secret
}

// AuthFrameKey returns the api key of the Auth iFrame URL:
// AuthFrameAPIKey when set, else the VTS api key.
func (v VTSCredentials) AuthFrameKey() Secret {
	if v.AuthFrameAPIKey != "" {
		return NewSecret(v.AuthFrameAPIKey)
	}
	return v.APIKey
}

// TLSConfig holds optional trust roots and a mutual-TLS client identity.
type TLSConfig struct {
	// RootCAsPEM, when set, replaces the system roots (for example with the
	// local sandbox's CA).
	RootCAsPEM []byte
	// ClientCertPEM and ClientKeyPEM are the mutual-TLS client identity.
	ClientCertPEM []byte
	ClientKeyPEM  Secret
	// UserID and Password are Visa's two-way-SSL basic credentials, sent
	// as HTTP basic authentication when set.
	UserID   string
	Password Secret
	// MinVersion is the minimum TLS version; zero means TLS 1.2. Values
	// below TLS 1.2 are refused by Validate.
	MinVersion uint16
}

// SignedPayloadConfig says how the credentials signedPayload is verified.
type SignedPayloadConfig struct {
	// JWKSURL is fetched (and cached) for verification keys.
	JWKSURL string
	// KeysPEM holds static verification keys or certificates in PEM,
	// used instead of, or besides, the JWKS.
	KeysPEM []byte
	// Algorithms is the allow-list of JWS algorithms; empty means
	// RS256, PS256 and ES256. "none" and HMAC algorithms are never allowed.
	Algorithms []string
	// Leeway is the clock leeway for exp and iat; zero means 60 s.
	Leeway time.Duration
	// Issuer and Audience, when set, must be the payload's iss and one of
	// its aud values. Visa's values are not published (docs/wire.md §8.1),
	// so neither is required unless set; the local sandbox issues
	// "vic-sandbox" for the external client id, and its Config sets both.
	Issuer   string
	Audience string
}

// RetryPolicy says when and how a failed call is retried. Reads and calls
// marked idempotent retry on 429, 5xx and network errors; other writes
// retry only when the request provably never reached the server.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included.
	// Zero means 3; 1 disables retries.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the jittered exponential backoff.
	// Zero means 200 ms and 5 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After; a longer one ends the
	// call with the error instead of waiting. Zero means 30 s.
	MaxRetryAfter time.Duration
}

// Defaults used where a Config field is zero.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxAttempts      = 3
	DefaultMinBackoff       = 200 * time.Millisecond
	DefaultMaxBackoff       = 5 * time.Second
	DefaultMaxRetryAfter    = 30 * time.Second
)

// WithDefaults returns the policy with every zero field set to its default.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = DefaultMinBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = p.MinBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// BaseURLs returns the VIC, VTS and Auth iFrame base URLs: the explicit
// ones where set, otherwise the environment's defaults (Production has
// none).
func (c Config) BaseURLs() (vic, vts, auth string) {
	vic, vts, auth = c.VICBaseURL, c.VTSBaseURL, c.AuthBaseURL
	if c.Environment == "" || c.Environment == Sandbox {
		if vic == "" {
			vic = SandboxVICBaseURL
		}
		if vts == "" {
			vts = SandboxVTSBaseURL
		}
		if auth == "" {
			auth = SandboxAuthBaseURL
		}
	}
	return vic, vts, auth
}

// ClientConfig builds the *tls.Config these settings describe: the
// minimum version (TLS 1.2 when unset), RootCAsPEM as the only trust roots
// when set (the system roots otherwise), and the client certificate for
// mutual TLS when set. UserID and Password are not TLS settings; the
// transport sends them as HTTP basic authentication. An error is an
// *InputError naming the field.
func (t TLSConfig) ClientConfig() (*tls.Config, error) {
	var v validator
	t.check(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.MinVersion != 0 {
		cfg.MinVersion = t.MinVersion
	}
	if len(t.RootCAsPEM) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(t.RootCAsPEM)
		cfg.RootCAs = pool
	}
	if len(t.ClientCertPEM) > 0 {
		pair, err := tls.X509KeyPair(t.ClientCertPEM, []byte(t.ClientKeyPEM.Reveal()))
		if err != nil {
			return nil, NewInputError("TLS.ClientCertPEM", "and TLS.ClientKeyPEM must be a PEM certificate and its matching private key")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// LogValue makes slog show a Config as its environment, effective base
// URLs and the names of the credentials that are set: never a credential,
// and not the PEM bytes.
func (c Config) LogValue() slog.Value {
	vic, vts, auth := c.BaseURLs()
	var set []string
	for _, b := range envBindings {
		if b.secret && b.get(&c) != "" {
			set = append(set, b.field)
		}
	}
	env := c.Environment
	if env == "" {
		env = Sandbox
	}
	return slog.GroupValue(
		slog.String("environment", string(env)),
		slog.String("vicBaseURL", vic),
		slog.String("vtsBaseURL", vts),
		slog.String("authBaseURL", auth),
		slog.Any("credentialsSet", set),
	)
}
