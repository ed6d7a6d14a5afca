package jwe_test

import (
	"fmt"
	"os"
	"time"

	"github.com/vicgo/visa/jwe"
)

func ExampleEmailHash() {
	fmt.Println(jwe.EmailHash("sbx-hash-secret", "alice@example.com"))
	// Output: kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y
}

// Encrypt a VTS field (encPaymentInstrument) and decrypt it again, as the
// sandbox does.
func ExampleFieldCipher() {
	c, err := jwe.NewFieldCipher("SBXENCAPIKEY01", "sbx-enc-shared-secret")
	if err != nil {
		panic(err)
	}
	compact, err := c.EncryptJSON(map[string]string{"name": "Zoë Ünïcode €"})
	if err != nil {
		panic(err)
	}
	h, _ := jwe.ParseHeader(compact)
	fmt.Println(h.Alg, h.Enc, h.KeyID)

	plaintext, err := c.Decrypt(compact)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(plaintext))
	// Output:
	// A256GCMKW A256GCM SBXENCAPIKEY01
	// {"name":"Zoë Ünïcode €"}
}

// Wrap a VIC request body with MLE, and unwrap it on the other side.
func ExampleMLEEncrypter() {
	pemBytes, err := os.ReadFile("testdata/mle-private-pkcs8.pem")
	if err != nil {
		panic(err)
	}
	key, err := jwe.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		panic(err)
	}
	enc, err := jwe.NewMLEEncrypter(&key.PublicKey, "SBX-MLE-KEY-01", jwe.EncA128GCM)
	if err != nil {
		panic(err)
	}
	now := time.UnixMilli(1767225600123)
	compact, err := enc.Encrypt([]byte(`{"clientReferenceId":"CR-1"}`), now)
	if err != nil {
		panic(err)
	}
	body := jwe.MarshalEnvelope(compact)

	// Receiving side.
	got, ok := jwe.ParseEnvelope(body)
	if !ok {
		panic("not an MLE envelope")
	}
	dec, err := jwe.NewMLEDecrypter(key)
	if err != nil {
		panic(err)
	}
	plaintext, h, err := dec.Decrypt(got)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(plaintext))
	fmt.Println(h.KeyID, h.Enc, h.IssuedAt.UnixMilli(), h.CheckIssuedAt(now.Add(time.Minute), 300*time.Second))
	// Output:
	// {"clientReferenceId":"CR-1"}
	// SBX-MLE-KEY-01 A128GCM 1767225600123 <nil>
}

func ExampleParseEnvelope() {
	_, ok := jwe.ParseEnvelope([]byte(`{"responseStatus":{"code":"MLE_REQUIRED"}}`))
	fmt.Println(ok)
	compact, ok := jwe.ParseEnvelope([]byte(`{"encData":"a.b.c.d.e"}`))
	fmt.Println(compact, ok)
	// Output:
	// false
	// a.b.c.d.e true
}
