package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// The relying party side of the iFrame's passkey ceremonies. The sandbox is
// Visa's iFrame, so it is the RP: RP id = host of the base URL, origin = the
// base URL's origin. A ceremony in the browser page inside a merchant's page
// is cross-origin and names that page as its top origin; JSON mode and the
// popup are top-level.

// rp returns the RP id (host of the base URL) and the base URL without a
// trailing slash.
func (a *authState) rp() (rpID, base string, err error) {
	base = strings.TrimRight(a.d.baseURL(), "/")
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", errRP
	}
	if net.ParseIP(u.Hostname()) != nil {
		return "", "", fmt.Errorf("%w: %q is an IP address", errRP, u.Hostname())
	}
	return u.Hostname(), base, nil
}

// origin returns the serialized origin of the base URL.
func (a *authState) origin() (string, error) {
	_, base, err := a.rp()
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(base)
	return u.Scheme + "://" + u.Host, nil
}

// ceremonyFrame says where a ceremony runs: top-level (JSON mode, popup)
// or in an iframe whose top-level page is topOrigin.
type ceremonyFrame struct {
	crossOrigin bool
	topOrigin   string
}

// relyingParty builds the go-webauthn RP for one ceremony frame.
func (a *authState) relyingParty(f ceremonyFrame) (*webauthn.WebAuthn, error) {
	rpID, _, err := a.rp()
	if err != nil {
		return nil, err
	}
	origin, err := a.origin()
	if err != nil {
		return nil, err
	}
	cfg := &webauthn.Config{
		RPID:                  rpID,
		RPDisplayName:         rpDisplayName,
		RPOrigins:             []string{origin},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
	}
	if f.crossOrigin {
		cfg.RPTopOrigins = []string{f.topOrigin}
		cfg.RPTopOriginVerificationMode = protocol.TopOriginExplicitVerificationMode
		cfg.RPAllowCrossOrigin = true
	}
	return webauthn.New(cfg)
}

// waUser is the WebAuthn user of a passkey slot: one per (token, device),
// with a random user handle.
type waUser struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (c *challenge) user(pk *passkey) *waUser {
	u := &waUser{id: c.userID, name: c.userName}
	if pk != nil {
		u.creds = []webauthn.Credential{pk.cred}
	}
	return u
}

// withCreationChallenge supplies the challenge of the signed payload to
// BeginRegistration (go-webauthn has WithChallenge only for logins).
func withCreationChallenge(ch []byte) webauthn.RegistrationOption {
	return func(o *protocol.PublicKeyCredentialCreationOptions) error {
		o.Challenge = ch
		return nil
	}
}

// beginCeremony builds the WebAuthn options for challenge c: creation
// options for REGISTER, request options (allowCredentials = the slot's
// passkey) for AUTHENTICATE. It returns the publicKey options JSON, as
// PublicKeyCredential.parse{Creation,Request}OptionsFromJSON take it, and
// the go-webauthn session data that finishCeremony needs.
func beginCeremony(wa *webauthn.WebAuthn, c *challenge, pk *passkey) ([]byte, webauthn.SessionData, error) {
	if c.action == "REGISTER" {
		creation, sd, err := wa.BeginRegistration(c.user(pk), withCreationChallenge(c.raw))
		if err != nil {
			return nil, webauthn.SessionData{}, fmt.Errorf("sandbox: begin registration: %w", err)
		}
		js, err := json.Marshal(creation.Response)
		if err != nil {
			return nil, webauthn.SessionData{}, fmt.Errorf("sandbox: encode creation options: %w", err)
		}
		return js, *sd, nil
	}
	if pk == nil || pk.identifier != c.identifier {
		return nil, webauthn.SessionData{}, errNoPasskey
	}
	assertion, sd, err := wa.BeginLogin(c.user(pk), webauthn.WithChallenge(c.raw))
	if err != nil {
		return nil, webauthn.SessionData{}, fmt.Errorf("sandbox: begin login: %w", err)
	}
	js, err := json.Marshal(assertion.Response)
	if err != nil {
		return nil, webauthn.SessionData{}, fmt.Errorf("sandbox: encode request options: %w", err)
	}
	return js, *sd, nil
}

// finishCeremony verifies a credential.toJSON() response against the
// ceremony begun by beginCeremony and returns the registered or updated
// credential.
func finishCeremony(wa *webauthn.WebAuthn, c *challenge, pk *passkey, sd webauthn.SessionData, response []byte) (*webauthn.Credential, error) {
	if c.action == "REGISTER" {
		parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
		if err != nil {
			return nil, fmt.Errorf("sandbox: parse registration response: %w", err)
		}
		cred, err := wa.CreateCredential(c.user(pk), sd, parsed)
		if err != nil {
			return nil, fmt.Errorf("sandbox: verify registration: %w", err)
		}
		return cred, nil
	}
	if pk == nil {
		return nil, errNoPasskey
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("sandbox: parse authentication response: %w", err)
	}
	cred, err := wa.ValidateLogin(c.user(pk), sd, parsed)
	if err != nil {
		return nil, fmt.Errorf("sandbox: verify assertion: %w", err)
	}
	if cred.Authenticator.CloneWarning {
		return nil, fmt.Errorf("sandbox: verify assertion: signature counter did not increase")
	}
	return cred, nil
}
