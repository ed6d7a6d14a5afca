package jwe

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestValidB64MatchesStrictDecoder compares the allocation-free check with
// the standard library's strict decoder, exhaustively for short strings.
func TestValidB64MatchesStrictDecoder(t *testing.T) {
	t.Parallel()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. "
	strict := base64.RawURLEncoding.Strict()
	check := func(s string) {
		_, err := strict.DecodeString(s)
		if validB64(s) != (err == nil) {
			t.Fatalf("validB64(%q) = %v, strict decoder error %v", s, validB64(s), err)
		}
	}
	check("")
	buf := make([]byte, 3)
	for _, a := range []byte(alphabet) {
		check(string(a))
		for _, b := range []byte(alphabet) {
			check(string([]byte{a, b}))
			for _, c := range []byte(alphabet) {
				buf[0], buf[1], buf[2] = a, b, c
				check(string(buf))
			}
		}
	}
	for _, s := range []string{"AAAA", "AAAAB", "AAAAAB", "AAAAAE", "AAAAAAA", "AAAAAAB", "AAAA=", "AA==", "QQ", "QR"} {
		check(s)
	}
	assert.True(t, validB64("QQ"))
	assert.False(t, validB64("QR"))
}
