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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/mcpserver"
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

// flags are the command line.
type flags struct {
	http    string
	db      string
	reveal  bool
	verbose bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("visa-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.http, "http", "", "serve streamable HTTP at this address (e.g. localhost:8765) instead of stdio; the endpoint is /mcp")
	fs.StringVar(&f.db, "db", "", "SQLite file keeping cards, sealed passkeys and purchases (default: in memory); set VISA_SEALER_KEYS with it")
	fs.BoolVar(&f.reveal, "reveal-credentials", false, "return clear payment credentials to the agent (default: masked)")
	fs.BoolVar(&f.verbose, "v", false, "debug logging (one record per Visa call, never a body or a secret)")
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
	return f, nil
}

// usageError is a bad command line: main exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage prints the synopsis, the flags and every environment variable the
// command reads.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: %s [-http ADDR] [-db FILE] [-reveal-credentials] [-v]\n\n", fs.Name())
	fmt.Fprintf(w, "%s %s serves the vicgo SDK as MCP tools, on stdio or (with -http) streamable HTTP at /mcp.\n\nFlags:\n", fs.Name(), visa.Version)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nEnvironment (secrets are never logged):\n")
	for _, v := range visa.EnvVars {
		fmt.Fprintf(w, "  %-32s %s\n", v.Name, v.Description)
	}
	fmt.Fprintf(w, "  %-32s %s\n", "VISA_MERCHANT_URL", "merchant authorizer the purchase tool charges (the sandbox's /sandbox/v1/merchant/authorizations)")
	fmt.Fprintf(w, "  %-32s %s\n", "VISA_SEALER_KEYS", "kid:base64key,... sealing passkeys at rest (the first seals, all open); needed with -db")
	fmt.Fprintf(w, "  %-32s %s\n", "VISA_MCP_DEVICE_KEY", "base64 key, at least 32 bytes, of the default device ids (an HMAC of the user id); needed with -db")
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
		e.cfg, e.merchantURL = cfg, merchantURL
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
	if f.db != "" {
		st, err := sqlite.Open(ctx, f.db)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("opening %s: %w", f.db, err)
		}
		e.closers = append(e.closers, st.Close)
		e.opts = append(e.opts, mcpserver.WithStore(st))
	}
	if spec, _ := lookup("VISA_SEALER_KEYS"); strings.TrimSpace(spec) != "" {
		sealer, err := fido.ParseKeyring(spec)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("VISA_SEALER_KEYS: %w", err)
		}
		e.opts = append(e.opts, mcpserver.WithSealer(sealer))
	} else if f.db != "" {
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
	} else if f.db != "" {
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
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	e, err := setup(ctx, f, lookup, logger)
	if err != nil {
		return err
	}
	defer e.close()
	srv, err := mcpserver.New(e.cfg, e.opts...)
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
	if f.http == "" {
		logger.Info("visa-mcp: serving MCP on stdio")
		return srv.RunStdio(ctx)
	}
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, ln, srv, logger)
}

// serveHTTP serves the streamable HTTP endpoint /mcp on ln until ctx ends.
func serveHTTP(ctx context.Context, ln net.Listener, srv *mcpserver.Server, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler())
	// Streamable HTTP holds long-lived responses (event streams); their
	// request contexts derive from base, cancelled at shutdown, so they
	// end instead of making Shutdown wait them out.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	logger.Info("visa-mcp: serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp")
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
