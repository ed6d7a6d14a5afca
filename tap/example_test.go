package tap_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// exampleKey is RFC 9421's §B.1.4 test key: never use it for anything real.
func exampleKey() ed25519.PrivateKey {
	b, _ := pem.Decode([]byte(rfcEd25519))
	k, _ := x509.ParsePKCS8PrivateKey(b.Bytes)
	return k.(ed25519.PrivateKey)
}

// An agent signs its requests with a Signer's RoundTripper; a merchant
// verifies them with a Verifier's middleware and learns who the agent is.
func Example() {
	key := exampleKey()
	signer, _ := tap.NewSigner(key, tap.WithKeyID("agent-42"))

	vk, _ := httpsig.NewVerifyingKey(httpsig.Ed25519, key.Public())
	verifier, _ := tap.NewVerifier(tap.StaticKeys{"agent-42": vk})
	merchant := httptest.NewServer(verifier.Middleware(tap.TagBrowser, tap.TagPayer)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := tap.IdentityFrom(r.Context())
			fmt.Fprintf(w, "hello %s (%s)", id.KeyID, id.Tag)
		})))
	defer merchant.Close()

	client := &http.Client{Transport: signer.Transport(nil)}
	defer client.CloseIdleConnections()
	// Browsing is the default; the checkout call says it is paying.
	for _, tag := range []tap.Tag{tap.TagBrowser, tap.TagPayer} {
		req, _ := http.NewRequestWithContext(tap.WithTag(context.Background(), tag), http.MethodGet, merchant.URL+"/cart", nil)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// An unsigned request is refused, naming the reason.
	resp, _ := http.Get(merchant.URL + "/cart")
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output:
	// 200 hello agent-42 (agent-browser-auth)
	// 200 hello agent-42 (agent-payer-auth)
	// 401 {"error":"signature_missing","message":"tap: no signature"}
}

// Headers signs for clients that are not an http.Client, such as a
// headless browser's request interception.
func ExampleSigner_Headers() {
	clock := func() time.Time { return time.Unix(1767225600, 0) }
	signer, _ := tap.NewSigner(exampleKey(), tap.WithKeyID("agent-42"), tap.WithSignerClock(clock), tap.WithRandom(zeroReader{}))
	h, _ := signer.Headers(http.MethodGet, "https://shop.example/product/7", tap.TagBrowser)
	fmt.Println(h.Get("Signature-Input"))
	// Output:
	// sig1=("@authority" "@path");created=1767225600;keyid="agent-42";alg="ed25519";expires=1767226080;nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";tag="agent-browser-auth"
}

// Web Bot Auth: the keyid is the key's JWK thumbprint (RFC 7638), and the
// Signature-Agent field names the directory that publishes the key.
func ExampleThumbprint() {
	tp, _ := tap.Thumbprint(exampleKey().Public())
	fmt.Println(tp)
	// Output: poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U
}

// A failure is a *VerifyError whose Reason tells the status to answer.
func ExampleVerifier_Verify() {
	verifier, _ := tap.NewVerifier(tap.StaticKeys{})
	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	r.Header.Set("Signature-Input", `sig1=("@authority" "@path"`)
	r.Header.Set("Signature", `sig1=:AAAA:`)
	_, err := verifier.Verify(r)
	fmt.Println(tap.Status(err), errors.Is(err, tap.ErrMalformed))
	// Output: 400 true
}
