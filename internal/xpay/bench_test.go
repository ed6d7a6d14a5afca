package xpay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// vicBody is a VIC request body of about 600 bytes: the MLE envelope of a
// small instruction.
var vicBody = []byte(`{"encData":"` + strings.Repeat("eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMTI4R0NNIn0", 11) + `"}`)

func BenchmarkSign(b *testing.B) {
	rp := ResourcePath("/vacp/v1/instructions/INS-0001/credentials")
	b.SetBytes(int64(len(vicBody)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Sign("sbx-vic-shared-secret", 1767225600, rp, "apikey=SBXVICAPIKEY01", vicBody)
	}
}

func BenchmarkVerify(b *testing.B) {
	rp := ResourcePath("/vacp/v1/instructions/INS-0001/credentials")
	tok := Sign("sbx-vic-shared-secret", 1767225600, rp, "apikey=SBXVICAPIKEY01", vicBody)
	now := time.Unix(1767225600, 0)
	b.SetBytes(int64(len(vicBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(tok, "sbx-vic-shared-secret", rp, "apikey=SBXVICAPIKEY01", vicBody, now, DefaultSkew); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCryptoHMAC is the same work done with crypto/hmac, kept as
// the baseline that justifies mac's hand-written HMAC.
func BenchmarkSignCryptoHMAC(b *testing.B) {
	rp := ResourcePath("/vacp/v1/instructions/INS-0001/credentials")
	b.SetBytes(int64(len(vicBody)))
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, []byte("sbx-vic-shared-secret"))
		m.Write([]byte("1767225600"))
		m.Write([]byte(rp))
		m.Write([]byte("apikey=SBXVICAPIKEY01"))
		m.Write(vicBody)
		_ = "xv2:1767225600:" + hex.EncodeToString(m.Sum(nil))
	}
}
