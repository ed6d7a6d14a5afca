package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

// noVisaEnv clears every VISA_* variable for the test.
func noVisaEnv(t *testing.T) {
	for _, v := range append(visa.EnvVars, visa.EnvVar{Name: "VISA_MERCHANT_URL"}) {
		if _, ok := os.LookupEnv(v.Name); ok {
			t.Setenv(v.Name, "")
		}
	}
}

// sandboxEnv sets the VISA_* environment of s, as visa-sandbox writes it.
func sandboxEnv(t *testing.T, s *sandbox.Sandbox) {
	for _, line := range s.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		t.Setenv(name, value)
	}
	t.Setenv("VISA_MERCHANT_URL", s.MerchantURL())
}

func TestQuickstart(t *testing.T) {
	noVisaEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, "4111111111111111", "129.99", "USD", false); err != nil {
		t.Fatalf("quickstart: %v\n%s", err, out.String())
	}
	s := out.String()
	for n := 1; n <= 16; n++ {
		if !strings.Contains(s, "["+pad(n)+"]") {
			t.Errorf("step %d not printed", n)
		}
	}
	for _, want := range []string{"talking to an in-process sandbox at https://localhost:", "steps 1 to 9", "steps 10 to 16",
		"the token's, not the card's", "status           COMPLETED", "dynamic [REDACTED]", "APPROVED 00"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "4111111111111111") || strings.Contains(s, "456789\n") {
		t.Error("the output shows a secret")
	}
}

func TestQuickstartDecline(t *testing.T) {
	noVisaEnv(t)
	var out bytes.Buffer
	err := run(context.Background(), &out, "4000000000009995", "10.00", "USD", false)
	if err == nil || !strings.Contains(out.String(), "status           DECLINED") {
		t.Fatalf("want a recorded decline, got %v\n%s", err, out.String())
	}
}

// TestQuickstartConfigured talks to the Visa that VISA_* names and says so.
func TestQuickstartConfigured(t *testing.T) {
	noVisaEnv(t)
	s := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	sandboxEnv(t, s)
	var out bytes.Buffer
	if err := run(context.Background(), &out, "4111111111111111", "1.00", "USD", false); err != nil {
		t.Fatalf("quickstart: %v\n%s", err, out.String())
	}
	if want := "talking to " + s.BaseURL() + " (from the VISA_* environment, sandbox)"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

// TestQuickstartConfiguredButDown: VISA_* names a Visa that does not
// answer; the quickstart stops with the variable to fix instead of
// falling back to an in-process sandbox.
func TestQuickstartConfiguredButDown(t *testing.T) {
	noVisaEnv(t)
	s := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	sandboxEnv(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), &out, "4111111111111111", "1.00", "USD", false)
	if err == nil || !strings.Contains(err.Error(), "VISA_VIC_BASE_URL is "+s.BaseURL()+", which does not answer") {
		t.Fatalf("want a clear error, got %v\n%s", err, out.String())
	}
	if out.Len() != 0 {
		t.Errorf("nothing runs against another Visa:\n%s", out.String())
	}
	t.Setenv("VISA_MERCHANT_URL", "")
	if err := run(context.Background(), &out, "4111111111111111", "1.00", "USD", false); err == nil || !strings.Contains(err.Error(), "VISA_MERCHANT_URL") {
		t.Fatalf("want the missing merchant named, got %v", err)
	}
}

func pad(n int) string {
	if n < 10 {
		return " " + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
