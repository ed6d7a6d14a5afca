package mcphttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// Defaults of Options.
const (
	// DefaultPath is the MCP endpoint's path.
	DefaultPath = "/mcp"
	// DefaultSessionTimeout is how long a session may stay idle (no
	// request) before it is closed.
	DefaultSessionTimeout = 30 * time.Minute
	// DefaultMaxSessions bounds the live sessions of a stateful server.
	DefaultMaxSessions = 100
	// DefaultMaxInFlight bounds the POST requests (tool calls and other
	// messages) served at once, in either mode. A tool call may wait on
	// Visa, the merchant and the store for tens of seconds; the bound keeps
	// a burst from holding every goroutine, connection and store session.
	DefaultMaxInFlight = 256
	// DefaultMaxBodyBytes bounds a request body. Tool arguments are small;
	// the largest is a purchase with its mandates.
	DefaultMaxBodyBytes = 1 << 20
	// MetadataPath is where the RFC 9728 protected-resource metadata is
	// served (and also at MetadataPath + the endpoint's path, the form
	// RFC 9728 §3.1 derives from the resource URL).
	MetadataPath = "/.well-known/oauth-protected-resource"
	// ScopeReveal is the scope that lets a caller receive clear payment
	// credentials, when the server also allows it.
	ScopeReveal = "visa:reveal"
)

// AnyHost in Options.AllowedHosts accepts every Host header. Use it only
// behind a proxy that fixes the Host (as AWS AgentCore does) and with
// authentication on.
const AnyHost = "*"

// Options configure New. The zero value serves /mcp without
// authentication to loopback host names only, statefully, with the
// defaults above.
type Options struct {
	// Path is the MCP endpoint's path (default DefaultPath).
	Path string
	// Verifier checks bearer tokens: (*JWTVerifier).Verify or
	// StaticToken. Nil serves without authentication: then the server
	// answers only requests addressed to a loopback host name, whatever
	// AllowedHosts says.
	Verifier auth.TokenVerifier
	// RequiredScopes must all be in every token (403 otherwise).
	RequiredScopes []string
	// ClockSkew is tolerated on token expiry (default none: the JWT
	// verifier applies its own leeway first).
	ClockSkew time.Duration
	// PublicURL is the endpoint's URL as clients reach it, e.g.
	// https://mcp.example.com/mcp: the protected resource, its origin is
	// allowed and its host accepted. Required with AuthorizationServers.
	PublicURL string
	// AuthorizationServers are the issuers of accepted tokens; with them
	// the protected-resource metadata is served and named in every 401.
	AuthorizationServers []string
	// ScopesSupported are advertised in the metadata.
	ScopesSupported []string
	// AllowedOrigins are the browser origins (scheme://host[:port]) whose
	// requests are served; a request with any other Origin gets 403. A
	// request without Origin (not from a browser) is not refused for it.
	AllowedOrigins []string
	// AllowedHosts are the host names (without port) a request may be
	// addressed to, or AnyHost. Loopback names (localhost, 127.0.0.1,
	// ::1) and the PublicURL's host are always accepted.
	AllowedHosts []string
	// Stateless serves every request on its own, with no session: any
	// replica can answer any request and Mcp-Session-Id headers are
	// ignored, not refused. Server-to-client requests (elicitation,
	// sampling) are then unavailable.
	Stateless bool
	// SessionTimeout closes a session idle this long (default
	// DefaultSessionTimeout; negative: never).
	SessionTimeout time.Duration
	// MaxSessions bounds live sessions (default DefaultMaxSessions): a
	// new session beyond it gets 503 with Retry-After.
	MaxSessions int
	// MaxInFlight bounds the POST requests to the endpoint being served
	// at once (default DefaultMaxInFlight): one beyond gets 503 with
	// Retry-After, before its body is read, and changes nothing. It is the
	// cap of a stateless server, which has no sessions to count; GET
	// streams and DELETE are not counted. A request refused by
	// authentication never takes a place.
	MaxInFlight int
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes):
	// 413 beyond it.
	MaxBodyBytes int64
	// Pages are further routes (ServeMux patterns such as "/pages/") for a
	// browser: host- and origin-checked, body-bounded, not behind the
	// bearer token.
	Pages map[string]http.Handler
	// Logger receives refusals (never a token) and the SDK's transport
	// logs. Default: none.
	Logger *slog.Logger
}

// Handler is the HTTP handler New returns.
type Handler struct {
	h      http.Handler
	server *mcp.Server
}

// ServeHTTP serves the MCP endpoint, the metadata and the pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// Close closes every live session of the server, for shutdown: their
// goroutines end and their clients must start new sessions. Requests
// still arriving are served.
func (h *Handler) Close() error {
	var errs []error
	for ss := range h.server.Sessions() {
		errs = append(errs, ss.Close())
	}
	return errors.Join(errs...)
}

// New returns the HTTP handler serving server at o.Path with o's
// authentication and transport checks. Bad options are a
// *visa.InputError naming the option.
func New(server *mcp.Server, o Options) (*Handler, error) {
	if server == nil {
		return nil, visa.NewInputError("server", "is nil")
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if !strings.HasPrefix(o.Path, "/") || strings.ContainsAny(o.Path, " {}") {
		return nil, visa.NewInputError("Path", "must be a path starting with /")
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultSessionTimeout
	} else if o.SessionTimeout < 0 {
		o.SessionTimeout = 0 // the SDK's "never"
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = DefaultMaxSessions
	} else if o.MaxSessions < 0 {
		return nil, visa.NewInputError("MaxSessions", "must not be negative")
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	} else if o.MaxInFlight < 0 {
		return nil, visa.NewInputError("MaxInFlight", "must not be negative")
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	} else if o.MaxBodyBytes < 0 {
		return nil, visa.NewInputError("MaxBodyBytes", "must not be negative")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &guard{hosts: map[string]bool{}, origins: map[string]bool{}, logger: logger,
		authenticated: o.Verifier != nil}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		g.hosts[h] = true
	}
	var public *url.URL
	if o.PublicURL != "" {
		if reason := check.URL(o.PublicURL, check.MaxURL); reason != "" {
			return nil, visa.NewInputError("PublicURL", reason)
		}
		public, _ = url.Parse(o.PublicURL)
		g.hosts[strings.ToLower(public.Hostname())] = true
		g.origins[originOf(public)] = true
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == AnyHost:
			g.anyHost = true
		case h == "" || strings.ContainsAny(h, "/@ ") || strings.Contains(h, "://"):
			return nil, visa.NewInputError("AllowedHosts", fmt.Sprintf("%q is not a host name", h))
		default:
			g.hosts[strings.Trim(h, "[]")] = true
		}
	}
	for _, s := range o.AllowedOrigins {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
			return nil, visa.NewInputError("AllowedOrigins", fmt.Sprintf("%q is not an origin (scheme://host[:port])", s))
		}
		g.origins[originOf(u)] = true
	}
	g.cop = http.NewCrossOriginProtection()
	for origin := range g.origins {
		if err := g.cop.AddTrustedOrigin(origin); err != nil {
			return nil, visa.NewInputError("AllowedOrigins", err.Error())
		}
	}
	g.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.Warn("mcphttp: cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "Forbidden: cross-origin request", http.StatusForbidden)
	}))

	var mcpHandler http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: o.Stateless, SessionTimeout: o.SessionTimeout,
			MaxRequestBodyBytes: o.MaxBodyBytes, Logger: o.Logger,
			// The guard's host allow-list does the SDK's DNS-rebinding
			// check (loopback names only unless configured) on every bind,
			// and lets a configured name through a local reverse proxy.
			DisableLocalhostProtection: true})
	if !o.Stateless && o.MaxSessions > 0 {
		mcpHandler = &sessionCap{next: mcpHandler, server: server, max: o.MaxSessions, logger: logger}
	}
	mcpHandler = &inFlightCap{next: mcpHandler, slots: make(chan struct{}, o.MaxInFlight), logger: logger}

	mux := http.NewServeMux()
	metadataURL := ""
	if len(o.AuthorizationServers) > 0 {
		if public == nil {
			return nil, visa.NewInputError("PublicURL", "is required with AuthorizationServers (it is the protected resource)")
		}
		if o.Verifier == nil {
			return nil, visa.NewInputError("Verifier", "is required with AuthorizationServers")
		}
		meta := &oauthex.ProtectedResourceMetadata{Resource: o.PublicURL, AuthorizationServers: o.AuthorizationServers,
			ScopesSupported: o.ScopesSupported, BearerMethodsSupported: []string{"header"}, ResourceName: "Visa Intelligent Commerce MCP server"}
		mh := auth.ProtectedResourceMetadataHandler(meta)
		mux.Handle(MetadataPath, mh)
		suffix := strings.TrimSuffix(public.EscapedPath(), "/")
		if suffix != "" {
			mux.Handle(MetadataPath+suffix, mh)
		}
		mu := *public
		mu.Path, mu.RawPath, mu.RawQuery, mu.Fragment = MetadataPath+suffix, "", "", ""
		metadataURL = mu.String()
	}
	if o.Verifier != nil {
		bearer := auth.RequireBearerToken(o.Verifier, &auth.RequireBearerTokenOptions{
			ResourceMetadataURL: metadataURL, Scopes: o.RequiredScopes, ClockSkew: o.ClockSkew})
		mcpHandler = challenge(bearer(mcpHandler), logger)
	}
	mux.Handle(o.Path, mcpHandler)
	for pattern, h := range o.Pages {
		if h == nil {
			return nil, visa.NewInputError("Pages", fmt.Sprintf("handler of %q is nil", pattern))
		}
		if err := registerPage(mux, pattern, http.MaxBytesHandler(h, o.MaxBodyBytes)); err != nil {
			return nil, visa.NewInputError("Pages", err.Error())
		}
	}
	return &Handler{h: g.wrap(mux), server: server}, nil
}

// registerPage mounts a page, turning the ServeMux's panic on a bad or
// conflicting pattern into an error.
func registerPage(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pattern %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// originOf is the serialized origin of u: lower-case scheme://host[:port],
// without a default port.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// guard applies the Host, Origin and cross-origin checks to every request.
type guard struct {
	hosts         map[string]bool
	anyHost       bool
	origins       map[string]bool
	cop           *http.CrossOriginProtection
	authenticated bool
	logger        *slog.Logger
}

func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOnly(r.Host)
		// Without authentication only loopback names are served: the
		// allow-list cannot widen an open server.
		if !(g.hosts[host] && (g.authenticated || check.Loopback(host))) && !(g.anyHost && g.authenticated) {
			g.logger.Warn("mcphttp: request for a foreign host refused", "host", truncate(r.Host))
			http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host == "" || !g.origins[originOf(u)] {
				g.logger.Warn("mcphttp: request from a foreign origin refused", "origin", truncate(origin))
				http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
				return
			}
		}
		g.cop.Handler(next).ServeHTTP(w, r)
	})
}

// hostOnly returns the lower-case host name of a Host header, without its
// port or brackets.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}

// truncate bounds a header value quoted in a log record.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// challenge makes every 401 carry a WWW-Authenticate challenge (RFC 6750
// §3): the SDK's middleware adds one only when it has a metadata URL or
// scopes to name, and never says that a token was presented and refused.
func challenge(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&challengeWriter{ResponseWriter: w, r: r, logger: logger}, r)
	})
}

type challengeWriter struct {
	http.ResponseWriter
	r      *http.Request
	logger *slog.Logger
	wrote  bool
}

func (c *challengeWriter) WriteHeader(code int) {
	if !c.wrote && (code == http.StatusUnauthorized || code == http.StatusForbidden) {
		h := c.Header()
		ch := h.Get("WWW-Authenticate")
		if code == http.StatusUnauthorized || ch != "" {
			var params []string
			if rest, ok := strings.CutPrefix(ch, "Bearer "); ok && rest != "" {
				params = append(params, rest)
			}
			switch {
			case code == http.StatusForbidden:
				params = append(params, `error="insufficient_scope"`)
			case c.r.Header.Get("Authorization") != "":
				params = append(params, `error="invalid_token"`)
			}
			v := "Bearer"
			if len(params) > 0 {
				v += " " + strings.Join(params, ", ")
			}
			h.Set("WWW-Authenticate", v)
		}
		c.logger.Info("mcphttp: request refused", "status", code, "token_presented", c.r.Header.Get("Authorization") != "")
	}
	c.wrote = true
	c.ResponseWriter.WriteHeader(code)
}

func (c *challengeWriter) Write(p []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

// Flush passes flushes through: streamable HTTP streams events.
func (c *challengeWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (c *challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// sessionCap refuses a new session (a POST without Mcp-Session-Id) when
// max sessions are live or being opened. Counting the ones being opened
// keeps concurrent initializations from overshooting the cap.
type sessionCap struct {
	next    http.Handler
	server  *mcp.Server
	max     int
	logger  *slog.Logger
	mu      sync.Mutex
	opening int
}

// errFull is the refusal of a session beyond the cap.
var errFull = errors.New("too many sessions")

func (s *sessionCap) admit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A session counts once initialized; before, it is counted as opening
	// by the request creating it. A session whose request did not
	// initialize it (a probe, a failed initialize) is closed by the SDK
	// when that request ends and never counts.
	live := 0
	for ss := range s.server.Sessions() {
		if ss.InitializeParams() != nil {
			live++
		}
	}
	if live+s.opening >= s.max {
		return errFull
	}
	s.opening++
	return nil
}

func (s *sessionCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" {
		s.next.ServeHTTP(w, r)
		return
	}
	if err := s.admit(); err != nil {
		s.logger.Warn("mcphttp: new session refused: the session cap is reached", "max", s.max)
		w.Header().Set("Retry-After", strconv.Itoa(30))
		http.Error(w, "Service Unavailable: too many sessions", http.StatusServiceUnavailable)
		return
	}
	// The session is registered before its first response is written:
	// from then on it is counted live, no longer opening.
	var once sync.Once
	done := func() {
		once.Do(func() {
			s.mu.Lock()
			s.opening--
			s.mu.Unlock()
		})
	}
	defer done()
	s.next.ServeHTTP(&onWrite{ResponseWriter: w, f: done}, r)
}

// inFlightCap refuses a POST when max POSTs are being served: at once,
// with 503 and Retry-After, so that a burst is shed rather than queued.
type inFlightCap struct {
	next   http.Handler
	slots  chan struct{}
	logger *slog.Logger
}

func (c *inFlightCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		c.next.ServeHTTP(w, r)
		return
	}
	select {
	case c.slots <- struct{}{}:
	default:
		c.logger.Warn("mcphttp: request refused: the in-flight cap is reached", "max", cap(c.slots))
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Service Unavailable: too many requests in flight", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-c.slots }()
	c.next.ServeHTTP(w, r)
}

// onWrite calls f before the response's header is written.
type onWrite struct {
	http.ResponseWriter
	f func()
}

func (o *onWrite) WriteHeader(code int) { o.f(); o.ResponseWriter.WriteHeader(code) }

func (o *onWrite) Write(p []byte) (int, error) { o.f(); return o.ResponseWriter.Write(p) }

// Flush passes flushes through: streamable HTTP streams events.
func (o *onWrite) Flush() {
	o.f()
	if f, ok := o.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (o *onWrite) Unwrap() http.ResponseWriter { return o.ResponseWriter }
