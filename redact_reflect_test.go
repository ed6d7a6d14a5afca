package visa_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

// card is what a careless caller compares in a test: a struct holding
// every redacting type, exported and not.
type card struct {
	PAN    visa.PAN
	CVV2   visa.CVV2
	OTP    visa.OTP
	Key    visa.Secret
	hidden visa.PAN
	Note   string
}

func reflectFixture(t *testing.T) (card, *testutil.Secrets) {
	t.Helper()
	pan := mustPAN(t, clearPAN)
	cvv, err := visa.ParseCVV2(clearCVV2)
	require.NoError(t, err)
	otp, err := visa.ParseOTP(clearOTP)
	require.NoError(t, err)
	sec := testutil.NewSecrets()
	sec.Add("PAN", clearPAN)
	sec.Add("PAN's first 12 digits", clearPAN[:12])
	sec.Add("CVV2", clearCVV2)
	sec.Add("OTP", clearOTP)
	sec.Add("secret", clearSecret)
	return card{PAN: pan, CVV2: cvv, OTP: otp, Key: visa.NewSecret(clearSecret), hidden: pan, Note: "a"}, sec
}

// fakeT is the testing.T of a failing assertion: it keeps the message.
type fakeT struct{ msgs []string }

func (f *fakeT) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// TestTestifyDiffShowsOnlyTheMask is the reproducer of a leak through testify: a failed
// assert.Equal of a struct holding a PAN printed the clear number in its
// diff, because testify's printer follows pointers.
func TestTestifyDiffShowsOnlyTheMask(t *testing.T) {
	t.Parallel()
	c, sec := reflectFixture(t)
	// Another card: the diff then prints both numbers' lines.
	other := c
	other.PAN = mustPAN(t, "4111111111111111")
	other.hidden = other.PAN
	other.Key = visa.NewSecret("sk_live_ANOTHER_ONE_77")
	sec.Add("the other PAN", "4111111111111111")
	sec.Add("the other secret", "sk_live_ANOTHER_ONE_77")
	for name, pair := range map[string][2]any{"value": {c, other}, "pointer": {&c, &other}, "slice": {[]card{c}, []card{other}}} {
		ft := &fakeT{}
		assert.False(t, assert.Equal(ft, pair[0], pair[1]), name)
		require.Len(t, ft.msgs, 1, name)
		out := ft.msgs[0]
		assert.Contains(t, out, "Diff:", name)
		assert.Contains(t, out, "****6280", "%s: the diff shows the mask", name)
		sec.Check(t, "testify's diff of a "+name, out, testutil.Text)
	}
	// ObjectsAreEqual still compares values: a struct equals its copy, and
	// the same card parsed twice is the same card.
	again := c
	again.PAN = mustPAN(t, clearPAN)
	again.hidden = again.PAN
	assert.True(t, assert.ObjectsAreEqual(c, again), "DeepEqual compares values")
	again.Key = visa.NewSecret("another")
	assert.False(t, assert.ObjectsAreEqual(c, again))
}

func TestFmtAndJSONShowOnlyTheMask(t *testing.T) {
	t.Parallel()
	c, sec := reflectFixture(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		sec.Check(t, verb+" of the struct", fmt.Sprintf(verb, c), testutil.Text)
		sec.Check(t, verb+" of its pointer", fmt.Sprintf(verb, &c), testutil.Text)
	}
	assert.Contains(t, fmt.Sprintf("%#v", c), "visa.PAN(****6280)")
	b, err := json.Marshal(c)
	require.NoError(t, err)
	sec.Check(t, "encoding/json", string(b), testutil.JSON)
	assert.Contains(t, string(b), `"PAN":"****6280"`)
}

// TestGobRefusesSecrets: gob would otherwise carry the value out of the
// process (or, through MarshalText, silently turn it into its mask).
func TestGobRefusesSecrets(t *testing.T) {
	t.Parallel()
	c, sec := reflectFixture(t)
	for name, v := range map[string]any{"struct": c, "PAN": c.PAN, "CVV2": c.CVV2, "OTP": c.OTP, "Secret": c.Key} {
		var buf bytes.Buffer
		err := gob.NewEncoder(&buf).Encode(v)
		require.ErrorIs(t, err, visa.ErrSecretNotEncodable, name)
		sec.Check(t, "gob's error for a "+name, err.Error(), testutil.Text)
		sec.Check(t, "gob's output for a "+name, buf.String(), testutil.LongOnly)
	}
}

// TestReflectionWalkerFindsOnlyTheMask walks every field, exported or
// not, through pointers, interfaces, slices and maps, as a deep printer or
// a debugger does, and reads every string and byte it meets.
func TestReflectionWalkerFindsOnlyTheMask(t *testing.T) {
	t.Parallel()
	c, sec := reflectFixture(t)
	var texts []string
	walk(reflect.ValueOf(&c), map[uintptr]bool{}, func(s string) { texts = append(texts, s) })
	require.NotEmpty(t, texts)
	all := strings.Join(texts, "\n")
	sec.Check(t, "the reflection walk", all, testutil.Text)
	assert.Contains(t, texts, "****6280", "the walk meets the mask")
	for _, s := range texts {
		assert.NotContains(t, s, clearPAN)
	}
}

// walk calls found with every string and byte slice (as text) reachable
// from v.
func walk(v reflect.Value, seen map[uintptr]bool, found func(string)) {
	switch v.Kind() {
	case reflect.String:
		found(v.String())
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walk(v.Elem(), seen, found)
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), seen, found)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walk(v.Field(i), seen, found)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			found(string(b))
			return
		}
		for i := range v.Len() {
			walk(v.Index(i), seen, found)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walk(it.Key(), seen, found)
			walk(it.Value(), seen, found)
		}
	}
}

// TestEqualityOfSecrets documents how to compare: Equal (and go-cmp, which
// calls it) and reflect.DeepEqual compare values; == compares values too.
func TestEqualityOfSecrets(t *testing.T) {
	t.Parallel()
	a, b := mustPAN(t, clearPAN), mustPAN(t, "4929 3853 9217 6280")
	assert.True(t, a.Equal(b))
	assert.True(t, reflect.DeepEqual(a, b))
	assert.True(t, a == b, "== compares the values")
	assert.False(t, a.Equal(mustPAN(t, "4111111111111111")))
	x1, x2, y := visa.NewSecret("x"), visa.NewSecret("x"), visa.NewSecret("y")
	assert.True(t, x1 == x2)
	assert.False(t, x1 == y)
	assert.True(t, visa.Secret{} == visa.NewSecret(""))
}

// TestSecretsRoundTrip: every length, one AES block and many (a PEM
// private key, a 64 KiB fidoBlob), comes back from Reveal unchanged.
func TestSecretsRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[visa.Secret]string{}
	for _, n := range []int{1, 2, 15, 16, 17, 31, 32, 33, 255, 1700, 64 << 10} {
		v := strings.Repeat("k3y-", n/4+1)[:n]
		s := visa.NewSecret(v)
		require.Equal(t, v, s.Reveal(), "length %d", n)
		require.False(t, s.IsZero())
		require.Equal(t, visa.Redacted, s.String())
		seen[s] = v
	}
	assert.Len(t, seen, 11, "distinct values are distinct map keys")
	assert.Empty(t, visa.Secret{}.Reveal())
	assert.True(t, visa.NewSecret("").IsZero())
}
