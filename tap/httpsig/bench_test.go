package httpsig

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchTAPRequest is a TAP request signed with HMAC (the cheapest check,
// so what the parser and the base cost shows most).
func benchTAPRequest(b *testing.B) (*http.Request, *VerifyingKey) {
	k, err := NewHMACKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", nil)
	now := time.Unix(1767225600, 0)
	err = SignRequest(r, "sig1", MustComponents(`"@authority"`, `"@path"`), Params{Created: now,
		Expires: now.Add(8 * time.Minute), KeyID: "agent", Alg: HMACSHA256,
		Nonce: "nonce-00000000000000000000000000000000000000000042", Tag: "agent-payer-auth"}, k)
	if err != nil {
		b.Fatal(err)
	}
	return r, k.VerifyingKey()
}

// BenchmarkParseTAP is Parse of a TAP request's two signature fields.
func BenchmarkParseTAP(b *testing.B) {
	r, _ := benchTAPRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(r.Header); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaseTAP is the signature base of a TAP request, built into a
// reused buffer as Verify builds it.
func BenchmarkBaseTAP(b *testing.B) {
	r, _ := benchTAPRequest(b)
	sigs, err := Parse(r.Header)
	if err != nil {
		b.Fatal(err)
	}
	s, buf := sigs[0], make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = appendBase(buf[:0], Message{Request: r}, s.Components, s.params, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTAP is Signature.Verify of a parsed TAP request: the base
// and the HMAC check.
func BenchmarkVerifyTAP(b *testing.B) {
	r, k := benchTAPRequest(b)
	sigs, err := Parse(r.Header)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := sigs[0].Verify(Message{Request: r}, k); err != nil {
			b.Fatal(err)
		}
	}
}
