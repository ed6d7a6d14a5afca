package visa_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// Clear values used by the redaction tests. Each is distinctive enough
// that finding it in an output is a leak, not a coincidence.
const (
	clearPAN    = "4929385392176280"
	clearCVV2   = "7395"
	clearOTP    = "58261493"
	clearSecret = "sk_live_DO_NOT_LEAK_42"
)

// pointerish matches printed addresses (0xc000012345, c000012345, or a
// decimal 824633786384), which may contain any digits.
var pointerish = regexp.MustCompile(`0x[0-9a-f]+|[0-9a-f]{9,}`)

// leakChecker reports whether out reveals a clear value.
type leakChecker func(out string) bool

// panLeaks: the mask shows the last four digits; any eight consecutive
// digits of the PAN, or its first twelve, are a leak.
func panLeaks(out string) bool {
	for i := 0; i+8 <= len(clearPAN); i++ {
		if strings.Contains(out, clearPAN[i:i+8]) {
			return true
		}
	}
	return false
}

// shortLeaks finds a short digit value after removing printed addresses.
func shortLeaks(clear string) leakChecker {
	return func(out string) bool { return strings.Contains(pointerish.ReplaceAllString(out, "#"), clear) }
}

func secretLeaks(out string) bool {
	return strings.Contains(out, clearSecret) || strings.Contains(out, "DO_NOT_LEAK")
}

// outputs renders v in every way a program might print, log, marshal or
// wrap it.
func outputs[T any](t *testing.T, v T) map[string]string {
	t.Helper()
	type withFields struct {
		Exported   T
		unexported T
		Name       string
	}
	s := withFields{Exported: v, unexported: v, Name: "x"}
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-12v", "%.3s", "%T", "%p", "%08d", "% x"} {
		out["value "+verb] = fmt.Sprintf(verb, v)
		out["pointer "+verb] = fmt.Sprintf(verb, &v)
		out["struct "+verb] = fmt.Sprintf(verb, s)
		out["*struct "+verb] = fmt.Sprintf(verb, &s)
		out["slice "+verb] = fmt.Sprintf(verb, []T{v, v})
		out["map "+verb] = fmt.Sprintf(verb, map[string]T{"k": v})
		out["any slice "+verb] = fmt.Sprintf(verb, []any{v})
	}
	out["Sprint"] = fmt.Sprint(v, s, &s)
	out["Sprintln"] = fmt.Sprintln(v, s, &s)
	out["error %v"] = fmt.Errorf("calling visa with %v: %w", v, errors.New("boom")).Error()
	out["error %w chain"] = fmt.Errorf("outer: %w", fmt.Errorf("inner %+v", s)).Error()
	out["errors.Join"] = errors.Join(fmt.Errorf("%v", v), fmt.Errorf("%#v", s)).Error()

	for _, h := range []string{"text", "json"} {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}
		var handler slog.Handler = slog.NewTextHandler(&buf, opts)
		if h == "json" {
			handler = slog.NewJSONHandler(&buf, opts)
		}
		log := slog.New(handler)
		log.Info("direct", "v", v)
		log.Info("pointer", "p", &v)
		log.Info("struct", "s", s)
		log.Info("*struct", "s", &s)
		log.Info("group", slog.Group("g", "v", v, slog.Any("s", s)))
		log.With("w", v).Info("with")
		log.WithGroup("wg").Info("in group", "v", v)
		log.Info("slice", "sl", []T{v})
		log.Info("map", "m", map[string]T{"k": v})
		log.Info("attr", slog.Any("a", v))
		out["slog "+h] = buf.String()
	}

	for name, x := range map[string]any{"value": v, "struct": s, "*struct": &s, "slice": []T{v}, "map": map[string]T{"k": v}} {
		b, err := json.Marshal(x)
		require.NoError(t, err, name)
		out["json "+name] = string(b)
		b, err = json.MarshalIndent(x, "", " ")
		require.NoError(t, err, name)
		out["json indent "+name] = string(b)
	}
	type xmlDoc struct {
		V T `xml:"v"`
		A T `xml:"a,attr"`
	}
	if _, ok := any(v).(encoding.TextMarshaler); ok {
		b, err := xml.Marshal(xmlDoc{V: v, A: v})
		require.NoError(t, err)
		out["xml"] = string(b)
	}
	return out
}

func assertNoLeak[T any](t *testing.T, v T, leaks leakChecker, mask string) {
	t.Helper()
	for name, o := range outputs(t, v) {
		assert.Falsef(t, leaks(o), "%s leaks: %s", name, o)
	}
	assert.Equal(t, mask, fmt.Sprint(v))
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	pan, err := visa.ParsePAN(clearPAN)
	require.NoError(t, err)
	cvv, err := visa.ParseCVV2(clearCVV2)
	require.NoError(t, err)
	otp, err := visa.ParseOTP(clearOTP)
	require.NoError(t, err)
	sec := visa.NewSecret(clearSecret)

	t.Run("PAN", func(t *testing.T) { t.Parallel(); assertNoLeak(t, pan, panLeaks, "****6280") })
	t.Run("CVV2", func(t *testing.T) { t.Parallel(); assertNoLeak(t, cvv, shortLeaks(clearCVV2), visa.Redacted) })
	t.Run("OTP", func(t *testing.T) { t.Parallel(); assertNoLeak(t, otp, shortLeaks(clearOTP), visa.Redacted) })
	t.Run("Secret", func(t *testing.T) { t.Parallel(); assertNoLeak(t, sec, secretLeaks, visa.Redacted) })
	t.Run("SessionContext", func(t *testing.T) {
		t.Parallel()
		assertNoLeak(t, visa.SessionContext{SecureToken: sec}, secretLeaks, "{"+visa.Redacted+"}")
	})

	// The clear values are reachable through Reveal, and only there.
	assert.Equal(t, clearPAN, pan.Reveal())
	assert.Equal(t, clearCVV2, cvv.Reveal())
	assert.Equal(t, clearOTP, otp.Reveal())
	assert.Equal(t, clearSecret, sec.Reveal())
}

func TestRedactionMasks(t *testing.T) {
	t.Parallel()
	pan := mustPAN(t, "4111 1111 1111 1111")
	sec := visa.NewSecret("hunter2")
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", pan, "****1111"},
		{"%+v", pan, "****1111"},
		{"%#v", pan, "visa.PAN(****1111)"},
		{"%s", pan, "****1111"},
		{"%q", pan, `"****1111"`},
		{"%x", pan, "****1111"},
		{"%d", pan, "****1111"},
		{"%10s", pan, "  ****1111"},
		{"%-10v|", pan, "****1111  |"},
		{"%v", sec, "[REDACTED]"},
		{"%#v", sec, "visa.Secret([REDACTED])"},
		{"%q", sec, `"[REDACTED]"`},
		{"%12s", sec, "  [REDACTED]"},
		{"%v", visa.Secret{}, ""},
		{"%#v", visa.Secret{}, "visa.Secret()"},
		{"%v", visa.PAN{}, ""},
		{"%v", visa.NewSecret(""), ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fmt.Sprintf(tt.format, tt.arg), "%s of %T", tt.format, tt.arg)
	}
	b, err := json.Marshal(map[string]any{"pan": pan, "key": sec, "empty": visa.Secret{}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"pan":"****1111","key":"[REDACTED]","empty":""}`, string(b))
	txt, err := pan.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "****1111", string(txt))
	assert.Equal(t, slog.KindString, sec.LogValue().Kind())
}

func TestConfigPrintingRedacts(t *testing.T) {
	t.Parallel()
	s := func(tag string) visa.Secret { return visa.NewSecret("LEAK-" + tag) }
	cfg := visa.Config{
		VIC: visa.VICCredentials{APIKey: s("vic-key"), SharedSecret: s("vic-ss"), MLEClientPrivateKeyPEM: s("mle-key"), MLEKeyID: "kid"},
		VTS: visa.VTSCredentials{APIKey: s("vts-key"), SharedSecret: s("vts-ss"), EncAPIKey: s("enc-key"), EncSharedSecret: s("enc-ss"), HashSecret: s("hash")},
		TLS: visa.TLSConfig{ClientKeyPEM: s("tls-key"), Password: s("pw"), UserID: "user"},
	}
	for name, o := range outputs(t, cfg) {
		assert.NotContains(t, o, "LEAK-", name)
	}
}

func TestSecretUnmarshal(t *testing.T) {
	t.Parallel()
	var v struct {
		S visa.Secret `json:"s"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"s":"tok-123"}`), &v))
	assert.Equal(t, "tok-123", v.S.Reveal())
	require.NoError(t, json.Unmarshal([]byte(`{"s":null}`), &v))
	assert.True(t, v.S.IsZero())

	err := json.Unmarshal([]byte(`{"s":"[REDACTED]"}`), &v)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	err = json.Unmarshal([]byte(`{"s":42}`), &v)
	require.ErrorIs(t, err, visa.ErrInvalidInput)

	var sc visa.SessionContext
	require.NoError(t, json.Unmarshal([]byte(`{"secureToken":"st-abc"}`), &sc))
	assert.Equal(t, "st-abc", sc.SecureToken.Reveal())
	b, err := json.Marshal(sc)
	require.NoError(t, err)
	assert.JSONEq(t, `{"secureToken":"[REDACTED]"}`, string(b))

	var s visa.Secret
	require.ErrorIs(t, s.UnmarshalText([]byte(visa.Redacted)), visa.ErrInvalidInput)
	require.NoError(t, s.UnmarshalText([]byte("x")))
	assert.Equal(t, "x", s.Reveal())
}

func TestSecretEqual(t *testing.T) {
	t.Parallel()
	a, b := visa.NewSecret("same"), visa.NewSecret("same")
	assert.True(t, a.Equal(b))
	assert.False(t, a.Equal(visa.NewSecret("other")))
	assert.True(t, visa.Secret{}.Equal(visa.NewSecret("")))
	assert.True(t, visa.Secret{}.IsZero())
	assert.False(t, a.IsZero())
}

func mustPAN(t testing.TB, s string) visa.PAN {
	t.Helper()
	p, err := visa.ParsePAN(s)
	require.NoError(t, err)
	return p
}

// TestLeakHarnessDetects proves the harness fails on a type that does
// not redact: a plain string holding each clear value leaks in most
// outputs.
func TestLeakHarnessDetects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		clear string
		leaks leakChecker
	}{{clearPAN, panLeaks}, {clearCVV2, shortLeaks(clearCVV2)}, {clearOTP, shortLeaks(clearOTP)}, {clearSecret, secretLeaks}} {
		n := 0
		outs := outputs(t, c.clear)
		for _, o := range outs {
			if c.leaks(o) {
				n++
			}
		}
		assert.Greater(t, n, len(outs)/2, "harness misses plain %d-char value", len(c.clear))
	}
}

func TestRedactionSampleOutputs(t *testing.T) {
	t.Parallel()
	outs := outputs(t, mustPAN(t, clearPAN))
	for _, k := range []string{"struct %+v", "struct %x", "slog text", "slog json", "json struct", "xml"} {
		t.Logf("%s: %s", k, outs[k])
	}
	assert.Contains(t, outs["slog json"], `"v":"****6280"`)
	assert.Contains(t, outs["slog text"], `v=****6280`)
	assert.Contains(t, outs["json struct"], `"Exported":"****6280"`)
}
