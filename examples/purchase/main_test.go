package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vicgo/visa/agent"
)

func TestPurchase(t *testing.T) {
	in := args{user: "user-dave", token: "", card: "4111111111111111", amount: "42.50", currency: "USD", merchant: "Best Buy",
		merchantURL: "https://www.bestbuy.com", description: "headphones"}
	var out bytes.Buffer
	if err := run(context.Background(), &out, in); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "APPROVED") || !strings.Contains(out.String(), "is COMPLETED") ||
		!strings.Contains(out.String(), "talking to an in-process sandbox") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
	in.card = "4000000000009995"
	out.Reset()
	if err := run(context.Background(), &out, in); !errors.Is(err, agent.ErrDeclined) {
		t.Fatalf("want a decline, got %v\n%s", err, out.String())
	}
	in.amount = "-3"
	if err := run(context.Background(), &bytes.Buffer{}, in); err == nil {
		t.Error("a negative amount is refused")
	}
}
