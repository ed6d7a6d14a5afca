package fido_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
)

type waUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return "alice" }
func (u *waUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func TestGoWebAuthnSmoke(t *testing.T) {
	wa, err := webauthn.New(&webauthn.Config{RPID: "localhost", RPDisplayName: "Sandbox", RPOrigins: []string{"http://localhost:8443"}})
	require.NoError(t, err)
	u := &waUser{id: bytes.Repeat([]byte{7}, 16)}
	cc, sess, err := wa.BeginRegistration(u)
	require.NoError(t, err)
	opts, err := json.Marshal(cc)
	require.NoError(t, err)
	a, err := fido.NewAuthenticator()
	require.NoError(t, err)
	resp, err := a.Register(opts, fido.ClientOrigin{Origin: "http://localhost:8443"})
	require.NoError(t, err)
	t.Logf("%s", resp)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	require.NoError(t, err)
	cred, err := wa.CreateCredential(u, *sess, parsed)
	require.NoError(t, err)
	_ = cred
}
