package exampleenv

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

func clearVisaEnv(t *testing.T) {
	for _, v := range visa.EnvVars {
		if _, ok := os.LookupEnv(v.Name); ok {
			t.Setenv(v.Name, "")
		}
	}
}

// TestSetupSaysWhere: the example says which Visa it talks to, whichever
// it is.
func TestSetupSaysWhere(t *testing.T) {
	clearVisaEnv(t)
	var out bytes.Buffer
	env, err := Setup(context.Background(), Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	env.Close()
	if !strings.HasPrefix(out.String(), "talking to an in-process sandbox at https://localhost:") {
		t.Errorf("got %q", out.String())
	}

	s := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	for _, line := range s.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		t.Setenv(name, value)
	}
	out.Reset()
	env, err = Setup(context.Background(), Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	env.Close()
	if want := "talking to " + s.BaseURL() + " (from the VISA_* environment, sandbox)\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}

	// The same Visa, stopped: a clear error, no fallback.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	_, err = Setup(context.Background(), Options{Out: &out})
	if err == nil || !strings.Contains(err.Error(), "VISA_VIC_BASE_URL is "+s.BaseURL()+", which does not answer") {
		t.Fatalf("want a clear error, got %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}

	// A partial configuration is an error naming what is missing.
	clearVisaEnv(t)
	t.Setenv("VISA_VIC_BASE_URL", s.BaseURL())
	if _, err := Setup(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "VISA_") {
		t.Fatalf("want the missing variables named, got %v", err)
	}
}
