package transport

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa/internal/testutil"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Test credentials. Each is distinctive so the redaction test can look
// for it anywhere.
const (
	testVICKey     = "VICAPIKEYsecret0001"
	testVICSecret  = "vic-shared-secret-0001"
	testVTSKey     = "VTSAPIKEYsecret0002"
	testVTSSecret  = "vts-shared-secret-0002"
	testEncAPIKey  = "ENCAPIKEYsecret0003"
	testEncSecret  = "enc-shared-secret-0003"
	testHashSecret = "hash-secret-0004"
	testMLEKeyID   = "mle-key-id-1"
	testBasicPass  = "basic-password-0005"
)

// keys are loaded once per test binary from testdata (test-only keys):
// Visa's MLE server key pair and the client's MLE key pair.
var keys = sync.OnceValue(func() (k struct {
	server, client              *rsa.PrivateKey
	serverPubPEM, clientPrivPEM []byte
}) {
	load := func(name string) ([]byte, *rsa.PrivateKey) {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			panic(err)
		}
		key, err := jwe.ParsePrivateKeyPEM(b)
		if err != nil {
			panic(err)
		}
		return b, key
	}
	_, k.server = load("mle-server-key.pem")
	k.clientPrivPEM, k.client = load("mle-client-key.pem")
	pub, err := x509.MarshalPKIXPublicKey(&k.server.PublicKey)
	if err != nil {
		panic(err)
	}
	k.serverPubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	return k
})

// testConfig returns a Config for both products pointing at base, with
// instant-but-real retry settings the tests override as needed.
func testConfig(base string) visa.Config {
	k := keys()
	return visa.Config{
		VICBaseURL: base,
		VTSBaseURL: base,
		VIC: visa.VICCredentials{
			APIKey:                 visa.NewSecret(testVICKey),
			SharedSecret:           visa.NewSecret(testVICSecret),
			MLEKeyID:               testMLEKeyID,
			MLEServerCertPEM:       k.serverPubPEM,
			MLEClientPrivateKeyPEM: visa.NewSecret(string(k.clientPrivPEM)),
			ExternalClientID:       "visaagent",
			ExternalAppID:          "agent-app-0001",
		},
		VTS: visa.VTSCredentials{
			APIKey:                visa.NewSecret(testVTSKey),
			SharedSecret:          visa.NewSecret(testVTSSecret),
			EncAPIKey:             visa.NewSecret(testEncAPIKey),
			EncSharedSecret:       visa.NewSecret(testEncSecret),
			HashSecret:            visa.NewSecret(testHashSecret),
			ClientAppID:           "app-0001",
			ClientWalletAccountID: "wallet-0001",
		},
		Retry: visa.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond},
	}
}

// recorded is one request as the fake server saw it.
type recorded struct {
	Method    string
	Path      string // escaped, as on the wire
	RawQuery  string
	Header    http.Header
	Body      []byte // raw bytes received
	Plain     []byte // MLE-decrypted body (VIC) or Body
	JWEHeader jwe.Header
	SigOK     bool // X-Pay-Token recomputed independently matches
	SigTS     int64
}

// reply is what the fake server answers.
type reply struct {
	Status  int
	Header  map[string]string
	Body    string // plain JSON
	Encrypt bool   // wrap Body in an MLE envelope to the client key
	// Raw takes over the response entirely (hijack, partial bodies...).
	Raw func(w http.ResponseWriter, r *http.Request)
}

// fakeVisa is an httptest server that verifies signatures with its own
// HMAC code, decrypts MLE requests and answers from a script.
type fakeVisa struct {
	t   *testing.T
	srv *httptest.Server
	mle bool // VIC: the request body is an MLE envelope

	mu      sync.Mutex
	reqs    []recorded
	respond func(n int, rec recorded) reply
}

func newFakeVisa(t *testing.T, mle bool, respond func(n int, rec recorded) reply) *fakeVisa {
	t.Helper()
	f := &fakeVisa{t: t, mle: mle, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVisa) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Plain: body}
	secret := testVTSSecret
	resource := strings.TrimPrefix(rec.Path, "/")
	if f.mle {
		secret = testVICSecret
		resource = strings.TrimPrefix(resource, "vacp/")
		if compact, ok := jwe.ParseEnvelope(body); ok {
			dec, err := jwe.NewMLEDecrypter(keys().server)
			if err == nil {
				rec.Plain, rec.JWEHeader, _ = dec.Decrypt(compact)
			}
		}
	}
	rec.SigOK, rec.SigTS = checkXPay(r.Header.Get("X-Pay-Token"), secret, resource, rec.RawQuery, body)

	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	n := len(f.reqs)
	f.mu.Unlock()

	rp := reply{Status: http.StatusOK, Body: `{}`}
	if f.respond != nil {
		rp = f.respond(n, rec)
	}
	if rp.Raw != nil {
		rp.Raw(w, r)
		return
	}
	w.Header().Set("X-Correlation-Id", "corr-"+strconv.Itoa(n))
	for k, v := range rp.Header {
		w.Header().Set(k, v)
	}
	out := []byte(rp.Body)
	if rp.Encrypt {
		out = encryptToClient(f.t, out)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rp.Status)
	_, _ = w.Write(out)
}

func (f *fakeVisa) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeVisa) URL() string { return f.srv.URL }

// checkXPay recomputes the X-Pay-Token with crypto/hmac, independently of
// internal/xpay.
func checkXPay(token, secret, resource, query string, body []byte) (bool, int64) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "xv2" {
		return false, 0
	}
	ts, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return false, 0
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[1] + resource + query))
	m.Write(body)
	return hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(parts[2])), ts
}

func encryptToClient(t testing.TB, plain []byte) []byte {
	enc, err := jwe.NewMLEEncrypter(&keys().client.PublicKey, testMLEKeyID, "A128GCM")
	require.NoError(t, err)
	compact, err := enc.Encrypt(plain, time.Now())
	require.NoError(t, err)
	return jwe.MarshalEnvelope(compact)
}

// debugLogger logs every record, as JSON, to s.
func debugLogger(s *testutil.LogBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waits records the backoff waits the client decides on and skips them.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) hook(d time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return 0
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// stepClock is a clock that advances by step on every reading.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.t
	c.t = c.t.Add(c.step)
	return now
}

func newClient(t testing.TB, cfg visa.Config, p visa.Product, opts ...Option) *Client {
	t.Helper()
	c, err := New(cfg, p, opts...)
	require.NoError(t, err)
	return c
}

var bg = context.Background()
