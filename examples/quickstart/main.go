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
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/examples/internal/exampleenv"
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
	opts := exampleenv.Options{}
	if verbose {
		opts.Log, opts.Debug = os.Stderr, true
	}
	env, err := exampleenv.Setup(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	if env.MerchantURL == "" {
		return exampleenv.ErrNoMerchant
	}
	price, err := visa.ParseAmount(amount, currency)
	if err != nil {
		return err
	}
	card, err := exampleenv.Card(pan)
	if err != nil {
		return err
	}
	a, err := env.Agent(agent.WithProgress(func(p agent.Progress) { printStep(out, p) }))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "vicgo quickstart against the %s\n\n", env.Where())

	fmt.Fprintln(out, "Add a card (Phases 2 and 3)")
	u, dev := exampleenv.User(), exampleenv.Device()
	added, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: &cardholder{out: out}})
	if err != nil {
		return fmt.Errorf("adding the card: %w", err)
	}
	c := added.Card
	fmt.Fprintf(out, "  card stored: token %s, last 4 %s, expires %02d/%d, %s, VIC %s\n\n",
		c.TokenID, c.Last4, c.ExpiryMonth, c.ExpiryYear, c.TokenStatus, c.VICEnrollment)

	fmt.Fprintf(out, "Buy for %s at Best Buy (Phases 4 and 5)\n", price)
	rec, err := a.Purchase(ctx, agent.PurchaseRequest{
		UserID: u.ID, TokenID: c.TokenID, Device: dev, Amount: price,
		Merchant:       agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US", CategoryCode: "5732", Category: "Electronics"},
		Description:    "Noise-cancelling headphones",
		ConsumerPrompt: "Buy me the Sony noise-cancelling headphones if they are under $130",
	})
	if err != nil && !errors.Is(err, agent.ErrDeclined) {
		return fmt.Errorf("buying: %w", err)
	}
	fmt.Fprintf(out, "\nCredential used (redacted): %s\n", rec.Credential)
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
	if err != nil {
		return err // a decline: reported and recorded, but not a success
	}
	return nil
}

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
	return offered[0], nil
}

func (c *cardholder) EnterOTP(_ context.Context, p agent.OTPPrompt) (visa.OTP, error) {
	fmt.Fprintln(c.out, "       cardholder types the code received (the sandbox's is 456789)")
	return visa.ParseOTP("456789")
}
