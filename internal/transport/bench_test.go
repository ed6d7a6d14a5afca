package transport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// benchInstruction is a VIC purchase instruction of about 600 bytes of
// JSON, the body of the round-trip benchmarks.
type benchInstruction struct {
	ClientReferenceID string `json:"clientReferenceId"`
	Client            struct {
		ExternalClientID string `json:"externalClientId"`
		ExternalAppID    string `json:"externalAppId"`
	} `json:"client"`
	TokenID         string `json:"tokenId"`
	ConsumerPrompt  string `json:"consumerPrompt"`
	MandateAmount   string `json:"mandateAmount"`
	Currency        string `json:"currencyCode"`
	EffectiveUntil  string `json:"effectiveUntilTime"`
	Quantity        int    `json:"quantity"`
	AssuranceData   string `json:"fidoBlob"`
	MerchantName    string `json:"merchantName"`
	MerchantURL     string `json:"merchantUrl"`
	DFPSessionID    string `json:"dfpSessionId"`
	TransactionType string `json:"transactionType"`
}

func newBenchInstruction() *benchInstruction {
	in := &benchInstruction{
		ClientReferenceID: "CR-8f3kQ2mZt7Lp9XvB4nWc6YhD1sRj0aEu",
		TokenID:           "TOK-4c1e2a9b-7d3f-4e8a-9b6c-1f2e3d4c5b6a",
		ConsumerPrompt:    "Buy a pair of running shoes, size 42, under 130 dollars, delivered by Friday",
		MandateAmount:     "129.99",
		Currency:          "USD",
		EffectiveUntil:    "1767229200",
		Quantity:          1,
		AssuranceData:     strings.Repeat("Zm9vYmFy", 24),
		MerchantName:      "Best Buy",
		MerchantURL:       "https://merchant.example.com/checkout",
		DFPSessionID:      "dfp-6a8b0c2d4e6f8a0b2c4d6e8f",
		TransactionType:   "PURCHASE",
	}
	in.Client.ExternalClientID = "visaagent"
	in.Client.ExternalAppID = "agent-app-0001"
	return in
}

type benchResult struct {
	InstructionID string `json:"instructionId"`
	Status        string `json:"status"`
	ClientRefID   string `json:"clientReferenceId"`
}

// benchServer answers every VIC POST with the same MLE-encrypted response
// (encrypted once), so both clients are measured doing identical client
// work against identical server work: read the request, write ~300 bytes.
func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	resp := encryptToClient(b, []byte(`{"instructionId":"INS-2f6c1b7e-0a4d-4c58-9e3b-5d7a1c9f0e2b","status":"ACTIVE","clientReferenceId":"CR-8f3kQ2mZt7Lp9XvB4nWc6YhD1sRj0aEu"}`))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Pay-Token") == "" || r.Header.Get("keyId") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Correlation-Id", "c0ffee00-0000-4000-8000-000000000000")
		_, _ = w.Write(resp)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkXPaySign(b *testing.B) {
	body := encryptToClient(b, []byte(`{"a":"`+strings.Repeat("x", 600)+`"}`))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	defer reportCPU(b)()
	for b.Loop() {
		_ = xpay.Sign(testVICSecret, 1767225600, "v1/instructions", "apikey="+testVICKey, body)
	}
}

func BenchmarkMLEEncrypt(b *testing.B) {
	enc, err := jwe.NewMLEEncrypter(&keys().server.PublicKey, testMLEKeyID, "")
	if err != nil {
		b.Fatal(err)
	}
	plain, _ := json.Marshal(newBenchInstruction())
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := enc.Encrypt(plain, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMLEDecrypt(b *testing.B) {
	dec, err := jwe.NewMLEDecrypter(keys().client)
	if err != nil {
		b.Fatal(err)
	}
	plain, _ := json.Marshal(newBenchInstruction())
	compact, ok := jwe.ParseEnvelope(encryptToClient(b, plain))
	if !ok {
		b.Fatal("no envelope")
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	defer reportCPU(b)()
	for b.Loop() {
		if _, _, err := dec.Decrypt(compact); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFieldEncrypt(b *testing.B) {
	fc, err := jwe.NewFieldCipher(testEncAPIKey, testEncSecret)
	if err != nil {
		b.Fatal(err)
	}
	plain := []byte(`{"accountNumber":"4111111111111111","cvv2":"987","name":"Alice Example","expirationDate":{"month":"12","year":"2029"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := fc.Encrypt(plain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTripSDK is one VIC POST through the transport: JSON
// encode, MLE encrypt, X-Pay sign, x-request-id, send over a keep-alive
// loopback connection, bounded read, MLE decrypt, JSON decode.
func BenchmarkRoundTripSDK(b *testing.B) {
	srv := benchServer(b)
	cfg := testConfig(srv.URL)
	cfg.Retry = visa.RetryPolicy{}
	c := newClient(b, cfg, visa.ProductVIC)
	b.Cleanup(c.hc.CloseIdleConnections)
	in := newBenchInstruction()
	ctx := context.Background()
	req := &Request{Op: "vic.InitiatePurchaseInstruction", Method: http.MethodPost, Path: "/vacp/v1/instructions", Body: in}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		var out benchResult
		if _, err := c.Do(ctx, req, &out); err != nil {
			b.Fatal(err)
		}
		if out.Status != "ACTIVE" {
			b.Fatal(out.Status)
		}
	}
}

// handWritten is the same request written directly with net/http,
// crypto/hmac and go-jose, with no retry library, no logging and no
// redaction: the baseline the SDK's overhead is measured against.
type handWritten struct {
	hc        *http.Client
	url       string
	query     string
	secret    []byte
	keyID     string
	userAgent string
	pub       *rsa.PublicKey
	priv      *rsa.PrivateKey
}

func (h *handWritten) do(ctx context.Context, in, out any) error {
	plain, err := json.Marshal(in)
	if err != nil {
		return err
	}
	enc, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: h.pub, KeyID: h.keyID},
		(&jose.EncrypterOptions{}).WithHeader("iat", time.Now().UnixMilli()))
	if err != nil {
		return err
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return err
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		return err
	}
	body, err := json.Marshal(struct {
		EncData string `json:"encData"`
	}{compact})
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte(ts + "v1/instructions" + h.query))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/vacp/v1/instructions?"+h.query, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Pay-Token", "xv2:"+ts+":"+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-Request-Id", uuid.NewString())
	req.Header.Set("keyId", h.keyID)
	req.Header.Set("User-Agent", h.userAgent)
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status)
	}
	var env struct {
		EncData string `json:"encData"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return err
	}
	jw, err := jose.ParseEncryptedCompact(env.EncData, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A128GCM, jose.A256GCM})
	if err != nil {
		return err
	}
	pt, err := jw.Decrypt(h.priv)
	if err != nil {
		return err
	}
	return json.Unmarshal(pt, out)
}

func BenchmarkRoundTripHandWritten(b *testing.B) {
	srv := benchServer(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	b.Cleanup(tr.CloseIdleConnections)
	h := &handWritten{
		hc: &http.Client{Transport: tr}, url: srv.URL, query: "apikey=" + testVICKey, secret: []byte(testVICSecret),
		keyID: testMLEKeyID, userAgent: "vicgo/" + Version + " (" + runtime.Version() + ")",
		pub: &keys().server.PublicKey, priv: keys().client,
	}
	in := newBenchInstruction()
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		var out benchResult
		if err := h.do(ctx, in, &out); err != nil {
			b.Fatal(err)
		}
		if out.Status != "ACTIVE" {
			b.Fatal(out.Status)
		}
	}
}

// reportCPU reports the process CPU time per operation (client and
// server goroutines together, the same for both round-trip benchmarks) as
// "cpu-ns/op". Call it as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start, ok := testutil.ProcessCPU()
	return func() {
		end, ok2 := testutil.ProcessCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
