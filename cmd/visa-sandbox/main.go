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

	"github.com/vicgo/visa/sandbox"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "visa-sandbox:", err)
		os.Exit(1)
	}
}

// run parses flags, starts the sandbox, prints the environment and serves
// until ctx ends or a signal arrives.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("visa-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:8099", "listen address (host:port; port 0 picks a free one)")
	useTLS := fs.Bool("tls", false, "serve HTTPS with the sandbox's own CA (printed as VISA_TLS_CA)")
	dataDir := fs.String("data-dir", "", "directory keeping the MLE, signing and TLS keys across restarts (default: fresh keys per run)")
	printEnv := fs.Bool("print-env", false, "print the environment and exit without serving (use with -data-dir so the keys stay valid)")
	verbose := fs.Bool("v", false, "log every request to stderr (method, path, status, duration, correlation id)")
	merchantTAP := fs.String("merchant-tap", "", "require Trusted Agent Protocol signatures (tag agent-payer-auth) at the merchant authorizer, with the agent keys of this JWKS file or https JWKS URL")
	merchantTAPLenient := fs.Bool("merchant-tap-lenient", false, "with -merchant-tap, also accept the non-canonical Signature-Input of Visa's sample agent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	opts := []sandbox.Option{sandbox.WithAddr(*addr), sandbox.WithLogger(logger)}
	if !*useTLS {
		opts = append(opts, sandbox.WithPlainHTTP())
	}
	if *dataDir != "" {
		opts = append(opts, sandbox.WithKeyDir(*dataDir))
	} else {
		opts = append(opts, sandbox.WithFreshKeys())
	}
	if *merchantTAP != "" {
		v, err := merchantVerifier(*merchantTAP, *merchantTAPLenient)
		if err != nil {
			return err
		}
		opts = append(opts, sandbox.WithMerchantTAP(v))
	}
	sb, err := sandbox.New(opts...)
	if err != nil {
		return err
	}
	defer sb.Close()

	fmt.Fprintln(stdout, "# vicgo sandbox: test credentials, safe to print; eval these lines in a shell")
	for _, line := range sb.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		fmt.Fprintf(stdout, "export %s=%s\n", name, shellQuote(value))
	}
	// Not a visa.Config field: the examples and visa-mcp charge here.
	fmt.Fprintf(stdout, "export VISA_MERCHANT_URL=%s\n", shellQuote(sb.MerchantURL()))
	if *printEnv {
		return sb.Close()
	}
	logger.Info("visa-sandbox serving", "base", sb.BaseURL(), "merchant", sb.MerchantURL(), "jwks", sb.JWKSURL())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("visa-sandbox shutting down")
	return sb.Close()
}

// shellQuote single-quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
