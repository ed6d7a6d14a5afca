package visa

import (
	"fmt"
	"strings"
	"testing"
)

func FuzzParsePAN(f *testing.F) {
	for _, s := range []string{"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "", "abc", "4111111111111112", "378282246310005", "0000000000000", "4000000000000000006", "4 1 1 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePAN(s)
		if err != nil {
			if !p.IsZero() {
				t.Fatal("failed parse returned a PAN")
			}
			msg := err.Error()
			for i := 0; i+4 <= len(s); i++ {
				if allDigits(s[i:i+4]) && strings.Contains(msg, s[i:i+4]) {
					t.Fatalf("error %q carries digits of the input", msg)
				}
			}
			return
		}
		d := p.Reveal()
		if !allDigits(d) || len(d) < 12 || len(d) > 19 || !luhnBytes([]byte(d)) {
			t.Fatalf("accepted %q", d)
		}
		for _, out := range []string{p.String(), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%d", p, p, p, p, p, p, p), p.GoString()} {
			if strings.Contains(out, d[:len(d)-4]) || strings.Count(out, "****") == 0 {
				t.Fatalf("%q shows more than the last four digits", out)
			}
			digits := 0
			for _, r := range p.String() {
				if r >= '0' && r <= '9' {
					digits++
				}
			}
			if digits != 4 {
				t.Fatalf("String shows %d digits", digits)
			}
		}
		if q, err := ParsePAN(d); err != nil || !q.Equal(p) {
			t.Fatal("Reveal does not re-parse to the same PAN")
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range [][2]string{{"129.99", "USD"}, {"0", "840"}, {"710", "JPY"}, {"1.234", "KWD"}, {"-1", "USD"}, {"1e3", "USD"}, {"1.", "USD"}, {".5", "EUR"}, {"9999999999999.99", "USD"}, {"12.3456", "CLF"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, currency string) {
		a, err := ParseAmount(value, currency)
		if err != nil {
			if !a.IsZero() {
				t.Fatal("failed parse returned an amount")
			}
			return
		}
		if a.Minor() < 0 || a.Minor() > MaxAmountMinor {
			t.Fatalf("minor %d out of range", a.Minor())
		}
		for _, code := range []string{a.Currency().Alpha, a.Currency().Numeric} {
			b, err := ParseAmount(a.Value(), code)
			if err != nil || b != a {
				t.Fatalf("%q %q: Value %q re-parses to %v, %v", value, currency, a.Value(), b, err)
			}
		}
		var c Amount
		j, err := a.MarshalJSON()
		if err != nil || c.UnmarshalJSON(j) != nil || c != a {
			t.Fatalf("JSON round trip of %v failed: %s", a, j)
		}
	})
}

func FuzzBrowserDataNormalize(f *testing.F) {
	f.Add("true", "False", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", "text/html", "203.0.113.7")
	f.Add("", " TRUE ", "dmlzYWFnZW50", "", "")
	f.Add("1", "x", "ü", "a=b", "::1")
	f.Fuzz(func(t *testing.T, java, js, ua, header, ip string) {
		b := BrowserData{BrowserJavaEnabled: java, BrowserJavascriptEnabled: js, UserAgent: ua, BrowserHeader: header, IPAddress: ip, BrowserLanguage: ua}
		once := b.Normalize()
		if twice := once.Normalize(); twice != once {
			t.Fatalf("not idempotent: %+v then %+v", once, twice)
		}
		if once.IPAddress != ip || once.BrowserLanguage != ua {
			t.Fatal("raw fields changed")
		}
		if ua != "" && !isBase64URL(once.UserAgent) {
			t.Fatalf("userAgent %q is not base64url", once.UserAgent)
		}
	})
}
