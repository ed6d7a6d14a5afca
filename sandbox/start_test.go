package sandbox

import "testing"

// Start starts a sandbox (tests of this package; other packages use
// sandboxtest.Start) for a test, stops it with t.Cleanup and fails the
// test if it cannot start. It is the one helper every package's tests use:
//
//	sb := sandbox.Start(t)
//	client, err := vts.New(sb.Config())
func Start(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sandbox.Close: %v", err)
		}
	})
	return s
}
