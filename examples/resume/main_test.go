package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vicgo/visa/agent/agenttest"
)

func TestResumeEveryBoundary(t *testing.T) {
	for _, b := range []agenttest.Boundary{agenttest.AfterCredentialsIssued, agenttest.AfterAuthorizing, agenttest.AfterCharge} {
		var out bytes.Buffer
		if err := run(context.Background(), &out, b); err != nil {
			t.Fatalf("%s: %v\n%s", b, err, out.String())
		}
		if !strings.Contains(out.String(), "charge(s) for the transaction") {
			t.Errorf("%s: no sandbox counts in\n%s", b, out.String())
		}
		if strings.Contains(out.String(), "2 charge(s)") || strings.Contains(out.String(), "2 credential(s)") {
			t.Errorf("%s: something happened twice:\n%s", b, out.String())
		}
	}
	if err := run(context.Background(), &bytes.Buffer{}, "after-lunch"); err == nil {
		t.Error("an unknown boundary is refused")
	}
}
