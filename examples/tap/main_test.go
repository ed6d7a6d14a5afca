package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTAPExample(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("tap example: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"merchant: product 1 viewed by agent tag=web-bot-auth alg=ed25519 directory=https://agent.example/.well-known/http-message-signatures-directory",
		"merchant: product 2 viewed by agent tag=agent-browser-auth alg=ed25519 keyid=example-agent",
		"merchant: order placed by agent tag=agent-payer-auth alg=ed25519 keyid=example-agent",
		`POST /checkout (agent-payer-auth) -> 200 {"order":"A-1001","status":"CONFIRMED"}`,
		`POST /checkout (unsigned) -> 401 {"error":"signature_missing"`,
		`POST /checkout (agent-browser-auth) -> 401 {"error":"signature_tag"`,
		`POST /checkout (replayed) -> 401 {"error":"signature_replayed"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q\n%s", want, s)
		}
	}
}
