package httpsig_test

import (
	"bufio"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vicgo/visa/tap/httpsig"
)

// RFC 9421 §B.2.5: an hmac-sha256 signature of the RFC's test request,
// with the RFC's test secret, reproduced exactly.
func ExampleSignRequest() {
	secret, _ := base64.StdEncoding.DecodeString(testSharedSecret)
	key, _ := httpsig.NewHMACKey(secret)
	r, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(testRequest)))

	err := httpsig.SignRequest(r, "sig-b25", httpsig.MustComponents(`"date"`, `"@authority"`, `"content-type"`),
		httpsig.Params{Created: time.Unix(1618884473, 0), KeyID: "test-shared-secret"}, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Signature-Input:", r.Header.Get("Signature-Input"))
	fmt.Println("Signature:", r.Header.Get("Signature"))
	fmt.Println(key) // keys never print their material
	// Output:
	// Signature-Input: sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"
	// Signature: sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:
	// httpsig.SigningKey{hmac-sha256}
}

// Parse reads a message's signatures; Verify checks one with a key.
func ExampleSignature_Verify() {
	b, _ := pem.Decode([]byte(testKeyEd25519))
	priv, _ := x509.ParsePKCS8PrivateKey(b.Bytes)
	key, _ := httpsig.NewVerifyingKey(httpsig.Ed25519, priv.(crypto.Signer).Public())

	r, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(testRequest)))
	r.Header.Set("Signature-Input", appendixB[5].input)
	r.Header.Set("Signature", appendixB[5].signature)
	sigs, _ := httpsig.Parse(r.Header)
	s := sigs[0]
	fmt.Println(s.Label, s.Params.KeyID, s.Params.Created.Unix())
	fmt.Println(s.Verify(httpsig.Message{Request: r}, key))

	r.Header.Set("Content-Type", "text/plain") // a covered field changes
	fmt.Println(s.Verify(httpsig.Message{Request: r}, key))
	// Output:
	// sig-b26 test-key-ed25519 1618884473
	// <nil>
	// signature sig-b26: httpsig: invalid signature: it does not verify with the ed25519 key
}
