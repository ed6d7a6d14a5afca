package visa_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

func TestBase64URLVectors(t *testing.T) {
	t.Parallel()
	// docs/wire.md §2.5 and §2.6.
	for in, want := range map[string]string{
		"visaagent":                 "dmlzYWFnZW50",
		"https://agent.example.com": "aHR0cHM6Ly9hZ2VudC5leGFtcGxlLmNvbQ",
		"Example Agent":             "RXhhbXBsZSBBZ2VudA",
		"Best Buy":                  "QmVzdCBCdXk",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)": "TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk",
		"": "",
	} {
		assert.Equal(t, want, check.Base64URL(in), in)
	}
}

func TestBrowserDataNormalize(t *testing.T) {
	t.Parallel()
	const ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
	const uaB64 = "TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk"
	in := visa.BrowserData{
		BrowserJavaEnabled: "False", BrowserJavascriptEnabled: " TRUE ", BrowserLanguage: "en-US",
		BrowserColorDepth: "24", BrowserScreenHeight: "1080", BrowserScreenWidth: "1920",
		BrowserTimeZone: "300", UserAgent: ua, BrowserHeader: "text/html,application/xhtml+xml",
		IPAddress: "203.0.113.7",
	}
	want := visa.BrowserData{
		BrowserJavaEnabled: "false", BrowserJavascriptEnabled: "true", BrowserLanguage: "en-US",
		BrowserColorDepth: "24", BrowserScreenHeight: "1080", BrowserScreenWidth: "1920",
		BrowserTimeZone: "300", UserAgent: uaB64, BrowserHeader: check.Base64URL("text/html,application/xhtml+xml"),
		IPAddress: "203.0.113.7",
	}
	got := in.Normalize()
	assert.Equal(t, want, got)
	assert.Equal(t, got, got.Normalize(), "idempotent")
	assert.Equal(t, ua, in.UserAgent, "Normalize returns a copy")

	// Already-base64url values and raw fields stay as they are.
	kept := visa.BrowserData{UserAgent: uaB64, BrowserHeader: "abc_-XYZ", IPAddress: "2001:db8::1", BrowserLanguage: "fr CA", BrowserJavaEnabled: "maybe"}
	assert.Equal(t, kept, kept.Normalize())
	assert.Equal(t, visa.BrowserData{}, visa.BrowserData{}.Normalize())
}

func TestBrowserDataNormalizeIdempotentQuick(t *testing.T) {
	t.Parallel()
	f := func(b visa.BrowserData) bool {
		once := b.Normalize()
		return once == once.Normalize() && once.IPAddress == b.IPAddress && once.BrowserLanguage == b.BrowserLanguage
	}
	cfg := &quick.Config{MaxCount: 300}
	require.NoError(t, quick.Check(f, cfg))

	// Values shaped like what browsers send, not just random runes.
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for range 500 {
		b := visa.BrowserData{
			BrowserJavaEnabled:       pick("true", "false", "True", "FALSE", " true", "", "1", "yes"),
			BrowserJavascriptEnabled: pick("true", "false", "TRUE", "", "0"),
			UserAgent:                pick("Mozilla/5.0 (X11; Linux x86_64)", "curl", "", "a b", "dmlzYWFnZW50", "ü", "a=b"),
			BrowserHeader:            pick("*/*", "text/html", "", "abc", "YWJj=="),
		}
		once := b.Normalize()
		require.Equal(t, once, once.Normalize(), "%+v", b)
	}
}

func TestBrowserDataUnmarshal(t *testing.T) {
	t.Parallel()
	var b visa.BrowserData
	err := json.Unmarshal([]byte(`{
		"browserJavaEnabled": false, "browserJavascriptEnabled": true, "browserLanguage": "en-US",
		"browserColorDepth": 24, "browserScreenHeight": 1080.0, "browserScreenWidth": "1920",
		"browserTimeZone": -60, "userAgent": "Mozilla/5.0 (X11)", "browserHeader": null,
		"ipAddress": "203.0.113.7", "extra": {"ignored": true}, "big": 1e400
	}`), &b)
	require.NoError(t, err)
	assert.Equal(t, visa.BrowserData{
		BrowserJavaEnabled: "false", BrowserJavascriptEnabled: "true", BrowserLanguage: "en-US",
		BrowserColorDepth: "24", BrowserScreenHeight: "1080.0", BrowserScreenWidth: "1920",
		BrowserTimeZone: "-60", UserAgent: "Mozilla/5.0 (X11)", IPAddress: "203.0.113.7",
	}, b)

	for _, bad := range []string{`{"browserColorDepth":[24]}`, `{"userAgent":{"a":1}}`, `[]`, `"x"`, `{"ipAddress":`} {
		var b visa.BrowserData
		err := json.Unmarshal([]byte(bad), &b)
		require.Error(t, err, bad)
	}
	var b2 visa.BrowserData
	err = json.Unmarshal([]byte(`{"browserColorDepth":[24]}`), &b2)
	var ie *visa.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "BrowserData.browserColorDepth", ie.Field)

	// Marshalling gives strings, as the wire wants.
	out, err := json.Marshal(visa.BrowserData{BrowserColorDepth: "24", BrowserJavaEnabled: "false"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"browserColorDepth":"24","browserJavaEnabled":"false"}`, string(out))
}

func TestBrowserDataLogValueHidesIdentifiers(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "browser", visa.BrowserData{IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0 SECRETUA", BrowserLanguage: "en-US"})
	assert.NotContains(t, buf.String(), "203.0.113.7")
	assert.NotContains(t, buf.String(), "SECRETUA")
	assert.Contains(t, buf.String(), "en-US")
}

func validAppInstance() visa.AppInstance {
	return visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", ClientDeviceID: "aZ3-_k9aZ3-_k9aZ3-_k9abc",
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
	}
}

func TestAppInstanceValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, validAppInstance().Validate())
	v6 := validAppInstance()
	v6.IPAddress = "2001:db8::7"
	require.NoError(t, v6.Validate())

	tests := []struct {
		field  string
		mutate func(*visa.AppInstance)
	}{
		{"AppInstance.UserAgent", func(a *visa.AppInstance) { a.UserAgent = "" }},
		{"AppInstance.ApplicationName", func(a *visa.AppInstance) { a.ApplicationName = "" }},
		{"AppInstance.CountryCode", func(a *visa.AppInstance) { a.CountryCode = "" }},
		{"AppInstance.CountryCode", func(a *visa.AppInstance) { a.CountryCode = "USA" }},
		{"AppInstance.CountryCode", func(a *visa.AppInstance) { a.CountryCode = "us" }},
		{"AppInstance.CountryCode", func(a *visa.AppInstance) { a.CountryCode = "1A" }},
		{"AppInstance.IPAddress", func(a *visa.AppInstance) { a.IPAddress = "" }},
		{"AppInstance.IPAddress", func(a *visa.AppInstance) { a.IPAddress = "203.0.113" }},
		{"AppInstance.IPAddress", func(a *visa.AppInstance) { a.IPAddress = "example.com" }},
		{"AppInstance.ClientDeviceID", func(a *visa.AppInstance) { a.ClientDeviceID = "" }},
		{"AppInstance.ClientDeviceID", func(a *visa.AppInstance) { a.ClientDeviceID = "short" }},
		{"AppInstance.ClientDeviceID", func(a *visa.AppInstance) { a.ClientDeviceID = strings.Repeat("a", 25) }},
		{"AppInstance.ClientDeviceID", func(a *visa.AppInstance) { a.ClientDeviceID = strings.Repeat("a", 23) + "=" }},
		{"AppInstance.DeviceData.Type", func(a *visa.AppInstance) { a.DeviceData.Type = "" }},
		{"AppInstance.DeviceData.Brand", func(a *visa.AppInstance) { a.DeviceData.Brand = "" }},
	}
	for _, tt := range tests {
		a := validAppInstance()
		tt.mutate(&a)
		var ie *visa.InputError
		require.ErrorAs(t, a.Validate(), &ie, tt.field)
		assert.Equal(t, tt.field, ie.Field)
	}
}

func TestValidClientDeviceID(t *testing.T) {
	t.Parallel()
	assert.True(t, (check.ClientDeviceID("aZ3-_k9aZ3-_k9aZ3-_k9abc") == ""))
	assert.False(t, (check.ClientDeviceID("aZ3-_k9aZ3-_k9aZ3-_k9ab\n") == ""))
	assert.False(t, (check.ClientDeviceID("") == ""))
}

func TestAuthenticationContextJSON(t *testing.T) {
	t.Parallel()
	in := `{"action":"AUTHENTICATE","identifier":"id-1","payload":"opaque","endpoint":"https://x","platformType":"WEB","authenticationPreferencesEnabled":{"responseMode":"com_visa_web_message","responseType":"code"}}`
	var ac visa.AuthenticationContext
	require.NoError(t, json.Unmarshal([]byte(in), &ac))
	assert.Equal(t, visa.ActionAuthenticate, ac.Action)
	out, err := json.Marshal(ac)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(out), "passed through verbatim")
}
