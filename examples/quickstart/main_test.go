package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
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
	for _, want := range []string{"status           COMPLETED", "dynamic [REDACTED]", "APPROVED 00"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(s, "4111111111111111") || strings.Contains(s, "456789\n") {
		t.Error("the output shows a secret")
	}
}

func TestQuickstartDecline(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, "4000000000009995", "10.00", "USD", false)
	if err == nil || !strings.Contains(out.String(), "status           DECLINED") {
		t.Fatalf("want a recorded decline, got %v\n%s", err, out.String())
	}
}

func pad(n int) string {
	if n < 10 {
		return " " + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
