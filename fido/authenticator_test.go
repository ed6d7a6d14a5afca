package fido_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
)

// The Auth iFrame's view: the RP (and the iframe) live on localhost:9443,
// the merchant or agent page that embeds it on 127.0.0.1:8080.
const (
	iframeOrigin = "http://localhost:9443"
	topOrigin    = "http://127.0.0.1:8080"
)

var (
	sameOrigin  = fido.ClientOrigin{Origin: iframeOrigin}
	crossOrigin = fido.ClientOrigin{Origin: iframeOrigin, TopOrigin: topOrigin, CrossOrigin: true}
)

type waUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return "alice@example.com" }
func (u *waUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newRP(t testing.TB, allowCross bool) *webauthn.WebAuthn {
	t.Helper()
	cfg := &webauthn.Config{RPID: "localhost", RPDisplayName: "Visa sandbox", RPOrigins: []string{iframeOrigin}}
	if allowCross {
		cfg.RPAllowCrossOrigin = true
		cfg.RPTopOrigins = []string{topOrigin}
		cfg.RPTopOriginVerificationMode = protocol.TopOriginExplicitVerificationMode
	}
	wa, err := webauthn.New(cfg)
	require.NoError(t, err)
	return wa
}

func newAuthenticator(t testing.TB, opts ...fido.Option) *fido.Authenticator {
	t.Helper()
	a, err := fido.NewAuthenticator(opts...)
	require.NoError(t, err)
	return a
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// register runs a full registration against go-webauthn and stores the credential in u.
func register(t testing.TB, wa *webauthn.WebAuthn, a *fido.Authenticator, u *waUser, o fido.ClientOrigin, opts ...webauthn.RegistrationOption) (*webauthn.Credential, []byte) {
	t.Helper()
	creation, sess, err := wa.BeginRegistration(u, opts...)
	require.NoError(t, err)
	resp, err := a.Register(mustJSON(t, creation), o)
	require.NoError(t, err)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	require.NoError(t, err)
	cred, err := wa.CreateCredential(u, *sess, parsed)
	require.NoError(t, err)
	u.creds = append(u.creds, *cred)
	return cred, resp
}

// login runs a full login (allowCredentials) against go-webauthn and updates u's credential.
func login(t testing.TB, wa *webauthn.WebAuthn, a *fido.Authenticator, u *waUser, o fido.ClientOrigin) *webauthn.Credential {
	t.Helper()
	assertion, sess, err := wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	require.NoError(t, err)
	resp, err := a.Authenticate(mustJSON(t, assertion), o)
	require.NoError(t, err)
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	require.NoError(t, err)
	cred, err := wa.ValidateLogin(u, *sess, parsed)
	require.NoError(t, err)
	for i := range u.creds {
		if bytes.Equal(u.creds[i].ID, cred.ID) {
			u.creds[i] = *cred
		}
	}
	return cred
}

func TestAuthenticatorWithGoWebAuthn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		origin     fido.ClientOrigin
		allowCross bool
	}{
		{"same origin", sameOrigin, false},
		{"cross-origin iframe", crossOrigin, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wa := newRP(t, tc.allowCross)
			a := newAuthenticator(t)
			u := &waUser{id: []byte("user-handle-0001")}

			cred, _ := register(t, wa, a, u, tc.origin,
				webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
					AuthenticatorAttachment: protocol.Platform,
					ResidentKey:             protocol.ResidentKeyRequirementRequired,
					UserVerification:        protocol.VerificationRequired,
				}),
				webauthn.WithConveyancePreference(protocol.PreferDirectAttestation))
			assert.Equal(t, "packed", cred.AttestationFormat)
			assert.Equal(t, "basic_surrogate", cred.AttestationType, "go-webauthn's (FIDO metadata) name for self attestation")
			assert.True(t, cred.Flags.UserPresent)
			assert.True(t, cred.Flags.UserVerified)
			assert.False(t, cred.Flags.BackupEligible)
			assert.False(t, cred.Flags.BackupState)
			assert.Equal(t, uint32(0), cred.Authenticator.SignCount)
			assert.Equal(t, []protocol.AuthenticatorTransport{protocol.Internal}, cred.Transport)
			assert.Equal(t, 1, a.Credentials("localhost"))
			assert.Equal(t, 0, a.Credentials("example.com"))

			for want := uint32(1); want <= 3; want++ {
				got := login(t, wa, a, u, tc.origin)
				assert.Equal(t, want, got.Authenticator.SignCount, "the counter increases on every use")
				assert.False(t, got.Authenticator.CloneWarning)
			}

			// Discoverable (usernameless) login: no allowCredentials, the RP
			// finds the user by the returned userHandle.
			assertion, sess, err := wa.BeginDiscoverableLogin()
			require.NoError(t, err)
			resp, err := a.Authenticate(mustJSON(t, assertion), tc.origin)
			require.NoError(t, err)
			parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
			require.NoError(t, err)
			found, got, err := wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
				if !bytes.Equal(userHandle, u.id) {
					return nil, fmt.Errorf("unknown user handle")
				}
				return u, nil
			}, *sess, parsed)
			require.NoError(t, err)
			assert.Equal(t, u.id, found.WebAuthnID())
			assert.Equal(t, uint32(4), got.Authenticator.SignCount)
		})
	}
}

func TestAuthenticatorRPRejectsWhatItShould(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)

	// A cross-origin ceremony really says so: an RP that does not allow
	// cross-origin calls refuses it, and so does one expecting another top origin.
	u := &waUser{id: []byte("user-2")}
	creation, sess, err := newRP(t, false).BeginRegistration(u)
	require.NoError(t, err)
	resp, err := a.Register(mustJSON(t, creation), crossOrigin)
	require.NoError(t, err)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	require.NoError(t, err)
	_, err = newRP(t, false).CreateCredential(u, *sess, parsed)
	require.Error(t, err)

	otherTop, err := webauthn.New(&webauthn.Config{
		RPID: "localhost", RPDisplayName: "x", RPOrigins: []string{iframeOrigin},
		RPAllowCrossOrigin: true, RPTopOrigins: []string{"https://merchant.example"},
		RPTopOriginVerificationMode: protocol.TopOriginExplicitVerificationMode,
	})
	require.NoError(t, err)
	_, err = otherTop.CreateCredential(u, *sess, parsed)
	require.Error(t, err)

	// A response for one challenge does not satisfy another session.
	_, sess2, err := newRP(t, true).BeginRegistration(u)
	require.NoError(t, err)
	_, err = newRP(t, true).CreateCredential(u, *sess2, parsed)
	require.Error(t, err)

	// The right RP accepts it.
	_, err = newRP(t, true).CreateCredential(u, *sess, parsed)
	require.NoError(t, err)
}

func TestAuthenticatorAAGUIDAndCredProps(t *testing.T) {
	t.Parallel()
	aaguid := [16]byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}
	a := newAuthenticator(t, fido.WithAAGUID(aaguid), fido.WithTransports("hybrid", "internal"))
	wa := newRP(t, false)
	u := &waUser{id: []byte("user-3")}
	cred, resp := register(t, wa, a, u, sameOrigin, webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	assert.Equal(t, aaguid[:], cred.Authenticator.AAGUID)
	assert.ElementsMatch(t, []protocol.AuthenticatorTransport{protocol.Hybrid, protocol.Internal}, cred.Transport)

	var out struct {
		ClientExtensionResults map[string]any `json:"clientExtensionResults"`
	}
	require.NoError(t, json.Unmarshal(resp, &out))
	assert.Equal(t, map[string]any{"credProps": map[string]any{"rk": true}}, out.ClientExtensionResults)

	_, err := fido.NewAuthenticator(fido.WithTransports(""))
	require.ErrorIs(t, err, fido.ErrInvalidOptions)
}

type regResponse struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Attach   string `json:"authenticatorAttachment"`
	Response struct {
		ClientDataJSON     string   `json:"clientDataJSON"`
		AttestationObject  string   `json:"attestationObject"`
		AuthenticatorData  string   `json:"authenticatorData"`
		PublicKey          string   `json:"publicKey"`
		PublicKeyAlgorithm int      `json:"publicKeyAlgorithm"`
		Transports         []string `json:"transports"`
		Signature          string   `json:"signature"`
		UserHandle         string   `json:"userHandle"`
	} `json:"response"`
}

func b64d(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestAuthenticatorOutputShape(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	challenge := bytes.Repeat([]byte{0xAB}, 32)
	ch := base64.RawURLEncoding.EncodeToString(challenge)
	// Bare options (no "publicKey" wrapper), padded base64url as some servers send.
	opts := `{"challenge":"` + ch + `=","rp":{"name":"Visa"},"user":{"id":"dXNlci00","name":"a","displayName":"A"},"pubKeyCredParams":[{"type":"public-key","alg":-257},{"type":"public-key","alg":-7}]}`
	raw, err := a.Register([]byte(opts), crossOrigin)
	require.NoError(t, err)

	var r regResponse
	require.NoError(t, json.Unmarshal(raw, &r))
	assert.Equal(t, "public-key", r.Type)
	assert.Equal(t, "platform", r.Attach)
	assert.Equal(t, r.ID, r.RawID)
	assert.Len(t, b64d(t, r.ID), 32)
	assert.Equal(t, -7, r.Response.PublicKeyAlgorithm)
	assert.Equal(t, []string{"internal"}, r.Response.Transports)
	assert.Equal(t,
		`{"type":"webauthn.create","challenge":"`+ch+`","origin":"http://localhost:9443","crossOrigin":true,"topOrigin":"http://127.0.0.1:8080"}`,
		string(b64d(t, r.Response.ClientDataJSON)))

	// attestationObject is CTAP2 canonical CBOR: packed, alg -7, sig, no x5c.
	attObj := b64d(t, r.Response.AttestationObject)
	var obj map[string]cbor.RawMessage
	require.NoError(t, cbor.Unmarshal(attObj, &obj))
	assert.Len(t, obj, 3)
	var stmt map[string]any
	require.NoError(t, cbor.Unmarshal(obj["attStmt"], &stmt))
	assert.Equal(t, int64(-7), stmt["alg"])
	assert.Contains(t, stmt, "sig")
	assert.NotContains(t, stmt, "x5c")
	var generic any
	require.NoError(t, cbor.Unmarshal(attObj, &generic))
	em, err := cbor.CTAP2EncOptions().EncMode()
	require.NoError(t, err)
	canon, err := em.Marshal(generic)
	require.NoError(t, err)
	assert.Equal(t, attObj, canon, "already in CTAP2 canonical form")

	var authData []byte
	require.NoError(t, cbor.Unmarshal(obj["authData"], &authData))
	assert.Equal(t, b64d(t, r.Response.AuthenticatorData), authData)
	assert.Equal(t, byte(0x45), authData[32], "flags: UP, UV, AT; BE and BS off")
	assert.Equal(t, uint32(0), binary.BigEndian.Uint32(authData[33:37]))
	assert.Equal(t, make([]byte, 16), authData[37:53], "zero AAGUID by default")

	// The effective RP id defaulted to the origin's host.
	assert.Equal(t, 1, a.Credentials("localhost"))

	// Authentication output.
	get := `{"publicKey":{"challenge":"` + ch + `","rpId":"localhost","userVerification":"required"}}`
	raw, err = a.Authenticate([]byte(get), sameOrigin)
	require.NoError(t, err)
	var g regResponse
	require.NoError(t, json.Unmarshal(raw, &g))
	assert.Equal(t, r.ID, g.ID)
	assert.Equal(t, "dXNlci00", g.Response.UserHandle)
	assert.NotEmpty(t, g.Response.Signature)
	assert.Equal(t,
		`{"type":"webauthn.get","challenge":"`+ch+`","origin":"http://localhost:9443","crossOrigin":false}`,
		string(b64d(t, g.Response.ClientDataJSON)))
	ad := b64d(t, g.Response.AuthenticatorData)
	assert.Len(t, ad, 37)
	assert.Equal(t, byte(0x05), ad[32], "flags: UP, UV")
	assert.Equal(t, uint32(1), binary.BigEndian.Uint32(ad[33:37]))
}

func counterOf(t testing.TB, resp []byte) uint32 {
	t.Helper()
	var g regResponse
	require.NoError(t, json.Unmarshal(resp, &g))
	return binary.BigEndian.Uint32(b64d(t, g.Response.AuthenticatorData)[33:37])
}

const (
	validChallenge = "q83vEjRWeJq83vEjRWeJqw"
	validUser      = `"user":{"id":"dXNlcg","name":"a","displayName":"A"}`
)

func TestAuthenticatorRegisterErrors(t *testing.T) {
	t.Parallel()
	base := func(rp, extra string) string {
		return `{"challenge":"` + validChallenge + `","rp":{` + rp + `"name":"Visa"},` + validUser + extra + `}`
	}
	tests := []struct {
		name string
		opts string
		o    fido.ClientOrigin
		err  error
	}{
		{"not JSON", `{`, sameOrigin, fido.ErrInvalidOptions},
		{"JSON array", `[]`, sameOrigin, fido.ErrInvalidOptions},
		{"challenge missing", `{"rp":{"name":"x"},` + validUser + `}`, sameOrigin, fido.ErrMissingChallenge},
		{"challenge empty", `{"challenge":"","rp":{"name":"x"},` + validUser + `}`, sameOrigin, fido.ErrMissingChallenge},
		{"challenge not base64url", `{"challenge":"a+b/","rp":{"name":"x"},` + validUser + `}`, sameOrigin, fido.ErrInvalidOptions},
		{"challenge wrong type", `{"challenge":5,"rp":{"name":"x"},` + validUser + `}`, sameOrigin, fido.ErrInvalidOptions},
		{"user id missing", `{"challenge":"` + validChallenge + `","rp":{"name":"x"},"user":{"name":"a"}}`, sameOrigin, fido.ErrInvalidOptions},
		{"user id too long", `{"challenge":"` + validChallenge + `","rp":{"name":"x"},"user":{"id":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 65)) + `"}}`, sameOrigin, fido.ErrInvalidOptions},
		{"no ES256", base(``, `,"pubKeyCredParams":[{"type":"public-key","alg":-257},{"type":"public-key","alg":-8}]`), sameOrigin, fido.ErrUnsupportedAlgorithm},
		{"ES256 of another type", base(``, `,"pubKeyCredParams":[{"type":"other","alg":-7}]`), sameOrigin, fido.ErrUnsupportedAlgorithm},
		{"cross-platform", base(``, `,"authenticatorSelection":{"authenticatorAttachment":"cross-platform"}`), sameOrigin, fido.ErrUnsupportedAttachment},
		{"rp id of another site", base(`"id":"example.com",`, ``), sameOrigin, fido.ErrRPIDMismatch},
		{"rp id a sub-domain of the origin", base(`"id":"a.localhost",`, ``), sameOrigin, fido.ErrRPIDMismatch},
		{"rp id suffix but not a label", base(`"id":"host",`, ``), sameOrigin, fido.ErrRPIDMismatch},
		{"rp id an IP", base(`"id":"127.0.0.1",`, ``), fido.ClientOrigin{Origin: "http://127.0.0.1:8080"}, fido.ErrRPIDMismatch},
		{"origin an IP, rp id defaulted", base(``, ``), fido.ClientOrigin{Origin: "http://127.0.0.1:8080"}, fido.ErrRPIDMismatch},
		{"origin empty", base(``, ``), fido.ClientOrigin{}, fido.ErrInvalidOrigin},
		{"origin with path", base(``, ``), fido.ClientOrigin{Origin: "http://localhost:9443/auth"}, fido.ErrInvalidOrigin},
		{"origin with query", base(``, ``), fido.ClientOrigin{Origin: "http://localhost:9443?x=1"}, fido.ErrInvalidOrigin},
		{"origin ftp", base(``, ``), fido.ClientOrigin{Origin: "ftp://localhost"}, fido.ErrInvalidOrigin},
		{"origin not a URL", base(``, ``), fido.ClientOrigin{Origin: "localhost:9443"}, fido.ErrInvalidOrigin},
		{"origin insecure", base(`"id":"example.com",`, ``), fido.ClientOrigin{Origin: "http://example.com"}, fido.ErrInvalidOrigin},
		{"cross-origin without top", base(``, ``), fido.ClientOrigin{Origin: iframeOrigin, CrossOrigin: true}, fido.ErrInvalidOrigin},
		{"top without cross-origin", base(``, ``), fido.ClientOrigin{Origin: iframeOrigin, TopOrigin: topOrigin}, fido.ErrInvalidOrigin},
		{"top origin invalid", base(``, ``), fido.ClientOrigin{Origin: iframeOrigin, TopOrigin: "http://merchant.example", CrossOrigin: true}, fido.ErrInvalidOrigin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAuthenticator(t)
			out, err := a.Register([]byte(tc.opts), tc.o)
			require.ErrorIs(t, err, tc.err)
			assert.Nil(t, out)
			assert.Zero(t, a.Credentials("localhost"), "nothing stored")
			assert.Zero(t, a.Credentials("127.0.0.1"))
		})
	}
}

func TestAuthenticatorRegisterAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rp   string
		o    fido.ClientOrigin
		rpID string
	}{
		{"https parent domain", `"id":"example.com",`, fido.ClientOrigin{Origin: "https://pay.example.com"}, "example.com"},
		{"https default port dropped", ``, fido.ClientOrigin{Origin: "https://EXAMPLE.com:443/"}, "example.com"},
		{"sub-domain of localhost", `"id":"localhost",`, fido.ClientOrigin{Origin: "http://auth.localhost:1234"}, "localhost"},
		{"no pubKeyCredParams means the defaults", ``, sameOrigin, "localhost"},
		{"rp id compared and hashed in lower case", `"id":"LocalHost",`, sameOrigin, "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAuthenticator(t)
			opts := `{"challenge":"` + validChallenge + `","rp":{` + tc.rp + `"name":"Visa"},` + validUser + `}`
			_, err := a.Register([]byte(opts), tc.o)
			require.NoError(t, err)
			assert.Equal(t, 1, a.Credentials(tc.rpID))
		})
	}
}

func TestAuthenticatorExcludeCredentials(t *testing.T) {
	t.Parallel()
	wa := newRP(t, false)
	a := newAuthenticator(t)
	u := &waUser{id: []byte("user-5")}
	cred, _ := register(t, wa, a, u, sameOrigin)

	creation, _, err := wa.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	require.NoError(t, err)
	_, err = a.Register(mustJSON(t, creation), sameOrigin)
	require.ErrorIs(t, err, fido.ErrCredentialExcluded)
	assert.Equal(t, 1, a.Credentials("localhost"))

	// Another authenticator does not hold it, so it may register.
	other := newAuthenticator(t)
	_, err = other.Register(mustJSON(t, creation), sameOrigin)
	require.NoError(t, err)
	assert.NotEmpty(t, cred.ID)
}

func TestAuthenticatorAuthenticateErrors(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	reg := `{"challenge":"` + validChallenge + `","rp":{"name":"Visa"},` + validUser + `}`
	raw, err := a.Register([]byte(reg), sameOrigin)
	require.NoError(t, err)
	var r regResponse
	require.NoError(t, json.Unmarshal(raw, &r))

	get := func(extra string) string { return `{"challenge":"` + validChallenge + `"` + extra + `}` }
	tests := []struct {
		name string
		opts string
		o    fido.ClientOrigin
		err  error
	}{
		{"not JSON", `nope`, sameOrigin, fido.ErrInvalidOptions},
		{"challenge missing", `{"rpId":"localhost"}`, sameOrigin, fido.ErrMissingChallenge},
		{"wrapped, challenge missing", `{"publicKey":{"rpId":"localhost"}}`, sameOrigin, fido.ErrMissingChallenge},
		{"allowCredentials id not base64url", get(`,"allowCredentials":[{"type":"public-key","id":"%%%"}]`), sameOrigin, fido.ErrInvalidOptions},
		{"unknown credential", get(`,"allowCredentials":[{"type":"public-key","id":"AAAA"}]`), sameOrigin, fido.ErrNoCredential},
		{"known credential of another type", get(`,"allowCredentials":[{"type":"other","id":"` + r.ID + `"}]`), sameOrigin, fido.ErrNoCredential},
		{"another RP id", get(`,"rpId":"example.com"`), fido.ClientOrigin{Origin: "https://example.com"}, fido.ErrNoCredential},
		{"rp id mismatch", get(`,"rpId":"example.com"`), sameOrigin, fido.ErrRPIDMismatch},
		{"bad origin", get(``), fido.ClientOrigin{Origin: "http://localhost:9443/path"}, fido.ErrInvalidOrigin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := a.Authenticate([]byte(tc.opts), tc.o)
			require.ErrorIs(t, err, tc.err)
			assert.Nil(t, out)
		})
	}
	// None of the failures moved the counter.
	out, err := a.Authenticate([]byte(get(`,"allowCredentials":[{"type":"public-key","id":"AAAA"},{"type":"public-key","id":"`+r.ID+`"}]`)), sameOrigin)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), counterOf(t, out))

	_, err = newAuthenticator(t).Authenticate([]byte(get(``)), sameOrigin)
	require.ErrorIs(t, err, fido.ErrNoCredential)
}

func TestAuthenticatorPicksCredential(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	ids := make([]string, 3)
	for i := range ids {
		raw, err := a.Register([]byte(`{"challenge":"`+validChallenge+`","rp":{"name":"Visa"},"user":{"id":"`+base64.RawURLEncoding.EncodeToString([]byte{byte(i + 1)})+`"}}`), sameOrigin)
		require.NoError(t, err)
		var r regResponse
		require.NoError(t, json.Unmarshal(raw, &r))
		ids[i] = r.ID
	}
	pick := func(opts string) string {
		raw, err := a.Authenticate([]byte(opts), sameOrigin)
		require.NoError(t, err)
		var g regResponse
		require.NoError(t, json.Unmarshal(raw, &g))
		return g.ID
	}
	assert.Equal(t, ids[2], pick(`{"challenge":"`+validChallenge+`"}`), "discoverable: the most recent for the RP")
	assert.Equal(t, ids[1], pick(`{"challenge":"`+validChallenge+`","allowCredentials":[{"type":"public-key","id":"AAAA"},{"type":"public-key","id":"`+ids[1]+`"},{"type":"public-key","id":"`+ids[0]+`"}]}`), "the first allowed one it holds")
}

func TestAuthenticatorConcurrentCounters(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	_, err := a.Register([]byte(`{"challenge":"`+validChallenge+`","rp":{"name":"Visa"},`+validUser+`}`), sameOrigin)
	require.NoError(t, err)

	const n = 24
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		counters []uint32
	)
	for range n {
		wg.Go(func() {
			out, err := a.Authenticate([]byte(`{"challenge":"`+validChallenge+`"}`), sameOrigin)
			if !assert.NoError(t, err) {
				return
			}
			c := counterOf(t, out)
			mu.Lock()
			counters = append(counters, c)
			mu.Unlock()
		})
	}
	wg.Add(1)
	go func() { // readers race the writers
		defer wg.Done()
		for range n {
			_ = a.Credentials("localhost")
			_ = a.String()
		}
	}()
	wg.Wait()
	slices.Sort(counters)
	want := make([]uint32, n)
	for i := range want {
		want[i] = uint32(i + 1)
	}
	assert.Equal(t, want, counters, "every assertion got its own counter value")
}

func TestAuthenticatorString(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	_, err := a.Register([]byte(`{"challenge":"`+validChallenge+`","rp":{"name":"Visa"},`+validUser+`}`), sameOrigin)
	require.NoError(t, err)
	assert.Equal(t, "fido.Authenticator{credentials:1}", a.String())
	assert.Equal(t, a.String(), fmt.Sprintf("%#v", a))
}

func TestAuthenticatorSignaturesAreVerified(t *testing.T) {
	t.Parallel()
	wa := newRP(t, true)
	a := newAuthenticator(t)
	u := &waUser{id: []byte("user-6")}
	register(t, wa, a, u, crossOrigin)

	assertion, sess, err := wa.BeginLogin(u)
	require.NoError(t, err)
	resp, err := a.Authenticate(mustJSON(t, assertion), crossOrigin)
	require.NoError(t, err)

	var m map[string]any
	require.NoError(t, json.Unmarshal(resp, &m))
	r := m["response"].(map[string]any)
	sig := b64d(t, r["signature"].(string))
	sig[len(sig)-1] ^= 0x01
	r["signature"] = base64.RawURLEncoding.EncodeToString(sig)
	parsed, err := protocol.ParseCredentialRequestResponseBytes(mustJSON(t, m))
	if err == nil {
		_, err = wa.ValidateLogin(u, *sess, parsed)
	}
	require.Error(t, err, "a tampered signature is refused")

	// The untampered response is accepted.
	parsed, err = protocol.ParseCredentialRequestResponseBytes(resp)
	require.NoError(t, err)
	_, err = wa.ValidateLogin(u, *sess, parsed)
	require.NoError(t, err)
}

func TestAuthenticatorReRegistrationReplaces(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t)
	reg := func(user string) string {
		raw, err := a.Register([]byte(`{"challenge":"`+validChallenge+`","rp":{"name":"Visa"},"user":{"id":"`+user+`"}}`), sameOrigin)
		require.NoError(t, err)
		var r regResponse
		require.NoError(t, json.Unmarshal(raw, &r))
		return r.ID
	}
	get := func(id string) error {
		_, err := a.Authenticate([]byte(`{"challenge":"`+validChallenge+`","allowCredentials":[{"type":"public-key","id":"`+id+`"}]}`), sameOrigin)
		return err
	}
	first := reg("dXNlci0x")
	other := reg("dXNlci0y")
	second := reg("dXNlci0x")
	assert.Equal(t, 2, a.Credentials("localhost"), "same user handle: replaced; other user: kept")
	require.ErrorIs(t, get(first), fido.ErrNoCredential)
	require.NoError(t, get(second))
	require.NoError(t, get(other))
}
