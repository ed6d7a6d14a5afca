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
	"github.com/vicgo/visa/vts"
)

func main() {
	pan := flag.String("card", "4111111111111111", "card number (sandbox test cards: 4111111111111111 OTP, 4012888888881881 no OTP, 4000000000000002 declined)")
	db := flag.String("db", "", "SQLite file to store the card in (default: in memory)")
	otp := flag.String("otp", "456789", "OTP the cardholder types (the sandbox's golden OTP is 456789)")
	method := flag.String("method", vts.MethodOTPSMS, "step-up method: OTPSMS or OTPEMAIL")
	userID := flag.String("user", exampleenv.User().ID, "user id")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *pan, *db, *otp, *method, *userID); err != nil {
		fmt.Fprintln(os.Stderr, "enroll failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, pan, db, otp, method, userID string) error {
	opts := exampleenv.Options{Out: out}
	if db != "" {
		opts.OpenStore = func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, db) }
	}
	env, err := exampleenv.Setup(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	card, err := exampleenv.Card(pan)
	if err != nil {
		return err
	}
	a, err := env.Agent(agent.WithProgress(func(p agent.Progress) {
		if p.Err != nil {
			fmt.Fprintf(out, "  step %2d %-34s failed: %v\n", p.Step.Number, p.Step.Name, p.Err)
			return
		}
		fmt.Fprintf(out, "  step %2d %-34s %s\n", p.Step.Number, p.Step.Name, p.Outcome)
	}))
	if err != nil {
		return err
	}
	u := exampleenv.User()
	u.ID = userID
	fmt.Fprintf(out, "adding card %s for %s\n", card.PAN, u.ID)
	res, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: exampleenv.Device(),
		Cardholder: refusals{&agenttest.ScriptedCardholder{Method: method, OTPs: []string{otp}}}})
	if err != nil {
		return err
	}
	c := res.Card
	fmt.Fprintf(out, "card added: token %s (last 4 %s, expires %02d/%d), %s, VIC %s, passkey %s, step-up %s\n",
		c.TokenID, c.Last4, c.ExpiryMonth, c.ExpiryYear, c.TokenStatus, c.VICEnrollment, res.Ceremony, res.StepUp)
	return nil
}

// refusals reports why Visa refused the last code when the cardholder has
// no other to offer: "the one-time code was refused: ..." rather than the
// script running out of codes.
type refusals struct{ agent.Cardholder }

func (c refusals) EnterOTP(ctx context.Context, p agent.OTPPrompt) (visa.OTP, error) {
	otp, err := c.Cardholder.EnterOTP(ctx, p)
	if err != nil && p.LastError != nil && !errors.Is(err, agent.ErrResendOTP) {
		return otp, fmt.Errorf("the one-time code was refused: %w", p.LastError)
	}
	return otp, err
}
