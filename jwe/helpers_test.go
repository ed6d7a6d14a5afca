package jwe

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	testFieldKID    = "SBXENCAPIKEY01"
	testFieldSecret = "sbx-enc-shared-secret"
	testMLEKID      = "SBX-MLE-KEY-01"
	testIATMillis   = 1767225600123
)

type vector struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Header    map[string]any `json:"header"`
	Plaintext string         `json:"plaintext"`
	Compact   string         `json:"compact"`
}

var loadVectors = sync.OnceValues(func() (map[string]vector, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		return nil, err
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	m := make(map[string]vector, len(f.Vectors))
	for _, v := range f.Vectors {
		m[v.Name] = v
	}
	return m, nil
})

func vectors(t testing.TB) map[string]vector {
	t.Helper()
	m, err := loadVectors()
	require.NoError(t, err)
	require.NotEmpty(t, m)
	return m
}

func vec(t testing.TB, name string) vector {
	t.Helper()
	v, ok := vectors(t)[name]
	require.True(t, ok, "vector %s missing", name)
	return v
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

var loadMLEKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "mle-private-pkcs8.pem"))
	if err != nil {
		return nil, err
	}
	return ParsePrivateKeyPEM(b)
})

func mleKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := loadMLEKey()
	require.NoError(t, err)
	return k
}

func fieldCipher(t testing.TB) *FieldCipher {
	t.Helper()
	c, err := NewFieldCipher(testFieldKID, testFieldSecret)
	require.NoError(t, err)
	return c
}

func mleDecrypter(t testing.TB) *MLEDecrypter {
	t.Helper()
	d, err := NewMLEDecrypter(mleKey(t))
	require.NoError(t, err)
	return d
}

func mleEncrypter(t testing.TB, enc string) *MLEEncrypter {
	t.Helper()
	e, err := NewMLEEncrypter(&mleKey(t).PublicKey, testMLEKID, enc)
	require.NoError(t, err)
	return e
}

// withHeader replaces the protected header of compact by the raw JSON hdr.
func withHeader(compact, hdr string) string {
	_, rest, _ := strings.Cut(compact, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + rest
}

// editHeader decodes the protected header, lets edit change it, and
// re-encodes it (member order is not preserved, which does not matter here).
func editHeader(t testing.TB, compact string, edit func(map[string]any)) string {
	t.Helper()
	seg, _, _ := strings.Cut(compact, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	edit(h)
	b, err := json.Marshal(h)
	require.NoError(t, err)
	return withHeader(compact, string(b))
}

// part returns part i (0-based) of compact, and setPart replaces it.
func part(compact string, i int) string { return strings.Split(compact, ".")[i] }

func setPart(compact string, i int, v string) string {
	p := strings.Split(compact, ".")
	p[i] = v
	return strings.Join(p, ".")
}

// flipFirst changes the first character of a base64url segment, which always
// changes the decoded bytes (and keeps the encoding canonical).
func flipFirst(seg string) string {
	if seg[0] == 'A' {
		return "B" + seg[1:]
	}
	return "A" + seg[1:]
}
