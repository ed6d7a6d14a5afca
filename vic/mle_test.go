package vic

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/jwe"
)

// mleKeyID is one MLE key id of the tests: Visa's server key pair and the
// client's key pair for it.
type mleKeyID struct {
	kid            string
	server, client *rsa.PrivateKey
}

var (
	mleOnce sync.Once
	mleIDs  [3]mleKeyID
)

// mleKeys returns three key ids with distinct key pairs.
func mleKeys(t testing.TB) [3]mleKeyID {
	mleOnce.Do(func() {
		for i := range mleIDs {
			s, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			c, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			mleIDs[i] = mleKeyID{kid: fmt.Sprintf("MLE-KEY-%d", i+1), server: s, client: c}
		}
	})
	return mleIDs
}

// visaKey is k as the client configures it.
func (k mleKeyID) visaKey(t testing.TB) visa.MLEKey {
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.client)
	require.NoError(t, err)
	return visa.MLEKey{KeyID: k.kid, ServerCertPEM: pemOf(t, "PUBLIC KEY", mustPKIX(t, &k.server.PublicKey)),
		ClientPrivateKeyPEM: visa.NewSecret(string(pemOf(t, "PRIVATE KEY", pkcs8)))}
}

// rotatingVIC is a VIC that knows every key id: it decrypts a request with
// the server key of its keyId header, refuses a request whose JWE kid
// differs from that header, and answers under the kid answerKid returns
// (the request's by default), encrypted to that key id's client key.
type rotatingVIC struct {
	t         testing.TB
	srv       *httptest.Server
	keys      map[string]mleKeyID
	answerKid func(reqKid string) string
	mu        sync.Mutex
	seen      []string // keyId of each request, in order
}

func newRotatingVIC(t testing.TB) *rotatingVIC {
	f := &rotatingVIC{t: t, keys: map[string]mleKeyID{}, answerKid: func(k string) string { return k }}
	for _, k := range mleKeys(t) {
		f.keys[k.kid] = k
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *rotatingVIC) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	kid := r.Header.Get("keyId")
	f.mu.Lock()
	k, ok := f.keys[kid]
	ak, answerOK := f.keys[f.answerKid(kid)]
	answerKid := f.answerKid(kid)
	f.mu.Unlock()
	compact, envOK := jwe.ParseEnvelope(raw)
	if !ok || !envOK {
		http.Error(w, `{"reason":"unknown keyId"}`, http.StatusUnauthorized)
		return
	}
	dec, _ := jwe.NewMLEDecrypter(k.server)
	_, h, err := dec.Decrypt(compact)
	if err != nil || h.KeyID != kid {
		// Encrypted to another key id's server key than the header names.
		http.Error(w, `{"reason":"MLE mismatch"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, kid)
	f.mu.Unlock()
	pub := &k.client.PublicKey // an unknown answer kid: the request's client key under that name
	if answerOK {
		pub = &ak.client.PublicKey
	}
	enc, err := jwe.NewMLEEncrypter(pub, answerKid, "")
	require.NoError(f.t, err)
	plain, _ := json.Marshal(map[string]any{"clientReferenceId": "CR-1", "instructionId": "INS-1", "status": "CANCELLED"})
	out, err := enc.Encrypt(plain, time.Now())
	require.NoError(f.t, err)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(jwe.MarshalEnvelope(out))
}

// set changes the fake's keys or answer rule between calls.
func (f *rotatingVIC) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *rotatingVIC) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(f.t, f.seen)
	return f.seen[len(f.seen)-1]
}

// config is a VIC configuration whose current key is current and whose
// older live keys are older.
func (f *rotatingVIC) config(t testing.TB, current mleKeyID, older ...mleKeyID) visa.Config {
	cur := current.visaKey(t)
	cfg := visa.Config{
		VICBaseURL: f.srv.URL,
		VIC: visa.VICCredentials{
			APIKey: visa.NewSecret("SBXVICAPIKEY01"), SharedSecret: visa.NewSecret("sbx-vic-shared-secret"),
			MLEKeyID: cur.KeyID, MLEServerCertPEM: cur.ServerCertPEM, MLEClientPrivateKeyPEM: cur.ClientPrivateKeyPEM,
			ExternalClientID: "SBXCLIENT01", ExternalAppID: "SBXAPP01",
		},
	}
	for _, k := range older {
		vk := k.visaKey(t)
		vk.ServerCertPEM = nil // an older key needs only its private key
		cfg.VIC.MLEKeys = append(cfg.VIC.MLEKeys, vk)
	}
	return cfg
}

func cancel(c *Client) error {
	_, err := c.CancelInstruction(context.Background(), CancelRequest{ClientReferenceID: "CR-1", InstructionID: "INS-1", AppInstance: testAppInstance()})
	return err
}

func TestMLEOlderLiveKeyDecrypts(t *testing.T) {
	t.Parallel()
	k := mleKeys(t)
	f := newRotatingVIC(t)
	// Requests go out under key 2; Visa still answers some under key 1.
	f.answerKid = func(string) string { return k[0].kid }
	c, err := New(f.config(t, k[1], k[0]), WithoutVerification())
	require.NoError(t, err)
	assert.Equal(t, []string{k[1].kid, k[0].kid}, c.MLEKeyIDs())
	require.NoError(t, cancel(c), "an answer under an older live key id decrypts")
	assert.Equal(t, k[1].kid, f.last(), "requests use the current key id")

	// Without the older key, the same answer names an unknown kid.
	c2, err := New(f.config(t, k[1]), WithoutVerification())
	require.NoError(t, err)
	err = cancel(c2)
	require.ErrorIs(t, err, jwe.ErrKeyID)
	assert.ErrorIs(t, err, visa.ErrMalformedResponse)
}

func TestMLEUnknownKidIsTyped(t *testing.T) {
	t.Parallel()
	k := mleKeys(t)
	f := newRotatingVIC(t)
	f.answerKid = func(string) string { return "NOT-A-LIVE-KEY" }
	c, err := New(f.config(t, k[0], k[1]), WithoutVerification())
	require.NoError(t, err)
	err = cancel(c)
	require.ErrorIs(t, err, jwe.ErrKeyID)
	assert.ErrorIs(t, err, visa.ErrMalformedResponse)
	assert.Contains(t, err.Error(), "NOT-A-LIVE-KEY")
}

func TestMLEServerCertRotatesAtRuntime(t *testing.T) {
	t.Parallel()
	k := mleKeys(t)
	f := newRotatingVIC(t)
	c, err := New(f.config(t, k[0]), WithoutVerification())
	require.NoError(t, err)
	require.NoError(t, cancel(c))
	assert.Equal(t, k[0].kid, f.last())

	// Visa renews the server certificate of key id 1: the fake now
	// decrypts key id 1 with the new server key only.
	f.set(func() { f.keys[k[0].kid] = mleKeyID{kid: k[0].kid, server: k[2].server, client: k[0].client} })
	assert.Error(t, cancel(c), "the old certificate no longer works")
	require.NoError(t, c.SetMLEServerCert(pemOf(t, "PUBLIC KEY", mustPKIX(t, &k[2].server.PublicKey))))
	require.NoError(t, cancel(c), "the next call uses the new certificate")
	assert.Equal(t, []string{k[0].kid}, c.MLEKeyIDs())

	// Bad certificates change nothing.
	err = c.SetMLEServerCert([]byte("not a PEM"))
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	assert.Contains(t, err.Error(), "invalid input: MLEServerCertPEM: ")
	require.NoError(t, cancel(c))
}

func TestMLERotateKeysAtRuntime(t *testing.T) {
	t.Parallel()
	k := mleKeys(t)
	f := newRotatingVIC(t)
	c, err := New(f.config(t, k[0]), WithoutVerification())
	require.NoError(t, err)
	require.NoError(t, cancel(c))

	// A new key id becomes current; the old one stays live.
	next, old := k[1].visaKey(t), k[0].visaKey(t)
	old.ServerCertPEM = nil
	require.NoError(t, c.RotateMLE(next, old))
	require.NoError(t, cancel(c))
	assert.Equal(t, k[1].kid, f.last())
	assert.Equal(t, []string{k[1].kid, k[0].kid}, c.MLEKeyIDs())
	f.set(func() { f.answerKid = func(string) string { return k[0].kid } })
	require.NoError(t, cancel(c), "answers under the old key id still decrypt")
	f.set(func() { f.answerKid = func(r string) string { return r } })

	// Refusals leave the keys as they were, and never show a key.
	secrets := testutil.NewSecrets()
	secrets.Add("private key", next.ClientPrivateKeyPEM.Reveal()[40:120])
	for name, tc := range map[string]struct {
		field string
		call  func() error
	}{
		"four keys":     {"older[0].KeyID", func() error { return c.RotateMLE(next, old, k[2].visaKey(t), visa.MLEKey{KeyID: "x"}) }},
		"repeated id":   {"older[0].KeyID", func() error { return c.RotateMLE(next, next) }},
		"no server key": {"current.ServerCertPEM", func() error { n := next; n.ServerCertPEM = nil; return c.RotateMLE(n) }},
		"bad private key": {"older[0].ClientPrivateKeyPEM", func() error {
			o := old
			o.ClientPrivateKeyPEM = visa.NewSecret("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
			return c.RotateMLE(next, o)
		}},
		"no private key": {"current.ClientPrivateKeyPEM", func() error {
			n := next
			n.ClientPrivateKeyPEM = visa.Secret{}
			return c.RotateMLE(n)
		}},
	} {
		err := tc.call()
		require.ErrorIs(t, err, visa.ErrInvalidInput, name)
		assert.Contains(t, err.Error(), "invalid input: "+tc.field+": ", name)
		secrets.Check(t, name, fmt.Sprintf("%v %+v", err, err), testutil.LongOnly)
		assert.Equal(t, []string{k[1].kid, k[0].kid}, c.MLEKeyIDs(), name)
	}
	require.NoError(t, cancel(c))
}

// TestMLEConcurrentRotation rotates between two key ids while calls run:
// every call's body and keyId header name the same key (the fake refuses
// a mismatch), and every answer decrypts (run under -race).
func TestMLEConcurrentRotation(t *testing.T) {
	t.Parallel()
	k := mleKeys(t)
	f := newRotatingVIC(t)
	c, err := New(f.config(t, k[0], k[1]), WithoutVerification())
	require.NoError(t, err)
	a, b := k[0].visaKey(t), k[1].visaKey(t)

	var stop atomic.Bool
	var rotations atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			cur, old := a, b
			if i%2 == 1 {
				cur, old = b, a
			}
			if err := c.RotateMLE(cur, old); err != nil {
				t.Error(err)
				return
			}
			if i%3 == 0 {
				if err := c.SetMLEServerCert(cur.ServerCertPEM); err != nil {
					t.Error(err)
					return
				}
			}
			rotations.Add(1)
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				assert.NoError(t, cancel(c))
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-done
	assert.Positive(t, rotations.Load())
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Len(t, f.seen, 40)
}
