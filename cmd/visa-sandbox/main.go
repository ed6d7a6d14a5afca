package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "visa-sandbox:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		os.Exit(2) // the flag package's convention for a bad command line
	}
	os.Exit(1)
}

// defaultAddr is where the sandbox listens unless -addr says otherwise.
const defaultAddr = "localhost:8099"

// options are the command line.
type options struct {
	addr     string
	useTLS   bool
	mtls     bool
	dataDir  string
	printEnv bool
	envFile  string
	format   string
	detach   bool
	verbose  bool
	// merchantTAP and merchantTAPLenient: -merchant-tap (tap.go).
	merchantTAP        string
	merchantTAPLenient bool
	// maxRetained is -max-retained (sandbox.WithMaxRetained).
	maxRetained int
}

// usageError is a bad command line: main exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("visa-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", defaultAddr, "listen address (host:port; port 0 picks a free one)")
	fs.BoolVar(&o.useTLS, "tls", false, "serve HTTPS with the sandbox's own CA (printed as VISA_TLS_CA)")
	fs.BoolVar(&o.mtls, "mtls", false, "with -tls, require a client certificate (printed as VISA_TLS_CLIENT_CERT and VISA_TLS_CLIENT_KEY)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory keeping the MLE, signing and TLS keys across restarts (default: fresh keys per run)")
	fs.BoolVar(&o.printEnv, "print-env", false, "print the environment and exit without serving (use with -data-dir so the keys stay valid)")
	fs.StringVar(&o.envFile, "env-file", "", "write the environment to this file (mode 0600) once listening, before serving, instead of to standard output")
	fs.StringVar(&o.format, "format", formatShell, `environment format: "shell" (export VISA_... lines for this SDK) or "visa-kit" (a dotenv file under the names of Visa's TypeScript kit)`)
	fs.BoolVar(&o.detach, "detach", false, "with -env-file, serve in the background and return once the file is written; stop it with kill \"$VISA_SANDBOX_PID\"")
	fs.BoolVar(&o.verbose, "v", false, "log every request to stderr (method, path, status, duration, correlation id)")
	fs.IntVar(&o.maxRetained, "max-retained", sandbox.DefaultMaxRetained, "keep at most this many finished records of each kind (instructions, tokens, authorizations, sessions, ...) besides those of live journeys, oldest evicted first; 0 keeps everything for the retention of 30 minutes")
	fs.StringVar(&o.merchantTAP, "merchant-tap", "", "require Trusted Agent Protocol signatures (tag agent-payer-auth) at the merchant authorizer, with the agent keys of this JWKS file or https JWKS URL")
	fs.BoolVar(&o.merchantTAPLenient, "merchant-tap-lenient", false, "with -merchant-tap, also accept the non-canonical Signature-Input of Visa's sample agent")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, &usageError{err}
	}
	bad := func(format string, a ...any) (options, error) {
		fs.Usage()
		return o, &usageError{fmt.Errorf(format, a...)}
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case o.format != formatShell && o.format != formatVisaKit:
		return bad("-format must be %q or %q", formatShell, formatVisaKit)
	case o.detach && o.envFile == "":
		return bad("-detach needs -env-file: the file is how the shell learns the environment")
	case o.detach && o.printEnv:
		return bad("-detach and -print-env exclude each other")
	case o.mtls && !o.useTLS:
		return bad("-mtls needs -tls")
	case o.maxRetained < 0:
		return bad("-max-retained must not be negative")
	}
	return o, nil
}

// usage prints the synopsis, the flags and the sandbox-only endpoints.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: %s [-addr HOST:PORT] [-tls [-mtls]] [-data-dir DIR] [-env-file FILE [-detach]] [-format shell|visa-kit] [-print-env] [-v] [-merchant-tap JWKS [-merchant-tap-lenient]]\n\n", fs.Name())
	fmt.Fprintf(w, "%s %s serves a local, stateful Visa (VTS, VIC, the Auth iFrame and a merchant authorizer)\n", fs.Name(), visa.Version)
	fmt.Fprintf(w, "on one base URL, with throw-away test credentials, and prints the environment a client needs.\n\nFlags:\n")
	fs.PrintDefaults()
	fmt.Fprintf(w, `
Sandbox-only endpoints (the admin ones need no X-Pay-Token: keep the sandbox on loopback):
  GET    /vdp/helloworld                           connectivity check (X-Pay-Token, or a client certificate with -mtls)
  GET    /.well-known/jwks.json                    signedPayload and iFrame signing keys
  POST   /sandbox/v1/merchant/authorizations       the merchant authorizer (VISA_MERCHANT_URL)
  GET    /sandbox/v1/merchant/authorizations/{ref} the recorded result for a transaction reference
  GET    /sandbox/v1/admin/state                   inspection: tokens, OTPs, instructions, credentials, faults
  POST   /sandbox/v1/admin/faults                  install a fault plan (JSON)
  DELETE /sandbox/v1/admin/faults                  clear faults

Stop it with Ctrl-C or SIGTERM (kill "$VISA_SANDBOX_PID" after sourcing its environment).
Test data: card 4111111111111111, one-time code 456789; cmd/visa-sandbox/README.md has the rest.
`)
}

// run parses flags, starts the sandbox, writes the environment and serves
// until ctx ends or a signal arrives.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.detach {
		return detach(ctx, o, args, stderr)
	}
	// Signals are caught before the sandbox listens: a SIGTERM that
	// arrives as soon as the environment is printed (a supervisor that
	// stops what it just started) shuts down cleanly instead of killing
	// the process half way.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ready := readyNotifier()

	opts := []sandbox.Option{sandbox.WithAddr(o.addr), sandbox.WithLogger(logger), sandbox.WithMaxRetained(o.maxRetained)}
	if !o.useTLS {
		opts = append(opts, sandbox.WithPlainHTTP())
	}
	if o.mtls {
		opts = append(opts, sandbox.WithMutualTLS())
	}
	if o.dataDir != "" {
		opts = append(opts, sandbox.WithKeyDir(o.dataDir))
	} else {
		opts = append(opts, sandbox.WithFreshKeys())
	}
	if o.merchantTAP != "" {
		v, err := merchantVerifier(o.merchantTAP, o.merchantTAPLenient)
		if err != nil {
			ready.fail(err)
			return err
		}
		opts = append(opts, sandbox.WithMerchantTAP(v))
	}
	sb, err := sandbox.New(opts...)
	if err != nil {
		err = explainListen(err, o.addr)
		ready.fail(err)
		return err
	}
	defer sb.Close()

	env := environment(sb, o.format, os.Getpid(), !o.printEnv)
	if o.envFile != "" {
		err = writeFileAtomic(o.envFile, env)
	} else {
		_, err = io.WriteString(stdout, env)
	}
	if err != nil {
		ready.fail(err)
		return err
	}
	if o.printEnv {
		return sb.Close()
	}
	logger.Info("visa-sandbox serving", "base", sb.BaseURL(), "merchant", sb.MerchantURL(), "jwks", sb.JWKSURL(), "pid", os.Getpid())
	if o.envFile != "" {
		logger.Info("visa-sandbox environment written", "file", o.envFile, "load", ". "+shellPath(o.envFile))
	}
	ready.ok()

	<-ctx.Done()
	logger.Info("visa-sandbox shutting down")
	return sb.Close()
}

// explainListen turns "address already in use" into what to do about it.
func explainListen(err error, addr string) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return fmt.Errorf("%s is already in use (another visa-sandbox? stop it with kill \"$VISA_SANDBOX_PID\"); "+
		"choose another port with -addr localhost:PORT, or -addr localhost:0 for any free one: %w", addr, err)
}

// shellPath makes a relative path sourceable (". ./sandbox.env").
func shellPath(p string) string {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, ".") {
		return p
	}
	return "./" + p
}

// writeFileAtomic writes data to path (mode 0600: it holds the sandbox's
// private keys) so that a reader sees either no file or the whole file.
func writeFileAtomic(path, data string) error {
	dir, base := ".", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the environment file: %w", err)
	}
	tmp := f.Name()
	if _, err = f.WriteString(data); err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing the environment file: %w", err)
	}
	return nil
}
