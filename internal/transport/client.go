package transport

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

// Version is the SDK version reported in the User-Agent header.
const Version = visa.Version

// HTTP defaults of the client built when visa.Config.HTTPClient is nil.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	maxIdleConnsPerHost = 32
)

// Client is the signed HTTP transport of one Visa product (VIC or VTS).
// It is built once from a visa.Config by New and is safe for concurrent
// use; every service method calls Do.
type Client struct {
	product visa.Product
	base    string // scheme://host[/prefix], no trailing slash

	apiKey       string // query parameter apikey, never logged
	apiKeyQuery  string // "apikey=" + form-escaped api key
	sharedSecret string // X-Pay HMAC key, never logged
	basicUser    string
	basicPass    string

	// MLE (VIC only): requests are encrypted to Visa's current server key
	// and responses decrypted with the client key their kid names (mle.go);
	// nil for VTS.
	mle *jwe.MLEKeyring

	hc *http.Client
	// rhc is hc as retryablehttp sees it: the same transport behind a
	// wrapper without CloseIdleConnections, because retryablehttp closes
	// the idle connections of its client after every failed call, which
	// would drop the pooled connections of every concurrent caller.
	rhc       *http.Client
	policy    visa.RetryPolicy
	timeout   time.Duration
	maxBody   int64
	userAgent string
	// userAgentValue is a header value shared by every request (len ==
	// cap, so never appended to in place).
	userAgentValue []string
	log            *slog.Logger // nil: no logging

	now      func() time.Time
	waitHook func(time.Duration) time.Duration // test seam: observes and may replace a backoff wait
	jitter   func(n int64) int64               // returns a value in [0, n)

	// secrets holds every credential string the client knows, for
	// scrubbing error text that did not come from this package.
	secrets []string
}

// Option configures a Client. Options validate their argument and may
// fail.
type Option func(*options) error

type options struct {
	now      func() time.Time
	waitHook func(time.Duration) time.Duration
	jitter   func(n int64) int64
}

// WithClock sets the clock used for X-Pay-Token timestamps and MLE iat
// (default time.Now). The sandbox and tests use it to control time.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return visa.NewInputError("transport.WithClock", "clock is nil")
		}
		o.now = now
		return nil
	}
}

// withWaitHook is a test seam: every backoff wait the client decides on
// goes through f, which may record it and return a shorter one.
func withWaitHook(f func(time.Duration) time.Duration) Option {
	return func(o *options) error { o.waitHook = f; return nil }
}

// New builds the transport of product (visa.ProductVIC or
// visa.ProductVTS) from cfg. It validates the parts of cfg the product
// needs, parses the MLE keys once (VIC), and builds or copies the HTTP
// client: a caller's cfg.HTTPClient is copied, never modified.
//
// VIC: base URL cfg.VICBaseURL, credentials cfg.VIC, MLE on requests and
// responses, header keyId, X-Pay resource path without "vacp/".
// VTS: base URL cfg.VTSBaseURL, credentials cfg.VTS, no MLE.
func New(cfg visa.Config, product visa.Product, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Client{
		product:  product,
		now:      o.now,
		waitHook: o.waitHook,
		jitter:   o.jitter,
		log:      cfg.Logger,
		policy:   cfg.Retry.WithDefaults(),
		timeout:  cfg.Timeout,
		maxBody:  cfg.MaxResponseBytes,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.jitter == nil {
		c.jitter = cryptoJitter
	}
	switch product {
	case visa.ProductVIC, visa.ProductVTS:
		// Everything the product needs, and every set field well formed.
		if err := cfg.ValidateFor(product); err != nil {
			return nil, err
		}
	default:
		return nil, visa.NewInputError("product", "must be VIC or VTS")
	}
	if err := validateCommon(cfg); err != nil {
		return nil, err
	}
	if c.timeout == 0 {
		c.timeout = visa.DefaultTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = visa.DefaultMaxResponseBytes
	}

	vicBase, vtsBase, _ := cfg.BaseURLs()
	var base string
	switch product {
	case visa.ProductVIC:
		base = vicBase
		if err := c.setCredentials("VIC", cfg.VIC.APIKey, cfg.VIC.SharedSecret); err != nil {
			return nil, err
		}
		if err := c.setMLE(cfg.VIC); err != nil {
			return nil, err
		}
	case visa.ProductVTS:
		base = vtsBase
		if err := c.setCredentials("VTS", cfg.VTS.APIKey, cfg.VTS.SharedSecret); err != nil {
			return nil, err
		}
	default:
		return nil, visa.NewInputError("product", "must be VIC or VTS")
	}
	field := "Config.VICBaseURL"
	if product == visa.ProductVTS {
		field = "Config.VTSBaseURL"
	}
	b, err := checkBaseURL(field, base)
	if err != nil {
		return nil, err
	}
	c.base = b

	if cfg.TLS.UserID != "" {
		c.basicUser, c.basicPass = cfg.TLS.UserID, cfg.TLS.Password.Reveal()
		c.secrets = append(c.secrets, c.basicPass)
	}
	// Everything else secret in the config, so that error text from a
	// foreign RoundTripper can never carry it out (see scrub).
	for _, s := range []visa.Secret{cfg.VIC.APIKey, cfg.VIC.SharedSecret, cfg.VIC.MLEClientPrivateKeyPEM,
		cfg.VTS.APIKey, cfg.VTS.SharedSecret, cfg.VTS.EncAPIKey, cfg.VTS.EncSharedSecret, cfg.VTS.HashSecret,
		cfg.TLS.ClientKeyPEM, cfg.TLS.Password} {
		if v := s.Reveal(); v != "" {
			c.secrets = append(c.secrets, v)
		}
	}

	c.hc, err = buildHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	rhc := *c.hc
	rt := rhc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	rhc.Transport = keepIdle{rt}
	c.rhc = &rhc
	c.userAgent = "vicgo/" + Version + " (" + runtime.Version() + ")"
	if s := strings.TrimSpace(cfg.UserAgentSuffix); s != "" {
		if strings.ContainsAny(s, "\r\n") {
			return nil, visa.NewInputError("Config.UserAgentSuffix", "must be one line")
		}
		c.userAgent += " " + s
	}
	c.userAgentValue = []string{c.userAgent}
	return c, nil
}

// keepIdle hides the CloseIdleConnections method of a RoundTripper.
type keepIdle struct{ http.RoundTripper }

// CloseIdleConnections closes the idle connections of the client's
// transport (for shutdown and tests).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Product returns the product this transport talks to.
func (c *Client) Product() visa.Product { return c.product }

// Now returns the client's clock reading (time.Now unless WithClock).
func (c *Client) Now() time.Time { return c.now() }

// BaseURL returns the base URL requests are sent to.
func (c *Client) BaseURL() string { return c.base }

func (c *Client) setCredentials(prefix string, apiKey, secret visa.Secret) error {
	if apiKey.IsZero() {
		return visa.NewInputError("Config."+prefix+".APIKey", "is empty")
	}
	if secret.IsZero() {
		return visa.NewInputError("Config."+prefix+".SharedSecret", "is empty")
	}
	c.apiKey = apiKey.Reveal()
	c.sharedSecret = secret.Reveal()
	c.apiKeyQuery = "apikey=" + url.QueryEscape(c.apiKey)
	c.secrets = append(c.secrets, c.apiKey, c.sharedSecret)
	if esc := url.QueryEscape(c.apiKey); esc != c.apiKey {
		c.secrets = append(c.secrets, esc)
	}
	return nil
}

// configError is a refused configuration: it matches visa.ErrInvalidInput
// and wraps the parser's error (whose text never holds key material).
type configError struct {
	field, reason string
	err           error
}

func (e *configError) Error() string {
	s := "visa: invalid input: " + e.field + ": " + e.reason
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *configError) Unwrap() []error { return []error{visa.ErrInvalidInput, e.err} }

func validateCommon(cfg visa.Config) error {
	if cfg.Timeout < 0 {
		return visa.NewInputError("Config.Timeout", "is negative")
	}
	if cfg.MaxResponseBytes < 0 {
		return visa.NewInputError("Config.MaxResponseBytes", "is negative")
	}
	r := cfg.Retry
	if r.MaxAttempts < 0 || r.MinBackoff < 0 || r.MaxBackoff < 0 || r.MaxRetryAfter < 0 {
		return visa.NewInputError("Config.Retry", "has a negative value")
	}
	if v := cfg.TLS.MinVersion; v != 0 && (v < tls.VersionTLS12 || v > tls.VersionTLS13) {
		return visa.NewInputError("Config.TLS.MinVersion", "must be TLS 1.2 or TLS 1.3")
	}
	if (len(cfg.TLS.ClientCertPEM) == 0) != cfg.TLS.ClientKeyPEM.IsZero() {
		return visa.NewInputError("Config.TLS", "ClientCertPEM and ClientKeyPEM must be set together")
	}
	if strings.ContainsAny(cfg.TLS.UserID, ":\r\n") {
		return visa.NewInputError("Config.TLS.UserID", "must not contain ':' or line breaks")
	}
	return nil
}

// checkBaseURL accepts https URLs, and plain http only for loopback hosts
// (the local sandbox). It returns the URL without a trailing slash.
func checkBaseURL(field, s string) (string, error) {
	if s == "" {
		return "", visa.NewInputError(field, "is empty (the environment has no default)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", visa.NewInputError(field, "is not a URL")
	}
	if u.Host == "" {
		return "", visa.NewInputError(field, "has no host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", visa.NewInputError(field, "must not carry user info, a query or a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", visa.NewInputError(field, "plain http is allowed only for loopback hosts")
		}
	default:
		return "", visa.NewInputError(field, "scheme must be https")
	}
	return strings.TrimRight(s, "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildHTTPClient returns the client requests go through.
//
// With cfg.HTTPClient nil it is a new client with production timeouts
// (dial and TLS handshake 10 s, idle 90 s), a connection pool sized for
// concurrent use, and TLS from cfg.TLS (minimum 1.2, roots, client
// certificate). A caller's client is shallow-copied; its *http.Transport,
// if TLS settings must be applied, is cloned.
//
// Redirects are never followed: Visa's APIs do not redirect, and
// following one would resend the signed request (and, for 307/308, its
// body) to wherever the Location points. The 3xx response comes back to
// Do, which reports it as a *visa.APIError.
func buildHTTPClient(cfg visa.Config) (*http.Client, error) {
	tc, needTLS, err := tlsConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	switch t := hc.Transport.(type) {
	case nil:
		if cfg.HTTPClient != nil && !needTLS {
			// The caller chose the default transport; keep it, as
			// http.Client would, since Go's client minimum is TLS 1.2.
			break
		}
		hc.Transport = newTransport(tc)
	case *http.Transport:
		if needTLS || (t.TLSClientConfig != nil && t.TLSClientConfig.MinVersion != 0 && t.TLSClientConfig.MinVersion < tc.MinVersion) {
			t = t.Clone()
			t.TLSClientConfig = mergeTLS(t.TLSClientConfig, tc)
			hc.Transport = t
		}
	default:
		if needTLS {
			return nil, visa.NewInputError("Config.TLS", "roots, client certificate or minimum version need the HTTPClient's Transport to be an *http.Transport")
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc, nil
}

func newTransport(tc *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		IdleConnTimeout:       idleConnTimeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
	}
}

// tlsConfig builds the TLS settings of cfg with visa.TLSConfig.ClientConfig;
// needTLS reports whether they differ from Go's client defaults (minimum
// 1.2, system roots, no client certificate).
func tlsConfig(t visa.TLSConfig) (tc *tls.Config, needTLS bool, err error) {
	tc, err = t.ClientConfig()
	if err != nil {
		return nil, false, err
	}
	needTLS = tc.MinVersion > tls.VersionTLS12 || len(t.RootCAsPEM) > 0 || len(t.ClientCertPEM) > 0
	return tc, needTLS, nil
}

// mergeTLS applies ours on top of a caller's TLS settings.
func mergeTLS(theirs, ours *tls.Config) *tls.Config {
	if theirs == nil {
		return ours
	}
	m := theirs.Clone()
	if m.MinVersion < ours.MinVersion {
		m.MinVersion = ours.MinVersion
	}
	if ours.RootCAs != nil {
		m.RootCAs = ours.RootCAs
	}
	if len(ours.Certificates) > 0 {
		m.Certificates = ours.Certificates
	}
	return m
}

// closeBody drains up to 4 KiB (so the connection can be reused) and
// closes.
func closeBody(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 4<<10))
	_ = b.Close()
}
