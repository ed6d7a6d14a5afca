package tap_test

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1767225600, 0)} } // 2026-01-01T00:00:00Z

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// RFC 9421 §B.1.4 test-key-ed25519 (PKCS#8); public test data.
const rfcEd25519 = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----`

func rfcEdKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	b, _ := pem.Decode([]byte(rfcEd25519))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	require.NoError(tb, err)
	return k.(ed25519.PrivateKey)
}

// Generated keys are made once per test binary: RSA key generation is slow.
var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys(tb testing.TB) (crypto.Signer, crypto.Signer, crypto.Signer) {
	tb.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
	return edKey, ecKey, rsaKey
}

func readRequest(tb testing.TB, raw string) *http.Request {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	require.NoError(tb, err)
	return r
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
