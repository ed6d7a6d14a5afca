package transport

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// Version is the SDK version reported in the User-Agent header.
const Version = visa.Version

// HTTP defaults of the client built when visa.Config.HTTPClient is nil.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	maxIdleConnsPerHost = 32
)

// IdleConnTimeout is how long the SDK's HTTP client keeps an idle pooled
// connection. A server that closes connections sooner (idle, or never used
// and waiting for a first request) can close one just as the client writes a
// request into it; the sandbox's server keeps connections longer
// (sandbox/server.go).
const IdleConnTimeout = 90 * time.Second

// Client is the one HTTP path of the SDK. New builds a signed client for
// VIC or VTS (X-Pay-Token, api key, MLE for VIC); NewUnsigned builds one
// for the SDK's other exchanges (the Auth iFrame handshake, the sandbox
// merchant, the signedPayload JWKS). Both share Do: the bounded read,
// redaction, error mapping, metadata, observer and retry classifier. A
// Client is safe for concurrent use.
type Client struct {
	product visa.Product
	signed  bool
	base    string // scheme://host[/prefix], no trailing slash, no query
	host    string // base's host[:port], for the observer
	// fixedQuery starts every query: "apikey=K" (signed) or the query of
	// an unsigned base URL (the iFrame's apikey and clientAppID, a JWKS
	// URL's own parameters).
	fixedQuery string

	sharedSecret string    // X-Pay HMAC key (signed only), never logged
	macs         sync.Pool // of xpay.NewMAC(sharedSecret): crypto/hmac keyed once, reset per attempt
	basicUser    string
	basicPass    string

	// MLE (VIC only): requests are encrypted to Visa's current server key
	// and responses decrypted with the client key their kid names (mle.go);
	// nil for VTS.
	mle *jwe.MLEKeyring

	hc *http.Client
	// rhc is hc as retryablehttp sees it: the same transport behind a
	// wrapper without CloseIdleConnections. retryablehttp closes the idle
	// connections of its client after every call that ends in an error
	// (a 4xx included, since our response handler reads the body); that
	// would drop the pooled connections of every concurrent caller.
	rhc       *http.Client
	policy    visa.RetryPolicy
	timeout   time.Duration
	maxBody   int64
	obs       visa.Observer // nil: none
	log       *slog.Logger  // nil: no logging
	userAgent []string      // shared header value, len == cap

	now      func() time.Time
	waitHook func(time.Duration) time.Duration // test seam: observes and may replace a backoff wait
	jitter   func(n int64) int64               // returns a value in [0, n)

	// secrets holds every credential string the client knows, for
	// scrubbing error text that did not come from this package.
	secrets []string
}

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock used for X-Pay-Token timestamps and MLE iat
// (default time.Now). A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithTimeout bounds each call, retries included, instead of
// Config.Timeout (positive values only).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithMaxResponseBytes bounds each response body instead of
// Config.MaxResponseBytes (positive values only).
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// withWaitHook is a test seam: every backoff wait the client decides on
// goes through f, which may record it and return a shorter one.
func withWaitHook(f func(time.Duration) time.Duration) Option {
	return func(c *Client) { c.waitHook = f }
}

// New builds the signed transport of product (visa.ProductVIC or
// visa.ProductVTS) from cfg, after cfg.ValidateFor(product): every field
// the product needs present, every set field well formed.
//
// VIC: base URL cfg.VICBaseURL, credentials cfg.VIC, MLE on requests and
// responses, header keyId. VTS: base URL cfg.VTSBaseURL, credentials
// cfg.VTS, no MLE.
func New(cfg visa.Config, product visa.Product, opts ...Option) (*Client, error) {
	if product != visa.ProductVIC && product != visa.ProductVTS {
		return nil, visa.NewInputError("product", "must be VIC or VTS")
	}
	if err := cfg.ValidateFor(product); err != nil {
		return nil, err
	}
	vicBase, vtsBase, _ := cfg.BaseURLs()
	base, key, secret := vtsBase, cfg.VTS.APIKey, cfg.VTS.SharedSecret
	if product == visa.ProductVIC {
		base, key, secret = vicBase, cfg.VIC.APIKey, cfg.VIC.SharedSecret
	}
	c, err := build(cfg, product, base, opts)
	if err != nil {
		return nil, err
	}
	c.signed = true
	c.sharedSecret = secret.Reveal()
	c.macs.New = func() any { return xpay.NewMAC(c.sharedSecret) }
	c.fixedQuery = "apikey=" + url.QueryEscape(key.Reveal())
	if product == visa.ProductVIC {
		if err := c.setMLE(cfg.VIC); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewUnsigned builds the transport of the SDK's unsigned exchanges with
// base (an absolute URL; its query, if any, starts every request's
// query): product is what errors and the observer name (visa.ProductAuth
// for the iFrame, visa.ProductMerchant, visa.ProductVIC for the JWKS). cfg
// is validated with cfg.ValidateFor(products...) (none: only the
// well-formedness of what is set).
func NewUnsigned(cfg visa.Config, product visa.Product, base string, products []visa.Product, opts ...Option) (*Client, error) {
	if err := cfg.ValidateFor(products...); err != nil {
		return nil, err
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return nil, visa.NewInputError(string(product)+" URL", "must be an https URL (plain http only for loopback hosts), without user information or fragment")
	}
	q := u.RawQuery
	u.RawQuery, u.ForceQuery = "", false
	c, err := build(cfg, product, u.String(), opts)
	if err != nil {
		return nil, err
	}
	c.fixedQuery = q
	if k := cfg.VTS.AuthFrameAPIKey; k != "" {
		c.addSecret(k)
	}
	return c, nil
}

// build holds what both modes share.
func build(cfg visa.Config, product visa.Product, base string, opts []Option) (*Client, error) {
	c := &Client{
		product: product,
		base:    strings.TrimRight(base, "/"),
		policy:  cfg.Retry.WithDefaults(),
		timeout: cfg.Timeout,
		maxBody: cfg.MaxResponseBytes,
		obs:     cfg.Observer,
		log:     cfg.Logger,
		now:     time.Now,
		jitter:  cryptoJitter,
	}
	if c.timeout == 0 {
		c.timeout = visa.DefaultTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = visa.DefaultMaxResponseBytes
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if u, err := url.Parse(c.base); err == nil {
		c.host = u.Host
	}
	if cfg.TLS.UserID != "" {
		c.basicUser, c.basicPass = cfg.TLS.UserID, cfg.TLS.Password.Reveal()
	}
	// Every secret of the config, so that error text from a foreign
	// RoundTripper can never carry it out (see scrub).
	for _, s := range []visa.Secret{cfg.VIC.APIKey, cfg.VIC.SharedSecret, cfg.VIC.MLEClientPrivateKeyPEM,
		cfg.VTS.APIKey, cfg.VTS.SharedSecret, cfg.VTS.EncAPIKey, cfg.VTS.EncSharedSecret, cfg.VTS.HashSecret,
		cfg.TLS.ClientKeyPEM, cfg.TLS.Password} {
		c.addSecret(s.Reveal())
	}
	hc, err := buildHTTPClient(cfg, c.host)
	if err != nil {
		return nil, err
	}
	c.hc = hc
	rhc := *hc
	rt := rhc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	rhc.Transport = keepIdle{rt}
	c.rhc = &rhc
	ua := "vicgo/" + Version + " (" + runtime.Version() + ")"
	if s := strings.TrimSpace(cfg.UserAgentSuffix); s != "" {
		ua += " " + s // ValidateFor refused control characters
	}
	c.userAgent = []string{ua}
	return c, nil
}

func (c *Client) addSecret(s string) {
	if s == "" {
		return
	}
	c.secrets = append(c.secrets, s)
	if esc := url.QueryEscape(s); esc != s {
		c.secrets = append(c.secrets, esc)
	}
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

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildHTTPClient returns the client requests to host go through.
//
// With cfg.HTTPClient nil it is a new client with production timeouts
// (dial and TLS handshake 10 s, idle 90 s), a connection pool sized for
// concurrent use, and TLS from cfg.TLS (minimum 1.2, roots, client
// certificate). A caller's client is shallow-copied; its *http.Transport,
// if TLS settings must be applied, is cloned. Certificate verification
// switched off (InsecureSkipVerify, or an empty root pool) is refused in
// production and, in sandbox mode, for any host but a loopback one, where
// it is logged once (see insecureTLS). cfg.WrapTransport, when set, wraps
// the result last, so an instrumenting RoundTripper works with cfg.TLS.
//
// Redirects are never followed: Visa's APIs do not redirect, and
// following one would resend the signed request (and, for 307/308, its
// body) to wherever the Location points. The 3xx response comes back to
// Do, which reports it as a *visa.APIError.
func buildHTTPClient(cfg visa.Config, host string) (*http.Client, error) {
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
		if err := insecureTLS(cfg, host, t.TLSClientConfig); err != nil {
			return nil, err
		}
		if needTLS || (t.TLSClientConfig != nil && t.TLSClientConfig.MinVersion != 0 && t.TLSClientConfig.MinVersion < tc.MinVersion) {
			t = t.Clone()
			t.TLSClientConfig = mergeTLS(t.TLSClientConfig, tc)
			hc.Transport = t
		}
	default:
		if needTLS {
			return nil, visa.NewInputError("HTTPClient", "roots, client certificate or minimum version need the HTTPClient's Transport to be an *http.Transport (to instrument it, use Config.WrapTransport)")
		}
	}
	if cfg.WrapTransport != nil {
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		if hc.Transport = cfg.WrapTransport(rt); hc.Transport == nil {
			return nil, visa.NewInputError("WrapTransport", "returned a nil RoundTripper")
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc, nil
}

// insecureTLS enforces the rule on a caller's TLS settings that switch
// certificate verification off: InsecureSkipVerify, or a root pool with
// no certificate in it (nothing could be trusted, so only a custom
// verifier would decide). Production: refused. Sandbox: refused unless
// host is a loopback host, where a warning is logged once (at
// construction) on cfg.Logger, or slog's default logger.
func insecureTLS(cfg visa.Config, host string, tc *tls.Config) error {
	if tc == nil {
		return nil
	}
	what := ""
	switch {
	case tc.InsecureSkipVerify:
		what = "InsecureSkipVerify"
	case tc.RootCAs != nil && tc.RootCAs.Equal(x509.NewCertPool()):
		what = "an empty RootCAs pool"
	default:
		return nil
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	switch {
	case cfg.Environment == visa.Production:
		return &visa.InsecureTLSError{Setting: what, Host: host, Reason: "certificate verification cannot be switched off in production"}
	case !isLoopback(hostname):
		return &visa.InsecureTLSError{Setting: what, Host: host, Reason: "certificate verification can be switched off only for a loopback host in sandbox mode"}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.Warn("visa: TLS certificate verification is off (sandbox, loopback host only)", slog.String("setting", what), slog.String("host", host))
	return nil
}

func newTransport(tc *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		IdleConnTimeout:       IdleConnTimeout,
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
