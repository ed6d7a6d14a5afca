package tap_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// FuzzVerify: whatever the signature fields and the request target, the
// verifier answers an error with a Reason (400, 401 or 503) or an
// identity, and never panics.
func FuzzVerify(f *testing.F) {
	key := exampleKey()
	now := time.Unix(1767225600, 0)
	clock := func() time.Time { return now }
	signer, err := tap.NewSigner(key, tap.WithKeyID("k"), tap.WithSignerClock(clock), tap.WithSignatureAgent("https://agent.example"))
	if err != nil {
		f.Fatal(err)
	}
	for _, tag := range []tap.Tag{tap.TagBrowser, tap.TagPayer, tap.TagWebBotAuth} {
		h, err := signer.Headers(http.MethodGet, "https://shop.example/p/1?x=y", tag)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("/p/1?x=y", h.Get("Signature-Input"), h.Get("Signature"), h.Get("Signature-Agent"))
	}
	for _, v := range wbaVectors {
		f.Add("/foo?param=Value&Pet=dog", v.input, v.signature, v.agent)
	}
	f.Add("/product/1", `sig2=("@authority" "@path"); created=1767225600; expires=1767226080; keyId="k"; alg="ed25519"; nonce="n"; tag="agent-browser-auth"`, `sig2=:AAAA:`, "")
	vk, err := httpsig.NewVerifyingKey(httpsig.Ed25519, key.Public())
	if err != nil {
		f.Fatal(err)
	}
	keys := tap.StaticKeys{"k": vk, wbaThumbprint: vk, signer.Thumbprint(): vk}
	strict, _ := tap.NewVerifier(keys, tap.WithClock(clock), tap.WithTags(tap.TagBrowser, tap.TagPayer, tap.TagWebBotAuth))
	lenient, _ := tap.NewVerifier(keys, tap.WithClock(clock), tap.WithLenient(), tap.WithTags(tap.TagBrowser, tap.TagPayer, tap.TagWebBotAuth))
	f.Fuzz(func(t *testing.T, target, input, signature, agent string) {
		r, err := http.NewRequest(http.MethodGet, "https://shop.example"+target, nil)
		if err != nil || r.URL.Host != "shop.example" {
			return
		}
		r.Header.Set("Signature-Input", input)
		r.Header.Set("Signature", signature)
		r.Header.Set("Signature-Agent", agent)
		for _, v := range []*tap.Verifier{strict, lenient} {
			id, err := v.Verify(r)
			if err == nil {
				if id == nil || id.KeyID == "" {
					t.Fatal("verified without an identity")
				}
				continue
			}
			if s := tap.Status(err); s != 400 && s != 401 && s != 503 {
				t.Fatalf("error without a reason: %v", err)
			}
		}
	})
}
