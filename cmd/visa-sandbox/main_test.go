package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/sandbox"
)

func TestShellQuote(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `'plain'`, shellQuote("plain"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
}

func TestRunRejectsArguments(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"extra"}, io.Discard, io.Discard)
	require.Error(t, err)
}

// TestMaxRetainedFlag: -max-retained defaults to sandbox.DefaultMaxRetained,
// takes 0 (time-based retention only) and refuses a negative count.
func TestMaxRetainedFlag(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, sandbox.DefaultMaxRetained, o.maxRetained)
	o, err = parseFlags([]string{"-max-retained", "0"}, io.Discard)
	require.NoError(t, err)
	assert.Zero(t, o.maxRetained)
	_, err = parseFlags([]string{"-max-retained", "-1"}, io.Discard)
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	require.NoError(t, run(context.Background(), []string{"-addr", "localhost:0", "-print-env", "-max-retained", "100"}, io.Discard, io.Discard))
}

func TestRunPrintEnvWithFreshKeysAndTLS(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"-addr", "localhost:0", "-tls", "-print-env"}, &out, io.Discard))
	text := out.String()
	assert.Contains(t, text, "export VISA_VIC_BASE_URL='https://localhost:")
	assert.Contains(t, text, "export VISA_TLS_CA='-----BEGIN CERTIFICATE-----\\n")
	assert.Contains(t, text, "export VISA_MLE_CLIENT_KEY='-----BEGIN RSA PRIVATE KEY-----")
	assert.Contains(t, text, "export VISA_HASH_SECRET='sbx-hash-secret'")
}

// TestBinaryServesREADMERequest builds the command, runs it on a free port,
// sends the README's JWKS request, then SIGTERM, and expects a clean exit.
func TestBinaryServesREADMERequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "localhost:0", "-data-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	base := ""
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	env := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			env[name] = strings.Trim(value, "'")
		}
		if strings.HasPrefix(line, "export VISA_SIGNED_PAYLOAD_JWKS_URL=") {
			break // the last line
		}
	}
	base = env["VISA_VIC_BASE_URL"]
	require.NotEmpty(t, base, "base URL printed")
	for _, name := range []string{"VISA_VTS_API_KEY", "VISA_VIC_SHARED_SECRET", "VISA_MLE_CLIENT_KEY", "VISA_MLE_SERVER_CERT", "VISA_ENC_SHARED_SECRET", "VISA_HASH_SECRET"} {
		assert.NotEmpty(t, env[name], name)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	// The README's request.
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get(base + "/.well-known/jwks.json")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"kid":"sbx-sig-1"`)
	assert.NotEmpty(t, resp.Header.Get("X-Correlation-Id"))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), stderr.String())
	assert.Contains(t, stderr.String(), "shutting down")
}

// TestBinaryTermAtOnce sends SIGTERM the moment the first line of the
// environment appears, as a supervisor stopping what it just started
// would: the process must still shut down cleanly (its signal handler is
// in place before it listens), never die of the signal.
func TestBinaryTermAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, "-addr", "localhost:0", "-data-dir", t.TempDir())
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		require.True(t, sc.Scan(), "run %d: no output", i)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		require.NoError(t, cmd.Wait(), "run %d: %s", i, stderr.String())
		cancel()
	}
}
