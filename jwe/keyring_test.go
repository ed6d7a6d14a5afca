package jwe

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	ringOnce sync.Once
	ringKeys [4]*rsa.PrivateKey
)

// ringKey returns one of four fixed 2048-bit keys.
func ringKey(t testing.TB, i int) *rsa.PrivateKey {
	ringOnce.Do(func() {
		for j := range ringKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			ringKeys[j] = k
		}
	})
	return ringKeys[i]
}

func ringDec(t testing.TB, i int) *MLEDecrypter {
	d, err := NewMLEDecrypter(ringKey(t, i))
	require.NoError(t, err)
	return d
}

func ringEnc(t testing.TB, i int, kid string) *MLEEncrypter {
	e, err := NewMLEEncrypter(&ringKey(t, i).PublicKey, kid, "")
	require.NoError(t, err)
	return e
}

// answer encrypts plain as Visa answers: to the client key i, under kid.
func answer(t testing.TB, i int, kid, plain string) string {
	c, err := ringEnc(t, i, kid).Encrypt([]byte(plain), time.Now())
	require.NoError(t, err)
	return c
}

func TestMLEKeyringDecryptsByKid(t *testing.T) {
	t.Parallel()
	// Server key 3; client keys 0 (kid A, current) and 1 (kid B, older).
	ring, err := NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": ringDec(t, 1)})
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B"}, ring.KeyIDs())
	assert.Equal(t, "A", ring.Encrypter().KeyID())

	pt, h, err := ring.Decrypt(answer(t, 1, "B", `{"older":true}`))
	require.NoError(t, err, "an answer under an older live kid decrypts")
	assert.Equal(t, `{"older":true}`, string(pt))
	assert.Equal(t, "B", h.KeyID)
	pt, _, err = ring.Decrypt(answer(t, 0, "A", `{}`))
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(pt))

	_, _, err = ring.Decrypt(answer(t, 0, "C", `{}`))
	assert.ErrorIs(t, err, ErrKeyID, "an unknown kid")
	_, _, err = ring.Decrypt(answer(t, 0, "B", `{}`))
	assert.ErrorIs(t, err, ErrDecrypt, "a kid naming another key than the one used")
	_, _, err = ring.Decrypt("not.a.jwe")
	assert.ErrorIs(t, err, ErrMalformed)

	// No kid: the current key.
	noKid := withHeader(answer(t, 0, "A", `{}`), `{"alg":"RSA-OAEP-256","enc":"A128GCM"}`)
	_, h, err = ring.Decrypt(noKid)
	assert.Empty(t, h.KeyID)
	assert.ErrorIs(t, err, ErrDecrypt, "the header is authenticated: a rewritten one fails, but with the current key, not as an unknown kid")
}

func TestMLEKeyringRefusals(t *testing.T) {
	t.Parallel()
	d := map[string]*MLEDecrypter{"A": ringDec(t, 0)}
	for name, build := range map[string]func() (*MLEKeyring, error){
		"nil encrypter":    func() (*MLEKeyring, error) { return NewMLEKeyring(nil, d) },
		"zero encrypter":   func() (*MLEKeyring, error) { return NewMLEKeyring(&MLEEncrypter{}, d) },
		"no keys":          func() (*MLEKeyring, error) { return NewMLEKeyring(ringEnc(t, 3, "A"), nil) },
		"current not held": func() (*MLEKeyring, error) { return NewMLEKeyring(ringEnc(t, 3, "Z"), d) },
		"nil decrypter": func() (*MLEKeyring, error) {
			return NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": nil})
		},
		"kid with a space": func() (*MLEKeyring, error) {
			return NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B C": ringDec(t, 1)})
		},
		"four keys": func() (*MLEKeyring, error) {
			return NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": ringDec(t, 1), "C": ringDec(t, 2), "D": ringDec(t, 3)})
		},
	} {
		r, err := build()
		assert.ErrorIs(t, err, ErrKey, name)
		assert.Nil(t, r, name)
	}

	ring, err := NewMLEKeyring(ringEnc(t, 3, "A"), d)
	require.NoError(t, err)
	assert.ErrorIs(t, ring.SetEncrypter(ringEnc(t, 2, "B")), ErrKey, "no private key for B")
	assert.ErrorIs(t, ring.Rotate(ringEnc(t, 2, "B"), d), ErrKey)
	assert.Equal(t, []string{"A"}, ring.KeyIDs(), "a refusal changes nothing")
	assert.Equal(t, &ringKey(t, 3).PublicKey, ring.Encrypter().pub)
}

func TestMLEKeyringRotation(t *testing.T) {
	t.Parallel()
	ring, err := NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0)})
	require.NoError(t, err)
	// Visa renews its server certificate for A.
	require.NoError(t, ring.SetEncrypter(ringEnc(t, 2, "A")))
	assert.Equal(t, &ringKey(t, 2).PublicKey, ring.Encrypter().pub)
	// A new key id B becomes current; A stays live.
	require.NoError(t, ring.Rotate(ringEnc(t, 3, "B"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": ringDec(t, 1)}))
	assert.Equal(t, []string{"B", "A"}, ring.KeyIDs())
	_, _, err = ring.Decrypt(answer(t, 0, "A", `{}`))
	require.NoError(t, err)
	_, _, err = ring.Decrypt(answer(t, 1, "B", `{}`))
	require.NoError(t, err)
	// A retires.
	require.NoError(t, ring.Rotate(ringEnc(t, 3, "B"), map[string]*MLEDecrypter{"B": ringDec(t, 1)}))
	_, _, err = ring.Decrypt(answer(t, 0, "A", `{}`))
	assert.ErrorIs(t, err, ErrKeyID)
}

func TestMLEKeyringPrintsNoKey(t *testing.T) {
	t.Parallel()
	ring, err := NewMLEKeyring(ringEnc(t, 3, "A"), map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": ringDec(t, 1)})
	require.NoError(t, err)
	assert.Equal(t, "jwe.MLEKeyring{current: A, enc: A128GCM, keys: [A B]}", ring.String())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, ring)
		assert.NotContains(t, out, ringKey(t, 0).D.String()[:20], verb)
		assert.False(t, strings.Contains(out, "priv"), verb)
	}
	var nilRing *MLEKeyring
	assert.Equal(t, "jwe.MLEKeyring(nil)", nilRing.String())
	assert.Nil(t, nilRing.Encrypter())
}

// TestMLEKeyringConcurrent decrypts and encrypts while the keyring rotates
// between two states (run under -race): every answer under a kid live in
// both states decrypts.
func TestMLEKeyringConcurrent(t *testing.T) {
	t.Parallel()
	d := map[string]*MLEDecrypter{"A": ringDec(t, 0), "B": ringDec(t, 1)}
	ring, err := NewMLEKeyring(ringEnc(t, 3, "A"), d)
	require.NoError(t, err)
	answers := []string{answer(t, 0, "A", `{"a":1}`), answer(t, 1, "B", `{"b":1}`)}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			kid := []string{"A", "B"}[i%2]
			if err := ring.Rotate(ringEnc(t, 2+i%2, kid), d); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				_, _, err := ring.Decrypt(answers[(g+i)%2])
				assert.NoError(t, err)
				e := ring.Encrypter()
				assert.Contains(t, []string{"A", "B"}, e.KeyID())
				_, err = e.Encrypt([]byte(`{}`), time.Now())
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-done
}
