package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

// buildBinary compiles pkg (relative to the module root) with tags.
func buildBinary(t *testing.T, pkg, name string, tags ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command(goTool, append(args, pkg)...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, out)
	return bin
}

// childEnv is a child's environment: enough for a Go program, nothing of
// the caller's VISA_* settings, plus extra.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// lineWriter is a concurrency-safe log sink that reports the first line
// matching a pattern.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	re      *regexp.Regexp
	matched chan string
	once    sync.Once
}

func newLineWriter(pattern string) *lineWriter {
	return &lineWriter{re: regexp.MustCompile(pattern), matched: make(chan string, 1)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.re.FindSubmatch(w.buf.Bytes()); m != nil {
		w.once.Do(func() { w.matched <- string(m[len(m)-1]) })
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// proc is a running child process.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	stderr *lineWriter
}

// startProc starts bin and waits until its stderr (or stdout, when
// stdoutToo) matches ready, returning the submatch.
func startProc(t *testing.T, bin string, args, env []string, ready string) (*proc, string) {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{}), stderr: newLineWriter(ready)}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop() })
	select {
	case m := <-p.stderr.matched:
		return p, m
	case <-p.exited:
		t.Fatalf("%s exited before it was ready: %v\n%s", filepath.Base(bin), p.err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after 60 s:\n%s", filepath.Base(bin), p.stderr.String())
	}
	return nil, ""
}

// stop sends SIGTERM, waits up to 10 s, then kills.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// sandboxEnv starts cmd/visa-sandbox as a process and returns the VISA_*
// environment it prints.
func sandboxEnv(t *testing.T) map[string]string {
	t.Helper()
	bin := buildBinary(t, "./cmd/visa-sandbox", "visa-sandbox")
	p, _ := startProc(t, bin, []string{"-addr", "127.0.0.1:0"}, childEnv(nil), `(export VISA_MERCHANT_URL=.*)\n`)
	env := map[string]string{}
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			continue
		}
		env[name] = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'"), `'\''`, "'")
	}
	require.NotEmpty(t, env["VISA_VTS_BASE_URL"])
	require.NotEmpty(t, env["VISA_MERCHANT_URL"])
	return env
}

// testIssuer is an OAuth authorization server for the tests: discovery,
// JWKS and signed access tokens.
type testIssuer struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	is := &testIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// token signs an access token for sub and audience, valid for ttl
// (negative: expired).
func (is *testIssuer) token(t *testing.T, sub, audience string, ttl time.Duration) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.key, KeyID: "k1"}}, nil)
	require.NoError(t, err)
	now := time.Now()
	s, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: is.srv.URL, Subject: sub, Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		Expiry: jwt.NewNumericDate(now.Add(ttl))}).Claims(map[string]any{"scope": "openid"}).Serialize()
	require.NoError(t, err)
	return s
}

// rawPost sends one MCP JSON-RPC message over HTTP and returns the status
// and the body.
func rawPost(ctx context.Context, t *testing.T, url, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// writeSecret writes a secret to a 0600 file and returns its path.
func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(value+"\n"), 0o600))
	return path
}
