package vic_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vic"
)

// replay is an http.RoundTripper that answers every request with one
// response recorded from the sandbox, so that the client's allocations
// can be measured without the sandbox's in the same process. It reads
// each request body to the end, as a connection would, and records the
// request's size.
type replay struct {
	mu      sync.Mutex
	other   http.RoundTripper // everything but VIC calls (the JWKS)
	status  int
	header  http.Header
	body    []byte
	reqSize int
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, "/vacp/") {
		return r.other.RoundTrip(req)
	}
	var n int64
	if req.Body != nil {
		n, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqSize = int(n)
	return &http.Response{StatusCode: r.status, Status: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: r.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(r.body)), ContentLength: int64(len(r.body)), Request: req}, nil
}

// recorder forwards to the sandbox and keeps the response for replay.
type recorder struct {
	next http.RoundTripper
	rp   *replay
}

func (c *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/vacp/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.rp.mu.Lock()
	c.rp.status, c.rp.header, c.rp.body = resp.StatusCode, resp.Header.Clone(), body
	c.rp.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// allocTarget is the performance target for the bytes one VIC call allocates:
// 3 x (request + response body) + 16 KiB.
func allocTarget(req, resp int) float64 { return 3*float64(req+resp) + 16<<10 }

// allocCeiling is what this test enforces today, per payload byte beyond
// the fixed 16 KiB: the target is 3, but a call measures 7.0 to 7.9 B per
// byte on RetrieveCredentials (50 runs at 1, 4 and 16 transactions; 7.9
// to 9.4 before the claims were decoded without golang-jwt's json.Decoder,
// pooled and presized, the requests were built without field-name strings
// or growing slices, and the sealing of card data stopped cloning an HMAC
// per value; the spread is sync.Pool refills after a collection). What is
// left is go-jose's (base64 both ways, the AEAD output, the serialised
// JWE), golang-jwt's (the signing input, the base64 segments, the RSA
// check) and encoding/json's (the claims' strings), the card data's
// sealing (crypto/cipher's CTR stream copies the AES key schedule: 512 B
// per value), and in the transport the one copy of the compact JWE each
// way that go-jose's string API and a single write of the request need
// (docs/benchmarks.md, "Bytes allocated by one VIC call"). The ceiling
// holds that level against regressions; lower it as those copies go.
const allocCeiling = 8.0

// TestVICCallAllocationsPerPayloadByte fails if the bytes one
// vic.RetrieveCredentials call allocates rise above allocCeiling per byte
// of request and response body (plus 16 KiB), at 1, 4 and 16 transactions
// (the request and the signed response grow with them). The response is
// recorded from the in-process sandbox, then replayed, so the sandbox's
// own allocations are not counted; MLE both ways, X-Pay and the RS256
// verification of the signedPayload are.
func TestVICCallAllocationsPerPayloadByte(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation measurement: skipped under -short")
	}
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	w := newWorldWith(t, "4111111111111111", sandbox.WithPlainHTTP(), sandbox.WithInMemory())
	ctx := context.Background()
	for _, k := range []int{1, 4, 16} {
		t.Run(strconv.Itoa(k), func(t *testing.T) {
			ins, err := w.instruction(t, "10.00", nil)
			require.NoError(t, err)
			req := vic.CredentialsRequest{ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID, TokenID: w.token}
			for i := range k {
				req.Transactions = append(req.Transactions, vic.TransactionData{TransactionReferenceID: fmt.Sprintf("T-%d-%d", k, i),
					Amount: visa.MustParseAmount("1.00", "USD"), MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"})
			}
			rp := &replay{other: w.sbx.Transport()}
			cfg := w.cfg
			cfg.HTTPClient = &http.Client{Transport: &recorder{next: w.sbx.Transport(), rp: rp}}
			rec, err := vic.New(cfg, vic.WithClock(w.clock.Now))
			require.NoError(t, err)
			_, err = rec.RetrieveCredentials(ctx, req)
			require.NoError(t, err)

			cfg.HTTPClient = &http.Client{Transport: rp}
			cl, err := vic.New(cfg, vic.WithClock(w.clock.Now))
			require.NoError(t, err)
			call := func() {
				if _, err := cl.RetrieveCredentials(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			call() // the JWKS is fetched once per client: not measured
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				call()
			}
			runtime.ReadMemStats(&after)
			perCall := float64(after.TotalAlloc-before.TotalAlloc) / runs
			payload := rp.reqSize + len(rp.body)
			perByte := (perCall - 16<<10) / float64(payload)
			t.Logf("%d transactions: request %d B, response %d B, allocated %.0f B per call (%.2f B per payload byte beyond 16 KiB; target %.0f B)",
				k, rp.reqSize, len(rp.body), perCall, perByte, allocTarget(rp.reqSize, len(rp.body)))
			require.LessOrEqual(t, perCall, allocCeiling*float64(payload)+16<<10,
				"bytes allocated per call rose above %.1f per payload byte + 16 KiB", allocCeiling)
		})
	}
}
