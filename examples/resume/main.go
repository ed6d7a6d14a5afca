package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/examples/internal/exampleenv"
	"github.com/vicgo/visa/store"
)

func main() {
	at := flag.String("at", string(agent.AfterCharge), "the boundary to crash at")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, agent.Boundary(*at)); err != nil {
		fmt.Fprintln(os.Stderr, "resume failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, at agent.Boundary) error {
	if !slices.Contains(agent.Boundaries, at) {
		return fmt.Errorf("unknown boundary %q", at)
	}
	env, err := exampleenv.Setup(ctx, exampleenv.Options{})
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := env.Agent()
	if err != nil {
		return err
	}
	u, dev := exampleenv.User(), exampleenv.Device()
	card, err := exampleenv.Card("4111111111111111")
	if err != nil {
		return err
	}
	res, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: &agent.ScriptedCardholder{OTPs: []string{"456789"}}})
	if err != nil {
		return err
	}
	crashing, err := env.Agent(agent.WithInterrupt(func(b agent.Boundary) bool { return b == at }))
	if err != nil {
		return err
	}
	_, err = crashing.Purchase(ctx, agent.PurchaseRequest{UserID: u.ID, TokenID: res.Card.TokenID, Device: dev,
		Amount: visa.MustParseAmount("25.00", "USD"), Description: "A book",
		Merchant: agent.MerchantInfo{Name: "Bookshop", URL: "https://books.example", CountryCode: "US"}})
	if !errors.Is(err, agent.ErrInterrupted) {
		return fmt.Errorf("expected the purchase to be interrupted, got %v", err)
	}
	tx, err := only(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "crashed %s: the record says %s\n", at, tx.Status)

	// The restarted process.
	rep, err := a.Resume(ctx)
	if err != nil {
		return err
	}
	tx, err = only(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "resumed: completed %d, declined %d, cancelled %d; the record now says %s\n",
		rep.Completed, rep.Declined, rep.Cancelled, tx.Status)
	if env.Sandbox != nil {
		fmt.Fprintf(out, "sandbox: %d credential(s) issued for the instruction, %d charge(s) for the transaction\n",
			env.Sandbox.CredentialsFor(tx.InstructionID), env.Sandbox.ChargesFor(tx.TransactionReferenceID))
	}
	if !tx.Status.Final() {
		return fmt.Errorf("transaction still %s", tx.Status)
	}
	return nil
}

func only(ctx context.Context, a *agent.Agent) (store.Transaction, error) {
	for tx, err := range a.Transactions(ctx, store.TxFilter{}) {
		return tx, err
	}
	return store.Transaction{}, errors.New("no transaction recorded")
}
