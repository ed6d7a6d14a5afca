package vic

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

var (
	keyOnce sync.Once
	rsaKeys [2]*rsa.PrivateKey
	ecKey   *ecdsa.PrivateKey
)

func testKeys(t testing.TB) ([2]*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecKey = k
	})
	return rsaKeys, ecKey
}

var t0 = time.Unix(1767225700, 0).UTC()

func claimsAt(now time.Time) jwt.MapClaims {
	exp := now.Add(15 * time.Minute).Unix()
	return jwt.MapClaims{
		"iss": "vic-sandbox", "aud": "SBXCLIENT01", "iat": now.Unix(), "exp": exp, "jti": "j1",
		"instructionId": "INS-0001", "clientReferenceId": "CR-1",
		"dynamicData": []any{map[string]any{
			"dynamicDataId": "DD-1", "dynamicDataValue": "417", "dynamicDataExpiration": exp,
			"paymentToken": "4895370012348717", "tokenExpirationMonth": "12", "tokenExpirationYear": "2029",
			"token":                  map[string]any{"paymentToken": "4895370012348717", "tokenExpirationMonth": "12", "tokenExpirationYear": "2029"},
			"transactionReferenceId": "INS-0001",
		}},
	}
}

func sign(t testing.TB, method jwt.SigningMethod, kid string, key any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func jwksServer(t *testing.T, keys func() []jose.JSONWebKey) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys()})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func pubJWK(kid string, k *rsa.PrivateKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func TestVerifySignedPayload(t *testing.T) {
	t.Parallel()
	rk, ek := testKeys(t)
	srv, _ := jwksServer(t, func() []jose.JSONWebKey { return []jose.JSONWebKey{pubJWK("sbx-sig-1", rk[0])} })
	now := func() time.Time { return t0 }
	v, err := NewVerifier(NewJWKS(srv.URL, srv.Client(), WithJWKSClock(now)), WithVerifierClock(now))
	require.NoError(t, err)
	ctx := context.Background()

	good := sign(t, jwt.SigningMethodRS256, "sbx-sig-1", rk[0], claimsAt(t0))
	c, err := v.Verify(ctx, good)
	require.NoError(t, err)
	assert.True(t, c.Verified)
	require.Len(t, c.DynamicData, 1)
	d := c.DynamicData[0]
	assert.Equal(t, "4895370012348717", d.PaymentToken.Reveal())
	assert.Equal(t, "417", d.DynamicDataValue.Reveal())
	assert.Equal(t, "12", d.TokenExpirationMonth)
	assert.Equal(t, "2029", d.TokenExpirationYear)
	assert.Equal(t, "DD-1", d.DynamicDataID)
	assert.Equal(t, "INS-0001", c.InstructionID)
	assert.NotContains(t, d.String(), "417")
	assert.NotContains(t, d.String(), "489537001234")

	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &rk[0].PublicKey)})
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(t0))
	noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	ecTok := sign(t, jwt.SigningMethodES256, "sbx-sig-1", ek, claimsAt(t0))
	tampered := good[:len(good)-4] + flip(good[len(good)-4:])
	parts := strings.Split(good, ".")

	cases := map[string]string{
		"expired":                         sign(t, jwt.SigningMethodRS256, "sbx-sig-1", rk[0], claimsAt(t0.Add(-20*time.Minute))),
		"issued in the future":            sign(t, jwt.SigningMethodRS256, "sbx-sig-1", rk[0], claimsAt(t0.Add(5*time.Minute))),
		"wrong key":                       sign(t, jwt.SigningMethodRS256, "sbx-sig-1", rk[1], claimsAt(t0)),
		"HS256 keyed with the public key": sign(t, jwt.SigningMethodHS256, "sbx-sig-1", pubPEM, claimsAt(t0)),
		"alg none":                        noneTok,
		"ES256 name over an RSA kid":      ecTok,
		"tampered signature":              tampered,
		"payload swapped":                 parts[0] + "." + strings.Split(sign(t, jwt.SigningMethodRS256, "x", rk[1], claimsAt(t0.Add(time.Second))), ".")[1] + "." + parts[2],
		"garbage":                         "not.a.jwt",
		"empty":                           "",
		"oversize":                        strings.Repeat("a", maxPayloadBytes+1),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(ctx, tok)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrPayloadInvalid)
			noCVV2(t, err)
		})
	}
}

func TestVerifyDynamicDataExpiration(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	now := t0
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return now }))
	require.NoError(t, err)
	cl := claimsAt(t0)
	cl["exp"] = t0.Add(time.Hour).Unix()
	cl["dynamicData"].([]any)[0].(map[string]any)["dynamicDataExpiration"] = t0.Add(-2 * time.Minute).Unix()
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "k", rk[0], cl))
	assert.ErrorIs(t, err, ErrPayloadInvalid)
}

func TestJWKSUnknownKidRefreshesOnceAndRotates(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	var mu sync.Mutex
	published := []jose.JSONWebKey{pubJWK("k1", rk[0])}
	srv, hits := jwksServer(t, func() []jose.JSONWebKey {
		mu.Lock()
		defer mu.Unlock()
		return append([]jose.JSONWebKey(nil), published...)
	})
	clock := t0
	now := func() time.Time { return clock }
	jwks := NewJWKS(srv.URL, srv.Client(), WithJWKSClock(now), WithMinRefreshInterval(30*time.Second))
	v, err := NewVerifier(jwks, WithVerifierClock(now))
	require.NoError(t, err)
	ctx := context.Background()

	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "k1", rk[0], claimsAt(t0)))
	require.NoError(t, err)
	assert.EqualValues(t, 1, hits.Load())

	// Right after a fetch an unknown kid refetches nothing: the set is fresh.
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "k2", rk[1], claimsAt(t0)))
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.EqualValues(t, 1, hits.Load())

	// Later, an unknown kid triggers exactly one refresh; it is still unknown.
	clock = clock.Add(31 * time.Second)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "k2", rk[1], claimsAt(clock)))
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.EqualValues(t, 2, hits.Load())
	// A flood of unknown kids within the refresh interval fetches nothing more.
	for range 10 {
		_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "forged", rk[1], claimsAt(clock)))
		assert.ErrorIs(t, err, ErrUnknownKey)
	}
	assert.EqualValues(t, 2, hits.Load())

	// Visa rotates: k2 is published; after the interval the new kid is
	// picked up by one refresh, and k1 tokens keep verifying while listed.
	mu.Lock()
	published = append(published, pubJWK("k2", rk[1]))
	mu.Unlock()
	clock = clock.Add(31 * time.Second)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "k2", rk[1], claimsAt(clock)))
	require.NoError(t, err)
	assert.EqualValues(t, 3, hits.Load())
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "k1", rk[0], claimsAt(clock)))
	require.NoError(t, err)
	assert.EqualValues(t, 3, hits.Load())
}

func TestJWKSBadResponses(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"500":     func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
		"garbage": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{")) },
		"no keys": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) },
		"too big": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat(" ", maxJWKSBytes+1)))
		},
		"weak rsa": weakRSA,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			_, err := NewJWKS(srv.URL, srv.Client()).Key(context.Background(), "k")
			require.Error(t, err)
		})
	}
}

func weakRSA(w http.ResponseWriter, _ *http.Request) {
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k", Use: "sig"}}})
}

func TestStaticKeysFromPEM(t *testing.T) {
	t.Parallel()
	rk, ek := testKeys(t)
	data := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &rk[0].PublicKey)})
	keys, err := ParseKeysPEM(data)
	require.NoError(t, err)
	v, err := NewVerifier(keys, WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "whatever", rk[0], claimsAt(t0)))
	require.NoError(t, err)

	both := append(data, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &ek.PublicKey)})...)
	keys, err = ParseKeysPEM(both)
	require.NoError(t, err)
	assert.Len(t, keys, 2)

	_, err = ParseKeysPEM([]byte("no pem here"))
	assert.Error(t, err)
}

func TestVerifierOptions(t *testing.T) {
	t.Parallel()
	_, err := NewVerifier(nil)
	assert.Error(t, err)
	_, err = NewVerifier(StaticKeys{}, WithAlgorithms("HS256"))
	assert.Error(t, err)
	_, err = NewVerifier(StaticKeys{}, WithAlgorithms("none"))
	assert.Error(t, err)
	_, err = NewVerifier(StaticKeys{}, WithAlgorithms())
	assert.Error(t, err)
	_, err = NewVerifier(StaticKeys{}, WithLeeway(-time.Second))
	assert.Error(t, err)

	// An allow-list of PS256 only refuses an RS256 token.
	rk, _ := testKeys(t)
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithAlgorithms("PS256"), WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "k", rk[0], claimsAt(t0)))
	assert.ErrorIs(t, err, ErrPayloadInvalid)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodPS256, "k", rk[0], claimsAt(t0)))
	assert.NoError(t, err)
}

func TestDecodeUnverified(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	c, err := DecodeCredentialsUnverified(sign(t, jwt.SigningMethodRS256, "k", rk[1], claimsAt(t0)))
	require.NoError(t, err)
	assert.False(t, c.Verified)
	assert.Equal(t, "4895370012348717", c.DynamicData[0].PaymentToken.Reveal())

	// The nested token form alone is read too.
	cl := claimsAt(t0)
	dd := cl["dynamicData"].([]any)[0].(map[string]any)
	delete(dd, "paymentToken")
	delete(dd, "tokenExpirationMonth")
	delete(dd, "tokenExpirationYear")
	c, err = DecodeCredentialsUnverified(sign(t, jwt.SigningMethodRS256, "k", rk[1], cl))
	require.NoError(t, err)
	assert.Equal(t, "12", c.DynamicData[0].TokenExpirationMonth)

	for name, mut := range map[string]func(map[string]any){
		"no token":       func(m map[string]any) { delete(m, "paymentToken"); delete(m, "token") },
		"not luhn":       func(m map[string]any) { m["paymentToken"] = "4895370012348718" },
		"no value":       func(m map[string]any) { delete(m, "dynamicDataValue") },
		"bad month":      func(m map[string]any) { m["tokenExpirationMonth"] = "13" },
		"bad year":       func(m map[string]any) { m["tokenExpirationYear"] = "29" },
		"bad expiration": func(m map[string]any) { m["dynamicDataExpiration"] = "soon" },
	} {
		t.Run(name, func(t *testing.T) {
			cl := claimsAt(t0)
			mut(cl["dynamicData"].([]any)[0].(map[string]any))
			_, err := DecodeCredentialsUnverified(sign(t, jwt.SigningMethodRS256, "k", rk[1], cl))
			assert.ErrorIs(t, err, ErrPayloadInvalid)
		})
	}
	cl = claimsAt(t0)
	cl["dynamicData"] = []any{}
	_, err = DecodeCredentialsUnverified(sign(t, jwt.SigningMethodRS256, "k", rk[1], cl))
	assert.ErrorIs(t, err, ErrPayloadInvalid)
}

func mustPKIX(t testing.TB, pub any) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return b
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestJWKSUnavailable(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	v, err := NewVerifier(NewJWKS(srv.URL, srv.Client(), WithJWKSClock(func() time.Time { return t0 })), WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "k", rk[0], claimsAt(t0)))
	assert.ErrorIs(t, err, ErrPayloadInvalid)
	assert.ErrorIs(t, err, ErrKeysUnavailable)
	assert.EqualValues(t, visa.DefaultMaxAttempts, hits.Load(), "a GET: retried on 503 by the SDK's one classifier, Config.Retry's attempts")

	// A JWKS that cannot be reached is a network failure too.
	srv.Close()
	v, err = NewVerifier(NewJWKS(srv.URL, nil, WithJWKSClock(func() time.Time { return t0 })), WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, "k", rk[0], claimsAt(t0)))
	assert.ErrorIs(t, err, ErrKeysUnavailable)
	assert.ErrorIs(t, err, visa.ErrNetwork)
	assert.Less(t, len(err.Error()), 1024)
}

// signRaw signs claims given as raw bytes, so a test can put in the claims
// segment what no JSON encoder would write.
func signRaw(t testing.TB, kid string, key *rsa.PrivateKey, claims []byte) string {
	t.Helper()
	hdr, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	require.NoError(t, err)
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sig, err := jwt.SigningMethodRS256.Sign(signing, key)
	require.NoError(t, err)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestPayloadTrailingDataRefused: a correctly signed payload whose claims
// segment holds more than one JSON value is refused, verified or not.
func TestPayloadTrailingDataRefused(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	claims, err := json.Marshal(claimsAt(t0))
	require.NoError(t, err)

	// The same claims, signed the same way, with nothing after them: accepted.
	for _, tail := range []string{"", " \n"} {
		c, err := v.Verify(context.Background(), signRaw(t, "k", rk[0], append(slices.Clip(claims), tail...)))
		require.NoError(t, err, "tail %q", tail)
		assert.Equal(t, "417", c.DynamicData[0].DynamicDataValue.Reveal())
	}
	for name, tail := range map[string]string{
		"a second object":             `{"instructionId":"INS-0002"}`,
		"a second object after space": ` {"dynamicData":[]}`,
		"garbage":                     "x",
		"a closing bracket":           "]",
		"a number":                    " 1",
	} {
		t.Run(name, func(t *testing.T) {
			tok := signRaw(t, "k", rk[0], append(slices.Clip(claims), tail...))
			_, err := v.Verify(context.Background(), tok)
			require.ErrorIs(t, err, ErrPayloadInvalid)
			noCVV2(t, err)
			_, err = DecodeCredentialsUnverified(tok)
			require.ErrorIs(t, err, ErrPayloadInvalid)
		})
	}
}

// TestPayloadNumbersExact: dynamicDataExpiration is read as the integer
// written, beyond what a float64 holds, as a JSON number or a string.
func TestPayloadNumbersExact(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	const big = int64(1<<53 + 1) // 9007199254740993: a float64 would read ...992
	for name, exp := range map[string]any{
		"number":        big,
		"string":        "9007199254740993",
		"near now":      t0.Add(10 * time.Minute).Unix(),
		"near now text": strconv.FormatInt(t0.Add(10*time.Minute).Unix(), 10),
	} {
		t.Run(name, func(t *testing.T) {
			cl := claimsAt(t0)
			cl["dynamicData"].([]any)[0].(map[string]any)["dynamicDataExpiration"] = exp
			tok := sign(t, jwt.SigningMethodRS256, "k", rk[0], cl)
			want := big
			if name == "near now" || name == "near now text" {
				want = t0.Add(10 * time.Minute).Unix()
			}
			c, err := v.Verify(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, want, c.DynamicData[0].Expiration.Unix())
			c, err = DecodeCredentialsUnverified(tok)
			require.NoError(t, err)
			assert.Equal(t, want, c.DynamicData[0].Expiration.Unix())
		})
	}
}

// TestPayloadClaimsReuse decodes payloads of different shapes one after
// the other and at once: the pooled claim sets carry nothing of one
// payload into the next (run with -race).
func TestPayloadClaimsReuse(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	big := claimsAt(t0)
	first := dynamicDataOf(big)
	first["tokenExpirationMonth"], first["tokenExpirationYear"], first["dynamicDataId"] = "12", "2029", "DD-BIG"
	entries := []any{first}
	for i := range 3 {
		e := map[string]any{}
		for k, v := range first {
			e[k] = v
		}
		e["transactionReferenceId"] = "TX-" + strconv.Itoa(i)
		entries = append(entries, e)
	}
	big["dynamicData"] = entries
	small := claimsAt(t0)
	only := dynamicDataOf(small)
	for _, k := range []string{"paymentToken", "tokenExpirationMonth", "tokenExpirationYear", "dynamicDataExpiration", "dynamicDataId"} {
		delete(only, k)
	}
	only["token"] = map[string]any{"paymentToken": "4895370012348717", "tokenExpirationMonth": "7", "tokenExpirationYear": "+2030"}
	bigTok := sign(t, jwt.SigningMethodRS256, "k", rk[0], big)
	smallTok := sign(t, jwt.SigningMethodRS256, "k", rk[0], small)
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)

	check := func(t *testing.T) {
		c, err := v.Verify(context.Background(), bigTok)
		require.NoError(t, err)
		require.Len(t, c.DynamicData, 4)
		c, err = v.Verify(context.Background(), smallTok)
		require.NoError(t, err)
		require.Len(t, c.DynamicData, 1)
		d := c.DynamicData[0]
		assert.Equal(t, "07", d.TokenExpirationMonth)
		assert.Equal(t, "2030", d.TokenExpirationYear)
		assert.Empty(t, d.DynamicDataID)
		assert.True(t, d.Expiration.IsZero())
		u, err := DecodeCredentialsUnverified(smallTok)
		require.NoError(t, err)
		assert.Equal(t, c.DynamicData, u.DynamicData)
	}
	check(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				check(t)
			}
		})
	}
	wg.Wait()
}

func dynamicDataOf(c jwt.MapClaims) map[string]any {
	return c["dynamicData"].([]any)[0].(map[string]any)
}

// TestCheckRequestReasons pins the claim and reason of each refusal of
// checkRequest.
func TestCheckRequestReasons(t *testing.T) {
	t.Parallel()
	txs := []wireTransactionData{{TransactionReferenceID: "TX-A"}, {TransactionReferenceID: "TX-B"}}
	creds := func(refs ...string) *Credentials {
		c := &Credentials{InstructionID: "INS-1"}
		for _, r := range refs {
			c.DynamicData = append(c.DynamicData, Credential{TransactionReferenceID: r})
		}
		return c
	}
	require.NoError(t, creds("TX-B", "TX-A").checkRequest("INS-1", txs))
	require.NoError(t, creds("TX-A").checkRequest("INS-1", txs))
	for _, tc := range []struct {
		c             *Credentials
		instruction   string
		claim, reason string
		kind          error
	}{
		{&Credentials{}, "INS-1", "instructionId", "is missing", ErrInstructionMismatch},
		{creds("TX-A"), "INS-2", "instructionId", "names another instruction", ErrInstructionMismatch},
		{creds("TX-A", ""), "INS-1", "dynamicData[1].transactionReferenceId", "is missing", ErrTransactionMismatch},
		{creds("TX-A", "TX-C"), "INS-1", "dynamicData[1].transactionReferenceId", "names a transaction that was not requested", ErrTransactionMismatch},
		{creds("TX-B", "TX-A", "TX-B"), "INS-1", "dynamicData[2].transactionReferenceId", "is repeated", ErrTransactionMismatch},
	} {
		err := tc.c.checkRequest(tc.instruction, txs)
		var ce *ClaimError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.claim, ce.Claim)
		assert.Equal(t, tc.reason, ce.Reason)
		assert.ErrorIs(t, err, tc.kind)
		assert.ErrorIs(t, err, ErrPayloadInvalid)
	}
}

// noCVV2 fails t when err's message shows the test payload's dynamic CVV2
// (417), found with the shared word-boundary scanner.
func noCVV2(t *testing.T, err error) {
	t.Helper()
	sec := testutil.NewSecrets()
	sec.Add("dynamic CVV2", "417")
	sec.Check(t, "the error", err.Error(), testutil.Text)
}
