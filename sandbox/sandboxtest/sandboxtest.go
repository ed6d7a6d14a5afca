package sandboxtest

import (
	"testing"

	"github.com/vicgo/visa/sandbox"
)

// Start starts a sandbox for a test, stops it with t.Cleanup and fails the
// test if it cannot start. It is the one helper every package's tests use:
//
//	sb := sandboxtest.Start(t)
//	client, err := vts.New(sb.Config())
func Start(t testing.TB, opts ...sandbox.Option) *sandbox.Sandbox {
	t.Helper()
	s, err := sandbox.New(opts...)
	if err != nil {
		t.Fatalf("sandboxtest.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sandbox.Close: %v", err)
		}
	})
	return s
}
