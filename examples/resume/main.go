package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/examples/internal/exampleenv"
	"github.com/vicgo/visa/store"
)

func main() {
	at := flag.String("at", string(agenttest.AfterCharge), "the boundary to crash at")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, agenttest.Boundary(*at)); err != nil {
		fmt.Fprintln(os.Stderr, "resume failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, at agenttest.Boundary) error {
	if !agenttest.IsBoundary(at) {
		return fmt.Errorf("unknown boundary %q", at)
	}
	env, err := exampleenv.Setup(ctx, exampleenv.Options{Out: out})
	if err != nil {
		return err
	}
	defer env.Close()
	// A one-second lease and merchant timeout let the restarted process
	// take the crashed purchase over, and settle a charge that was never
	// sent, within seconds (production defaults: 30 s each, plus a 30 s
	// margin).
	same := []agent.Option{agent.WithLease(time.Second), agent.WithMerchantTimeout(time.Second, 0)}
	a, err := env.Agent(same...)
	if err != nil {
		return err
	}
	u, dev := exampleenv.User(), exampleenv.Device()
	card, err := exampleenv.Card("4111111111111111")
	if err != nil {
		return err
	}
	res, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{"456789"}}})
	if err != nil {
		return err
	}
	crashing, err := env.Agent(append(same, agenttest.WithInterrupt(func(b agenttest.Boundary) bool { return b == at }))...)
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

	// The restarted process reconciles: once the crashed run's lease has
	// lapsed, and, for a charge recorded as sent but unknown to the
	// merchant, once it can no longer land (the merchant timeout has
	// passed). It may take a few passes.
	var total agent.ReconcileReport
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err := a.Reconcile(ctx)
		if err != nil {
			return err
		}
		total.Completed += rep.Completed
		total.Declined += rep.Declined
		total.Cancelled += rep.Cancelled
		if tx, err = only(ctx, a); err != nil {
			return err
		}
		if tx.Status.Final() || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintf(out, "reconciled: completed %d, declined %d, cancelled %d; the record now says %s\n",
		total.Completed, total.Declined, total.Cancelled, tx.Status)
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
