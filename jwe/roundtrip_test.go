package jwe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldRoundTrip(t *testing.T) {
	t.Parallel()
	c := fieldCipher(t)
	now := time.Unix(1767225600, 0)
	for _, pt := range [][]byte{
		[]byte("Zoë Ünïcode €"),
		[]byte(`{"accountNumber":"4111111111111111","cvv2":"123"}`),
		{},
		{0x00, 0xff, 0xfe}, // not UTF-8: bytes go through untouched
		[]byte(strings.Repeat("x", 64<<10)),
	} {
		s, err := c.EncryptAt(pt, now)
		require.NoError(t, err)
		got, err := c.Decrypt(s)
		require.NoError(t, err)
		assert.Equal(t, string(pt), string(got))
	}

	// The header is Visa's shape: typ, channelSecurityContext, iat string.
	s, err := c.EncryptAt([]byte("x"), now)
	require.NoError(t, err)
	fields := headerFields(t, s)
	assert.JSONEq(t, `"A256GCMKW"`, string(fields["alg"]))
	assert.JSONEq(t, `"A256GCM"`, string(fields["enc"]))
	assert.JSONEq(t, `"SBXENCAPIKEY01"`, string(fields["kid"]))
	assert.JSONEq(t, `"JOSE"`, string(fields["typ"]))
	assert.JSONEq(t, `"SHARED_SECRET"`, string(fields["channelSecurityContext"]))
	assert.JSONEq(t, `"1767225600"`, string(fields["iat"]))
	assert.Contains(t, fields, "iv")
	assert.Contains(t, fields, "tag")
	h, err := ParseHeader(s)
	require.NoError(t, err)
	assert.NoError(t, h.CheckIssuedAt(now, time.Second))

	// Encrypt stamps the current time.
	s, err = c.Encrypt([]byte("x"))
	require.NoError(t, err)
	h, err = ParseHeader(s)
	require.NoError(t, err)
	assert.NoError(t, h.CheckIssuedAt(time.Now(), time.Minute))

	// Two encryptions of the same plaintext differ (random CEK and IVs).
	s2, err := c.EncryptAt([]byte("x"), now)
	require.NoError(t, err)
	s3, err := c.EncryptAt([]byte("x"), now)
	require.NoError(t, err)
	assert.NotEqual(t, s2, s3)

	// Another secret with the same kid cannot decrypt.
	other, err := NewFieldCipher(testFieldKID, "another-secret")
	require.NoError(t, err)
	_, err = other.Decrypt(s2)
	assertOneSentinel(t, err, ErrDecrypt)
}

func TestFieldJSON(t *testing.T) {
	t.Parallel()
	c := fieldCipher(t)
	type card struct {
		AccountNumber string `json:"accountNumber"`
		Name          string `json:"name"`
	}
	in := card{"4111111111111111", "Zoë <&> Ünïcode €"}
	s, err := c.EncryptJSON(in)
	require.NoError(t, err)
	raw, err := c.Decrypt(s)
	require.NoError(t, err)
	assert.Equal(t, `{"accountNumber":"4111111111111111","name":"Zoë <&> Ünïcode €"}`, string(raw), "no HTML escaping, no newline")
	var out card
	require.NoError(t, c.DecryptJSON(s, &out))
	assert.Equal(t, in, out)

	// Raw arrays are encrypted as such (docs/wire.md §2.3).
	s, err = c.EncryptJSON([]string{"a", "b"})
	require.NoError(t, err)
	raw, err = c.Decrypt(s)
	require.NoError(t, err)
	assert.Equal(t, `["a","b"]`, string(raw))

	_, err = c.EncryptJSON(math.NaN())
	assertOneSentinel(t, err, ErrMalformed)
	_, err = c.EncryptJSON(make(chan int))
	assertOneSentinel(t, err, ErrMalformed)

	// A plaintext that does not fit the target: the error must not quote it.
	s, err = c.EncryptJSON(map[string]any{"accountNumber": 4111111111111111})
	require.NoError(t, err)
	err = c.DecryptJSON(s, &out)
	assertOneSentinel(t, err, ErrMalformed)
	assert.NotContains(t, err.Error(), "4111111111111111")
	err = c.DecryptJSON(vec(t, "field-unicode").Compact, &out)
	assertOneSentinel(t, err, ErrMalformed)
	err = c.DecryptJSON("a.b", &out)
	assertOneSentinel(t, err, ErrMalformed)
}

func TestMLERoundTrip(t *testing.T) {
	t.Parallel()
	d := mleDecrypter(t)
	now := time.UnixMilli(testIATMillis)
	for _, enc := range []string{"", EncA128GCM, EncA256GCM} {
		e := mleEncrypter(t, enc)
		wantEnc := enc
		if wantEnc == "" {
			wantEnc = EncA128GCM
		}
		assert.Equal(t, wantEnc, e.Enc())
		assert.Equal(t, testMLEKID, e.KeyID())
		for _, pt := range []string{"Zoë Ünïcode €", `{"a":1}`, "", strings.Repeat("y", 100<<10)} {
			s, err := e.Encrypt([]byte(pt), now)
			require.NoError(t, err)
			got, h, err := d.Decrypt(s)
			require.NoError(t, err)
			assert.Equal(t, pt, string(got))
			assert.Equal(t, Header{Alg: AlgRSAOAEP256, Enc: wantEnc, KeyID: testMLEKID, IssuedAt: now, HasIssuedAt: true, iat: iatMillis}, h)
			assert.NoError(t, h.CheckIssuedAt(now, time.Millisecond))
		}
		// The header is exactly {"alg","enc","kid","iat"} with a numeric iat.
		s, err := e.Encrypt([]byte("x"), now)
		require.NoError(t, err)
		fields := headerFields(t, s)
		assert.Len(t, fields, 4)
		assert.Equal(t, "1767225600123", string(fields["iat"]))
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	_, err := NewFieldCipher("", "s")
	assertOneSentinel(t, err, ErrKey)
	_, err = NewFieldCipher("k", "")
	assertOneSentinel(t, err, ErrKey)

	pub := &mleKey(t).PublicKey
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
		kid  string
		enc  string
		want error
	}{
		{"nil key", nil, "k", "", ErrKey},
		{"empty key", &rsa.PublicKey{}, "k", "", ErrKey},
		{"1024 bits", &small.PublicKey, "k", "", ErrKey},
		{"even exponent", &rsa.PublicKey{N: pub.N, E: 65536}, "k", "", ErrKey},
		{"empty kid", pub, "", "", ErrKey},
		{"A192GCM", pub, "k", "A192GCM", ErrAlgorithm},
		{"A128CBC-HS256", pub, "k", "A128CBC-HS256", ErrAlgorithm},
		{"lower case", pub, "k", "a128gcm", ErrAlgorithm},
		{"dir", pub, "k", "dir", ErrAlgorithm},
	} {
		_, err := NewMLEEncrypter(tc.pub, tc.kid, tc.enc)
		assertOneSentinel(t, err, tc.want)
	}

	_, err = NewMLEDecrypter(nil)
	assertOneSentinel(t, err, ErrKey)
	_, err = NewMLEDecrypter(small)
	assertOneSentinel(t, err, ErrKey)
	broken := *mleKey(t)
	broken.D = small.D
	_, err = NewMLEDecrypter(&broken)
	assertOneSentinel(t, err, ErrKey)
}

func TestZeroValues(t *testing.T) {
	t.Parallel()
	good := vec(t, "field-card").Compact
	for _, c := range []*FieldCipher{nil, {}} {
		_, err := c.Encrypt([]byte("x"))
		assertOneSentinel(t, err, ErrKey)
		_, err = c.EncryptJSON("x")
		assertOneSentinel(t, err, ErrKey)
		_, err = c.Decrypt(good)
		assertOneSentinel(t, err, ErrKey)
	}
	for _, e := range []*MLEEncrypter{nil, {}} {
		_, err := e.Encrypt([]byte("x"), time.Now())
		assertOneSentinel(t, err, ErrKey)
	}
	for _, d := range []*MLEDecrypter{nil, {}} {
		_, _, err := d.Decrypt(vec(t, "mle-a128gcm").Compact)
		assertOneSentinel(t, err, ErrKey)
	}
	assert.Equal(t, "jwe.MLEDecrypter{}", fmt.Sprint(MLEDecrypter{}))
	assert.Equal(t, `jwe.MLEEncrypter{kid: "SBX-MLE-KEY-01", enc: A128GCM}`, fmt.Sprint(mleEncrypter(t, "")))
	assert.Equal(t, `jwe.FieldCipher{kid: "SBXENCAPIKEY01"}`, fmt.Sprint(fieldCipher(t)))
}

func TestParseKeysPEM(t *testing.T) {
	t.Parallel()
	priv := mleKey(t)
	for _, name := range []string{"mle-cert.pem", "mle-public-pkix.pem", "mle-public-pkcs1.pem"} {
		pub, err := ParsePublicKeyPEM(readTestdata(t, name))
		require.NoError(t, err, name)
		assert.True(t, pub.Equal(&priv.PublicKey), name)
	}
	for _, name := range []string{"mle-private-pkcs1.pem", "mle-private-pkcs8.pem"} {
		k, err := ParsePrivateKeyPEM(readTestdata(t, name))
		require.NoError(t, err, name)
		assert.True(t, k.Equal(priv), name)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	ecPKIX, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big1()}
	ecCert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	require.NoError(t, err)
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"EC PKIX", enc("PUBLIC KEY", ecPKIX)},
		{"EC certificate", enc("CERTIFICATE", ecCert)},
		{"garbage certificate", enc("CERTIFICATE", []byte{1, 2, 3})},
		{"garbage PKIX", enc("PUBLIC KEY", []byte{1, 2, 3})},
		{"garbage PKCS1", enc("RSA PUBLIC KEY", []byte{1, 2, 3})},
		{"private key", readTestdata(t, "mle-private-pkcs8.pem")},
	} {
		_, err := ParsePublicKeyPEM(tc.data)
		assertOneSentinel(t, err, ErrKey)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"EC PKCS8", enc("PRIVATE KEY", ecPKCS8)},
		{"EC SEC1", enc("EC PRIVATE KEY", ecDER)},
		{"garbage PKCS1", enc("RSA PRIVATE KEY", []byte{1, 2, 3})},
		{"garbage PKCS8", enc("PRIVATE KEY", []byte{1, 2, 3})},
		{"public key", readTestdata(t, "mle-public-pkix.pem")},
	} {
		_, err := ParsePrivateKeyPEM(tc.data)
		assertOneSentinel(t, err, ErrKey)
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	compact := vec(t, "mle-a128gcm").Compact
	env := MarshalEnvelope(compact)
	assert.Equal(t, `{"encData":"`+compact+`"}`, string(env))
	got, ok := ParseEnvelope(env)
	require.True(t, ok)
	assert.Equal(t, compact, got)

	for _, tc := range []struct {
		body string
		want string
		ok   bool
	}{
		{`{"encData":"a.b.c.d.e"}`, "a.b.c.d.e", true},
		{" \n{ \"encData\" : \"x\" }\n", "x", true},
		{`{"encData":"x","other":1}`, "x", true},
		{`{"encData":""}`, "", true},
		{`{"encData":"\u0041"}`, "A", true},
		{``, "", false},
		{`null`, "", false},
		{`"encData"`, "", false},
		{`["encData"]`, "", false},
		{`{}`, "", false},
		{`{"encdata":"x"}`, "", false},
		{`{"EncData":"x"}`, "", false},
		{`{"encData":1}`, "", false},
		{`{"encData":null}`, "", false},
		{`{"encData":{"a":"b"}}`, "", false},
		{`{"encData":["x"]}`, "", false},
		{`{"encData":"x","encData":"y"}`, "", false},
		{`{"encData":"x"} {}`, "", false},
		{`{"encData":"x"}x`, "", false},
		{`{"encData":"x"`, "", false},
		{`{"responseStatus":{"code":"X"}}`, "", false},
	} {
		got, ok := ParseEnvelope([]byte(tc.body))
		assert.Equal(t, tc.ok, ok, "body %q", tc.body)
		assert.Equal(t, tc.want, got, "body %q", tc.body)
	}
	_, ok = ParseEnvelope([]byte(`{"encData":"` + strings.Repeat("A", 2*DefaultMaxInput) + `"}`))
	assert.False(t, ok)
}

// TestNoSecretsInOutput: errors and printed values never contain secrets,
// key material or plaintext.
func TestNoSecretsInOutput(t *testing.T) {
	t.Parallel()
	const secret = "sbx-enc-shared-secret"
	c := fieldCipher(t)
	d := mleDecrypter(t)
	kekHex := fmt.Sprintf("%x", c.kek)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, *c, d, *d} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret)
			assert.NotContains(t, out, kekHex)
			assert.NotContains(t, out, fmt.Sprintf("%v", c.kek))
			assert.NotContains(t, out, d.priv.D.String())
			assert.NotContains(t, out, d.priv.Primes[0].String())
		}
	}

	const pan = "4111111111111111"
	good, err := c.EncryptJSON(map[string]string{"accountNumber": pan})
	require.NoError(t, err)
	other, err := NewFieldCipher(testFieldKID, "wrong")
	require.NoError(t, err)
	var errs []error
	_, err = other.Decrypt(good)
	errs = append(errs, err)
	_, err = c.Decrypt(setPart(good, 4, flipFirst(part(good, 4))))
	errs = append(errs, err)
	_, err = c.Decrypt(editHeader(t, good, func(h map[string]any) { h["kid"] = secret }))
	errs = append(errs, err)
	_, _, err = d.Decrypt(good)
	errs = append(errs, err)
	var n struct{ AccountNumber int }
	errs = append(errs, c.DecryptJSON(good, &n))
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, err.Error(), pan)
		assert.NotContains(t, err.Error(), kekHex)
	}
}

// TestConcurrentUse exercises one cipher from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := fieldCipher(t)
	e := mleEncrypter(t, "")
	d := mleDecrypter(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			pt := []byte(fmt.Sprintf("message %d Zoë", i))
			for range 10 {
				s, err := c.Encrypt(pt)
				if err != nil {
					errs <- err
					return
				}
				got, err := c.Decrypt(s)
				if err != nil || string(got) != string(pt) {
					errs <- fmt.Errorf("field round trip %d: %v", i, err)
					return
				}
				s, err = e.Encrypt(pt, time.Now())
				if err != nil {
					errs <- err
					return
				}
				got, _, err = d.Decrypt(s)
				if err != nil || string(got) != string(pt) {
					errs <- fmt.Errorf("MLE round trip %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func headerFields(t *testing.T, compact string) map[string][]byte {
	t.Helper()
	var raw [5]string
	require.NoError(t, checkCompact(compact, &raw))
	hdr, err := b64.DecodeString(raw[0])
	require.NoError(t, err)
	fields, ferr := objectFields(hdr)
	require.Nil(t, ferr)
	out := make(map[string][]byte, len(fields))
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func big1() *big.Int { return big.NewInt(1) }
