package transport

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/vicgo/visa"
)

func TestRequestErrorIsNetwork(t *testing.T) {
	t.Parallel()
	reset := &RequestError{Op: "op", Err: syscall.ECONNRESET}
	if !errors.Is(reset, visa.ErrNetwork) || !errors.Is(reset, syscall.ECONNRESET) {
		t.Fatal("a reset is a network failure and unwraps to its cause")
	}
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
		e := &RequestError{Op: "op", Err: cause}
		if errors.Is(e, visa.ErrNetwork) || !errors.Is(e, cause) {
			t.Fatalf("%v: a context error is not a network failure", cause)
		}
	}
}
