package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

// envOf is the VISA_* environment of a sandbox, with overrides ("" unsets).
func envOf(s *sandbox.Sandbox, overrides map[string]string) func(string) (string, bool) {
	vars := map[string]string{}
	for _, line := range s.Config().EnvLines() {
		name, value, _ := strings.Cut(line, "=")
		vars[name] = value
	}
	for k, v := range overrides {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// certFor writes a self-signed certificate for key's public half, as
// Visa issues an MLE client certificate for the key you hold.
func certFor(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mle client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "mle-client-cert.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return path
}

func mleKey(t *testing.T, s *sandbox.Sandbox) *rsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(s.MLEClientPrivateKeyPEM())
	require.NotNil(t, b)
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	require.NoError(t, err)
	return k
}

// secrets are the sandbox's credentials, which no line may show.
func secrets(s *sandbox.Sandbox) *testutil.Secrets {
	sec := testutil.NewSecrets()
	for name, v := range map[string]string{
		"VIC api key": sandbox.VICAPIKey, "VTS api key": sandbox.VTSAPIKey, "enc api key": sandbox.EncAPIKey, "iFrame api key": sandbox.AuthFrameAPIKey,
		"VIC shared secret": sandbox.VICSharedSecret, "VTS shared secret": sandbox.VTSSharedSecret,
		"enc shared secret": sandbox.EncSharedSecret, "hash secret": sandbox.HashSecret,
	} {
		sec.Add(name, v)
	}
	for _, line := range strings.Split(string(s.MLEClientPrivateKeyPEM()), "\n") {
		if len(line) > 40 && !strings.HasPrefix(line, "-----") {
			sec.Add("MLE private key", line)
			break
		}
	}
	return sec
}

func doctorRun(t *testing.T, lookup func(string) (string, bool), args ...string) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	failed, err := run(context.Background(), args, lookup, &out, io.Discard)
	require.NoError(t, err)
	return out.String(), failed
}

// line returns the output line of a check.
func line(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 6 && strings.HasPrefix(l[6:], name) && (strings.HasSuffix(name, ":") || strings.HasPrefix(l[6+len(name):], " ")) {
			return l
		}
	}
	return ""
}

// TestDoctorAgainstSandbox: a right configuration passes every check
// against a sandbox with TLS and mutual TLS.
func TestDoctorAgainstSandbox(t *testing.T) {
	t.Parallel()
	s := sandboxtest.Start(t, sandbox.WithMutualTLS())
	out, failed := doctorRun(t, envOf(s, nil), "-mle-client-cert", certFor(t, mleKey(t, s)))
	assert.False(t, failed, out)
	for _, name := range []string{"configuration", "VIC credentials", "VTS credentials", "Auth iFrame", "MLE keys",
		"mutual TLS keys", "TLS localhost:", "helloworld VIC", "helloworld VTS", "helloworld mTLS", "signedPayload keys"} {
		assert.True(t, strings.HasPrefix(line(out, name), "PASS"), "%s: %q\n%s", name, line(out, name), out)
	}
	assert.Contains(t, line(out, "MLE keys"), "the client key matches")
	assert.Contains(t, line(out, "helloworld VIC"), "answered helloworld")
	assert.Contains(t, line(out, "signedPayload keys"), sandbox.SigningKeyID)
	assert.Contains(t, out, "visa-doctor found no problem (11 checks passed, 0 skipped)")
	secrets(s).Check(t, "the doctor's output", out, testutil.Text)
}

// TestDoctorPlainHTTP: a plain-HTTP sandbox has no TLS to check.
func TestDoctorPlainHTTP(t *testing.T) {
	t.Parallel()
	s := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	out, failed := doctorRun(t, envOf(s, nil))
	assert.False(t, failed, out)
	assert.True(t, strings.HasPrefix(line(out, "TLS localhost:"), "SKIP"), out)
	assert.True(t, strings.HasPrefix(line(out, "helloworld mTLS"), "SKIP"), out)
	assert.True(t, strings.HasPrefix(line(out, "helloworld VTS"), "PASS"), out)
}

// TestDoctorBrokenConfigurations: each mistake fails its check with the
// reason, never the secret, and the command reports failure.
func TestDoctorBrokenConfigurations(t *testing.T) {
	t.Parallel()
	s := sandboxtest.Start(t, sandbox.WithMutualTLS())
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherCert := certFor(t, other)
	otherKeyPEM := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})), "\n", `\n`)
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		args      []string
		check     string
		want      string
	}{
		{"wrong VIC shared secret", map[string]string{"VISA_VIC_SHARED_SECRET": "not-the-secret"}, nil,
			"helloworld VIC", "HTTP 401 XPAY_INVALID"},
		{"unknown VTS api key", map[string]string{"VISA_VTS_API_KEY": "NOSUCHKEY01"}, nil,
			"helloworld VTS", "HTTP 401 APIKEY_UNKNOWN"},
		{"missing hash secret", map[string]string{"VISA_HASH_SECRET": ""}, nil,
			"VTS credentials", "HashSecret"},
		{"MLE key of another certificate", nil, []string{"-mle-client-cert", otherCert},
			"MLE keys", "VISA_MLE_CLIENT_KEY is not the private key of"},
		{"own key as server certificate", map[string]string{"VISA_MLE_CLIENT_KEY": otherKeyPEM,
			"VISA_MLE_SERVER_CERT": strings.ReplaceAll(mustRead(t, otherCert), "\n", `\n`)}, nil,
			"MLE keys", "holds the public half of VISA_MLE_CLIENT_KEY"},
		{"JWKS not found", map[string]string{"VISA_SIGNED_PAYLOAD_JWKS_URL": s.BaseURL() + "/no/jwks.json"}, nil,
			"signedPayload keys", "HTTP 404"},
		{"untrusted server", map[string]string{"VISA_TLS_CA": ""}, nil,
			"TLS localhost:", "certificate"},
		{"no client certificate", map[string]string{"VISA_TLS_CLIENT_CERT": "", "VISA_TLS_CLIENT_KEY": ""}, nil,
			"helloworld VIC", "GET " + s.BaseURL() + "/vdp/helloworld"},
		{"malformed timeout", map[string]string{"VISA_TIMEOUT": "soon"}, nil,
			"configuration", "VISA_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, failed := doctorRun(t, envOf(s, tc.overrides), tc.args...)
			assert.True(t, failed, out)
			got := line(out, tc.check)
			assert.True(t, strings.HasPrefix(got, "FAIL"), "%s: %q\n%s", tc.check, got, out)
			assert.Contains(t, got, tc.want, out)
			assert.Contains(t, out, "visa-doctor found ")
			secrets(s).Check(t, "the doctor's output", out, testutil.Text)
			assert.NotContains(t, out, "not-the-secret")
			assert.NotContains(t, out, "NOSUCHKEY01")
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestUsage: -h names the command and its checks; a bad command line is a
// usage error (main exits 2).
func TestUsage(t *testing.T) {
	t.Parallel()
	var help bytes.Buffer
	_, err := run(context.Background(), []string{"-h"}, func(string) (string, bool) { return "", false }, io.Discard, &help)
	require.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, help.String(), "Usage: visa-doctor ")
	assert.Contains(t, help.String(), "helloworld mTLS")
	for _, args := range [][]string{{"-bad"}, {"extra"}, {"-timeout", "0s"}} {
		_, err := run(context.Background(), args, func(string) (string, bool) { return "", false }, io.Discard, io.Discard)
		assert.Error(t, err, args)
	}
}
