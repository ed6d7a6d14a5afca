package jwe

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExportForJose writes JWEs made by this package to the file named by
// $JWE_EXPORT, for testdata/gen/verify.mjs to decrypt with npm jose (the
// reverse direction of the known-answer vectors). Skipped unless set.
func TestExportForJose(t *testing.T) {
	path := os.Getenv("JWE_EXPORT")
	if path == "" {
		t.Skip("set JWE_EXPORT=<file> to export JWEs for testdata/gen/verify.mjs")
	}
	type item struct {
		Kind      string `json:"kind"`
		Plaintext string `json:"plaintext"`
		Compact   string `json:"compact"`
	}
	var out []item
	pt := "Zoë Ünïcode €"
	s, err := fieldCipher(t).Encrypt([]byte(pt))
	require.NoError(t, err)
	out = append(out, item{"field", pt, s})
	for _, enc := range []string{EncA128GCM, EncA256GCM} {
		s, err := mleEncrypter(t, enc).Encrypt([]byte(pt), time.UnixMilli(testIATMillis))
		require.NoError(t, err)
		out = append(out, item{"mle", pt, s})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}
