package httpsig

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzFastParse: whatever the fast path accepts, the httpsfv path parses
// to the same signatures: labels, components (identifiers included),
// parameters, values and the @signature-params text.
func FuzzFastParse(f *testing.F) {
	f.Add(`sig1=("@authority" "@path");created=1;keyid="k";alg="ed25519";expires=2;nonce="n";tag="agent-payer-auth"`, `sig1=:AAAA:`)
	f.Add(`a=("@query-param";name="Pet" "signature-agent";key="a" "x";sf "y";bs "@method";req);created=1, b=();keyid="\"q\\"`, `a=:AA==:, b=:AAA=:`)
	f.Add(`a=("x");created=01`, `a=:AA==:`)
	f.Add(`a=("x");created=1;created=2`, `a=:AA==:`)
	f.Add(`a=(), a=()`, `a=:AA==:`)
	f.Add(`a=();x=1.5`, `a=:AA==:;p=1`)
	f.Add(`a=("@path");created=999999999999999;expires=1000000000000000;nonce="x"`, `a=:`+strings.Repeat("QUJD", 86)+`:`)
	f.Add(`a=("@authority" "@path" "@method" "@query" "@scheme");tag="t"`, `a=:`+strings.Repeat("QUJD", 22)+`:`)
	f.Add(`a=("@status";req);created=0`, `a=:`+strings.Repeat("QUJD", 171)+`Qg==:, b=:AA==:`)
	f.Fuzz(func(t *testing.T, input, signature string) {
		h := http.Header{"Signature-Input": {input}, "Signature": {signature}}
		fast, ok := fastInputs(input, DefaultMaxComponents, nil)
		if !ok || len(fast) > DefaultMaxSignatures || !fastValues(signature, fast) {
			return
		}
		slow, err := Parser{slow: true}.Parse(h)
		if err != nil {
			t.Fatalf("fast path accepted what httpsfv refuses: %v", err)
		}
		if len(slow) != len(fast) {
			t.Fatalf("%d signatures, httpsfv %d", len(fast), len(slow))
		}
		for i := range fast {
			a, b := fast[i], slow[i]
			if a.Label != b.Label || a.params != b.params || a.Params != b.Params || string(a.Value) != string(b.Value) || len(a.Components) != len(b.Components) {
				t.Fatalf("fast %+v\nslow %+v", a, b)
			}
			for j := range a.Components {
				if a.Components[j] != b.Components[j] {
					t.Fatalf("component %d: fast %+v, slow %+v", j, a.Components[j], b.Components[j])
				}
			}
		}
	})
}

// TestFastPathTakesCanonical: what this package and RFC 9421's examples
// send goes the fast way.
func TestFastPathTakesCanonical(t *testing.T) {
	for _, in := range []string{
		`sig1=("@authority" "@path");created=1767225600;keyid="k";alg="ed25519";expires=1767226080;nonce="bm9uY2U";tag="agent-payer-auth"`,
		`sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
		`sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="x";alg="ed25519";expires=4889289600;nonce="n9p4+==";tag="web-bot-auth"`,
	} {
		sigs, ok := fastInputs(in, DefaultMaxComponents, nil)
		if !ok || len(sigs) != 1 || sigs[0].Label+"="+sigs[0].params != in {
			t.Errorf("fast path refused %s", in)
		}
	}
}

// refStr is fastScanner.str byte by byte, the reading the word-at-a-time
// scan must give.
func refStr(s string) (string, int, bool) {
	if s == "" || s[0] != '"' {
		return "", 0, false
	}
	var b []byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return string(b), i + 1, true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] != '"' && s[i+1] != '\\' {
				return "", 0, false
			}
			i++
			b = append(b, s[i])
		case c < 0x20 || c > 0x7e:
			return "", 0, false
		default:
			b = append(b, c)
		}
	}
	return "", 0, false
}

// TestFastStr compares the string scan with refStr on strings of every
// length up to 40 made of a few ordinary and every special byte, each
// special byte tried at every position.
func TestFastStr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', 'Z', '0', ' ', '~', '"', '\\', 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x00, 0x21, 0x5b, 0x5d, 0x01, 0xfe}
	check := func(s string) {
		t.Helper()
		f := fastScanner{s: s}
		got, ok := f.str()
		want, end, wantOK := refStr(s)
		if ok != wantOK || got != want || ok && f.off != end {
			t.Fatalf("%q: got %q %v at %d, want %q %v at %d", s, got, ok, f.off, want, wantOK, end)
		}
	}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(`"` + strings.Repeat("a", n) + `";x`)
				b[1+pos] = byte(c)
				check(string(b))
			}
		}
		for range 2000 {
			b := make([]byte, 1+n)
			b[0] = '"'
			for i := 1; i < len(b); i++ {
				b[i] = alphabet[rng.IntN(len(alphabet))]
				if rng.IntN(3) > 0 {
					b[i] = 'a' + byte(rng.IntN(26))
				}
			}
			check(string(b))
			check(string(b) + `"`)
		}
	}
}

// TestIsDerived: the switch recognises the derived map's names and no
// other.
func TestIsDerived(t *testing.T) {
	for name := range derived {
		if !isDerived(name) || isDerived(name+"x") || isDerived(name[:len(name)-1]) || isDerived(strings.ToUpper(name)) {
			t.Errorf("isDerived is wrong around %q", name)
		}
	}
	for _, name := range []string{"", "@", "@pathx", "@Path", "@statux", "@authorit", "host"} {
		if isDerived(name) {
			t.Errorf("isDerived(%q)", name)
		}
	}
}

// TestParseFunc: ParseFunc gives fn what Parse returns, returns Parse's
// error without calling fn, returns fn's error, and clears the pooled
// block once fn has returned.
func TestParseFunc(t *testing.T) {
	k, err := NewHMACKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", nil)
	if err := SignRequest(r, "sig1", MustComponents(`"@authority"`, `"@path"`), Params{Created: time.Unix(1, 0),
		Expires: time.Unix(2, 0), KeyID: "k", Alg: HMACSHA256, Nonce: "n", Tag: "t"}, k); err != nil {
		t.Fatal(err)
	}
	want, err := Parse(r.Header)
	if err != nil {
		t.Fatal(err)
	}
	var kept *Signature
	errFn := errors.New("fn")
	err = Parser{}.ParseFunc(r.Header, func(sigs []*Signature) error {
		if len(sigs) != 1 || sigs[0].Label != want[0].Label || sigs[0].params != want[0].params ||
			sigs[0].Params != want[0].Params || string(sigs[0].Value) != string(want[0].Value) ||
			len(sigs[0].Components) != 2 || sigs[0].Components[1] != want[0].Components[1] {
			t.Errorf("ParseFunc gave %+v, Parse %+v", sigs[0], want[0])
		}
		if err := sigs[0].Verify(Message{Request: r}, k.VerifyingKey()); err != nil {
			t.Error(err)
		}
		kept = sigs[0] // only to look at the block afterwards
		return errFn
	})
	if err != errFn {
		t.Errorf("ParseFunc returned %v, want fn's error", err)
	}
	if kept.Label != "" || kept.Components != nil || kept.Value != nil || kept.params != "" || kept.Params != (Params{}) {
		t.Errorf("the pooled block was not cleared: %+v", kept)
	}
	called := false
	err = Parser{}.ParseFunc(http.Header{"Signature": {"sig1=:AAAA:"}}, func([]*Signature) error { called = true; return nil })
	if !errors.Is(err, ErrMalformed) || called {
		t.Errorf("ParseFunc of a malformed message: %v, fn called %v", err, called)
	}
}
