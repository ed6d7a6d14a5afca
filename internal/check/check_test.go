package check

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHasCardNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"card 4111 1111 1111 1111 exp 12/29", true},
		{"4111-1111-1111-1111", true},
		{"4111.1111.1111.1111", true},
		{"4111/1111/1111/1111", true},
		{"4111\u00a01111\u00a01111\u00a01111", true}, // no-break spaces
		{"４１１１１１１１１１１１１１１１", true},                   // full-width digits
		{"４１１１ １１１１ １１１１ １１１１", true},                // full-width with spaces
		{"4111\u20091111\u20091111\u20091111", true}, // thin spaces
		{"user-4111111111111111@example.com", true},  // inside an id
		{"4111 1111 1111 1111 2026", true},           // followed by a year
		{"order 4111111111111112", false},            // fails Luhn
		{"order ORD-20261125-000042", false},         // dates and counters
		{"1767225600123", false},                     // a time stamp in ms that fails Luhn
		{"12345678901234567890123", false},           // one long run, no whole span
		{"a4111111111111111b", false},                // glued to letters: a word, not a pasted number
		{"a-4111111111111111-b", true},               // set apart: a pasted number
		{"4111-1111-1111-1111abc", false},            // its last group is glued: the rest is 12 digits
		{"4111-1111-1111-1111-1111abc", true},        // the first 16 digits are set apart
		{"5e3b1f0c4111111111111111a9", false},        // inside a hex hash
		{"4111a1111b1111c1111", false},               // letters split it into short runs
		{"Noise-cancelling headphones, 2 pairs", false},
		{"", false},
	} {
		assert.Equal(t, tc.want, HasCardNumber(tc.in), "%q", tc.in)
	}
}

func TestMaskCardNumbers(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "charge [number removed] refused", MaskCardNumbers("charge 4111 1111 1111 1111 refused"))
	assert.Equal(t, "nothing 12345 here", MaskCardNumbers("nothing 12345 here"))
	assert.Equal(t, "x [number removed] y", MaskCardNumbers("x ４１１１１１１１１１１１１１１１ y"))
	assert.Equal(t, "x[number removed]y", MaskCardNumbers("x4111111111111111y"), "masking also takes numbers glued to letters")
}

func TestEmail(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"alice@example.com", "a.b+tag@mail.example.co.uk", "o'brien@example.ie", "x@a-b.io"} {
		assert.Empty(t, Email(ok), ok)
	}
	for _, bad := range []string{"", "a..b@example.com", ".a@example.com", "a.@example.com", "a@example", "a@-x.com",
		"a@x-.com", "a@example.c0m", "a b@example.com", "@example.com", "a@", "a@@example.com", "a@example..com",
		strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("x", 250) + ".com", "4111111111111111@example.com",
		"a<b>@example.com", "a@exa_mple.com"} {
		assert.NotEmpty(t, Email(bad), bad)
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://shop.example.com/checkout", "http://127.0.0.1:8080/pay", "http://localhost/x", "http://[::1]:9/"} {
		assert.Empty(t, URL(ok, MaxURL), ok)
	}
	for _, bad := range []string{"", "http://shop.example.com/pay", "ftp://example.com", "https://", "https://u:p@example.com/",
		"/relative", "https://example.com/" + strings.Repeat("a", MaxURL), "https://example.com/c/4111111111111111"} {
		assert.NotEmpty(t, URL(bad, MaxURL), bad)
	}
}

func TestSmallRules(t *testing.T) {
	t.Parallel()
	assert.Empty(t, ID("TOK-0001", MaxID))
	assert.NotEmpty(t, ID("", MaxID))
	assert.NotEmpty(t, ID("a b", MaxID))
	assert.NotEmpty(t, ID("4111111111111111", MaxID))
	assert.NotEmpty(t, ID(strings.Repeat("a", 129), MaxID))
	assert.Empty(t, ClientReferenceID("CR-abc-123"))
	assert.Empty(t, ClientReferenceID("CR-"+strings.Repeat("a", 33)))
	assert.NotEmpty(t, ClientReferenceID("CR-"+strings.Repeat("a", 34)))
	assert.NotEmpty(t, ClientReferenceID("CR abc"))
	assert.NotEmpty(t, ClientReferenceID("CR-abc_123"))
	assert.NotEmpty(t, ClientReferenceID("4111-1111-1111-1111"), "a card number in the form of a reference")
	assert.Empty(t, ClientDeviceID("abcdefghijklmnopqrstuvwx"))
	assert.NotEmpty(t, ClientDeviceID("short"))
	assert.Empty(t, Country("US"))
	assert.NotEmpty(t, Country("us"))
	assert.NotEmpty(t, Country("USA"))
	assert.Empty(t, Language("en-US"))
	assert.NotEmpty(t, Language("e"))
	assert.Empty(t, MCC("5732"))
	assert.NotEmpty(t, MCC("57a2"))
	assert.Empty(t, Text("Best Buy", 128, true))
	assert.NotEmpty(t, Text("", 128, true))
	assert.Empty(t, Text("", 128, false))
	assert.NotEmpty(t, Text("a\x00b", 128, false))
	assert.NotEmpty(t, Text("\xff", 128, false))
	assert.NotEmpty(t, Text("pay with 4111 1111 1111 1111", 128, false))
	assert.True(t, Luhn("4111111111111111"))
	assert.False(t, Luhn("4111111111111112"))
	assert.False(t, Luhn("41a1"))
}

// TestURLNoAllocs: a plain https URL is checked without allocating.
func TestURLNoAllocs(t *testing.T) {
	for _, u := range []string{"https://www.bestbuy.com", "https://shop.example.com:8443/checkout?cart=12&x=y#top", "HTTPS://EXAMPLE.COM/"} {
		require.True(t, plainHTTPS(u), u)
		assert.Empty(t, URL(u, MaxURL), u)
		if n := testing.AllocsPerRun(100, func() { _ = URL(u, MaxURL) }); n != 0 {
			t.Errorf("URL(%q) allocates %v times", u, n)
		}
	}
	for _, id := range []string{"T-16-3", "INS-0001-4895", "order 2026-12-02 #1234"} {
		if n := testing.AllocsPerRun(100, func() { _ = ID(id, MaxID); _ = Text(id, 256, true) }); n != 0 {
			t.Errorf("ID and Text of %q allocate %v times", id, n)
		}
	}
	// The fast path leaves these to url.Parse (same verdicts as before).
	for u, want := range map[string]string{
		"https://u@example.com/":                  "must not contain user information",
		"https://:443/":                           "must be an absolute URL with a host",
		"https://example.com:44x/":                "must be an absolute URL with a host",
		"https://exa mple.com/":                   "must be an absolute URL with a host",
		"https://example.com/%zz":                 "must be an absolute URL with a host",
		"https://example.com/a%20b":               "",
		"https://[::1]:9/":                        "",
		"https://bücher.example/":                 "",
		"https://example.com/\x7f":                "",
		"https://example.com/a b":                 "",
		"https://example.com/\x01":                "",
		"https://example.com/ok/4111111111111111": reasonCardNumber,
	} {
		if want != "" && want != reasonCardNumber {
			assert.False(t, plainHTTPS(u), u)
		}
		assert.Equal(t, parsedURLOrCard(u), URL(u, MaxURL), u)
	}
}

// parsedURLOrCard is URL's verdict without the fast path.
func parsedURLOrCard(s string) string {
	if r := parsedURL(s); r != "" {
		return r
	}
	if HasCardNumber(s) {
		return reasonCardNumber
	}
	return ""
}

// FuzzPlainHTTPS: whatever plainHTTPS accepts, url.Parse accepts with a
// host, no user information and no opaque part, so URL's verdict is the
// one it had with url.Parse alone.
func FuzzPlainHTTPS(f *testing.F) {
	for _, s := range []string{"https://www.bestbuy.com", "https://a.b:1/c?d#e", "HTTPS://X/", "https://a@b/", "https://a:b:c/",
		"https://[::1]/", "https://a/%", "https://a/\x00", "https://a.-b/", "https://1.2.3.4:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainHTTPS(s) {
			if r := parsedURL(s); r != "" {
				t.Fatalf("plainHTTPS accepts %q, url.Parse refuses it: %s", s, r)
			}
		}
		if len(s) <= MaxURL && s != "" && URL(s, MaxURL) != parsedURLOrCard(s) {
			t.Fatalf("URL(%q) = %q, without the fast path %q", s, URL(s, MaxURL), parsedURLOrCard(s))
		}
	})
}

func FuzzHasCardNumber(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "４１１１", "x", "1-2-3", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := HasCardNumber(s)
		masked := MaskCardNumbers(s)
		if HasCardNumber(masked) {
			t.Fatalf("masking left a card number in %q", masked)
		}
		if got && !strings.Contains(masked, "[number removed]") {
			t.Fatalf("found a card number in %q but masked none", s)
		}
	})
}

// TestNewUUIDRedraws: a UUID whose digit groups read as a card number is
// drawn again; the one returned passes the screen and is a UUID.
func TestNewUUIDRedraws(t *testing.T) {
	t.Parallel()
	const bad = "63147090-9936-4477-90bb-4f06accd4196" // 6314709099364477 passes the Luhn check
	require.True(t, HasCardNumber(bad), "the fixture reads as a card number")
	draws := []string{bad, bad, "0b9b5a3e-8f0c-4d2a-9f1e-3c7d5e6f7a8b"}
	n := 0
	got := newUUID(func() string { n++; return draws[n-1] })
	assert.Equal(t, draws[2], got)
	assert.Equal(t, 3, n)

	for range 1000 {
		id := NewUUID()
		require.False(t, HasCardNumber(id), id)
		require.Len(t, id, 36)
		require.Equal(t, byte('4'), id[14], "version 4")
	}
}
