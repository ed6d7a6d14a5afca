package httpsig_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vicgo/visa/tap/httpsig"
)

// FuzzParse: any Signature-Input and Signature fields parse or fail with
// an error, never panic; what parses serializes back to itself, and its
// signature base can be asked for.
func FuzzParse(f *testing.F) {
	for _, tc := range appendixB {
		f.Add(tc.input, tc.signature, "")
	}
	f.Add(section43Input, section43Sig1+", "+section43ProxySig, "")
	f.Add(`sig2=("@authority" "@path"); created=1735689600; expires=1735690080; keyId="k"; alg="rsa-pss-sha256"; nonce="n"; tag="agent-browser-auth"`, `sig2=:AAAA:`, "")
	f.Add(`sig1=("@authority" "signature-agent";key="sig1");created=1;keyid="k"`, `sig1=:AAAA:`, `sig1="https://a.example"`)
	f.Add(`a=("@query-param";name="x" "x";sf "y";bs "@status";req)`, `a=:AA==:`, "")
	f.Fuzz(func(t *testing.T, input, signature, agent string) {
		r := httptest.NewRequest(http.MethodGet, "https://shop.example/p?x=1&y=2", nil)
		r.Header.Set("Y", "v")
		r.Header.Set("Signature-Input", input)
		r.Header.Set("Signature", signature)
		if agent != "" {
			r.Header.Set("Signature-Agent", agent)
		}
		for _, lenient := range []bool{false, true} {
			sigs, err := httpsig.Parser{Lenient: lenient}.Parse(r.Header)
			if err != nil {
				continue
			}
			for _, s := range sigs {
				_, _ = s.Base(httpsig.Message{Request: r})
				if lenient {
					continue
				}
				h := http.Header{"Signature-Input": {s.SignatureInput()}, "Signature": {s.SignatureField()}}
				again, err := httpsig.Parse(h)
				if err != nil || len(again) != 1 || again[0].SignatureParams() != s.SignatureParams() {
					t.Fatalf("%q does not parse back: %v", s.SignatureInput(), err)
				}
			}
		}
	})
}
