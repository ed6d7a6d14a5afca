package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
)

// TestRunMerchantTAP: -merchant-tap takes a JWKS file of agent keys, and
// refuses a file that is not one.
func TestRunMerchantTAP(t *testing.T) {
	t.Parallel()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	dir, err := tap.DirectoryHandler(pub)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	dir.ServeHTTP(w, httptest.NewRequest("GET", tap.DirectoryPath, nil))
	keys := filepath.Join(t.TempDir(), "agents.jwks")
	require.NoError(t, os.WriteFile(keys, w.Body.Bytes(), 0o600))

	require.NoError(t, run(context.Background(), []string{"-addr", "localhost:0", "-print-env", "-merchant-tap", keys, "-merchant-tap-lenient"}, io.Discard, io.Discard))

	bad := filepath.Join(t.TempDir(), "bad.jwks")
	require.NoError(t, os.WriteFile(bad, []byte(`{"keys":[]}`), 0o600))
	require.Error(t, run(context.Background(), []string{"-addr", "localhost:0", "-print-env", "-merchant-tap", bad}, io.Discard, io.Discard))
	require.Error(t, run(context.Background(), []string{"-addr", "localhost:0", "-print-env", "-merchant-tap", filepath.Join(t.TempDir(), "missing")}, io.Discard, io.Discard))
}
