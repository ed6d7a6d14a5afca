package transport

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/vicgo/visa"
)

func TestRequestErrorIsNetwork(t *testing.T) {
	t.Parallel()
	reset := &visa.RequestError{Err: syscall.ECONNRESET}
	if !errors.Is(reset, visa.ErrNetwork) || !errors.Is(reset, syscall.ECONNRESET) {
		t.Fatal("a reset is a network failure and unwraps to its cause")
	}
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
		e := &visa.RequestError{Err: cause}
		if errors.Is(e, visa.ErrNetwork) || !errors.Is(e, cause) {
			t.Fatalf("%v: a context error is not a network failure", cause)
		}
	}
}

func TestRequestErrorBoundsItsCause(t *testing.T) {
	t.Parallel()
	long := errors.New("malformed MIME header line: \"Retry-After: " + strings.Repeat("\x00\xff\n junk", 500) + "\"")
	msg := (&visa.RequestError{Method: "GET", URL: "http://x/?apikey=REDACTED", Attempts: 1, Err: long}).Error()
	if len(msg) > 700 || strings.ContainsAny(msg, "\n\x00") || !utf8.ValidString(msg) {
		t.Fatalf("unbounded or unprintable error (%d bytes): %q", len(msg), msg)
	}
}
