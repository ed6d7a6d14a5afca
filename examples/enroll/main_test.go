package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
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
	if err := run(context.Background(), &bytes.Buffer{}, "4000000000000002", "", "456789", "OTPSMS", "user-bob"); err == nil {
		t.Error("the declining test card is reported")
	}
}
