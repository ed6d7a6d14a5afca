package jwe

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireVectors(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("sbx-enc-shared-secret"))
	assert.Equal(t, "bdf3069a6df415939906beb3624d751fd78b0fc703c80f7081c3adc6d158145b", hex.EncodeToString(sum[:]))
	assert.Equal(t, "kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y", EmailHash("sbx-hash-secret", "alice@example.com"))
}

func TestSmokeRoundTrips(t *testing.T) {
	t.Parallel()
	c, err := NewFieldCipher("SBXENCAPIKEY01", "sbx-enc-shared-secret")
	require.NoError(t, err)
	s, err := c.Encrypt([]byte("Zoë Ünïcode €"))
	require.NoError(t, err)
	h, err := ParseHeader(s)
	require.NoError(t, err)
	t.Log(s, h)
	pt, err := c.Decrypt(s)
	require.NoError(t, err)
	assert.Equal(t, "Zoë Ünïcode €", string(pt))

	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	e, err := NewMLEEncrypter(&k.PublicKey, "KID", "")
	require.NoError(t, err)
	now := time.UnixMilli(1767225600123)
	s, err = e.Encrypt([]byte(`{"a":1}`), now)
	require.NoError(t, err)
	d, err := NewMLEDecrypter(k)
	require.NoError(t, err)
	pt, h, err = d.Decrypt(s)
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(pt))
	assert.True(t, h.IssuedAt.Equal(now))
	require.NoError(t, h.CheckIssuedAt(now, time.Second))
	t.Log(h)
}
