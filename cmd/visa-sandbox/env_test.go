package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joho/godotenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
)

// printEnvFile runs the command with -print-env into a file and returns
// the file's path.
func printEnvFile(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sandbox.env")
	args = append([]string{"-addr", "localhost:0", "-data-dir", dataDir, "-print-env", "-env-file", file}, args...)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out, io.Discard))
	assert.Empty(t, out.String(), "with -env-file nothing goes to standard output")
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the file holds private keys")
	return file
}

// sandboxClientKey returns the client MLE private key the sandbox of
// dataDir hands out.
func sandboxClientKey(t *testing.T, dataDir string) string {
	t.Helper()
	sb, err := sandbox.New(sandbox.WithAddr("localhost:0"), sandbox.WithPlainHTTP(), sandbox.WithKeyDir(dataDir))
	require.NoError(t, err)
	defer sb.Close()
	return string(sb.MLEClientPrivateKeyPEM())
}

// bashEnv runs script in bash and returns the value of each name, as the
// shell holds it.
func bashEnv(t *testing.T, script string, names ...string) map[string]string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, n := range names {
		script += "; printf '%s\\0' \"$" + n + "\""
	}
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	require.NoError(t, err, script)
	vals := strings.Split(string(out), "\x00")
	require.Len(t, vals, len(names)+1)
	m := map[string]string{}
	for i, n := range names {
		m[n] = vals[i]
	}
	return m
}

// TestVisaKitFormat: the dotenv file of Visa's TypeScript kit has every
// name the kit reads, and its PEMs come back with real line breaks both
// from a dotenv parser and from a shell that sources or evals the file.
func TestVisaKitFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := printEnvFile(t, dir, "-format", "visa-kit")
	clientKey := sandboxClientKey(t, dir)
	require.Contains(t, clientKey, "\n")

	parsed, err := godotenv.Read(file)
	require.NoError(t, err)
	for _, name := range []string{"VISA_API_BASE_URL", "VISA_VTS_API_BASE_URL", "VISA_VIC_API_KEY", "VISA_VIC_API_KEY_SS",
		"VISA_VTS_API_KEY", "VISA_VTS_API_KEY_SS", "VISA_VDP_API_KEY", "VISA_VDP_API_KEY_SS", "VISA_EXTERNAL_CLIENT_ID",
		"VISA_EXTERNAL_APP_ID", "VISA_KEY_ID", "VISA_MLE_SERVER_CERT", "VISA_MLE_PRIVATE_KEY", "TR_ID", "TR_APPID",
		"TR_HASHSECRET", "TR_ENCSECRET", "TR_ENCAPIKEY", "NEXT_PUBLIC_VTS_AUTH_BASE_URL", "NEXT_PUBLIC_VTS_API_KEY",
		"NEXT_PUBLIC_VTS_EXTERNAL_APP_ID"} {
		assert.NotEmpty(t, parsed[name], name)
	}
	assert.Equal(t, sandbox.VICSharedSecret, parsed["VISA_VIC_API_KEY_SS"])
	assert.Equal(t, sandbox.ClientAppID, parsed["TR_APPID"])
	assert.Equal(t, sandbox.AuthFrameAPIKey, parsed["NEXT_PUBLIC_VTS_API_KEY"], "the browser gets the iFrame's key, not the VTS server key")
	assert.NotContains(t, parsed, "VISA_SANDBOX_PID", "-print-env: no server to stop")

	sourced := bashEnv(t, "set -a; . "+file+"; set +a", "VISA_MLE_SERVER_CERT", "VISA_MLE_PRIVATE_KEY", "VISA_API_BASE_URL")
	evaled := bashEnv(t, `eval "$(cat `+file+`)"`, "VISA_MLE_SERVER_CERT", "VISA_MLE_PRIVATE_KEY", "VISA_API_BASE_URL")
	for how, got := range map[string]map[string]string{"dotenv": parsed, "sourced": sourced, "evaled": evaled} {
		assert.Equal(t, parsed["VISA_MLE_SERVER_CERT"], got["VISA_MLE_SERVER_CERT"], how)
		assert.Equal(t, clientKey, got["VISA_MLE_PRIVATE_KEY"], how)
		cert, _ := pem.Decode([]byte(got["VISA_MLE_SERVER_CERT"]))
		require.NotNil(t, cert, how)
		_, err := x509.ParseCertificate(cert.Bytes)
		assert.NoError(t, err, how)
		assert.Equal(t, parsed["VISA_API_BASE_URL"], got["VISA_API_BASE_URL"], how)
		block, _ := pem.Decode([]byte(got["VISA_MLE_PRIVATE_KEY"]))
		require.NotNil(t, block, how)
		_, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		assert.NoError(t, err, how)
	}
}

// TestShellFormatRoundTrips: the default file, sourced by a shell, gives
// back the sandbox's configuration through visa.ConfigFromLookup.
func TestShellFormatRoundTrips(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := printEnvFile(t, dir)
	var names []string
	for _, v := range visa.EnvVars {
		names = append(names, v.Name)
	}
	env := bashEnv(t, ". "+file, append(names, "VISA_MERCHANT_URL")...)
	cfg, err := visa.ConfigFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" })
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, sandboxClientKey(t, dir), cfg.VIC.MLEClientPrivateKeyPEM.Reveal())
	assert.Contains(t, env["VISA_MERCHANT_URL"], "/sandbox/v1/merchant/authorizations")
}

func TestDotenvQuoteRefusesSpecialCharacters(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"a b"`, dotenvQuote("a b"))
	for _, v := range []string{`a"b`, "a$b", "a`b", `a\b`} {
		assert.Panics(t, func() { dotenvQuote(v) }, v)
	}
}

// TestPortInUse: a taken port is an error naming -addr.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	addr := "localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	err = run(context.Background(), []string{"-addr", addr, "-print-env"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr+" is already in use")
	assert.Contains(t, err.Error(), "-addr localhost:PORT")
}

// TestUsage: -h names the command and lists the sandbox-only endpoints;
// bad command lines are usage errors (exit status 2).
func TestUsage(t *testing.T) {
	t.Parallel()
	var help bytes.Buffer
	err := run(context.Background(), []string{"-h"}, io.Discard, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"Usage: visa-sandbox ", "/sandbox/v1/admin/state", "/sandbox/v1/admin/faults",
		"/sandbox/v1/merchant/authorizations", "/vdp/helloworld", "/.well-known/jwks.json", "-env-file", "-format"} {
		assert.Contains(t, help.String(), want)
	}
	for _, args := range [][]string{{"extra"}, {"-bad"}, {"-format", "yaml"}, {"-detach"}, {"-mtls"},
		{"-detach", "-env-file", "x", "-print-env"}} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		var ue *usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
}

func TestWithoutDetach(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"-addr", "x", "-v"}, withoutDetach([]string{"-addr", "x", "-detach", "-v", "--detach", "-detach=true"}))
	assert.Equal(t, []string{"-detach=false", "---detach"}, withoutDetach([]string{"-detach=false", "---detach"}))
}
