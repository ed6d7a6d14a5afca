package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/mcpserver/mcphttp"
)

// httpPlan is how the HTTP endpoint will be served, decided and checked
// before anything starts.
type httpPlan struct {
	addr     string
	loopback bool // the bind address is a loopback one
	mode     string
	verifier auth.TokenVerifier
	// generated is a static token made for this run, printed once.
	generated string
	opts      mcphttp.Options
}

// errOpenBind is the refusal of a non-loopback bind without
// authentication.
var errOpenBind = errors.New("refusing to serve MCP without authentication on a non-loopback address: " +
	"anyone who can reach it could use the cards. Bind to localhost (e.g. -http localhost:8765), " +
	"or use -auth token (a bearer token) or -auth oauth (VISA_MCP_OAUTH_ISSUER)")

// planHTTP checks the HTTP settings and builds the authentication.
func planHTTP(f flags, lookup func(string) (string, bool)) (*httpPlan, error) {
	get := func(name string) string { v, _ := lookup(name); return strings.TrimSpace(v) }
	host, _, err := net.SplitHostPort(f.http)
	if err != nil {
		return nil, &usageError{fmt.Errorf("-http %q: want host:port (%v)", f.http, err)}
	}
	p := &httpPlan{addr: f.http, loopback: loopbackBind(host), mode: f.auth}
	if p.mode == "" {
		p.mode = authToken
		if get("VISA_MCP_OAUTH_ISSUER") != "" {
			p.mode = authOAuth
		}
	}
	p.opts = mcphttp.Options{Stateless: f.stateless, MaxSessions: f.maxSessions, MaxInFlight: f.maxInFlight, SessionTimeout: f.sessionTimeout,
		AllowedOrigins: list(f.allowedOrigins), AllowedHosts: list(f.allowedHosts), PublicURL: f.publicURL}
	switch p.mode {
	case authNone:
		if !p.loopback {
			return nil, &usageError{fmt.Errorf("-http %s: %w", f.http, errOpenBind)}
		}
	case authToken:
		token := get("VISA_MCP_TOKEN")
		if token == "" {
			token = mcphttp.GenerateToken()
			p.generated = token
		}
		user := get("VISA_MCP_TOKEN_USER")
		if user == "" {
			user = "local"
		}
		var scopes []string
		if v, ok := lookup("VISA_MCP_TOKEN_SCOPES"); ok {
			scopes = list(v)
		} else if f.reveal {
			scopes = []string{mcphttp.ScopeReveal}
		}
		v, err := mcphttp.StaticToken(token, user, scopes)
		if err != nil {
			var ie *visa.InputError
			if errors.As(err, &ie) && ie.Field == "userID" {
				return nil, &usageError{visa.NewInputError("VISA_MCP_TOKEN_USER", ie.Reason)}
			}
			return nil, &usageError{visa.NewInputError("VISA_MCP_TOKEN", "must be at least 32 characters")}
		}
		p.verifier = v
	case authOAuth:
		issuer := get("VISA_MCP_OAUTH_ISSUER")
		if issuer == "" {
			return nil, &usageError{errors.New("-auth oauth needs VISA_MCP_OAUTH_ISSUER, the issuer of the access tokens")}
		}
		audiences := list(get("VISA_MCP_OAUTH_AUDIENCE"))
		clients := list(get("VISA_MCP_OAUTH_CLIENT_IDS"))
		if len(audiences) == 0 && f.publicURL != "" {
			audiences = []string{f.publicURL}
		}
		if len(audiences) == 0 && len(clients) == 0 {
			return nil, &usageError{errors.New("-auth oauth needs the accepted audience: set -public-url (VISA_MCP_PUBLIC_URL), " +
				"VISA_MCP_OAUTH_AUDIENCE or VISA_MCP_OAUTH_CLIENT_IDS")}
		}
		var algs []jose.SignatureAlgorithm
		for _, a := range list(get("VISA_MCP_OAUTH_ALGORITHMS")) {
			algs = append(algs, jose.SignatureAlgorithm(a))
		}
		v, err := mcphttp.NewJWTVerifier(mcphttp.JWTConfig{Issuer: issuer, Audiences: audiences, ClientIDs: clients,
			JWKSURL: get("VISA_MCP_OAUTH_JWKS_URL"), Algorithms: algs})
		if err != nil {
			var ie *visa.InputError
			if errors.As(err, &ie) {
				return nil, &usageError{visa.NewInputError(map[string]string{"Issuer": "VISA_MCP_OAUTH_ISSUER",
					"JWKSURL": "VISA_MCP_OAUTH_JWKS_URL", "Algorithms": "VISA_MCP_OAUTH_ALGORITHMS",
					"Audiences": "VISA_MCP_OAUTH_AUDIENCE"}[ie.Field], ie.Reason)}
			}
			return nil, err
		}
		p.verifier = v.Verify
		p.opts.RequiredScopes = list(get("VISA_MCP_OAUTH_REQUIRED_SCOPES"))
		p.opts.ScopesSupported = []string{mcphttp.ScopeReveal}
		if f.publicURL != "" {
			p.opts.AuthorizationServers = []string{issuer}
		}
	}
	p.opts.Verifier = p.verifier
	// Host names: a wildcard bind reachable under unknown names must be
	// told which names are its own (DNS rebinding), or "*" with auth.
	if !p.loopback && len(p.opts.AllowedHosts) == 0 && f.publicURL == "" && wildcardBind(host) {
		return nil, &usageError{fmt.Errorf("-http %s listens on every interface: set -allowed-hosts (VISA_MCP_ALLOWED_HOSTS) "+
			"to the host names clients use, or -public-url; \"*\" accepts any Host (only behind a proxy that sets it)", f.http)}
	}
	return p, nil
}

// loopbackBind reports whether a bind host is a loopback one.
func loopbackBind(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wildcardBind reports whether a bind host is every interface.
func wildcardBind(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// listening completes the plan once the listener's address is known: the
// server's own origins (and, for a specific address, its host) are
// allowed, and on loopback the public URL defaults to it.
func (p *httpPlan) listening(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return
	}
	port := fmt.Sprint(tcp.Port)
	switch {
	case p.loopback:
		for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
			p.opts.AllowedOrigins = append(p.opts.AllowedOrigins, "http://"+h+":"+port)
		}
		if p.opts.PublicURL == "" {
			p.opts.PublicURL = (&url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", port), Path: mcphttp.DefaultPath}).String()
		}
	case !tcp.IP.IsUnspecified():
		p.opts.AllowedHosts = append(p.opts.AllowedHosts, tcp.IP.String())
		p.opts.AllowedOrigins = append(p.opts.AllowedOrigins, "http://"+net.JoinHostPort(tcp.IP.String(), port))
	}
}

// pagesPath is where mcpserver's pages (the card-entry page) are mounted.
const pagesPath = "/pages"

// pagesURL is the public URL of the pages: the public URL's origin and
// pagesPath, or "" without a public URL.
func (p *httpPlan) pagesURL() string {
	if p.opts.PublicURL == "" {
		return ""
	}
	u, err := url.Parse(p.opts.PublicURL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: pagesPath}).String()
}

// handler builds the HTTP handler: the MCP endpoint with the plan's
// authentication and checks, the metadata, and the pages.
func (p *httpPlan) handler(srv *mcpserver.Server, logger *slog.Logger) (*mcphttp.Handler, error) {
	o := p.opts
	o.Logger = logger
	o.Pages = map[string]http.Handler{pagesPath + "/": http.StripPrefix(pagesPath, srv.PagesHandler())}
	h, err := mcphttp.New(srv.MCP(), o)
	if err != nil {
		return nil, &usageError{err}
	}
	logger.Info("visa-mcp: HTTP authentication", "mode", p.mode, "stateless", o.Stateless,
		"max_sessions", o.MaxSessions, "max_in_flight", o.MaxInFlight, "session_timeout", o.SessionTimeout.String(), "public_url", o.PublicURL)
	if p.mode == authNone {
		logger.Warn("visa-mcp: -auth none: any local process can use the tools (loopback only)")
	}
	return h, nil
}

// serverOptions are the mcpserver options the HTTP plan implies: the
// wiring between the transport's authentication and the tools.
//
// The bearer middleware puts an *auth.TokenInfo in every request's
// context; the tools read it as req.Extra.TokenInfo (UserID: the store
// user; Scopes: mcpserver.ScopeReveal allows clear credentials). With
// authentication every tool is bound to that caller (WithRequireAuth) and
// card numbers are typed on the card-entry page, not passed as arguments,
// unless -card-arguments says otherwise. A nil plan (stdio) adds only
// -card-arguments when given.
func (p *httpPlan) serverOptions(f flags) []mcpserver.Option {
	var opts []mcpserver.Option
	if f.given["card-arguments"] {
		opts = append(opts, mcpserver.WithCardArguments(f.cardArgs))
	}
	if p == nil {
		return opts
	}
	if p.verifier != nil {
		opts = append(opts, mcpserver.WithRequireAuth(true))
	}
	if u := p.pagesURL(); u != "" {
		opts = append(opts, mcpserver.WithPublicURL(u))
	}
	return opts
}
