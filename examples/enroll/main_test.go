package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vicgo/visa"
)

func TestEnroll(t *testing.T) {
	var out bytes.Buffer
	db := filepath.Join(t.TempDir(), "cards.db")
	if err := run(context.Background(), &out, "4012888888881881", db, "456789", "OTPSMS", "user-alice"); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "VIC ENROLLED") || strings.Contains(out.String(), "4012888888881881") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "talking to an in-process sandbox") {
		t.Errorf("the output does not say which Visa:\n%s", out.String())
	}
	if err := run(context.Background(), &bytes.Buffer{}, "4000000000000002", "", "456789", "OTPSMS", "user-bob"); err == nil {
		t.Error("the declining test card is reported")
	}
}

// TestEnrollWrongOTP: a refused code ends with Visa's reason, not with the
// scripted cardholder running out of codes.
func TestEnrollWrongOTP(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, "4111111111111111", "", "111111", "OTPSMS", "user-carol")
	if !errors.Is(err, visa.ErrOTPInvalid) || !strings.Contains(err.Error(), "the one-time code was refused") {
		t.Fatalf("want the refusal's cause, got %v\n%s", err, out.String())
	}
	if strings.Contains(err.Error(), "no more codes") || strings.Contains(err.Error(), "111111") {
		t.Errorf("error: %v", err)
	}
}
