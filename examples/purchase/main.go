package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/examples/internal/exampleenv"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
)

type args struct {
	db, user, token, amount, currency, merchant, merchantURL, card, description string
}

func main() {
	var a args
	flag.StringVar(&a.db, "db", "", "SQLite file holding the card (default: in memory)")
	flag.StringVar(&a.user, "user", exampleenv.User().ID, "user id (the one the card was added for, with enroll -user)")
	flag.StringVar(&a.token, "token", "", "vProvisionedTokenID of a stored card (default: add a test card first)")
	flag.StringVar(&a.card, "card", "4111111111111111", "test card to add when -token is empty (4000000000009995: merchant declines)")
	flag.StringVar(&a.amount, "amount", "42.50", "amount")
	flag.StringVar(&a.currency, "currency", "USD", "ISO 4217 currency")
	flag.StringVar(&a.merchant, "merchant", "Best Buy", "merchant name")
	flag.StringVar(&a.merchantURL, "merchant-url", "https://www.bestbuy.com", "merchant site")
	flag.StringVar(&a.description, "description", "Noise-cancelling headphones", "what is bought")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, a); err != nil {
		fmt.Fprintln(os.Stderr, "purchase failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, in args) error {
	opts := exampleenv.Options{Out: out}
	if in.db != "" {
		opts.OpenStore = func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, in.db) }
	}
	env, err := exampleenv.Setup(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	if env.MerchantURL == "" {
		return exampleenv.ErrNoMerchant
	}
	price, err := visa.ParseAmount(in.amount, in.currency)
	if err != nil {
		return err
	}
	a, err := env.Agent()
	if err != nil {
		return err
	}
	u, dev := exampleenv.User(), exampleenv.Device()
	if in.user != "" {
		u.ID = in.user
	}
	token := in.token
	if token == "" {
		card, err := exampleenv.Card(in.card)
		if err != nil {
			return err
		}
		res, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev,
			Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{"456789"}}})
		if err != nil {
			return fmt.Errorf("adding a test card first: %w", err)
		}
		token = res.Card.TokenID
		fmt.Fprintf(out, "added test card %s as token %s\n", card.PAN, token)
	}
	rec, err := a.Purchase(ctx, agent.PurchaseRequest{UserID: u.ID, TokenID: token, Device: dev, Amount: price,
		Merchant:    agent.MerchantInfo{Name: in.merchant, URL: in.merchantURL, CountryCode: "US"},
		Description: in.description})
	var decline *agent.DeclineError
	switch {
	case errors.As(err, &decline):
		fmt.Fprintf(out, "DECLINED by the merchant: response code %s (%s); recorded as %s and confirmed to VIC\n",
			decline.ResponseCode, decline.DeclineReason, rec.Transaction.Status)
		return err
	case err != nil:
		return err
	}
	tx := rec.Transaction
	fmt.Fprintf(out, "APPROVED: %s %s at %s, authorization %s, credential %s\n", tx.Amount, tx.Currency, tx.MerchantName,
		tx.AuthorizationCode, rec.Credential.PaymentToken)
	fmt.Fprintf(out, "transaction %s is %s (instruction %s)\n", tx.ID, tx.Status, tx.InstructionID)
	return nil
}
