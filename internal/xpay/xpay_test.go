package xpay

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type golden struct {
	name, secret, urlPath, query, body string
	ts                                 int64
	want                               string
}

// goldens are computed independently of this package with OpenSSL 3.0; the
// comment above each gives the exact command (its output is the hex MAC).
var goldens = []golden{
	// docs/wire.md §2.1, verbatim (VIC POST).
	// printf '%s' '1767225600v1/instructions/INS-0001/credentialsapikey=SBXVICAPIKEY01{"encData":"eyJhbGciOi.x.y.z.w"}' | openssl dgst -sha256 -hmac sbx-vic-shared-secret
	{"wire VIC POST", "sbx-vic-shared-secret", "/vacp/v1/instructions/INS-0001/credentials", "apikey=SBXVICAPIKEY01",
		`{"encData":"eyJhbGciOi.x.y.z.w"}`, 1767225600,
		"xv2:1767225600:634215161f1fdb5aa50465a2511874847f42b12c983eb41547dfa5aab711df9c"},
	// docs/wire.md §2.1, verbatim (VTS POST).
	{"wire VTS POST", "sbx-vts-shared-secret", "/vts/provisionedTokens/TOK-0001/deviceBinding", "apikey=SBXVTSAPIKEY01&reasonCode=DEVICE_BINDING",
		`{"intent":"FIDO"}`, 1767225600,
		"xv2:1767225600:69b5d653019abe9b002cbcb1182e412e4013a86de1b37338750e6e028a397da8"},
	// docs/wire.md §2.1, verbatim (VTS GET).
	{"wire VTS GET", "sbx-vts-shared-secret", "/vts/provisionedTokens/TOK-0001", "apikey=SBXVTSAPIKEY01",
		"", 1767225600,
		"xv2:1767225600:d8541105aa8fac8c965e88dcd9f2aa49da86fc6b54381fad580154fed5f7d400"},
	// printf '%s' '1767225600v1/instructions/INS-0001' | openssl dgst -sha256 -hmac sbx-vic-shared-secret
	{"VIC GET no query no body", "sbx-vic-shared-secret", "/vacp/v1/instructions/INS-0001", "",
		"", 1767225600,
		"xv2:1767225600:6178ee29e27ad4bfc0fe75c754e163e9195ad9582b0eabd2dd286968a4ae65ef"},
	// printf '%s' '1767225600v1/instructions/INS-0001apikey=SBXVICAPIKEY01' | openssl dgst -sha256 -hmac sbx-vic-shared-secret
	{"VIC GET with query", "sbx-vic-shared-secret", "/vacp/v1/instructions/INS-0001", "apikey=SBXVICAPIKEY01",
		"", 1767225600,
		"xv2:1767225600:6c62a563e982bda23a16d02c909bc6ada07cb2aa5cfc18beea1a0b4f08f399d2"},
	// printf '%s' '1767225600vts/panEnrollments{"clientAppID":"vicgo"}' | openssl dgst -sha256 -hmac sbx-vts-shared-secret
	{"VTS POST no query", "sbx-vts-shared-secret", "/vts/panEnrollments", "",
		`{"clientAppID":"vicgo"}`, 1767225600,
		"xv2:1767225600:0819df849df5cb9b0d873199ab6621610fcc974801c08e8acbd054b9126ed3eb"},
	// printf '%s' '1767225601vts/provisionedTokens/TOK-0001/stepUpOptions/methodapiKey=SBXVTSAPIKEY01&x=a+b%2Fc{"stepUpRequestID":"S-1"}' | openssl dgst -sha256 -hmac sbx-vts-shared-secret
	{"VTS PUT form-encoded query", "sbx-vts-shared-secret", "/vts/provisionedTokens/TOK-0001/stepUpOptions/method", "apiKey=SBXVTSAPIKEY01&x=a+b%2Fc",
		`{"stepUpRequestID":"S-1"}`, 1767225601,
		"xv2:1767225601:96e4139f6583cc8fb932fb7b193f51757c0b436ab1d47192ab715befdf923fc3"},
	// printf '%s' '1767225600v1/cardsapikey=SBXVICAPIKEY01{"name":"Zoë Ünïcode €","note":"<&>\u2028"}' | openssl dgst -sha256 -hmac sbx-vic-shared-secret
	{"VIC POST unicode body", "sbx-vic-shared-secret", "/vacp/v1/cards", "apikey=SBXVICAPIKEY01",
		`{"name":"Zoë Ünïcode €","note":"<&>\u2028"}`, 1767225600,
		"xv2:1767225600:00d10e26d5fe990856c3831906f89c044903377859d5c444022f7d10d7dee316"},
	// printf '%s' '1767225600vts/provisionedTokens/TOK-0001apikey=K' | openssl dgst -sha256 -hmac 'sëcret-€'
	{"unicode secret", "sëcret-€", "/vts/provisionedTokens/TOK-0001", "apikey=K",
		"", 1767225600,
		"xv2:1767225600:cc0f87d24596f38a57e8ce0830dc892e1a59899dec79980eeb15d1cd75f67e21"},
}

func TestSignGolden(t *testing.T) {
	t.Parallel()
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			if g.body != "" {
				body = []byte(g.body)
			}
			rp := ResourcePath(g.urlPath)
			assert.Equal(t, g.want, Sign(g.secret, g.ts, rp, g.query, body))
			// nil and empty body sign the same.
			assert.Equal(t, Sign(g.secret, g.ts, rp, g.query, body), Sign(g.secret, g.ts, rp, g.query, append([]byte{}, body...)))
			now := time.Unix(g.ts, 0)
			require.NoError(t, Verify(g.want, g.secret, rp, g.query, body, now, DefaultSkew))
			// Upper-case hex verifies too.
			upper := g.want[:strings.LastIndexByte(g.want, ':')+1] + strings.ToUpper(g.want[strings.LastIndexByte(g.want, ':')+1:])
			require.NoError(t, Verify(upper, g.secret, rp, g.query, body, now, DefaultSkew))
		})
	}
}

func TestSignLongStrings(t *testing.T) {
	t.Parallel()
	// Strings longer than writeString's stack buffer. Expected value:
	// python3 -c "import sys;sys.stdout.write('1'+'p'*700+'q'*300+'bbbbb')" | openssl dgst -sha256 -hmac s
	got := Sign("s", 1, strings.Repeat("p", 700), strings.Repeat("q", 300), []byte("bbbbb"))
	assert.Equal(t, "xv2:1:bf268dad4be73b31ba371ef1bdd741ad60e7e45eb473aabf6b93faf82a098c11", got)
	assert.Equal(t, got, "xv2:1:"+refMAC("s", "1"+strings.Repeat("p", 700)+strings.Repeat("q", 300)+"bbbbb"))
}

func TestResourcePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/vacp/v1/instructions/INS-0001/credentials": "v1/instructions/INS-0001/credentials",
		"/vts/provisionedTokens/TOK-0001":            "vts/provisionedTokens/TOK-0001",
		"vacp/v1/x":                                  "v1/x",
		"v1/x":                                       "v1/x",
		"/":                                          "",
		"":                                           "",
		"//vacp/v1/x":                                "/vacp/v1/x",
		"/vacp/vacp/x":                               "vacp/x",
		"/vacpx/v1":                                  "vacpx/v1",
		"/vacp":                                      "vacp",
		"/VACP/v1/x":                                 "VACP/v1/x",
		"/vts-auth/x":                                "vts-auth/x",
		"/vacp/":                                     "",
		"/sandbox/v1/x":                              "sandbox/v1/x",
	} {
		assert.Equal(t, want, ResourcePath(in), "input %q", in)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	ts, mac, err := Parse(goldens[0].want)
	require.NoError(t, err)
	assert.Equal(t, int64(1767225600), ts)
	assert.Len(t, mac, 32)

	hex64 := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		token string
		want  error
	}{
		{"", ErrMissing},
		{"xv1:1:" + hex64, ErrMalformed},
		{"XV2:1:" + hex64, ErrMalformed},
		{"xv2:" + hex64, ErrMalformed},
		{"xv2::" + hex64, ErrMalformed},
		{"xv2:-1:" + hex64, ErrMalformed},
		{"xv2:+1:" + hex64, ErrMalformed},
		{"xv2: 1:" + hex64, ErrMalformed},
		{"xv2:1.5:" + hex64, ErrMalformed},
		{"xv2:9223372036854775808:" + hex64, ErrMalformed},
		{"xv2:12345678901234567890:" + hex64, ErrMalformed},
		{"xv2:1:" + hex64[:62], ErrMalformed},
		{"xv2:1:" + hex64 + "ab", ErrMalformed},
		{"xv2:1:" + hex64[:62] + "zz", ErrMalformed},
		{"xv2:1:" + hex64 + ":", ErrMalformed},
		{"xv2:1:" + hex64 + " ", ErrMalformed},
		{" xv2:1:" + hex64, ErrMalformed},
		{"xv2:1:", ErrMalformed},
	} {
		ts, mac, err := Parse(tc.token)
		assertOneSentinel(t, err, tc.want)
		assert.Zero(t, ts)
		assert.Nil(t, mac)
	}
	ts, _, err = Parse("xv2:0:" + hex64)
	require.NoError(t, err)
	assert.Zero(t, ts)
	ts, _, err = Parse("xv2:000000000000000001:" + strings.ToUpper(hex64))
	require.NoError(t, err)
	assert.Equal(t, int64(1), ts)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	g := goldens[1] // VTS POST
	rp := ResourcePath(g.urlPath)
	now := time.Unix(g.ts, 0)
	for _, tc := range []struct {
		name              string
		token, secret     string
		path, query, body string
		now               time.Time
		skew              time.Duration
		want              error
	}{
		{"ok", g.want, g.secret, rp, g.query, g.body, now, DefaultSkew, nil},
		{"ok 300 s later", g.want, g.secret, rp, g.query, g.body, now.Add(300 * time.Second), DefaultSkew, nil},
		{"ok 300 s earlier", g.want, g.secret, rp, g.query, g.body, now.Add(-300 * time.Second), DefaultSkew, nil},
		{"ok zero skew means default", g.want, g.secret, rp, g.query, g.body, now.Add(299 * time.Second), 0, nil},
		{"expired", g.want, g.secret, rp, g.query, g.body, now.Add(301 * time.Second), DefaultSkew, ErrExpired},
		{"expired by a nanosecond", g.want, g.secret, rp, g.query, g.body, now.Add(300*time.Second + 1), DefaultSkew, ErrExpired},
		{"from the future", g.want, g.secret, rp, g.query, g.body, now.Add(-301 * time.Second), DefaultSkew, ErrExpired},
		{"custom skew", g.want, g.secret, rp, g.query, g.body, now.Add(11 * time.Second), 10 * time.Second, ErrExpired},
		{"far future ts", "xv2:999999999999999999:" + strings.Repeat("00", 32), g.secret, rp, g.query, g.body, now, DefaultSkew, ErrExpired},
		{"zero ts", "xv2:0:" + strings.Repeat("00", 32), g.secret, rp, g.query, g.body, now, DefaultSkew, ErrExpired},
		{"missing token", "", g.secret, rp, g.query, g.body, now, DefaultSkew, ErrMissing},
		{"missing secret", g.want, "", rp, g.query, g.body, now, DefaultSkew, ErrMissing},
		{"malformed", "xv2:abc", g.secret, rp, g.query, g.body, now, DefaultSkew, ErrMalformed},
		{"wrong secret", g.want, "sbx-vic-shared-secret", rp, g.query, g.body, now, DefaultSkew, ErrMismatch},
		{"wrong path", g.want, g.secret, "provisionedTokens/TOK-0001/deviceBinding", g.query, g.body, now, DefaultSkew, ErrMismatch},
		{"reordered query", g.want, g.secret, rp, "reasonCode=DEVICE_BINDING&apikey=SBXVTSAPIKEY01", g.body, now, DefaultSkew, ErrMismatch},
		{"changed body", g.want, g.secret, rp, g.query, `{"intent":"FIDO" }`, now, DefaultSkew, ErrMismatch},
		{"empty body", g.want, g.secret, rp, g.query, "", now, DefaultSkew, ErrMismatch},
		{"changed ts", "xv2:1767225601:" + g.want[len("xv2:1767225600:"):], g.secret, rp, g.query, g.body, now, DefaultSkew, ErrMismatch},
		// Moving bytes between fields changes nothing in the message, so it
		// verifies: the format has no separators (a property of Visa's
		// scheme, recorded here so nobody "fixes" it by accident).
		{"field boundary shift", g.want, g.secret, rp + "apikey=SBXVTSAPIKEY01", "&reasonCode=DEVICE_BINDING", g.body, now, DefaultSkew, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			err := Verify(tc.token, tc.secret, tc.path, tc.query, b, tc.now, tc.skew)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assertOneSentinel(t, err, tc.want)
			// Errors never reveal the secret or the expected MAC.
			expected := Sign(tc.secret, 1767225600, tc.path, tc.query, b)
			assert.NotContains(t, err.Error(), g.secret)
			assert.NotContains(t, err.Error(), "sbx-vic-shared-secret")
			assert.NotContains(t, err.Error(), expected[len("xv2:1767225600:"):])
			assert.NotContains(t, err.Error(), g.want[len("xv2:1767225600:"):])
		})
	}
}

var sentinels = []error{ErrMissing, ErrMalformed, ErrExpired, ErrMismatch}

func assertOneSentinel(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want, "error: %v", err)
	for _, s := range sentinels {
		if !errors.Is(want, s) {
			assert.NotErrorIs(t, err, s)
		}
	}
}
