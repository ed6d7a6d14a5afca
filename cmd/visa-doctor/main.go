package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vicgo/visa"
)

func main() {
	failed, err := run(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "visa-doctor:", err)
		os.Exit(2) // a bad command line
	case failed:
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	timeout       time.Duration
	mleClientCert string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("visa-doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on each network check")
	fs.StringVar(&o.mleClientCert, "mle-client-cert", "", "your MLE client certificate (PEM file), to check that VISA_MLE_CLIENT_KEY is its private key (or set VISA_MLE_CLIENT_CERT_FILE)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s [-timeout 10s] [-mle-client-cert FILE]\n\n", fs.Name())
		fmt.Fprintf(w, "%s %s checks the VISA_* configuration in the environment against the Visa it names,\n", fs.Name(), visa.Version)
		fmt.Fprintf(w, "before the first real call: one line per check, PASS, FAIL with the reason, or SKIP.\n")
		fmt.Fprintf(w, "It exits 0 when nothing failed, 1 when a check failed, 2 on a bad command line.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(w, "\nChecks:\n")
		for _, c := range checkNames {
			fmt.Fprintf(w, "  %s\n", c)
		}
		fmt.Fprintf(w, "\nEnvironment: the VISA_* variables of the SDK (see README.md), and\n")
		fmt.Fprintf(w, "  VISA_MLE_CLIENT_CERT, VISA_MLE_CLIENT_CERT_FILE  your MLE client certificate, as -mle-client-cert\n")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.timeout <= 0 {
		return o, errors.New("-timeout must be positive")
	}
	return o, nil
}

// run checks the configuration that lookup reads and prints one line per
// check to out. failed reports whether any check failed; err is a bad
// command line.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), out, stderr io.Writer) (failed bool, err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return false, err
	}
	d := &doctor{out: out, timeout: o.timeout}
	d.checkAll(ctx, lookup, o)
	if d.failed > 0 {
		fmt.Fprintf(out, "visa-doctor found %d problem(s) (%d checks passed, %d skipped)\n", d.failed, d.passed, d.skipped)
	} else {
		fmt.Fprintf(out, "visa-doctor found no problem (%d checks passed, %d skipped)\n", d.passed, d.skipped)
	}
	return d.failed > 0, nil
}
