package authframe

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const blob = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.c2VjcmV0LWJsb2I.dGFn"

func TestParseMessageObjectAndString(t *testing.T) {
	t.Parallel()
	obj := `{"type":"AUTH_SESSION_CREATED","result":"COMPLETE","requestID":"REQ-1","version":"1",
	 "sessionContext":{"secureToken":"st-secret-123"},"dfpSessionID":"DFP-1",
	 "browserData":{"browserJavaEnabled":false,"browserColorDepth":24,"userAgent":"Mozilla/5.0 (X11)"},
	 "authenticationPreferencesSupported":{"requiresPopupForRegister":true,"requiresPopupForAuthenticate":false}}`
	str, err := json.Marshal(obj)
	require.NoError(t, err)
	for name, in := range map[string]string{"object": obj, "string": string(str)} {
		t.Run(name, func(t *testing.T) {
			m, err := ParseMessage([]byte(in))
			require.NoError(t, err)
			assert.Equal(t, TypeAuthSessionCreated, m.Type)
			assert.Equal(t, "st-secret-123", m.SessionContext.SecureToken.Reveal())
			assert.Equal(t, "false", m.BrowserData.BrowserJavaEnabled)
			assert.Equal(t, "24", m.BrowserData.BrowserColorDepth)
			assert.True(t, m.AuthenticationPreferencesSupported.RequiresPopupForRegister)
			// Nothing prints the secureToken.
			for _, s := range []string{fmt.Sprintf("%v", m), fmt.Sprintf("%+v", *m), fmt.Sprintf("%#v", m.SessionContext)} {
				assert.NotContains(t, s, "st-secret-123")
			}
			j, err := json.Marshal(m)
			require.NoError(t, err)
			assert.NotContains(t, string(j), "st-secret-123")
			// The wire form carries it.
			w, err := m.Wire()
			require.NoError(t, err)
			assert.Contains(t, string(w), `"secureToken":"st-secret-123"`)
		})
	}
}

func TestParseMessageCompleteAndAliases(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{TypeAuthComplete, TypeResult, TypeAuthSuccess} {
		m, err := ParseMessage([]byte(`{"type":"` + typ + `","requestID":"R","assuranceData":{"fidoBlob":"` + blob + `","rpID":"localhost","identifier":"ID-1"}}`))
		require.NoError(t, err)
		assert.True(t, m.IsComplete(), typ)
		a, err := assuranceFrom("authenticate", m, "R")
		require.NoError(t, err)
		assert.Equal(t, blob, a.FidoBlob.Reveal())
		assert.Equal(t, "ID-1", a.Identifier)
		assert.NotContains(t, fmt.Sprint(m.AssuranceData), "c2VjcmV0")
	}
}

func TestParseMessageMalformed(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"empty":       ``,
		"array":       `[1,2]`,
		"no type":     `{"requestID":"R"}`,
		"bad string":  `"{\"type\":`,
		"bad blob":    `{"type":"AUTH_COMPLETE","assuranceData":{"fidoBlob":"not a blob!","identifier":"x"}}`,
		"oversize":    `{"type":"AUTH_READY","requestID":"` + strings.Repeat("a", maxMessageBytes) + `"}`,
		"number type": `{"type":7}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMessage([]byte(in))
			assert.ErrorIs(t, err, ErrMalformedMessage)
		})
	}
}

func TestEventErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ, code string
		want      error
	}{
		{TypeAuthCancelled, "", ErrUserCancelled},
		{TypeAuthNotSupported, "", ErrNotSupported},
		{TypeAuthNotPerformed, "", ErrFailed},
		{TypeAuthFailed, "SESSION_EXPIRED", ErrSessionExpired},
		{TypeAuthFailed, "CHALLENGE_EXPIRED", ErrSessionExpired},
		{TypeAuthFailed, "SESSION_CONSUMED", ErrSecureTokenReused},
		{TypeAuthFailed, "UNKNOWN_REQUEST_ID", ErrProtocol},
		{TypeAuthFailed, "CHALLENGE_MISMATCH", ErrProtocol},
		{TypeAuthFailed, "WHATEVER", ErrFailed},
		{TypeAuthReady, "", ErrProtocol},
	}
	for _, c := range cases {
		err := eventError("authenticate", &Message{Type: c.typ, Error: c.code})
		assert.ErrorIs(t, err, c.want, c.typ+" "+c.code)
		var fe *FrameError
		require.True(t, errors.As(err, &fe))
		assert.NotContains(t, err.Error(), "\n")
	}
	// An iFrame-chosen code cannot inject control characters or length.
	err := eventError("open", &Message{Type: TypeAuthFailed, Error: "x\ny" + strings.Repeat("z", 500)})
	assert.Less(t, len(err.Error()), 200)
	assert.NotContains(t, err.Error(), "\n")
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"type":"AUTH_READY","requestID":"REQ-1","version":"1"}`))
	f.Add([]byte(`"{\"type\":\"AUTH_COMPLETE\",\"assuranceData\":{\"fidoBlob\":\"a.b.c\",\"identifier\":\"I\"}}"`))
	f.Add([]byte(`{"type":"AUTH_FAILED","error":"SESSION_CONSUMED"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if m.Type == "" {
			t.Fatal("accepted a message without a type")
		}
		if _, err := m.Wire(); err != nil {
			t.Fatalf("Wire: %v", err)
		}
	})
}
