package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox/sandboxtest"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/cmd/visa-mcp/internal/insandbox"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/mcpserver/mcphttp"
	"github.com/vicgo/visa/sandbox"
)

// TestMain runs the command itself when the test binary is re-executed
// as the server (TestStdio), and the tests otherwise.
func TestMain(m *testing.M) {
	// The tests run the sandbox mode (-tags sandbox) whatever the tags.
	inProcessSandbox = insandbox.Start
	if os.Getenv("VISA_MCP_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	testutil.ClosePostgres()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// noEnv is an environment without any VISA_* variable.
func noEnv(string) (string, bool) { return "", false }

// lookupOf is an environment of vars only.
func lookupOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// TestBuild builds the command as a user would.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("links a binary")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "visa-mcp")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	info, err := os.Stat(bin)
	require.NoError(t, err)
	assert.Positive(t, info.Size())
}

// TestSandboxOnlyWithTag: the default build, the one deployed against
// Visa, links no sandbox; -tags sandbox adds the in-process one.
func TestSandboxOnlyWithTag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	deps := func(args ...string) string {
		out, err := exec.Command(goTool, append([]string{"list", "-deps"}, append(args, ".")...)...).CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	const pkg = "github.com/vicgo/visa/sandbox\n"
	assert.NotContains(t, deps(), pkg)
	assert.Contains(t, deps("-tags", "sandbox"), pkg)
}

// TestNoConfigurationWithoutSandbox: a binary without the sandbox stops
// with a message that says what to set, instead of serving a fake Visa.
// Not parallel: it swaps the hook that the parallel tests use.
func TestNoConfigurationWithoutSandbox(t *testing.T) {
	saved := inProcessSandbox
	inProcessSandbox = nil
	defer func() { inProcessSandbox = saved }()
	err := run(context.Background(), nil, noEnv, &bytes.Buffer{})
	require.ErrorIs(t, err, errNoConfiguration)
	assert.ErrorContains(t, err, "-tags sandbox")
}

// TestUsage: -h names the command and lists every environment variable;
// a bad flag or argument is a usage error (exit status 2).
func TestUsage(t *testing.T) {
	t.Parallel()
	var help bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, help.String(), "Usage: visa-mcp ")
	for _, v := range visa.EnvVars {
		assert.Contains(t, help.String(), v.Name)
	}
	assert.Contains(t, help.String(), "VISA_MERCHANT_URL")
	assert.Contains(t, help.String(), "VISA_SEALER_KEYS")
	assert.Contains(t, help.String(), "VISA_MCP_DEVICE_KEY")
	for _, args := range [][]string{{"-bad"}, {"extra"}} {
		_, err := parseFlags(args, &bytes.Buffer{})
		var ue *usageError
		assert.ErrorAs(t, err, &ue, args)
	}
}

// TestStdio runs the command (this test binary, re-executed as main) and
// speaks MCP to it over stdio, with no configuration: it must start its
// own sandbox.
func TestStdio(t *testing.T) {
	t.Parallel()
	bin, err := os.Executable()
	require.NoError(t, err)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VISA_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(env, "VISA_MCP_TEST_RUN_MAIN=1")
	stderr := &testutil.LogBuffer{}
	cmd.Stderr = stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-agent"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	tools, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	assert.ElementsMatch(t, mcpserver.ToolNames(), names)

	// A whole card onboarding against the binary's own sandbox.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add-card", Arguments: map[string]any{
		"user": map[string]any{"id": "u1", "email": "u1@example.com", "country": "US"},
		"card": map[string]any{"pan": sandbox.CardNoStepUp, "cvv2": "321", "expiryMonth": 12, "expiryYear": time.Now().Year() + 2}}})
	require.NoError(t, err)
	require.False(t, res.IsError, "%v", res.Content)
	var r mcpserver.FlowResult
	data, _ := json.Marshal(res.StructuredContent)
	require.NoError(t, json.Unmarshal(data, &r))
	assert.Equal(t, mcpserver.StatusCompleted, r.Status)
	require.NoError(t, cs.Close())
	_ = cmd.Wait()

	logs := stderr.String()
	assert.Contains(t, logs, "in-process sandbox")
	assert.Contains(t, logs, "serving MCP on stdio")
	for _, secret := range []string{sandbox.CardNoStepUp, sandbox.VTSAPIKey, sandbox.VICAPIKey, sandbox.VTSSharedSecret, sandbox.EncSharedSecret, `"321"`} {
		assert.NotContains(t, logs, secret)
		assert.NotContains(t, string(data), secret)
	}
}

// TestHTTP serves the streamable HTTP endpoint in process, with a static
// bearer token.
func TestHTTP(t *testing.T) {
	t.Parallel()
	logs := &testutil.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	e, err := setup(context.Background(), flags{}, noEnv, logger)
	require.NoError(t, err)
	defer e.close()
	require.Contains(t, logs.String(), "in-process sandbox")
	token := mcphttp.GenerateToken()
	f, err := parseFlags([]string{"-http", "127.0.0.1:0"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.NoError(t, f.complete(noEnv))
	plan, err := planHTTP(f, lookupOf(map[string]string{"VISA_MCP_TOKEN": token}))
	require.NoError(t, err)
	assert.Equal(t, authToken, plan.mode)
	assert.Empty(t, plan.generated, "the configured token is used")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	plan.listening(ln.Addr())
	srv, err := mcpserver.New(e.cfg, append(e.opts, plan.serverOptions(f)...)...)
	require.NoError(t, err)
	defer srv.Close()
	h, err := plan.handler(srv, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, ln, h, logger) }()

	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	endpoint := "http://" + ln.Addr().String() + "/mcp"
	_, err = mcp.NewClient(&mcp.Implementation{Name: "http-agent"}, nil).Connect(cctx,
		&mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true}, nil)
	require.Error(t, err, "no token, no session")
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "http-agent"}, nil).Connect(cctx,
		&mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true,
			HTTPClient: &http.Client{Transport: &bearerTransport{token: token}}}, nil)
	require.NoError(t, err)
	tools, err := cs.ListTools(cctx, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, tools.Tools)
	for _, tool := range tools.Tools {
		schema, _ := json.Marshal(tool.InputSchema)
		assert.NotContains(t, string(schema), `"userId"`, "%s: the authenticated caller is the user", tool.Name)
		assert.NotEqual(t, "provision-token-given-pan-data", tool.Name, "no card arguments with authentication")
	}
	require.NoError(t, cs.Close())
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), "/mcp")
	assert.NotContains(t, logs.String(), token)
}

// bearerTransport adds a bearer token and headers to every request.
type bearerTransport struct {
	token   string
	headers map[string]string
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	for k, v := range b.headers {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestSetupFromEnvironment(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	vars := map[string]string{"VISA_MERCHANT_URL": sbx.MerchantURL(),
		"VISA_SEALER_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	for _, line := range sbx.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		vars[name] = value
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	require.True(t, configured(lookup))
	logs := &testutil.LogBuffer{}
	e, err := setup(context.Background(), flags{db: filepath.Join(t.TempDir(), "mcp.db")}, lookup, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	defer e.close()
	assert.NotContains(t, logs.String(), "in-process sandbox", "the configured sandbox is used, none is started")
	assert.Equal(t, sbx.MerchantURL(), e.merchantURL)
	srv, err := mcpserver.New(e.cfg, e.opts...)
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	assert.Contains(t, logs.String(), "VISA_* configuration")
	assert.NotContains(t, logs.String(), sandbox.VTSAPIKey)

	vars["VISA_SEALER_KEYS"] = "not a keyring"
	_, err = setup(context.Background(), flags{}, lookup, slog.New(slog.DiscardHandler))
	assert.ErrorContains(t, err, "VISA_SEALER_KEYS")
	vars["VISA_TIMEOUT"] = "soon"
	_, err = setup(context.Background(), flags{}, lookup, slog.New(slog.DiscardHandler))
	assert.ErrorContains(t, err, "VISA_TIMEOUT")
}

func TestFlags(t *testing.T) {
	t.Parallel()
	f, err := parseFlags([]string{"-http", "localhost:8765", "-reveal-credentials", "-v"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "localhost:8765", f.http)
	assert.True(t, f.reveal)
	assert.True(t, f.verbose)
	assert.False(t, f.stateless)
	assert.Equal(t, mcphttp.DefaultMaxSessions, f.maxSessions)
	assert.Equal(t, mcphttp.DefaultMaxInFlight, f.maxInFlight)
	f, err = parseFlags([]string{"-max-in-flight", "0"}, &bytes.Buffer{})
	require.NoError(t, err)
	var ue *usageError
	assert.ErrorAs(t, f.complete(noEnv), &ue, "-max-in-flight 0 is refused")
	_, err = parseFlags([]string{"extra"}, &bytes.Buffer{})
	assert.Error(t, err)
	_, err = parseFlags([]string{"-nope"}, &bytes.Buffer{})
	assert.Error(t, err)
	assert.ErrorContains(t, run(context.Background(), []string{"-http", "256.0.0.1:bad"}, noEnv, &bytes.Buffer{}), "listen")
}

// readyWriter is a log sink that closes ready once a line holds mark.
type readyWriter struct {
	testutil.LogBuffer
	mark  string
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	n, err := w.LogBuffer.Write(p)
	if strings.Contains(string(p), w.mark) {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

// TestRunWithDatabase runs the whole command over HTTP with a SQLite
// store: it runs the reconciler, and stops when its context ends.
func TestRunWithDatabase(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	vars := map[string]string{"VISA_MERCHANT_URL": sbx.MerchantURL(),
		"VISA_SEALER_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	for _, line := range sbx.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		vars[name] = value
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	w := &readyWriter{mark: "streamable HTTP", ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-http", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "mcp.db")}, lookup, w)
	}()
	select {
	case <-w.ready:
	case err := <-done:
		t.Fatalf("run ended early: %v\n%s", err, w.String())
	}
	cancel()
	require.NoError(t, <-done)
	logs := w.String()
	assert.Contains(t, logs, "reconciling unfinished journeys")
	assert.NotContains(t, logs, sandbox.VTSSharedSecret)
}
