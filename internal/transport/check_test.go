package transport

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// TestDoCheckRepeatsUnusableAnswers: an answer Request.Check refuses is
// repeated within the one retry loop when the request may be repeated,
// never for a write, and the last answer reaches the caller's parser.
func TestDoCheckRepeatsUnusableAnswers(t *testing.T) {
	t.Parallel()
	wantOK := func(b []byte) error {
		if string(b) != `{"ok":"yes"}` {
			return errors.New("not the answer")
		}
		return nil
	}
	for _, tc := range []struct {
		name       string
		method     string
		idempotent bool
		garbled    int // answers garbled before a good one
		attempts   int
		wantBody   string
	}{
		{"read, one garbled answer, repeated", http.MethodGet, false, 1, 2, `{"ok":"yes"}`},
		{"idempotent write, two garbled, repeated", http.MethodPost, true, 2, 3, `{"ok":"yes"}`},
		{"read, always garbled, attempts exhausted", http.MethodGet, false, 9, 3, `{"ok"`},
		{"write, garbled, never repeated", http.MethodPost, false, 1, 1, `{"ok"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, false, func(n int, _ recorded) reply {
				if n <= tc.garbled {
					return reply{Status: 200, Body: `{"ok"`}
				}
				return reply{Status: 200, Body: `{"ok":"yes"}`}
			})
			cfg := testConfig(f.URL())
			cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: 1, MaxBackoff: 2}
			c, err := NewUnsigned(cfg, visa.ProductAuth, f.URL()+"/vts-auth/authenticate", nil)
			require.NoError(t, err)
			var data []byte
			meta, err := c.Do(bg, &Request{Op: "authframe.Test", Method: tc.method, Body: map[string]string{"a": "b"},
				Idempotent: tc.idempotent, Check: wantOK}, &data)
			require.NoError(t, err, "the transport hands the last answer to the caller's parser")
			assert.Equal(t, tc.wantBody, string(data))
			assert.Equal(t, tc.attempts, meta.Attempts)
			assert.Len(t, f.requests(), tc.attempts)
		})
	}
}
