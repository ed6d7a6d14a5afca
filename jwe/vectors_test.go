package jwe

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKEKVector checks the key derivation example of docs/wire.md §2.3.
func TestKEKVector(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("sbx-enc-shared-secret"))
	assert.Equal(t, "bdf3069a6df415939906beb3624d751fd78b0fc703c80f7081c3adc6d158145b", hex.EncodeToString(sum[:]))
	c := fieldCipher(t)
	assert.Equal(t, sum[:], c.kek)
}

func TestEmailHashVectors(t *testing.T) {
	t.Parallel()
	cases := []struct{ secret, email, want string }{
		// docs/wire.md §2.4, verbatim.
		{"sbx-hash-secret", "alice@example.com", "kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y"},
		// printf '%s' 'Alice@Example.com' | openssl dgst -sha256 -hmac 'sbx-hash-secret' -binary | basenc --base64url | tr -d '='
		{"sbx-hash-secret", "Alice@Example.com", "9Y7zAkR5mENln89Etx_V4Jl_j1ejn2793iuPEbqjrsg"},
		// printf '%s' ' alice@example.com' | openssl dgst -sha256 -hmac 'sbx-hash-secret' -binary | basenc --base64url | tr -d '='
		{"sbx-hash-secret", " alice@example.com", "TaKpHi_ETZCgMOUwaMMZS7JGszypnz5TkvpEo-qmchI"},
		// printf '%s' 'zoë@exämple.com' | openssl dgst -sha256 -hmac 'sbx-hash-secret' -binary | basenc --base64url | tr -d '='
		{"sbx-hash-secret", "zoë@exämple.com", "sLR8cPclbsmthxC28MZ4UWUp-n1RMPw2J7pW1TPyggk"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, EmailHash(tc.secret, tc.email), "email %q", tc.email)
	}
}

// TestKnownAnswerVectors decrypts JWEs made by npm jose (testdata/gen).
func TestKnownAnswerVectors(t *testing.T) {
	t.Parallel()
	fc := fieldCipher(t)
	md := mleDecrypter(t)
	var nField, nMLE int
	for name, v := range vectors(t) {
		switch v.Kind {
		case "field":
			nField++
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				pt, err := fc.Decrypt(v.Compact)
				require.NoError(t, err)
				assert.Equal(t, v.Plaintext, string(pt))
				h, err := ParseHeader(v.Compact)
				require.NoError(t, err)
				assert.Equal(t, AlgA256GCMKW, h.Alg)
				assert.Equal(t, EncA256GCM, h.Enc)
				assert.Equal(t, testFieldKID, h.KeyID)
				if iat, ok := v.Header["iat"].(string); ok {
					require.True(t, h.HasIssuedAt)
					assert.Equal(t, iat, strconv.FormatInt(h.IssuedAt.Unix(), 10))
				}
				// The MLE decrypter refuses a field JWE by algorithm.
				_, _, err = md.Decrypt(v.Compact)
				assert.ErrorIs(t, err, ErrAlgorithm)
			})
		case "mle":
			nMLE++
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				pt, h, err := md.Decrypt(v.Compact)
				require.NoError(t, err)
				assert.Equal(t, v.Plaintext, string(pt))
				assert.Equal(t, AlgRSAOAEP256, h.Alg)
				assert.Equal(t, v.Header["enc"], h.Enc)
				assert.Equal(t, testMLEKID, h.KeyID)
				require.True(t, h.HasIssuedAt)
				assert.Equal(t, int64(testIATMillis), h.IssuedAt.UnixMilli())
				assert.NoError(t, h.CheckIssuedAt(time.UnixMilli(testIATMillis).Add(299*time.Second), 300*time.Second))
				// The field cipher refuses an MLE JWE by algorithm.
				_, err = fc.Decrypt(v.Compact)
				assert.ErrorIs(t, err, ErrAlgorithm)
			})
		}
	}
	assert.GreaterOrEqual(t, nField, 3)
	assert.GreaterOrEqual(t, nMLE, 3)
}

// TestNegativeVectors: well-formed JWEs from npm jose that must be refused.
func TestNegativeVectors(t *testing.T) {
	t.Parallel()
	fc := fieldCipher(t)
	md := mleDecrypter(t)
	cases := []struct {
		name             string
		fieldErr, mleErr error
	}{
		{"neg-field-a128kw", ErrAlgorithm, ErrAlgorithm},
		{"neg-field-a128gcm", ErrAlgorithm, ErrAlgorithm},
		{"neg-field-dir", ErrAlgorithm, ErrAlgorithm},
		{"neg-field-wrong-kid", ErrKeyID, ErrAlgorithm},
		{"neg-field-wrong-key", ErrDecrypt, ErrAlgorithm},
		{"neg-mle-rsa-oaep", ErrAlgorithm, ErrAlgorithm},
		{"neg-mle-cbc", ErrAlgorithm, ErrAlgorithm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := vec(t, tc.name)
			_, err := fc.Decrypt(v.Compact)
			assert.ErrorIs(t, err, tc.fieldErr)
			_, _, err = md.Decrypt(v.Compact)
			assert.ErrorIs(t, err, tc.mleErr)
		})
	}
}
