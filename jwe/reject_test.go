package jwe

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFieldRejections mutates a valid field JWE in every way the brief
// names and checks the typed error.
func TestFieldRejections(t *testing.T) {
	t.Parallel()
	fc := fieldCipher(t)
	good := vec(t, "field-card").Compact
	_, err := fc.Decrypt(good)
	require.NoError(t, err)

	cases := []struct {
		name  string
		input string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"4 parts", strings.Join(strings.Split(good, ".")[:4], "."), ErrMalformed},
		{"6 parts", good + ".AAAA", ErrMalformed},
		{"6 parts empty", good + ".", ErrMalformed},
		{"padding", setPart(good, 4, part(good, 4)+"=="), ErrMalformed},
		{"standard base64 alphabet", setPart(good, 2, "+/"+part(good, 2)[2:]), ErrMalformed},
		{"whitespace", " " + good, ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"non-canonical last character", setPart(good, 4, part(good, 4)[:21]+"B"), ErrMalformed},
		{"truncated tag", setPart(good, 4, part(good, 4)[:8]), ErrDecrypt},
		{"empty tag", setPart(good, 4, ""), ErrMalformed},
		{"empty iv", setPart(good, 2, ""), ErrMalformed},
		{"empty encrypted key", setPart(good, 1, ""), ErrMalformed},
		{"tampered tag", setPart(good, 4, flipFirst(part(good, 4))), ErrDecrypt},
		{"tampered ciphertext", setPart(good, 3, flipFirst(part(good, 3))), ErrDecrypt},
		{"tampered iv", setPart(good, 2, flipFirst(part(good, 2))), ErrDecrypt},
		{"tampered encrypted key", setPart(good, 1, flipFirst(part(good, 1))), ErrDecrypt},
		{"tampered header (extra member)", editHeader(t, good, func(h map[string]any) { h["x"] = "y" }), ErrDecrypt},
		{"tampered header (key-wrap tag)", editHeader(t, good, func(h map[string]any) { h["tag"] = flipFirst(h["tag"].(string)) }), ErrDecrypt},
		{"header key-wrap iv not a string", editHeader(t, good, func(h map[string]any) { h["iv"] = 7 }), ErrMalformed},
		{"header key-wrap iv missing", editHeader(t, good, func(h map[string]any) { delete(h, "iv") }), ErrMalformed},
		{"header key-wrap iv short", editHeader(t, good, func(h map[string]any) { h["iv"] = "AAAA" }), ErrMalformed},
		{"header key-wrap tag short", editHeader(t, good, func(h map[string]any) { h["tag"] = "AAAA" }), ErrMalformed},
		{"header key-wrap tag padded", editHeader(t, good, func(h map[string]any) { h["tag"] = h["tag"].(string) + "==" }), ErrMalformed},
		{"alg none", editHeader(t, good, func(h map[string]any) { h["alg"] = "none" }), ErrAlgorithm},
		{"alg dir", editHeader(t, good, func(h map[string]any) { h["alg"] = "dir" }), ErrAlgorithm},
		{"alg A128KW", editHeader(t, good, func(h map[string]any) { h["alg"] = "A128KW" }), ErrAlgorithm},
		{"alg PBES2", editHeader(t, good, func(h map[string]any) { h["alg"] = "PBES2-HS256+A128KW"; h["p2c"] = 1000000000 }), ErrAlgorithm},
		{"alg RSA1_5", editHeader(t, good, func(h map[string]any) { h["alg"] = "RSA1_5" }), ErrAlgorithm},
		{"alg RSA-OAEP-256", editHeader(t, good, func(h map[string]any) { h["alg"] = "RSA-OAEP-256" }), ErrAlgorithm},
		{"enc A128GCM", editHeader(t, good, func(h map[string]any) { h["enc"] = "A128GCM" }), ErrAlgorithm},
		{"zip", editHeader(t, good, func(h map[string]any) { h["zip"] = "DEF" }), ErrAlgorithm},
		{"crit", editHeader(t, good, func(h map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }), ErrMalformed},
		{"alg missing", editHeader(t, good, func(h map[string]any) { delete(h, "alg") }), ErrMalformed},
		{"alg not a string", editHeader(t, good, func(h map[string]any) { h["alg"] = 1 }), ErrMalformed},
		{"wrong kid", editHeader(t, good, func(h map[string]any) { h["kid"] = "OTHER" }), ErrKeyID},
		{"kid missing", editHeader(t, good, func(h map[string]any) { delete(h, "kid") }), ErrKeyID},
		{"duplicate alg", withHeader(good, `{"alg":"A256GCMKW","alg":"dir","enc":"A256GCM","kid":"SBXENCAPIKEY01"}`), ErrMalformed},
		{"header not an object", withHeader(good, `["alg"]`), ErrMalformed},
		{"header trailing data", withHeader(good, `{"alg":"A256GCMKW","enc":"A256GCM"}{}`), ErrMalformed},
		{"header not JSON", withHeader(good, `alg=A256GCMKW`), ErrMalformed},
		{"oversize", strings.Repeat("A", DefaultMaxInput-3) + "." + good, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pt, err := fc.Decrypt(tc.input)
			require.Error(t, err)
			assert.Nil(t, pt)
			assertOneSentinel(t, err, tc.want)
		})
	}
}

// TestMLERejections does the same for MLE.
func TestMLERejections(t *testing.T) {
	t.Parallel()
	md := mleDecrypter(t)
	good := vec(t, "mle-a128gcm").Compact
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	toOther, err := NewMLEEncrypter(&otherKey.PublicKey, testMLEKID, "")
	require.NoError(t, err)
	wrongKey, err := toOther.Encrypt([]byte("x"), time.Now())
	require.NoError(t, err)

	cases := []struct {
		name  string
		input string
		want  error
	}{
		{"wrong key", wrongKey, ErrDecrypt},
		{"5 empty parts", "....", ErrMalformed},
		{"4 parts", strings.Join(strings.Split(good, ".")[:4], "."), ErrMalformed},
		{"6 parts", good + ".AAAA", ErrMalformed},
		{"padding", setPart(good, 1, part(good, 1)+"="), ErrMalformed},
		{"truncated", good[:len(good)/2], ErrMalformed},
		{"tampered tag", setPart(good, 4, flipFirst(part(good, 4))), ErrDecrypt},
		{"tampered ciphertext", setPart(good, 3, flipFirst(part(good, 3))), ErrDecrypt},
		{"tampered encrypted key", setPart(good, 1, flipFirst(part(good, 1))), ErrDecrypt},
		{"truncated encrypted key", setPart(good, 1, part(good, 1)[:40]), ErrDecrypt},
		{"tampered header (iat)", editHeader(t, good, func(h map[string]any) { h["iat"] = 1767225600124 }), ErrDecrypt},
		{"alg none", editHeader(t, good, func(h map[string]any) { h["alg"] = "none" }), ErrAlgorithm},
		{"alg dir", editHeader(t, good, func(h map[string]any) { h["alg"] = "dir" }), ErrAlgorithm},
		{"alg RSA1_5", editHeader(t, good, func(h map[string]any) { h["alg"] = "RSA1_5" }), ErrAlgorithm},
		{"alg RSA-OAEP", editHeader(t, good, func(h map[string]any) { h["alg"] = "RSA-OAEP" }), ErrAlgorithm},
		{"alg A256GCMKW", editHeader(t, good, func(h map[string]any) { h["alg"] = "A256GCMKW" }), ErrAlgorithm},
		{"enc A192GCM", editHeader(t, good, func(h map[string]any) { h["enc"] = "A192GCM" }), ErrAlgorithm},
		{"enc A128CBC-HS256", editHeader(t, good, func(h map[string]any) { h["enc"] = "A128CBC-HS256" }), ErrAlgorithm},
		{"enc missing", editHeader(t, good, func(h map[string]any) { delete(h, "enc") }), ErrMalformed},
		{"zip", editHeader(t, good, func(h map[string]any) { h["zip"] = "DEF" }), ErrAlgorithm},
		{"oversize", good + strings.Repeat("A", DefaultMaxInput), ErrTooLarge},
		{"field JWE", vec(t, "field-card").Compact, ErrAlgorithm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pt, h, err := md.Decrypt(tc.input)
			require.Error(t, err)
			assert.Nil(t, pt)
			assert.Equal(t, Header{}, h)
			assertOneSentinel(t, err, tc.want)
		})
	}
}

var sentinels = []error{ErrMalformed, ErrAlgorithm, ErrKeyID, ErrDecrypt, ErrTooLarge, ErrKey, ErrIssuedAt}

// assertOneSentinel checks that err wraps want and no other sentinel.
func assertOneSentinel(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want, "error: %v", err)
	for _, s := range sentinels {
		if s != want {
			assert.NotErrorIs(t, err, s)
		}
	}
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	h, err := ParseHeader(vec(t, "mle-a256gcm").Compact)
	require.NoError(t, err)
	assert.Equal(t, AlgRSAOAEP256, h.Alg)
	assert.Equal(t, EncA256GCM, h.Enc)
	assert.Equal(t, testMLEKID, h.KeyID)
	assert.True(t, h.HasIssuedAt)
	assert.Equal(t, int64(testIATMillis), h.IssuedAt.UnixMilli())

	// ParseHeader does not judge algorithms, but is as strict as decryption
	// about the shape.
	good := vec(t, "field-card").Compact
	h, err = ParseHeader(editHeader(t, good, func(h map[string]any) { h["alg"] = "none" }))
	require.NoError(t, err)
	assert.Equal(t, "none", h.Alg)
	for _, bad := range []struct {
		in   string
		want error
	}{
		{"", ErrMalformed},
		{"a.b.c.d", ErrMalformed},
		{good + ".x", ErrMalformed},
		{setPart(good, 0, part(good, 0)+"="), ErrMalformed},
		{strings.Repeat("A", DefaultMaxInput+1), ErrTooLarge},
		{withHeader(good, `{"enc":"A256GCM"}`), ErrMalformed},
		{withHeader(good, strings.Repeat(" ", maxHeaderBytes+1)), ErrMalformed},
	} {
		_, err := ParseHeader(bad.in)
		assertOneSentinel(t, err, bad.want)
	}
}

func TestIssuedAt(t *testing.T) {
	t.Parallel()
	good := vec(t, "field-card").Compact
	now := time.UnixMilli(testIATMillis)
	cases := []struct {
		name     string
		iat      string // raw JSON, "" for absent
		has      bool
		at       time.Time
		checkErr bool // CheckIssuedAt(now, 300s) fails
	}{
		{"absent", "", false, time.Time{}, true},
		{"ms number", "1767225600123", true, now, false},
		{"ms number with exponent", "1.767225600123e12", true, now, false},
		{"ms number fractional", "1767225600123.4", true, time.UnixMicro(1767225600123400), false},
		{"seconds string", `"1767225600"`, true, time.Unix(1767225600, 0), false},
		{"seconds number by mistake", "1767225600", true, time.Unix(1767225600, 0), true},
		{"ms 301 s early", "1767225299123", true, time.UnixMilli(1767225299123), true},
		{"ms 300 s early", "1767225300123", true, time.UnixMilli(1767225300123), false},
		{"ms 300 s late", "1767225900123", true, time.UnixMilli(1767225900123), false},
		{"ms 301 s late", "1767225901123", true, time.UnixMilli(1767225901123), true},
		{"negative", "-5", false, time.Time{}, true},
		{"huge", "1e300", false, time.Time{}, true},
		{"bool", "true", false, time.Time{}, true},
		{"null", "null", false, time.Time{}, true},
		{"object", `{"v":1}`, false, time.Time{}, true},
		{"string with sign", `"-1767225600"`, false, time.Time{}, true},
		{"string with space", `" 1767225600"`, false, time.Time{}, true},
		{"empty string", `""`, false, time.Time{}, true},
		{"string too long", `"1767225600123456"`, false, time.Time{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := withHeader(good, `{"alg":"A256GCMKW","enc":"A256GCM"}`)
			if tc.iat != "" {
				in = withHeader(good, `{"alg":"A256GCMKW","enc":"A256GCM","iat":`+tc.iat+`}`)
			}
			h, err := ParseHeader(in)
			require.NoError(t, err)
			assert.Equal(t, tc.has, h.HasIssuedAt)
			if tc.has {
				assert.True(t, tc.at.Equal(h.IssuedAt), "got %v want %v", h.IssuedAt, tc.at)
			}
			err = h.CheckIssuedAt(now, 300*time.Second)
			if tc.checkErr {
				assertOneSentinel(t, err, ErrIssuedAt)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestCheckIssuedAtExtremes(t *testing.T) {
	t.Parallel()
	h := Header{IssuedAt: time.Unix(1<<40, 0), HasIssuedAt: true, iat: iatSecondsString}
	assert.ErrorIs(t, h.CheckIssuedAt(time.Unix(0, 0), time.Hour), ErrIssuedAt)
	assert.ErrorIs(t, h.CheckIssuedAt(time.Unix(-1<<40, 0), time.Hour), ErrIssuedAt)
	// A header built by hand with a time is judged by the time alone.
	h = Header{IssuedAt: time.Unix(100, 0), HasIssuedAt: true}
	assert.NoError(t, h.CheckIssuedAt(time.Unix(100, 0), 0))
	assert.NoError(t, h.CheckIssuedAt(time.Unix(110, 0), -10*time.Second))
	assert.ErrorIs(t, (Header{}).CheckIssuedAt(time.Unix(100, 0), time.Hour), ErrIssuedAt)
}
