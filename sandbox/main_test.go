package sandbox

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain starts the sandbox shared by tests that do not change global
// state (faults, clock), and checks that no goroutine outlives the tests.
func TestMain(m *testing.M) {
	sb, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start shared sandbox:", err)
		os.Exit(1)
	}
	sharedSandbox.sb = sb
	code := m.Run()
	if err := sb.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close shared sandbox:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
