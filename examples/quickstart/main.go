package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

func main() {
	pan := flag.String("card", "4111111111111111", "test card number (see the sandbox's test cards)")
	amount := flag.String("amount", "129.99", "purchase amount")
	currency := flag.String("currency", "USD", "ISO 4217 currency")
	verbose := flag.Bool("v", false, "print the SDK's debug log to stderr")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *pan, *amount, *currency, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, pan, amount, currency string, verbose bool) error {
	price, err := visa.ParseAmount(amount, currency)
	if err != nil {
		return err
	}
	card, err := testCard(pan)
	if err != nil {
		return err
	}
	v, err := connect(ctx)
	if err != nil {
		return err
	}
	defer v.stop()
	fmt.Fprintf(out, "vicgo quickstart: talking to %s\n\n", v.where)
	if verbose {
		v.cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// The agent: a store (memory here; store/sqlite or store/postgres
	// keep it), a sealer for passkeys at rest, the merchant it pays.
	st, err := memstore.New()
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := runSealer()
	if err != nil {
		return err
	}
	merchant, err := agenttest.NewSandboxMerchant(v.merchantURL, v.cfg) // the sandbox's merchant authorizer
	if err != nil {
		return err
	}
	a, err := agent.New(v.cfg, st, sealer, agent.WithMerchant(merchant),
		agent.WithProgress(func(p agent.Progress) { printStep(out, p) }))
	if err != nil {
		return err
	}

	fmt.Fprintln(out, "Add a card: steps 1 to 9 of the journey (docs/journey.md)")
	u := store.User{ID: "user-alice", Email: "alice@example.com", Country: "US", Language: "en"}
	dev := device()
	added, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: &cardholder{out: out}})
	if err != nil {
		return fmt.Errorf("adding the card: %w", err)
	}
	c := added.Card
	fmt.Fprintf(out, "  card stored as token %s, expires %02d/%d, %s, VIC %s\n", c.TokenID, c.ExpiryMonth, c.ExpiryYear, c.TokenStatus, c.VICEnrollment)
	fmt.Fprintf(out, "  last 4 digits %s: the token's, not the card's (the card number stays with Visa)\n\n", c.Last4)

	fmt.Fprintf(out, "Buy for %s at Best Buy: steps 10 to 16\n", price)
	rec, err := a.Purchase(ctx, agent.PurchaseRequest{
		UserID: u.ID, TokenID: c.TokenID, Device: dev, Amount: price,
		Merchant:       agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US", CategoryCode: "5732", Category: "Electronics"},
		Description:    "Noise-cancelling headphones",
		ConsumerPrompt: "Buy me the Sony noise-cancelling headphones if they are under $130",
	})
	if err != nil && !errors.Is(err, agent.ErrDeclined) {
		return fmt.Errorf("buying: %w", err)
	}
	fmt.Fprintf(out, "\nCredential used (redacted; the last 4 digits are the token's): %s\n", rec.Credential)
	tx := rec.Transaction
	fmt.Fprintln(out, "\nStored transaction:")
	for _, kv := range [][2]string{
		{"id", tx.ID}, {"status", string(tx.Status)}, {"amount", tx.Amount + " " + tx.Currency},
		{"merchant", tx.MerchantName}, {"instruction", tx.InstructionID}, {"transaction ref", tx.TransactionReferenceID},
		{"response code", tx.ResponseCode}, {"authorization", tx.AuthorizationCode},
		{"created", tx.CreatedAt.Format(time.RFC3339)}, {"completed", tx.CompletedAt.Format(time.RFC3339)},
		{"confirmed", tx.ConfirmedAt.Format(time.RFC3339)},
	} {
		fmt.Fprintf(out, "  %-16s %s\n", kv[0], kv[1])
	}
	return err // a decline is reported and recorded, but it is not a success
}

// target is the Visa the quickstart talks to.
type target struct {
	cfg         visa.Config
	merchantURL string
	where       string
	stop        func()
}

// connect returns the Visa that the VISA_* environment names, once it
// answers, or else a sandbox started in this process. It never falls back
// to the sandbox when VISA_* is set: a typo or a stopped server is an
// error, not a silent change of Visa.
func connect(ctx context.Context) (target, error) {
	if !configured() {
		s, err := sandbox.New()
		if err != nil {
			return target{}, fmt.Errorf("starting the in-process sandbox: %w", err)
		}
		return target{cfg: s.Config(), merchantURL: s.MerchantURL(), stop: func() { _ = s.Close() },
			where: "an in-process sandbox at " + s.BaseURL() + " (no VISA_* variable set)"}, nil
	}
	cfg, err := visa.ConfigFromEnv()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return target{}, fmt.Errorf("the VISA_* environment: %w", err)
	}
	merchantURL := os.Getenv("VISA_MERCHANT_URL")
	if merchantURL == "" {
		return target{}, errors.New("the VISA_* environment has no VISA_MERCHANT_URL, the merchant to pay (a standalone sandbox's is its /sandbox/v1/merchant/authorizations)")
	}
	if err := reachable(ctx, cfg); err != nil {
		return target{}, err
	}
	vic, _, _ := cfg.BaseURLs()
	return target{cfg: cfg, merchantURL: merchantURL, stop: func() {},
		where: vic + " (from the VISA_* environment, " + string(cfg.Environment) + ")"}, nil
}

// configured reports whether any variable of visa.ConfigFromEnv is set.
func configured() bool {
	for _, v := range visa.EnvVars {
		if os.Getenv(v.Name) != "" {
			return true
		}
	}
	return false
}

// reachable checks that every base URL answers HTTP (any status will do)
// within a few seconds, so an unreachable Visa fails at once with the
// variable to fix.
func reachable(ctx context.Context, cfg visa.Config) error {
	tlsCfg, err := cfg.TLS.ClientConfig()
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	vic, vtsURL, auth := cfg.BaseURLs()
	for _, b := range [][2]string{{"VISA_VIC_BASE_URL", vic}, {"VISA_VTS_BASE_URL", vtsURL}, {"VISA_AUTH_BASE_URL", auth}} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b[1]+"/", nil)
		if err != nil {
			return fmt.Errorf("%s: %w", b[0], err)
		}
		res, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s is %s, which does not answer (%v): start it (README.md, \"Pointing at Visa's sandbox\") "+
				"or unset the VISA_* variables to use an in-process sandbox", b[0], b[1], errors.Unwrap(err))
		}
		_ = res.Body.Close()
	}
	return nil
}

// runSealer seals passkeys at rest with VISA_SEALER_KEYS ("kid:base64key")
// or, without it, a key of this run only.
func runSealer() (*fido.Sealer, error) {
	if spec := os.Getenv("VISA_SEALER_KEYS"); spec != "" {
		return fido.ParseKeyring(spec)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return fido.NewSealer("run", map[string][]byte{"run": key})
}

// testCard is a test card with CVV2 917, expiring in three years.
func testCard(pan string) (vts.Card, error) {
	p, err := visa.ParsePAN(pan)
	if err != nil {
		return vts.Card{}, err
	}
	cvv, err := visa.ParseCVV2("917")
	if err != nil {
		return vts.Card{}, err
	}
	return vts.Card{PAN: p, CVV2: cvv, Name: "Alice Doe",
		ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}}, nil
}

// device is the shopper's device: a stable 24-character clientDeviceId and
// the app instance VIC sees.
func device() agent.Device {
	const id = "example-device-000000001"
	return agent.Device{ClientDeviceID: id, AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) vicgo-quickstart", ApplicationName: "vicgo quickstart",
		CountryCode: "US", IPAddress: "203.0.113.7", ClientDeviceID: id,
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Generic"},
	}}
}

// printStep prints one step of the journey with its number in
// docs/journey.md.
func printStep(out io.Writer, p agent.Progress) {
	name := p.Step.Name
	dots := strings.Repeat(".", max(2, 38-len(name)))
	if p.Err != nil {
		fmt.Fprintf(out, "  [%2d] %s %s %8s  FAILED: %v\n", p.Step.Number, name, dots, round(p.Duration), p.Err)
		return
	}
	fmt.Fprintf(out, "  [%2d] %s %s %8s  %s\n", p.Step.Number, name, dots, round(p.Duration), p.Outcome)
}

func round(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// cardholder plays the shopper: it picks SMS and types the sandbox's
// golden OTP, saying so.
type cardholder struct{ out io.Writer }

func (c *cardholder) ChooseStepUp(_ context.Context, offered []vts.StepUpRequest) (vts.StepUpRequest, error) {
	for _, o := range offered {
		if o.Method == vts.MethodOTPSMS {
			fmt.Fprintf(c.out, "       cardholder chooses %s to %s\n", o.Method, o.Value)
			return o, nil
		}
	}
	if len(offered) == 0 {
		return vts.StepUpRequest{}, errors.New("no step-up method offered")
	}
	return offered[0], nil
}

func (c *cardholder) EnterOTP(_ context.Context, p agent.OTPPrompt) (visa.OTP, error) {
	if p.LastError != nil {
		return visa.OTP{}, fmt.Errorf("the code was refused: %w", p.LastError)
	}
	fmt.Fprintln(c.out, "       cardholder types the code received (the sandbox's is 456789)")
	return visa.ParseOTP("456789")
}
