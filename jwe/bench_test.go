package jwe

import (
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// body1K is a JSON body of about 1 KiB.
var body1K = []byte(`{"clientReferenceId":"CR-8f3kQ","note":"` + strings.Repeat("Zoë Ünïcode € ", 64) + `"}`)

func BenchmarkMLEEncrypt(b *testing.B) {
	e := mleEncrypter(b, EncA128GCM)
	now := time.UnixMilli(testIATMillis)
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encrypt(body1K, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMLEDecrypt(b *testing.B) {
	e := mleEncrypter(b, EncA128GCM)
	d := mleDecrypter(b)
	s, err := e.Encrypt(body1K, time.UnixMilli(testIATMillis))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Decrypt(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldEncrypt(b *testing.B) {
	c := fieldCipher(b)
	pt := []byte(`{"accountNumber":"4111111111111111","name":"Zoë Ünïcode €","expirationDate":{"month":"12","year":"2030"},"cvv2":"123"}`)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encrypt(pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldDecrypt(b *testing.B) {
	c := fieldCipher(b)
	s := vec(b, "field-card").Compact
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewEncrypter measures what building a go-jose Encrypter per call
// costs. Encrypt does that because iat changes on every call and go-jose
// fixes extra headers at construction.
func BenchmarkNewEncrypter(b *testing.B) {
	pub := &mleKey(b).PublicKey
	b.ReportAllocs()
	for b.Loop() {
		opts := (&jose.EncrypterOptions{}).WithHeader("iat", int64(testIATMillis))
		if _, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: pub, KeyID: testMLEKID}, opts); err != nil {
			b.Fatal(err)
		}
	}
}
