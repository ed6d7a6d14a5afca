package mcpclient

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/mcpserver/mcphttp"
	"github.com/vicgo/visa/sandbox"
)

// need finds a command, failing under CI=true and skipping otherwise.
func need(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not installed: the MCP client test must run in CI (.ci/run installs nodejs and npm)", name)
		}
		t.Skipf("%s is not installed: the MCP client test is skipped", name)
	}
	return path
}

// syncBuffer is a concurrency-safe log sink that reports the first match
// of a pattern.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	re      *regexp.Regexp
	matched chan string
	once    sync.Once
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if m := s.re.FindSubmatch(s.b.Bytes()); m != nil {
		s.once.Do(func() { s.matched <- string(m[1]) })
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOfficialTypeScriptClient builds visa-mcp (with its in-process
// sandbox), serves it over streamable HTTP with a static bearer token
// read from a file, and runs client.mjs against it.
func TestOfficialTypeScriptClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds visa-mcp and runs node")
	}
	node := need(t, "node")
	goTool := need(t, "go")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	if _, err := os.Stat(filepath.Join("node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		npm := need(t, "npm")
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "npm ci:\n%s", out)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "visa-mcp")
	build := exec.CommandContext(ctx, goTool, "build", "-tags", "sandbox", "-o", bin, "./cmd/visa-mcp")
	build.Dir = "../.."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	token := mcphttp.GenerateToken()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VISA_") {
			env = append(env, kv)
		}
	}
	logs := &syncBuffer{re: regexp.MustCompile(`url=(http://\S+/mcp)`), matched: make(chan string, 1)}
	srv := exec.Command(bin, "-http", "127.0.0.1:0")
	srv.Env = append(env, "VISA_MCP_TOKEN_FILE="+tokenFile)
	srv.Stdout, srv.Stderr = logs, logs
	require.NoError(t, srv.Start())
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	}()
	var url string
	select {
	case url = <-logs.matched:
	case err := <-exited:
		t.Fatalf("visa-mcp exited before serving: %v\n%s", err, logs.String())
	case <-ctx.Done():
		t.Fatalf("visa-mcp did not start:\n%s", logs.String())
	}

	client := exec.CommandContext(ctx, node, "client.mjs")
	client.Env = append(env, "MCP_URL="+url, "MCP_TOKEN="+token)
	out, err = client.CombinedOutput()
	require.NoError(t, err, "node client.mjs:\n%s\nvisa-mcp:\n%s", out, logs.String())
	require.Contains(t, string(out), "mcpclient: OK")
	t.Log(strings.TrimSpace(string(out)))

	secrets := testutil.NewSecrets()
	secrets.Add("bearer token", token)
	secrets.Add("card number", sandbox.CardHappy)
	// The in-process sandbox announces its public test card at start;
	// nothing else may show it.
	var served []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "in-process sandbox") {
			served = append(served, line)
		}
	}
	secrets.Check(t, "visa-mcp logs", strings.Join(served, "\n"), testutil.Text)
	secrets.Check(t, "client output", string(out), testutil.Text)
}
