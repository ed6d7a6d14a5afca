package xpay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignWireVectors(t *testing.T) {
	t.Parallel()
	// visa-wire.md §2.1, verbatim.
	cases := []struct {
		name, secret, path, query, body, want string
	}{
		{"VIC POST", "sbx-vic-shared-secret", "/vacp/v1/instructions/INS-0001/credentials", "apikey=SBXVICAPIKEY01",
			`{"encData":"eyJhbGciOi.x.y.z.w"}`,
			"xv2:1767225600:634215161f1fdb5aa50465a2511874847f42b12c983eb41547dfa5aab711df9c"},
		{"VTS POST", "sbx-vts-shared-secret", "/vts/provisionedTokens/TOK-0001/deviceBinding", "apikey=SBXVTSAPIKEY01&reasonCode=DEVICE_BINDING",
			`{"intent":"FIDO"}`,
			"xv2:1767225600:69b5d653019abe9b002cbcb1182e412e4013a86de1b37338750e6e028a397da8"},
		{"VTS GET", "sbx-vts-shared-secret", "/vts/provisionedTokens/TOK-0001", "apikey=SBXVTSAPIKEY01", "",
			"xv2:1767225600:d8541105aa8fac8c965e88dcd9f2aa49da86fc6b54381fad580154fed5f7d400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			got := Sign(tc.secret, 1767225600, ResourcePath(tc.path), tc.query, body)
			assert.Equal(t, tc.want, got)
			require.NoError(t, Verify(got, tc.secret, ResourcePath(tc.path), tc.query, body, time.Unix(1767225600, 0), DefaultSkew))
		})
	}
}
