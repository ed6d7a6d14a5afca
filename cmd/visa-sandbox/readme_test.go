package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is where README.md and go.mod are.
const repoRoot = "../.."

// readmeBlock returns the README's shell block that starts the standalone
// sandbox.
func readmeBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	for _, part := range strings.Split(string(b), "```sh\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if ok && strings.Contains(block, "./cmd/visa-sandbox") && strings.Contains(block, "-env-file") {
			return block
		}
	}
	t.Fatal("README.md has no shell block starting ./cmd/visa-sandbox with -env-file")
	return ""
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// portFree reports whether nothing listens on localhost:port.
func portFree(port string) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// alive reports whether pid is a running process (a zombie is not).
func alive(pid int) bool {
	if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		_, rest, _ := strings.Cut(string(stat), ") ")
		return !strings.HasPrefix(rest, "Z")
	} else if _, err := os.Stat("/proc/self"); err == nil {
		return false // /proc exists, the process does not
	}
	return syscall.Kill(pid, 0) == nil
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// envFilePID reads VISA_SANDBOX_PID from an environment file.
func envFilePID(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		if v, ok := strings.CutPrefix(line, "VISA_SANDBOX_PID="); ok {
			v, _, _ = strings.Cut(v, " ")
			pid, err := strconv.Atoi(v)
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatal("no VISA_SANDBOX_PID in " + path)
	return 0
}

// cleanEnviron is the test's environment without any VISA_* variable.
func cleanEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VISA_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestReadmeBlock runs the README's standalone-sandbox block with bash, as
// written, from the repository root: start the sandbox, source its
// environment, run the quickstart, stop the sandbox. It fails unless the
// quickstart talked to that sandbox (its first line) and completed, and
// unless the sandbox is gone afterwards. The block names port 8099; when
// something else holds it on this machine, the block runs with a free port
// in its place (the README says to do exactly that).
func TestReadmeBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run twice")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	block := readmeBlock(t)
	require.Contains(t, block, "localhost:8099")
	port := "8099"
	if !portFree(port) {
		port = freePort(t)
		block = strings.ReplaceAll(block, "localhost:8099", "localhost:"+port)
		t.Logf("port 8099 is taken on this machine: the block runs on %s", port)
	}

	// The block writes sandbox.env at the root: keep a developer's own.
	envFile := filepath.Join(repoRoot, "sandbox.env")
	if _, err := os.Stat(envFile); err == nil {
		saved := filepath.Join(t.TempDir(), "sandbox.env")
		require.NoError(t, os.Rename(envFile, saved))
		t.Cleanup(func() { _ = os.Rename(saved, envFile) })
	}
	t.Cleanup(func() {
		if _, err := os.Stat(envFile); err == nil {
			if pid := envFilePID(t, envFile); alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
			_ = os.Remove(envFile)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-euo", "pipefail", "-c", block)
	cmd.Dir = repoRoot
	cmd.Env = cleanEnviron()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README block failed:\n%s", out)
	text := string(out)
	assert.Contains(t, text, "vicgo quickstart: talking to http://localhost:"+port+" (from the VISA_* environment, sandbox)")
	assert.NotContains(t, text, "in-process")
	assert.Contains(t, text, "status           COMPLETED")

	pid := envFilePID(t, envFile)
	assert.True(t, eventually(10*time.Second, func() bool { return !alive(pid) }), "the sandbox still runs after the block's kill")
	assert.True(t, eventually(10*time.Second, func() bool { return portFree(port) }), "the port is still held")
}

// TestDetach builds the command and runs it with -detach: it returns once
// the sandbox serves, with the environment file written, and the server
// stops on SIGTERM.
func TestDetach(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)

	envFile := filepath.Join(t.TempDir(), "sandbox.env")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "localhost:0", "-env-file", envFile, "-detach")
	cmd.Env = cleanEnviron()
	out, err := cmd.CombinedOutput() // returns: the server holds none of our pipes
	require.NoError(t, err, string(out))
	pid := envFilePID(t, envFile)
	t.Cleanup(func() {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	})
	assert.Contains(t, string(out), "stop it with kill "+strconv.Itoa(pid))

	// The file was complete when -detach returned, and the server answers.
	b, err := os.ReadFile(envFile)
	require.NoError(t, err)
	var base string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "export VISA_VIC_BASE_URL="); ok {
			base = strings.Trim(v, "'")
		}
	}
	require.NotEmpty(t, base)
	resp, err := http.Get(base + "/sandbox/v1/admin/state")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A second one on the same port fails, naming -addr, and leaves nothing running.
	port := strings.TrimPrefix(base, "http://localhost:")
	second := exec.CommandContext(ctx, bin, "-addr", "localhost:"+port, "-env-file", filepath.Join(t.TempDir(), "x.env"), "-detach")
	out, err = second.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "is already in use")
	assert.Contains(t, string(out), "-addr localhost:PORT")

	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	assert.True(t, eventually(10*time.Second, func() bool { return !alive(pid) }), "the sandbox still runs after SIGTERM")
}
