package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine they started (a
// sandbox, a client's connections) outlives them, and removes the binary
// the tests built.
func TestMain(m *testing.M) { goleak.VerifyTestMain(cleanup{m}) }

// cleanup runs the tests, then removes the directory of the built binary.
type cleanup struct{ m *testing.M }

func (c cleanup) Run() int {
	code := c.m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	return code
}

// built is the command, built once for every test that runs it.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// binary returns the path of the command built from this directory, building
// it on the first call.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "visa-sandbox-test"); built.err != nil {
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(built.dir, "visa-sandbox"), ".")
		build.Stderr = os.Stderr
		built.err = build.Run()
	})
	if built.err != nil {
		t.Fatalf("building the command: %v", built.err)
	}
	return filepath.Join(built.dir, "visa-sandbox")
}
