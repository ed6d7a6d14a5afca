package otel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests (sandboxes,
// providers, HTTP connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
