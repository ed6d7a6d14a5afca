package tap_test

import (
	"crypto"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// cpuPerOp reports the process CPU time per operation of a b.Loop that
// started at start.
func cpuPerOp(b *testing.B, start time.Duration) {
	if end, ok := processCPU(); ok && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N)/1e9, "cpu-sec/op")
	}
}

// benchKeys returns a signing and a verifying key per algorithm.
func benchKeys(b *testing.B) map[httpsig.Algorithm][2]any {
	ed, ec, rs := testKeys(b)
	out := map[httpsig.Algorithm][2]any{}
	for alg, k := range map[httpsig.Algorithm]crypto.Signer{
		httpsig.Ed25519: ed, httpsig.ECDSAP256SHA256: ec, httpsig.RSAPSSSHA256: rs,
		httpsig.RSAPSSSHA512: rs, httpsig.RSAV15SHA256: rs,
	} {
		sk, err := httpsig.NewSigningKey(alg, k)
		if err != nil {
			b.Fatal(err)
		}
		out[alg] = [2]any{sk, sk.VerifyingKey()}
	}
	hk, err := httpsig.NewHMACKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	out[httpsig.HMACSHA256] = [2]any{hk, hk.VerifyingKey()}
	return out
}

// poolSize is how many pre-signed requests (distinct nonces) a verify
// benchmark cycles through.
const poolSize = 256

// cyclingClock is the nonce store's clock in the verify benchmarks: it
// moves 9 minutes on at each turn of the request pool, so the nonces of the
// previous turn have expired and the store holds a steady few hundred live
// nonces, as a merchant's would, instead of growing with b.N.
type cyclingClock struct {
	start time.Time
	n     atomic.Int64
}

func (c *cyclingClock) Now() time.Time {
	turn := c.n.Add(1) / poolSize
	return c.start.Add(time.Duration(turn) * 9 * time.Minute)
}

var benchAlgs = []httpsig.Algorithm{httpsig.Ed25519, httpsig.ECDSAP256SHA256, httpsig.RSAPSSSHA256,
	httpsig.RSAPSSSHA512, httpsig.RSAV15SHA256, httpsig.HMACSHA256}

func tapRequest(b *testing.B, sk *httpsig.SigningKey, now time.Time, nonce string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", nil)
	err := httpsig.SignRequest(r, "sig1", httpsig.MustComponents(`"@authority"`, `"@path"`),
		httpsig.Params{Created: now, Expires: now.Add(8 * time.Minute), KeyID: "agent", Alg: sk.Algorithm(),
			Nonce: nonce, Tag: string(tap.TagPayer)}, sk)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkVerify is the merchant's whole check of a TAP request: parse,
// profile, window, key lookup, signature, nonce. Compare with
// BenchmarkBareVerify (docs/benchmarks.md).
func BenchmarkVerify(b *testing.B) {
	keys := benchKeys(b)
	now := time.Unix(1767225600, 0)
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			sk, vk := keys[alg][0].(*httpsig.SigningKey), keys[alg][1].(*httpsig.VerifyingKey)
			sc := &cyclingClock{start: now}
			v, err := tap.NewVerifier(tap.StaticKeys{"agent": vk}, tap.WithClock(func() time.Time { return now }),
				tap.WithNonceStore(tap.NewMemoryNonceStore(sc.Now, 0)))
			if err != nil {
				b.Fatal(err)
			}
			pool := make([]*http.Request, poolSize)
			for i := range pool {
				pool[i] = tapRequest(b, sk, now, fmt.Sprintf("nonce-%044d", i))
			}
			b.ReportAllocs()
			start, _ := processCPU()
			i := 0
			for b.Loop() {
				if _, err := v.Verify(pool[i%poolSize], tap.TagPayer); err != nil {
					b.Fatal(err)
				}
				i++
			}
			cpuPerOp(b, start)
		})
	}
}

// BenchmarkBareVerify is the bare signature check of the same request:
// the algorithm over the signature base, nothing else.
func BenchmarkBareVerify(b *testing.B) {
	keys := benchKeys(b)
	now := time.Unix(1767225600, 0)
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			sk, vk := keys[alg][0].(*httpsig.SigningKey), keys[alg][1].(*httpsig.VerifyingKey)
			r := tapRequest(b, sk, now, "bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9u")
			sigs, err := httpsig.Parse(r.Header)
			if err != nil {
				b.Fatal(err)
			}
			base, err := sigs[0].Base(httpsig.Message{Request: r})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start, _ := processCPU()
			for b.Loop() {
				if err := vk.Verify(base, sigs[0].Value); err != nil {
					b.Fatal(err)
				}
			}
			cpuPerOp(b, start)
		})
	}
}

// BenchmarkSign is the agent's signing of one request with the TAP
// profile (HMAC through httpsig, which tap.Signer does not offer).
func BenchmarkSign(b *testing.B) {
	keys := benchKeys(b)
	ed, ec, rs := testKeys(b)
	signers := map[httpsig.Algorithm]crypto.Signer{httpsig.Ed25519: ed, httpsig.ECDSAP256SHA256: ec,
		httpsig.RSAPSSSHA256: rs, httpsig.RSAPSSSHA512: rs, httpsig.RSAV15SHA256: rs}
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			b.ReportAllocs()
			if alg == httpsig.HMACSHA256 {
				sk := keys[alg][0].(*httpsig.SigningKey)
				now := time.Unix(1767225600, 0)
				start, _ := processCPU()
				for b.Loop() {
					_ = tapRequest(b, sk, now, "n")
				}
				cpuPerOp(b, start)
				return
			}
			s, err := tap.NewSigner(signers[alg], tap.WithAlgorithm(alg), tap.WithKeyID("agent"))
			if err != nil {
				b.Fatal(err)
			}
			start, _ := processCPU()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", nil)
				if err := s.Sign(r, tap.TagPayer); err != nil {
					b.Fatal(err)
				}
			}
			cpuPerOp(b, start)
		})
	}
}

// BenchmarkVerifyRatio measures BenchmarkVerify's whole check and
// BenchmarkBareVerify's bare signature check of the same algorithm in one
// run, alternating blocks of 32 operations (A, B, A, B...) so that the
// machine's drift hits both sides, and reports process CPU time per
// operation of each and their ratio (the bound is 1.2).
func BenchmarkVerifyRatio(b *testing.B) {
	keys := benchKeys(b)
	now := time.Unix(1767225600, 0)
	const block = 32
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			sk, vk := keys[alg][0].(*httpsig.SigningKey), keys[alg][1].(*httpsig.VerifyingKey)
			sc := &cyclingClock{start: now}
			v, err := tap.NewVerifier(tap.StaticKeys{"agent": vk}, tap.WithClock(func() time.Time { return now }),
				tap.WithNonceStore(tap.NewMemoryNonceStore(sc.Now, 0)))
			if err != nil {
				b.Fatal(err)
			}
			pool := make([]*http.Request, poolSize)
			for i := range pool {
				pool[i] = tapRequest(b, sk, now, fmt.Sprintf("nonce-%044d", i))
			}
			r := tapRequest(b, sk, now, "bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9u")
			sigs, err := httpsig.Parse(r.Header)
			if err != nil {
				b.Fatal(err)
			}
			base, err := sigs[0].Base(httpsig.Message{Request: r})
			if err != nil {
				b.Fatal(err)
			}
			var full, bare time.Duration
			i, n := 0, 0
			for b.Loop() {
				c0, _ := processCPU()
				for range block {
					if _, err := v.Verify(pool[i%poolSize], tap.TagPayer); err != nil {
						b.Fatal(err)
					}
					i++
				}
				c1, _ := processCPU()
				for range block {
					if err := vk.Verify(base, sigs[0].Value); err != nil {
						b.Fatal(err)
					}
				}
				c2, _ := processCPU()
				full += c1 - c0
				bare += c2 - c1
				n += block
			}
			if n > 0 && bare > 0 {
				b.ReportMetric(float64(full)/float64(n), "verify-cpu-ns/op")
				b.ReportMetric(float64(bare)/float64(n), "bare-cpu-ns/op")
				b.ReportMetric(float64(full)/float64(bare), "verify/bare")
				b.ReportMetric(float64(full-bare)/float64(n), "overhead-cpu-ns/op")
			}
		})
	}
}
