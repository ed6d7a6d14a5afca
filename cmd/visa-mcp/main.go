package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/mcpserver/mcphttp"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "visa-mcp:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2) // the flag package's convention for a bad command line
		}
		os.Exit(1)
	}
}

// flags are the command line, completed from the environment (a flag not
// given takes its VISA_MCP_* variable) and from the profile.
type flags struct {
	http           string
	db             string
	reveal         bool
	verbose        bool
	profile        string
	auth           string
	stateless      bool
	publicURL      string
	allowedOrigins string
	allowedHosts   string
	maxSessions    int
	maxInFlight    int
	sessionTimeout time.Duration
	cardArgs       bool
	// given names the flags set on the command line or by a variable.
	given map[string]bool
}

// Profiles.
const (
	// profileAgentCore is the AWS Bedrock AgentCore Runtime contract:
	// 0.0.0.0:8000/mcp, stateless streamable HTTP, OAuth bearer tokens.
	profileAgentCore = "agentcore"
	agentCoreAddr    = "0.0.0.0:8000"
)

// Authentication modes of -auth.
const (
	authToken = "token"
	authOAuth = "oauth"
	authNone  = "none"
)

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	f := flags{given: map[string]bool{}}
	fs := flag.NewFlagSet("visa-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.http, "http", "", "serve streamable HTTP at this address (e.g. localhost:8765) instead of stdio; the endpoint is /mcp")
	fs.StringVar(&f.db, "db", "", "SQLite file keeping cards, sealed passkeys and purchases (default: in memory; VISA_MCP_DATABASE_URL for PostgreSQL); set VISA_SEALER_KEYS and VISA_MCP_DEVICE_KEY with it")
	fs.BoolVar(&f.reveal, "reveal-credentials", false, "return clear payment credentials to the agent (default: masked)")
	fs.BoolVar(&f.verbose, "v", false, "debug logging (one record per Visa call, never a body or a secret)")
	fs.StringVar(&f.profile, "profile", "", `deployment profile: "agentcore" (AWS Bedrock AgentCore Runtime: 0.0.0.0:8000/mcp, stateless, OAuth required)`)
	fs.StringVar(&f.auth, "auth", "", `HTTP authentication: "token" (a static bearer token, VISA_MCP_TOKEN or generated and printed once), `+
		`"oauth" (JWT access tokens of VISA_MCP_OAUTH_ISSUER) or "none" (loopback addresses only); default oauth when an issuer is set, else token`)
	fs.BoolVar(&f.stateless, "stateless", false, "serve every HTTP request on its own, without sessions (replicas behind a load balancer)")
	fs.StringVar(&f.publicURL, "public-url", "", "the endpoint's URL as clients reach it (e.g. https://mcp.example.com/mcp): the OAuth resource, its origin and host allowed")
	fs.StringVar(&f.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the server's own (any other Origin gets 403)")
	fs.StringVar(&f.allowedHosts, "allowed-hosts", "", "comma-separated Host names served besides loopback ones and the public URL's (* for any, with authentication)")
	fs.IntVar(&f.maxSessions, "max-sessions", mcphttp.DefaultMaxSessions, "live HTTP sessions at most (a new one beyond gets 503)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", mcphttp.DefaultMaxInFlight, "HTTP POST requests served at once at most (one beyond gets 503)")
	fs.DurationVar(&f.sessionTimeout, "session-timeout", mcphttp.DefaultSessionTimeout, "close an HTTP session idle this long")
	fs.BoolVar(&f.cardArgs, "card-arguments", false, "accept card numbers as add-card arguments, for headless agents: they pass through the model's context "+
		"(default: on for stdio, off with HTTP authentication, where the shopper types the card on the card-entry page)")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, &usageError{err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return f, &usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	return f, nil
}

// complete fills the flags not given from their VISA_MCP_* variables,
// then from the profile, and checks them. A bad value is a usage error.
func (f *flags) complete(lookup func(string) (string, bool)) error {
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	strs := map[string]struct {
		env string
		p   *string
	}{"http": {"VISA_MCP_HTTP", &f.http}, "db": {"VISA_MCP_DB", &f.db}, "profile": {"VISA_MCP_PROFILE", &f.profile},
		"auth": {"VISA_MCP_AUTH", &f.auth}, "public-url": {"VISA_MCP_PUBLIC_URL", &f.publicURL},
		"allowed-origins": {"VISA_MCP_ALLOWED_ORIGINS", &f.allowedOrigins}, "allowed-hosts": {"VISA_MCP_ALLOWED_HOSTS", &f.allowedHosts}}
	for name, b := range strs {
		if v, ok := get(b.env); ok && !f.given[name] {
			*b.p, f.given[name] = v, true
		}
	}
	if v, ok := get("VISA_MCP_STATELESS"); ok && !f.given["stateless"] {
		b, err := envBool("VISA_MCP_STATELESS", v)
		if err != nil {
			return &usageError{err}
		}
		f.stateless, f.given["stateless"] = b, true
	}
	if v, ok := get("VISA_MCP_CARD_ARGUMENTS"); ok && !f.given["card-arguments"] {
		b, err := envBool("VISA_MCP_CARD_ARGUMENTS", v)
		if err != nil {
			return &usageError{err}
		}
		f.cardArgs, f.given["card-arguments"] = b, true
	}
	if v, ok := get("VISA_MCP_MAX_SESSIONS"); ok && !f.given["max-sessions"] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &usageError{visa.NewInputError("VISA_MCP_MAX_SESSIONS", "must be a positive number")}
		}
		f.maxSessions, f.given["max-sessions"] = n, true
	}
	if v, ok := get("VISA_MCP_MAX_IN_FLIGHT"); ok && !f.given["max-in-flight"] {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &usageError{visa.NewInputError("VISA_MCP_MAX_IN_FLIGHT", "must be a positive number")}
		}
		f.maxInFlight, f.given["max-in-flight"] = n, true
	}
	if v, ok := get("VISA_MCP_SESSION_TIMEOUT"); ok && !f.given["session-timeout"] {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return &usageError{visa.NewInputError("VISA_MCP_SESSION_TIMEOUT", "must be a positive duration such as 30m")}
		}
		f.sessionTimeout, f.given["session-timeout"] = d, true
	}
	switch f.profile {
	case "":
	case profileAgentCore:
		// The AgentCore Runtime contract: the platform sends POST
		// 0.0.0.0:8000/mcp, stateless, with its own session header; the
		// caller's OAuth token is checked here too.
		if !f.given["http"] {
			f.http = agentCoreAddr
		}
		if !f.given["stateless"] {
			f.stateless = true
		}
		if !f.given["auth"] {
			f.auth = authOAuth
		}
		if f.auth != authOAuth {
			return &usageError{fmt.Errorf("-profile agentcore requires -auth oauth (got %q): the runtime is reachable beyond this host", f.auth)}
		}
		if !f.given["allowed-hosts"] {
			// Behind the AgentCore proxy the Host is the platform's; every
			// request needs a valid token.
			f.allowedHosts = mcphttp.AnyHost
		}
	default:
		return &usageError{fmt.Errorf("-profile: unknown profile %q (known: agentcore)", f.profile)}
	}
	switch f.auth {
	case "", authToken, authOAuth, authNone:
	default:
		return &usageError{fmt.Errorf("-auth: unknown mode %q (token, oauth or none)", f.auth)}
	}
	if f.maxSessions < 1 {
		return &usageError{errors.New("-max-sessions must be positive")}
	}
	if f.maxInFlight < 1 {
		return &usageError{errors.New("-max-in-flight must be positive")}
	}
	if f.sessionTimeout <= 0 {
		return &usageError{errors.New("-session-timeout must be positive")}
	}
	return nil
}

// usageError is a bad command line: main exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage prints the synopsis, the flags and every environment variable the
// command reads.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: %s [-http ADDR [-auth token|oauth|none] [-stateless] ...] [-profile agentcore] [-db FILE] [-reveal-credentials] [-v]\n\n", fs.Name())
	fmt.Fprintf(w, "%s %s serves the vicgo SDK as MCP tools, on stdio or (with -http) streamable HTTP at /mcp.\n\nFlags:\n", fs.Name(), visa.Version)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nEnvironment (secrets are never logged):\n")
	for _, v := range visa.EnvVars {
		fmt.Fprintf(w, "  %-32s %s\n", v.Name, v.Description)
	}
	for _, name := range secretFileVars() {
		fmt.Fprintf(w, "  %-32s %s\n", name, "path of a file holding "+strings.TrimSuffix(name, "_FILE")+" (set one or the other)")
	}
	for _, v := range mcpVars {
		fmt.Fprintf(w, "  %-32s %s\n", v.name, v.desc)
		if v.file {
			fmt.Fprintf(w, "  %-32s %s\n", v.name+"_FILE", "path of a file holding "+v.name+" (set one or the other)")
		}
	}
	if inProcessSandbox != nil {
		fmt.Fprintf(w, "\nWith no VISA_VTS_API_KEY or VISA_VIC_API_KEY it serves against an in-process sandbox (this binary was built with -tags sandbox).\n")
	} else {
		fmt.Fprintf(w, "\nThis binary has no sandbox: without VISA_* configuration it stops. Build with -tags sandbox to try it locally.\n")
	}
}

// configured reports whether the environment names a Visa (or a
// standalone sandbox) to talk to, as the examples decide it.
func configured(lookup func(string) (string, bool)) bool {
	for _, name := range []string{"VISA_VTS_API_KEY", "VISA_VIC_API_KEY"} {
		if v, _ := lookup(name); strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// inProcessSandbox starts a local sandbox for a run without VISA_*
// configuration. It is nil unless the binary is built with -tags sandbox
// (sandbox.go): the server deployed against Visa links no sandbox and
// cannot fall back to one.
var inProcessSandbox func(logger *slog.Logger) (cfg visa.Config, merchantURL string, stop func() error, err error)

// errNoConfiguration is the error of a run without VISA_* configuration in
// a binary without the sandbox.
var errNoConfiguration = errors.New("no VISA_* configuration: set VISA_VTS_API_KEY, VISA_VIC_API_KEY and the rest " +
	"(see visa-mcp -h), or build with the sandbox to try it locally: go run -tags sandbox ./cmd/visa-mcp")

// env is what the server runs on.
type env struct {
	cfg         visa.Config
	merchantURL string
	opts        []mcpserver.Option
	closers     []func() error
	sandboxed   bool // against the in-process sandbox
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		_ = e.closers[i]()
	}
}

// setup builds the configuration, the in-process sandbox when there is no
// configuration, the store and the sealer.
func setup(ctx context.Context, f flags, lookup func(string) (string, bool), logger *slog.Logger) (*env, error) {
	e := &env{}
	if configured(lookup) {
		cfg, err := visa.ConfigFromLookup(lookup)
		if err != nil {
			return nil, err
		}
		e.cfg = cfg
		e.merchantURL, _ = lookup("VISA_MERCHANT_URL")
		logger.Info("visa-mcp: using the VISA_* configuration", "environment", string(cfg.Environment))
	} else {
		if inProcessSandbox == nil {
			return nil, errNoConfiguration
		}
		cfg, merchantURL, stop, err := inProcessSandbox(logger)
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, stop)
		e.cfg, e.merchantURL, e.sandboxed = cfg, merchantURL, true
	}
	e.cfg.Logger = logger
	if e.merchantURL != "" {
		m, err := agenttest.NewSandboxMerchant(e.merchantURL, e.cfg)
		if err != nil {
			e.close()
			return nil, err
		}
		e.opts = append(e.opts, mcpserver.WithMerchant(m))
	} else {
		logger.Warn("visa-mcp: no VISA_MERCHANT_URL: the purchase tool cannot charge")
	}
	dbURL, _ := lookup("VISA_MCP_DATABASE_URL")
	dbURL = strings.TrimSpace(dbURL)
	persistent := f.db != "" || dbURL != ""
	switch {
	case f.db != "" && dbURL != "":
		e.close()
		return nil, &usageError{errors.New("set only one of -db (SQLite) and VISA_MCP_DATABASE_URL (PostgreSQL)")}
	case f.db != "":
		st, err := sqlite.Open(ctx, f.db)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("opening %s: %w", f.db, err)
		}
		e.closers = append(e.closers, st.Close)
		e.opts = append(e.opts, mcpserver.WithStore(st))
	case dbURL != "":
		st, err := postgres.Open(ctx, dbURL)
		if err != nil {
			e.close()
			// The URL holds a password: the error names the variable only.
			return nil, errors.New("VISA_MCP_DATABASE_URL: cannot open the PostgreSQL store (check the URL, the network and the credentials)")
		}
		e.closers = append(e.closers, st.Close)
		e.opts = append(e.opts, mcpserver.WithStore(st))
		logger.Info("visa-mcp: using the PostgreSQL store of VISA_MCP_DATABASE_URL")
	}
	if persistent && e.sandboxed {
		logger.Warn("visa-mcp: the in-process sandbox forgets its tokens when the process ends: " +
			"cards kept in the database will not work after a restart (run cmd/visa-sandbox with -data-dir, or configure a Visa)")
	}
	if spec, _ := lookup("VISA_SEALER_KEYS"); strings.TrimSpace(spec) != "" {
		sealer, err := fido.ParseKeyring(spec)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("VISA_SEALER_KEYS: %w", err)
		}
		e.opts = append(e.opts, mcpserver.WithSealer(sealer))
	} else if persistent {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		sealer, _ := fido.NewSealer("run", map[string][]byte{"run": key})
		e.opts = append(e.opts, mcpserver.WithSealer(sealer))
		logger.Warn("visa-mcp: no VISA_SEALER_KEYS: passkeys stored now cannot be opened after a restart")
	}
	if spec, _ := lookup("VISA_MCP_DEVICE_KEY"); strings.TrimSpace(spec) != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(spec))
		if err != nil || len(key) < mcpserver.MinDeviceKeyLen {
			e.close()
			return nil, errors.New("VISA_MCP_DEVICE_KEY: must be at least 32 bytes in base64")
		}
		e.opts = append(e.opts, mcpserver.WithDeviceKey(key))
		clear(key)
	} else if persistent {
		logger.Warn("visa-mcp: no VISA_MCP_DEVICE_KEY: default device ids, and the passkeys bound to them, change after a restart")
	}
	e.opts = append(e.opts, mcpserver.WithRevealCredentials(f.reveal), mcpserver.WithLogger(logger))
	return e, nil
}

// run serves until ctx ends (or, on stdio, until the client goes away).
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if lookup, err = withFiles(lookup); err != nil {
		return err
	}
	if err := f.complete(lookup); err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The HTTP plan is checked before anything starts: a bind it refuses
	// (non-loopback without authentication) is a usage error.
	var plan *httpPlan
	if f.http != "" {
		if plan, err = planHTTP(f, lookup); err != nil {
			return err
		}
	}
	if f.profile == profileAgentCore {
		if v, _ := lookup("VISA_MCP_DATABASE_URL"); strings.TrimSpace(v) == "" && f.db == "" {
			return &usageError{errors.New("-profile agentcore is stateless across microVMs: set VISA_MCP_DATABASE_URL (or VISA_MCP_DATABASE_URL_FILE) to the PostgreSQL store")}
		}
		// Every instance must open the passkeys another sealed and compute
		// the same default device ids.
		for _, name := range []string{"VISA_SEALER_KEYS", "VISA_MCP_DEVICE_KEY"} {
			if v, _ := lookup(name); strings.TrimSpace(v) == "" {
				return &usageError{fmt.Errorf("-profile agentcore needs %s (or %s_FILE), the same on every instance", name, name)}
			}
		}
	}
	// Listening first: the server's public URL (its card-entry links) may
	// need the port.
	var ln net.Listener
	if plan != nil {
		if ln, err = net.Listen("tcp", plan.addr); err != nil {
			return err
		}
		defer func() { _ = ln.Close() }()
		plan.listening(ln.Addr())
	}
	e, err := setup(ctx, f, lookup, logger)
	if err != nil {
		return err
	}
	defer e.close()
	srv, err := mcpserver.New(e.cfg, append(e.opts, plan.serverOptions(f)...)...)
	if err != nil {
		return err
	}
	defer srv.Close()
	// The reconciler settles what a crash (of this process or of another
	// replica sharing the database) left unfinished, at start and then
	// every 30 s: never a second credential, never a second charge. Leases
	// keep it away from journeys a live process holds.
	logger.Info("visa-mcp: reconciling unfinished journeys at start and every 30 s")
	rctx, stopReconciler := context.WithCancel(ctx)
	var reconciling sync.WaitGroup
	reconciling.Add(1)
	go func() {
		defer reconciling.Done()
		_ = srv.Agent().RunReconciler(rctx, 30*time.Second)
	}()
	defer func() { stopReconciler(); reconciling.Wait() }()
	if f.reveal {
		logger.Warn("visa-mcp: -reveal-credentials: clear payment credentials go to the agent")
	}
	if plan == nil {
		logger.Info("visa-mcp: serving MCP on stdio")
		return srv.RunStdio(ctx)
	}
	h, err := plan.handler(srv, logger)
	if err != nil {
		return err
	}
	if plan.generated != "" {
		// Printed once, to the terminal that started the server; never
		// logged again.
		fmt.Fprintf(stderr, "visa-mcp: bearer token for this run (shown once): %s\n", plan.generated)
		plan.generated = ""
	}
	return serveHTTP(ctx, ln, h, logger)
}

// serveHTTP serves h on ln until ctx ends, then closes h's sessions.
func serveHTTP(ctx context.Context, ln net.Listener, h *mcphttp.Handler, logger *slog.Logger) error {
	defer func() { _ = h.Close() }()
	// Streamable HTTP holds long-lived responses (event streams); their
	// request contexts derive from base, cancelled at shutdown, so they
	// end instead of making Shutdown wait them out.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, BaseContext: func(net.Listener) context.Context { return base }}
	logger.Info("visa-mcp: serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+mcphttp.DefaultPath)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A client still holds a stream after the grace period: cut it.
		// Stopping is what was asked, so this is not an error.
		logger.Warn("visa-mcp: closing connections still open after 5 s")
		err = hs.Close()
	}
	<-done
	return err
}
