package agent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

// benchEnv is an in-process sandbox (plain HTTP over loopback) and an
// agent with n onboarded cards, one per device.
func benchEnv(b *testing.B, n int) (*agent.Agent, []agent.PurchaseRequest) {
	b.Helper()
	sbx, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sbx.Close() })
	cfg := sbx.Config()
	st, _ := memstore.New()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, _ := fido.NewSealer("k", map[string][]byte{"k": key})
	m, _ := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m))
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]agent.PurchaseRequest, n)
	for i := range reqs {
		u, dev := user(5000+i), deviceN(5000+i)
		res, err := a.AddCard(context.Background(), agent.AddCardRequest{User: u, Card: card(b, "4111111111111111"), Device: dev, Cardholder: golden()})
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = purchaseReq(u, res.Card, dev, "10.00")
	}
	return a, reqs
}

// BenchmarkPurchaseJourney is one whole purchase (steps 10 to 16) per
// operation at concurrency 1: agent, SDK clients and sandbox in one
// process, every byte over loopback HTTP.
func BenchmarkPurchaseJourney(b *testing.B) {
	a, reqs := benchEnv(b, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Purchase(ctx, reqs[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "journeys/s")
}

// BenchmarkPurchaseJourney16 runs purchases at concurrency 16 (16 cards).
func BenchmarkPurchaseJourney16(b *testing.B) {
	a, reqs := benchEnv(b, 16)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req := reqs[int(next.Add(1)-1)%len(reqs)]
		for pb.Next() {
			if _, err := a.Purchase(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "journeys/s")
}

// cryptoFloor holds the keys of BenchmarkCryptoFloor.
type cryptoFloor struct {
	mleServer, mleClient, signing *rsa.PrivateKey
	mleToServer, mleToClient      *jwe.MLEEncrypter
	decServer, decClient          *jwe.MLEDecrypter
	field                         *jwe.FieldCipher
	sealer                        *fido.Sealer
}

// BenchmarkCryptoFloor does the cryptography one purchase journey must do,
// client and sandbox sides together, and nothing else: the floor under
// BenchmarkPurchaseJourney. Per journey:
//   - X-Pay: 4 signs and 4 verifies (attestation options, instruction,
//     credentials, confirmation);
//   - field JWE: 1 encrypt and 1 decrypt (encAuthenticationData);
//   - MLE: 3 VIC calls, each a request encrypt + decrypt and a response
//     encrypt + decrypt (RSA-OAEP-256 2048, AES-128-GCM);
//   - RS256: the challenge payload signed and verified, the signedPayload
//     signed and verified;
//   - WebAuthn: one ECDSA P-256 assertion signed and verified;
//   - fidoBlob: encrypted and decrypted once (AES-256-GCM).
func BenchmarkCryptoFloor(b *testing.B) {
	f := newCryptoFloor(b)
	body := make([]byte, 900)
	claims := jwt.MapClaims{"instructionId": "INS-1", "dynamicData": []any{map[string]any{"paymentToken": "4895370000000000", "dynamicDataValue": "123"}}, "exp": time.Now().Add(time.Hour).Unix()}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	authData := make([]byte, 37)
	b.ReportAllocs()
	for b.Loop() {
		for range 4 {
			tok := xpay.Sign("sbx-vic-shared-secret", time.Now().Unix(), "v1/instructions", "apikey=SBXVICAPIKEY01", body)
			if err := xpay.Verify(tok, "sbx-vic-shared-secret", "v1/instructions", "apikey=SBXVICAPIKEY01", body, time.Now(), 0); err != nil {
				b.Fatal(err)
			}
		}
		enc, err := f.field.EncryptJSON(map[string]any{"consumerInfo": map[string]string{"emailAddress": "alice@example.com"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.field.Decrypt(enc); err != nil {
			b.Fatal(err)
		}
		for range 3 {
			req, _ := f.mleToServer.Encrypt(body, time.Now())
			if _, _, err := f.decServer.Decrypt(req); err != nil {
				b.Fatal(err)
			}
			resp, _ := f.mleToClient.Encrypt(body[:300], time.Now())
			if _, _, err := f.decClient.Decrypt(resp); err != nil {
				b.Fatal(err)
			}
		}
		for range 2 {
			s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(f.signing)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jwt.Parse(s, func(*jwt.Token) (any, error) { return &f.signing.PublicKey, nil }); err != nil {
				b.Fatal(err)
			}
		}
		digest := sha256.Sum256(append(authData, body[:32]...))
		sig, _ := ecdsa.SignASN1(rand.Reader, ecKey, digest[:])
		if !ecdsa.VerifyASN1(&ecKey.PublicKey, digest[:], sig) {
			b.Fatal("ecdsa")
		}
		blob, _ := fido.NewBlob("eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn")
		sealed, _ := f.sealer.Seal(blob, fido.Binding{UserID: "u", TokenID: "t", DeviceID: "d"})
		if _, err := f.sealer.Open(sealed, fido.Binding{UserID: "u", TokenID: "t", DeviceID: "d"}); err != nil {
			b.Fatal(err)
		}
	}
}

func newCryptoFloor(b *testing.B) *cryptoFloor {
	b.Helper()
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	f := &cryptoFloor{mleServer: gen(), mleClient: gen(), signing: gen()}
	var err error
	f.mleToServer, _ = jwe.NewMLEEncrypter(&f.mleServer.PublicKey, "kid", "")
	f.mleToClient, _ = jwe.NewMLEEncrypter(&f.mleClient.PublicKey, "kid", "")
	f.decServer, _ = jwe.NewMLEDecrypter(f.mleServer)
	f.decClient, _ = jwe.NewMLEDecrypter(f.mleClient)
	f.field, err = jwe.NewFieldCipher("SBXENCAPIKEY01", "sbx-enc-shared-secret")
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f.sealer, _ = fido.NewSealer("k", map[string][]byte{"k": key})
	return f
}

// parkedCardholder parks an AddCard at the OTP prompt until release is
// closed; reaching the prompt frees its setup slot and marks it parked.
type parkedCardholder struct {
	parked  func()
	release chan struct{}
	once    sync.Once
}

func (c *parkedCardholder) ChooseStepUp(_ context.Context, o []vts.StepUpRequest) (vts.StepUpRequest, error) {
	return o[0], nil
}

func (c *parkedCardholder) EnterOTP(ctx context.Context, _ agent.OTPPrompt) (visa.OTP, error) {
	c.once.Do(c.parked)
	select {
	case <-c.release:
	case <-ctx.Done():
		return visa.OTP{}, ctx.Err()
	}
	return visa.ParseOTP("456789")
}

// BenchmarkSuspendedAtOTP measures the heap held by journeys suspended
// while the cardholder types the OTP: 10,000 AddCard flows parked at step
// 7, in one process with the sandbox (whose state for them is counted
// too). It reports heap bytes per suspended journey.
func BenchmarkSuspendedAtOTP(b *testing.B) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	for b.Loop() {
		a, _ := benchEnv(b, 0)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		release := make(chan struct{})
		var parked, done sync.WaitGroup
		sem := make(chan struct{}, 32) // bounds the flows being set up at once
		var failed atomic.Int64
		for i := range n {
			parked.Add(1)
			done.Add(1)
			sem <- struct{}{}
			go func() {
				defer done.Done()
				ch := &parkedCardholder{release: release, parked: func() { <-sem; parked.Done() }}
				_, err := a.AddCard(context.Background(), agent.AddCardRequest{User: user(100000 + i), Card: card(b, "4111111111111111"),
					Device: deviceN(100000 + i), Cardholder: ch})
				if err != nil {
					ch.once.Do(func() { failed.Add(1); <-sem; parked.Done() })
				}
			}()
		}
		parked.Wait()
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d flows failed before the OTP prompt", f)
		}
		b.ReportMetric(float64(during.HeapInuse-before.HeapInuse)/float64(n), "heap-B/suspended")
		b.ReportMetric(float64(during.HeapInuse-before.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		close(release)
		done.Wait()
	}
}
