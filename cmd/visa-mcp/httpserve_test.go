package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/mcpserver/mcphttp"
)

// TestSecretsFromFiles: every secret can come from a mounted file (X_FILE);
// both X and X_FILE, or a bad file, is an error naming the variable and
// never the value.
func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := writeSecret(t, dir, "vts-key", "vts-api-key-from-a-file")
	token := writeSecret(t, dir, "token", "a-static-token-of-at-least-32-characters")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))

	lookup, err := withFiles(lookupOf(map[string]string{"VISA_VTS_API_KEY_FILE": key, "VISA_MCP_TOKEN_FILE": token,
		"VISA_TLS_CLIENT_KEY_FILE": "/pem/handled/by/the/visa/package"}))
	require.NoError(t, err)
	v, ok := lookup("VISA_VTS_API_KEY")
	assert.True(t, ok)
	assert.Equal(t, "vts-api-key-from-a-file", v)
	v, _ = lookup("VISA_MCP_TOKEN")
	assert.Equal(t, "a-static-token-of-at-least-32-characters", v)
	_, ok = lookup("VISA_TLS_CLIENT_KEY")
	assert.False(t, ok, "PEM variables are read by visa.ConfigFromLookup from their own _FILE")
	v, _ = lookup("VISA_TLS_CLIENT_KEY_FILE")
	assert.Equal(t, "/pem/handled/by/the/visa/package", v)

	for name, env := range map[string]map[string]string{
		"VISA_VIC_API_KEY":           {"VISA_VIC_API_KEY": "inline-secret", "VISA_VIC_API_KEY_FILE": key},
		"VISA_MCP_DATABASE_URL_FILE": {"VISA_MCP_DATABASE_URL_FILE": filepath.Join(dir, "missing")},
		"VISA_SEALER_KEYS_FILE":      {"VISA_SEALER_KEYS_FILE": empty},
	} {
		_, err := withFiles(lookupOf(env))
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, name)
		assert.Equal(t, name, ie.Field)
		assert.NotContains(t, err.Error(), "inline-secret")
		assert.NotContains(t, err.Error(), "vts-api-key-from-a-file")
	}

	var help bytes.Buffer
	_, err = parseFlags([]string{"-h"}, &help)
	require.Error(t, err)
	for _, name := range []string{"VISA_VTS_API_KEY_FILE", "VISA_VTS_SHARED_SECRET_FILE", "VISA_MCP_TOKEN_FILE",
		"VISA_MCP_DATABASE_URL_FILE", "VISA_MCP_OAUTH_ISSUER", "VISA_MCP_PROFILE", "-profile", "-auth", "-stateless"} {
		assert.Contains(t, help.String(), name)
	}
}

// TestPlanHTTP: which authentication a bind gets, and what is refused.
func TestPlanHTTP(t *testing.T) {
	t.Parallel()
	plan := func(args []string, env map[string]string) (*httpPlan, error) {
		f, err := parseFlags(args, &bytes.Buffer{})
		require.NoError(t, err)
		lookup := lookupOf(env)
		if err := f.complete(lookup); err != nil {
			return nil, err
		}
		return planHTTP(f, lookup)
	}
	// Default: a static token, generated when none is configured.
	p, err := plan([]string{"-http", "localhost:0"}, nil)
	require.NoError(t, err)
	assert.Equal(t, authToken, p.mode)
	assert.Len(t, p.generated, 43)
	info, err := p.verifier(context.Background(), p.generated, nil)
	require.NoError(t, err)
	assert.Equal(t, "local", info.UserID)
	assert.Empty(t, info.Scopes)
	// -reveal-credentials gives the static token the reveal scope; the
	// user and scopes can be set.
	p, err = plan([]string{"-http", "localhost:0", "-reveal-credentials"}, map[string]string{"VISA_MCP_TOKEN": strings.Repeat("t", 40)})
	require.NoError(t, err)
	assert.Empty(t, p.generated)
	info, err = p.verifier(context.Background(), strings.Repeat("t", 40), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{mcphttp.ScopeReveal}, info.Scopes)
	p, err = plan([]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_TOKEN": strings.Repeat("t", 40),
		"VISA_MCP_TOKEN_USER": "alice", "VISA_MCP_TOKEN_SCOPES": "a b"})
	require.NoError(t, err)
	info, err = p.verifier(context.Background(), strings.Repeat("t", 40), nil)
	require.NoError(t, err)
	assert.Equal(t, "alice", info.UserID)
	assert.Equal(t, []string{"a", "b"}, info.Scopes)
	// An issuer makes OAuth the default.
	p, err = plan([]string{"-http", "localhost:0", "-public-url", "https://mcp.example.com/mcp"},
		map[string]string{"VISA_MCP_OAUTH_ISSUER": "https://id.example.com"})
	require.NoError(t, err)
	assert.Equal(t, authOAuth, p.mode)
	assert.Equal(t, []string{"https://id.example.com"}, p.opts.AuthorizationServers)
	// -auth none on loopback is allowed.
	p, err = plan([]string{"-http", "127.0.0.1:0", "-auth", "none"}, nil)
	require.NoError(t, err)
	assert.Nil(t, p.verifier)
	// A specific non-loopback address with a token: its own name is served.
	_, err = plan([]string{"-http", "192.0.2.10:0"}, nil)
	require.NoError(t, err)

	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"open wildcard":     {[]string{"-http", "0.0.0.0:8000", "-auth", "none"}, nil, "refusing to serve MCP without authentication"},
		"open address":      {[]string{"-http", "192.0.2.10:8000", "-auth", "none"}, nil, "refusing"},
		"open host name":    {[]string{"-http", "mcp.internal:8000", "-auth", "none"}, nil, "refusing"},
		"no host names":     {[]string{"-http", ":8000"}, nil, "-allowed-hosts"},
		"short token":       {[]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_TOKEN": "short"}, "VISA_MCP_TOKEN"},
		"bad token user":    {[]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_TOKEN_USER": "a b"}, "VISA_MCP_TOKEN_USER"},
		"no issuer":         {[]string{"-http", "localhost:0", "-auth", "oauth"}, nil, "VISA_MCP_OAUTH_ISSUER"},
		"no audience":       {[]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_OAUTH_ISSUER": "https://id.example.com"}, "audience"},
		"http issuer":       {[]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_OAUTH_ISSUER": "http://id.example.com", "VISA_MCP_OAUTH_AUDIENCE": "a"}, "VISA_MCP_OAUTH_ISSUER"},
		"symmetric alg":     {[]string{"-http", "localhost:0"}, map[string]string{"VISA_MCP_OAUTH_ISSUER": "https://id.example.com", "VISA_MCP_OAUTH_AUDIENCE": "a", "VISA_MCP_OAUTH_ALGORITHMS": "HS256"}, "VISA_MCP_OAUTH_ALGORITHMS"},
		"bad address":       {[]string{"-http", "nonsense"}, nil, "host:port"},
		"unknown auth mode": {[]string{"-http", "localhost:0", "-auth", "basic"}, nil, "unknown mode"},
	} {
		_, err := plan(c.args, c.env)
		var ue *usageError
		require.ErrorAs(t, err, &ue, name)
		assert.ErrorContains(t, err, c.want, name)
		assert.NotContains(t, err.Error(), "short", name)
	}
}

// TestRunPrintsTokenOnce: a generated token is printed once, to stderr,
// and never logged; requests need it.
func TestRunPrintsTokenOnce(t *testing.T) {
	t.Parallel()
	w := newLineWriter(`bearer token for this run \(shown once\): (\S+)`)
	urls := newLineWriter(`url=(http://\S+/mcp)`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-http", "127.0.0.1:0"}, noEnv, teeWriter{w, urls}) }()
	var token, url string
	for token == "" || url == "" {
		select {
		case token = <-w.matched:
		case url = <-urls.matched:
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, w.String())
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, 1, strings.Count(w.String(), token), "printed once and never logged")
	s := testutil.NewSecrets()
	s.Add("token", token)
	lines := strings.Split(w.String(), "\n")
	var rest []string
	for _, l := range lines {
		if !strings.Contains(l, "shown once") {
			rest = append(rest, l)
		}
	}
	s.Check(t, "logs", strings.Join(rest, "\n"), testutil.Text)
}

// teeWriter writes to both.
type teeWriter struct{ a, b *lineWriter }

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.a.Write(p)
	return t.b.Write(p)
}

// TestInProcessSandboxWithDatabaseWarns: cards kept in a database outlive
// the in-process sandbox's tokens, and the operator is told.
func TestInProcessSandboxWithDatabaseWarns(t *testing.T) {
	t.Parallel()
	logs := &testutil.LogBuffer{}
	e, err := setup(context.Background(), flags{db: filepath.Join(t.TempDir(), "mcp.db")}, noEnv, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	e.close()
	assert.Contains(t, logs.String(), "cards kept in the database will not work after a restart")

	_, err = setup(context.Background(), flags{db: filepath.Join(t.TempDir(), "mcp.db")},
		lookupOf(map[string]string{"VISA_MCP_DATABASE_URL": "postgres://u:p@127.0.0.1:1/db"}), slog.New(slog.DiscardHandler))
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	assert.NotContains(t, err.Error(), "u:p@")
}

// TestScopeRevealAgrees: the HTTP side and the tools name one scope.
func TestScopeRevealAgrees(t *testing.T) {
	t.Parallel()
	assert.Equal(t, mcpserver.ScopeReveal, mcphttp.ScopeReveal)
}
