package vts

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// Test credentials: those of the local sandbox (docs/wire.md §11.1).
const (
	testAPIKey       = "SBXVTSAPIKEY01"
	testSharedSecret = "sbx-vts-shared-secret"
	testAppID        = "SBXAPP01"
	testWalletID     = "SBXTRID01"
	testEncAPIKey    = "SBXENCAPIKEY01"
	testEncSecret    = "sbx-enc-shared-secret"
	testHashSecret   = "sbx-hash-secret"

	testPAN   = "4111111111111111"
	testCVV2  = "123"
	testEmail = "alice@example.com"
	testOTP   = "456789"
	testSTok  = "STK-secure-token-0123456789"
)

func testConfig(baseURL string, logger *slog.Logger) visa.Config {
	return visa.Config{
		VTSBaseURL: baseURL, AuthBaseURL: baseURL, VICBaseURL: baseURL,
		VTS: visa.VTSCredentials{
			APIKey: visa.NewSecret(testAPIKey), SharedSecret: visa.NewSecret(testSharedSecret),
			ClientAppID: testAppID, ClientWalletAccountID: testWalletID,
			EncAPIKey: visa.NewSecret(testEncAPIKey), EncSharedSecret: visa.NewSecret(testEncSecret),
			HashSecret: visa.NewSecret(testHashSecret),
		},
		Retry:  visa.RetryPolicy{MaxAttempts: 1},
		Logger: logger,
	}
}

// captured is one request as the fake server saw it.
type captured struct {
	Method   string
	Path     string // escaped, as sent
	RawQuery string
	Header   http.Header
	Body     []byte
}

// fakeVTS is an httptest server that records every request and answers
// with a canned status and body.
type fakeVTS struct {
	srv *httptest.Server

	mu     sync.Mutex
	reqs   []captured
	status int
	reply  string
	header http.Header
}

func newFake(t testing.TB, status int, reply string) *fakeVTS {
	t.Helper()
	f := &fakeVTS{status: status, reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, captured{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: b})
		status, reply, hdr := f.status, f.reply, f.header
		f.mu.Unlock()
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.Header().Set("X-Correlation-Id", "corr-1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVTS) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeVTS) last(t *testing.T) captured {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.reqs, "no request reached the server")
	return f.reqs[len(f.reqs)-1]
}

// setup starts a fake VTS answering status/reply and a client for it.
func setup(t *testing.T, status int, reply string, opts ...Option) (*Client, *fakeVTS) {
	t.Helper()
	f := newFake(t, status, reply)
	c, err := New(testConfig(f.srv.URL, nil), opts...)
	require.NoError(t, err)
	return c, f
}

var fixedNow = time.Unix(1767225600, 0)

// testCipher decrypts what the client encrypted.
func testCipher(t *testing.T) *jwe.FieldCipher {
	t.Helper()
	c, err := jwe.NewFieldCipher(testEncAPIKey, testEncSecret)
	require.NoError(t, err)
	return c
}

// bodyMap decodes a request body, keeping numbers as json.Number so a
// string and a number differ.
func bodyMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// verifySignature checks the X-Pay-Token HMAC of a captured request as
// the sandbox would (at the token's own time: tests may fix the clock).
func verifySignature(t *testing.T, r captured) {
	t.Helper()
	tok := r.Header.Get("X-Pay-Token")
	ts, _, err := xpay.Parse(tok)
	require.NoError(t, err, "x-pay-token")
	err = xpay.Verify(tok, testSharedSecret, xpay.ResourcePath(r.Path), r.RawQuery, r.Body, time.Unix(ts, 0), 0)
	require.NoError(t, err, "x-pay-token")
}

func mustPAN(t testing.TB, s string) visa.PAN {
	p, err := visa.ParsePAN(s)
	require.NoError(t, err)
	return p
}

func mustCVV2(t testing.TB, s string) visa.CVV2 {
	c, err := visa.ParseCVV2(s)
	require.NoError(t, err)
	return c
}

func mustOTP(t testing.TB, s string) visa.OTP {
	o, err := visa.ParseOTP(s)
	require.NoError(t, err)
	return o
}

func testBrowser() visa.BrowserData {
	return visa.BrowserData{
		BrowserJavaEnabled: "False", BrowserJavascriptEnabled: "true", BrowserLanguage: "en-US",
		BrowserColorDepth: "24", BrowserScreenHeight: "900", BrowserScreenWidth: "1440", BrowserTimeZone: "300",
		UserAgent:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
		BrowserHeader: "text/html,application/json", IPAddress: "203.0.113.7",
	}
}

func testMerchant() MerchantIdentifier {
	return MerchantIdentifier{ExternalClientID: "visaagent", ApplicationURL: "https://agent.example.com", MerchantName: "Best Buy"}
}
