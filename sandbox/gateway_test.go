package sandbox

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// shared is one sandbox for tests that do not depend on global state.
var sharedSandbox struct {
	sb *Sandbox
}

func shared(t *testing.T) *Sandbox {
	t.Helper()
	if sharedSandbox.sb == nil {
		t.Fatal("shared sandbox not started (TestMain)")
	}
	return sharedSandbox.sb
}

func gatewayCode(r reply) string {
	rs, _ := r.body["responseStatus"].(map[string]any)
	code, _ := rs["code"].(string)
	return code
}

func vtsReason(r reply) string {
	er, _ := r.body["errorResponse"].(map[string]any)
	reason, _ := er["reason"].(string)
	return reason
}

func vtsMessage(r reply) string {
	er, _ := r.body["errorResponse"].(map[string]any)
	m, _ := er["message"].(string)
	return m
}

func TestXPayRules(t *testing.T) {
	t.Parallel()
	sb := shared(t)
	w := newWire(t, sb, jwe.EncA128GCM)
	path := "/vts/provisionedTokens/TOK-unknown"
	now := func() int64 { return sb.Clock().Now().Unix() }
	good := func(d int64, q string) func() string {
		return func() string { return xpay.Sign(VTSSharedSecret, now()+d, xpay.ResourcePath(path), q, nil) }
	}
	fixed := func(s string) func() string { return func() string { return s } }
	k := "apikey=" + VTSAPIKey
	cases := []struct {
		name   string
		query  string
		token  func() string
		status int
		code   string
	}{
		{"missing api key", "", good(0, ""), 401, "APIKEY_MISSING"},
		{"unknown api key", "apikey=NOPE", good(0, "apikey=NOPE"), 401, "APIKEY_UNKNOWN"},
		{"VIC key on VTS", "apikey=" + VICAPIKey, good(0, "apikey="+VICAPIKey), 403, "APIKEY_WRONG_PRODUCT"},
		{"missing token", k, fixed(""), 401, "XPAY_MISSING"},
		{"malformed token", k, fixed("xv1:123:abc"), 401, "XPAY_MALFORMED"},
		{"stale timestamp", k, good(-310, k), 401, "XPAY_EXPIRED"},
		{"future timestamp", k, good(310, k), 401, "XPAY_EXPIRED"},
		{"wrong secret", k, func() string { return xpay.Sign("nope", now(), xpay.ResourcePath(path), k, nil) }, 401, "XPAY_INVALID"},
		{"signed other query", k, good(0, k+"&x=1"), 401, "XPAY_INVALID"},
		{"within skew", k, good(-290, k), 404, ""},
		{"camelCase apiKey", "apiKey=" + VTSAPIKey, good(0, "apiKey="+VTSAPIKey), 404, ""},
		{"upper-case hex", k, func() string {
			s := good(0, k)()
			i := strings.LastIndexByte(s, ':')
			return s[:i] + strings.ToUpper(s[i:])
		}, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hdr := map[string]string{}
			if tok := tc.token(); tok != "" {
				hdr["x-pay-token"] = tok
			}
			r := w.send(http.MethodGet, path, tc.query, nil, hdr)
			assert.Equal(t, tc.status, r.status, string(r.raw))
			if tc.code != "" {
				assert.Equal(t, tc.code, gatewayCode(r), string(r.raw))
				assert.Contains(t, string(r.raw), `"severity":"ERROR"`)
			} else {
				assert.Equal(t, "notFound", vtsReason(r), "passed the gateway: %s", r.raw)
			}
			assert.Len(t, r.header.Get(correlationHeader), 36)
		})
	}
}

func TestXPayFormEncodedQuery(t *testing.T) {
	t.Parallel()
	sb := shared(t)
	w := newWire(t, sb, jwe.EncA128GCM)
	// S1 form-encodes values (space as +) and sends apiKey; the sandbox
	// verifies over the raw query it received.
	path := "/vts/provisionedTokens/TOK-x/deviceBinding"
	q := "apiKey=" + VTSAPIKey + "&reasonCode=DEVICE_BINDING&note=a+b"
	body := []byte(`{}`)
	r := w.send(http.MethodPost, path, q, body, map[string]string{"x-pay-token": w.sign(VTSSharedSecret, path, q, body)})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalidParameter", vtsReason(r), string(r.raw))
}

func TestVICGatewayAndMLE(t *testing.T) {
	t.Parallel()
	sb := shared(t)
	w := newWire(t, sb, jwe.EncA128GCM)
	path := "/vacp/v1/instructions/INS-none/credentials"
	body := credentialsBody("TOK-x", "T-1", "1.00")
	plain := mustJSON(t, body)
	now := sb.Clock().Now()
	seal := func(enc *jwe.MLEEncrypter, at time.Time) []byte {
		c, err := enc.Encrypt(plain, at)
		require.NoError(t, err)
		return jwe.MarshalEnvelope(c)
	}
	otherEnc, err := jwe.NewMLEEncrypter(&otherRSAKey().PublicKey, MLEKeyID, jwe.EncA128GCM)
	require.NoError(t, err)
	serverPub, err := jwe.ParsePublicKeyPEM(sb.MLEServerCertPEM())
	require.NoError(t, err)
	wrongKid, err := jwe.NewMLEEncrypter(serverPub, "OTHER-KID", jwe.EncA128GCM)
	require.NoError(t, err)

	t.Run("VTS key on VIC is 403", func(t *testing.T) {
		t.Parallel()
		q := "apikey=" + VTSAPIKey
		b := seal(w.mleEnc, now)
		r := w.send(http.MethodPost, path, q, b, map[string]string{"x-pay-token": w.sign(VICSharedSecret, path, q, b), "keyId": MLEKeyID})
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "APIKEY_WRONG_PRODUCT", gatewayCode(r))
	})
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
		code string
	}{
		{"plain body", plain, nil, "MLE_REQUIRED"},
		{"missing keyId", seal(w.mleEnc, now), map[string]string{"keyId": ""}, "MLE_KEYID_MISSING"},
		{"unknown keyId", seal(w.mleEnc, now), map[string]string{"keyId": "NOPE"}, "MLE_KEYID_UNKNOWN"},
		{"kid differs from keyId", seal(wrongKid, now), nil, "MLE_KEYID_UNKNOWN"},
		{"wrong MLE key", seal(otherEnc, now), nil, "MLE_DECRYPT_FAILED"},
		{"not a JWE", []byte(`{"encData":"abc"}`), nil, "MLE_DECRYPT_FAILED"},
		{"iat in seconds", seal(w.mleEnc, time.UnixMilli(now.Unix())), nil, "MLE_IAT_INVALID"},
		{"stale iat", seal(w.mleEnc, now.Add(-6*time.Minute)), nil, "MLE_IAT_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := w.vicRaw(http.MethodPost, path, tc.body, tc.hdr)
			assert.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
			assert.Equal(t, tc.code, gatewayCode(r), "gateway errors are plaintext: %s", r.raw)
		})
	}
	t.Run("application errors are encrypted", func(t *testing.T) {
		t.Parallel()
		r := w.vicRaw(http.MethodPost, path, seal(w.mleEnc, now), nil)
		_, isEnvelope := jwe.ParseEnvelope(r.raw)
		require.True(t, isEnvelope, string(r.raw))
		r = w.open(r)
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "INSTRUCTION_NOT_FOUND", gatewayCode(r))
	})
	for _, enc := range []string{jwe.EncA128GCM, jwe.EncA256GCM} {
		t.Run("response mirrors "+enc, func(t *testing.T) {
			t.Parallel()
			w2 := newWire(t, sb, enc)
			compact, err := w2.mleEnc.Encrypt(plain, now)
			require.NoError(t, err)
			r := w2.vicRaw(http.MethodPost, path, jwe.MarshalEnvelope(compact), nil)
			respCompact, ok := jwe.ParseEnvelope(r.raw)
			require.True(t, ok)
			h, err := jwe.ParseHeader(respCompact)
			require.NoError(t, err)
			assert.Equal(t, enc, h.Enc)
			assert.Equal(t, MLEKeyID, h.KeyID)
			assert.NoError(t, h.CheckIssuedAt(sb.Clock().Now(), time.Minute), "ms iat")
		})
	}
}

func TestBodyLimitAndUnknownPaths(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithPlainHTTP(), WithMaxBody(1024))
	w := newWire(t, sb, jwe.EncA128GCM)
	big := []byte(`{"locale":"` + strings.Repeat("x", 2048) + `"}`)
	r := w.vts(http.MethodPost, "/vts/panEnrollments", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	assert.Equal(t, "REQUEST_TOO_LARGE", gatewayCode(r))
	r = w.merchant(map[string]any{"merchantName": strings.Repeat("x", 2048)})
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)

	for _, p := range []string{"/nope", "/vacp/v1/unknown", "/vts/unknown/thing"} {
		r = w.send(http.MethodGet, p, "", nil, nil)
		assert.Equal(t, http.StatusNotFound, r.status, p)
		assert.Equal(t, "NOT_FOUND", gatewayCode(r))
		assert.Len(t, r.header.Get(correlationHeader), 36, p)
	}
	r = w.iframe(http.MethodGet, nil, nil)
	assert.Len(t, r.header.Get(correlationHeader), 36, "iFrame responses carry the id too")
	r = w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil)
	assert.Len(t, r.header.Get(correlationHeader), 36)
}

func TestMalformedJSONAndMissingFields(t *testing.T) {
	t.Parallel()
	sb := shared(t)
	w := newWire(t, sb, jwe.EncA128GCM)
	r := w.vts(http.MethodPost, "/vts/panEnrollments", []byte(`{"locale":`))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalidParameter", vtsReason(r))
	assert.Contains(t, vtsMessage(r), "malformed JSON")

	r = w.vts(http.MethodPost, "/vts/panEnrollments", []byte(`[1,2]`))
	assert.Equal(t, "invalidParameter", vtsReason(r))

	r = w.vts(http.MethodPost, "/vts/panEnrollments", map[string]any{"locale": 5})
	assert.Equal(t, "invalidParameter", vtsReason(r))
	assert.Contains(t, vtsMessage(r), "locale")

	r = w.vic(http.MethodPost, "/vacp/v1/instructions", []byte(`{"clientReferenceId":`))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
}

func TestTLSByDefaultWithExportedCA(t *testing.T) {
	t.Parallel()
	sb := shared(t)
	require.True(t, sb.TLS())
	require.True(t, strings.HasPrefix(sb.BaseURL(), "https://localhost:"))
	cfg := sb.Config()
	require.Equal(t, sb.CACertPEM(), cfg.TLS.RootCAsPEM)
	require.NoError(t, cfg.Validate())
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(cfg.TLS.RootCAsPEM))
	for _, host := range []string{"localhost", "127.0.0.1"} {
		port := sb.Addr().(interface{ String() string }).String()
		port = port[strings.LastIndexByte(port, ':')+1:]
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host}}}
		resp, err := hc.Get("https://" + host + ":" + port + "/.well-known/jwks.json")
		require.NoError(t, err, host)
		assert.Equal(t, 1, resp.ProtoMajor, "no HTTP/2: faults hijack connections")
		resp.Body.Close()
		hc.CloseIdleConnections()
	}
	// An untrusting client fails.
	_, err := http.Get(sb.BaseURL() + "/.well-known/jwks.json")
	require.Error(t, err)
}

func TestPlainHTTPOption(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithPlainHTTP())
	assert.False(t, sb.TLS())
	assert.Nil(t, sb.CACertPEM())
	assert.True(t, strings.HasPrefix(sb.BaseURL(), "http://localhost:"))
	cfg := sb.Config()
	assert.Empty(t, cfg.TLS.RootCAsPEM)
	assert.NoError(t, cfg.Validate())
	resp, err := http.Get(sb.BaseURL() + "/.well-known/jwks.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, resp.ProtoMajor)
}
