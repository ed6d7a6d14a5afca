package fido_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
)

// secretBlob has the shape of a fidoBlob: opaque base64url segments joined
// by dots (this one a JWS; the sandbox mints JWEs, docs/wire.md §8.3).
const secretBlob = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNieC1zaWctMSJ9.eyJ0eXAiOiJmaWRvLWF0dGVzdGF0aW9uIiwiaWRlbnRpZmllciI6IklELTdRbSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"

func mustBlob(t testing.TB, s string) fido.Blob {
	t.Helper()
	b, err := fido.NewBlob(s)
	require.NoError(t, err)
	return b
}

// assertNoLeak fails if out contains the secret in clear, in hex, or any
// 12-byte window of it.
func assertNoLeak(t *testing.T, out, secret string) {
	t.Helper()
	assert.NotContains(t, out, secret)
	assert.NotContains(t, strings.ToLower(out), hex.EncodeToString([]byte(secret))[:24])
	for i := 0; i+12 <= len(secret); i += 6 {
		if strings.Contains(out, secret[i:i+12]) {
			t.Fatalf("output leaks part of the secret at offset %d: %s", i, out)
		}
	}
}

func TestNewBlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"jwt", secretBlob, nil},
		{"std base64", "ab+/cd==", nil},
		{"one char", "x", nil},
		{"max size", strings.Repeat("a", fido.MaxBlobLen), nil},
		{"empty", "", fido.ErrBlobEmpty},
		{"too large", strings.Repeat("a", fido.MaxBlobLen+1), fido.ErrBlobTooLarge},
		{"space", "eyJ hbGc", fido.ErrBlobCharset},
		{"newline", "eyJ\nhbGc", fido.ErrBlobCharset},
		{"quote", `eyJ"hbGc`, fido.ErrBlobCharset},
		{"bracket (a mask)", "[REDACTED]", fido.ErrBlobCharset},
		{"non-ascii", "eyJé", fido.ErrBlobCharset},
		{"nul", "eyJ\x00", fido.ErrBlobCharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := fido.NewBlob(tc.in)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.True(t, b.IsZero())
				if len(tc.in) > 4 {
					assert.NotContains(t, err.Error(), tc.in)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.in, b.Reveal())
			assert.Equal(t, len(tc.in), b.Len())
			assert.False(t, b.IsZero())
		})
	}
}

func TestBlobEqualAndZero(t *testing.T) {
	t.Parallel()
	a, b := mustBlob(t, secretBlob), mustBlob(t, secretBlob)
	c := mustBlob(t, secretBlob+"x")
	var zero fido.Blob
	assert.True(t, a.Equal(b))
	assert.False(t, a.Equal(c))
	assert.False(t, a.Equal(zero))
	assert.True(t, zero.Equal(fido.Blob{}))
	assert.True(t, zero.IsZero())
	assert.Empty(t, zero.Reveal())
	assert.Equal(t, "[REDACTED fidoBlob empty]", zero.String())
}

type holder struct {
	Exported fido.Blob
	hidden   fido.Blob
	Ptr      *fido.Blob
	List     []fido.Blob
	Map      map[string]fido.Blob
}

func TestBlobNeverPrints(t *testing.T) {
	t.Parallel()
	b := mustBlob(t, secretBlob)
	h := holder{Exported: b, hidden: b, Ptr: &b, List: []fido.Blob{b}, Map: map[string]fido.Blob{"k": b}}
	a := fido.Assurance{FidoBlob: b, Identifier: "ID-1", RPID: "localhost"}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%-40v", "% x", "%#x", "%T", "%p"}
	for _, v := range []any{b, &b, h, &h, a, &a, []any{b}} {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			assertNoLeak(t, out, secretBlob)
		}
		assertNoLeak(t, fmt.Sprint(v), secretBlob)
		assertNoLeak(t, fmt.Sprintln(v), secretBlob)
	}
	assert.Equal(t, fmt.Sprintf("[REDACTED fidoBlob len=%d]", len(secretBlob)), fmt.Sprintf("%v", b))
	assert.Equal(t, fmt.Sprintf("%q", b.String()), fmt.Sprintf("%q", b))
	assert.Equal(t, b.String(), b.GoString())

	// encoding/json
	js, err := json.Marshal(h)
	require.NoError(t, err)
	assertNoLeak(t, string(js), secretBlob)
	js, err = json.Marshal(a)
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"fidoBlob":"[REDACTED fidoBlob len=%d]","identifier":"ID-1","rpID":"localhost"}`, len(secretBlob)), string(js))

	// slog, text and JSON handlers, as attribute and inside a group/struct
	for _, mk := range []func(*bytes.Buffer) slog.Handler{
		func(w *bytes.Buffer) slog.Handler { return slog.NewTextHandler(w, nil) },
		func(w *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(mk(&buf))
		l.Info("ceremony", "blob", b, slog.Any("assurance", a), slog.Group("g", "b", &b), "holder", h)
		assertNoLeak(t, buf.String(), secretBlob)
		assert.Contains(t, buf.String(), "REDACTED")
	}
}

func TestBlobUnmarshalJSON(t *testing.T) {
	t.Parallel()
	var a fido.Assurance
	msg := `{"fidoBlob":"` + secretBlob + `","rpID":"localhost","identifier":"ID-7Qm"}`
	require.NoError(t, json.Unmarshal([]byte(msg), &a))
	assert.Equal(t, secretBlob, a.FidoBlob.Reveal())
	assert.Equal(t, "ID-7Qm", a.Identifier)
	assert.Equal(t, "localhost", a.RPID)
	require.NoError(t, a.Validate())

	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"null", `null`, nil},
		{"empty", `""`, nil},
		{"number", `42`, fido.ErrBlobCharset},
		{"object", `{}`, fido.ErrBlobCharset},
		{"masked", `"[REDACTED fidoBlob len=10]"`, fido.ErrBlobCharset},
		{"too large", `"` + strings.Repeat("a", fido.MaxBlobLen+1) + `"`, fido.ErrBlobTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := mustBlob(t, "previous")
			err := json.Unmarshal([]byte(tc.in), &b)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Equal(t, "previous", b.Reveal(), "a failed decode changes nothing")
				return
			}
			require.NoError(t, err)
			assert.True(t, b.IsZero())
		})
	}
}
