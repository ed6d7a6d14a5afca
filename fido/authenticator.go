package fido

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// COSE and authenticator-data constants.
const (
	// AlgES256 is the COSE algorithm identifier of ECDSA P-256 with SHA-256,
	// the only algorithm the software authenticator creates.
	AlgES256 = -7

	coseKtyEC2         = 2
	coseCrvP256        = 1
	credIDLen          = 32
	flagUP        byte = 0x01
	flagUV        byte = 0x04
	flagAT        byte = 0x40
	maxUserIDLen       = 64
	publicKeyType      = "public-key"
)

// ClientOrigin is what the browser (the WebAuthn client) contributes to
// clientDataJSON: the calling frame's origin and, for a call from a
// cross-origin iframe such as Visa's Auth iFrame inside a merchant page, the
// top-level origin.
type ClientOrigin struct {
	// Origin is the serialized origin of the calling document, e.g.
	// "http://localhost:8443". It must be https, or http on localhost.
	Origin string
	// TopOrigin is the top-level page's origin; required when CrossOrigin is
	// true and refused otherwise (browsers send topOrigin only cross-origin).
	TopOrigin string
	// CrossOrigin reports a call from an iframe not same-origin with its ancestors.
	CrossOrigin bool
}

// clientContext is a validated ClientOrigin plus the effective RP id.
type clientContext struct {
	origin      string
	topOrigin   string
	crossOrigin bool
	rpID        string
}

// Option configures an Authenticator.
type Option func(*Authenticator) error

// WithAAGUID sets the AAGUID the authenticator reports in attested credential
// data (default: all zero, as for an authenticator that does not identify
// its model).
func WithAAGUID(aaguid [16]byte) Option {
	return func(a *Authenticator) error {
		a.aaguid = aaguid
		return nil
	}
}

// WithTransports sets the transports reported in registration responses
// (default ["internal"], a platform authenticator). Each must be non-empty.
func WithTransports(transports ...string) Option {
	return func(a *Authenticator) error {
		for _, t := range transports {
			if t == "" {
				return fmt.Errorf("%w: empty transport", ErrInvalidOptions)
			}
		}
		a.transports = append([]string(nil), transports...)
		return nil
	}
}

// Authenticator is a software FIDO2 platform authenticator together with the
// browser-side work around it: it takes WebAuthn options JSON and returns the
// JSON of PublicKeyCredential.toJSON(), which relying parties (go-webauthn's
// FinishRegistration / FinishLogin, Visa's iFrame backend, the sandbox) accept
// as if a browser had produced it.
//
// It creates discoverable ES256 (P-256) credentials with packed self
// attestation, sets the UP and UV flags (BE and BS off), and keeps a signature
// counter per credential that increases on every assertion. As CTAP2
// prescribes for discoverable credentials, registering again for the same RP
// id and user handle replaces the earlier credential. Keys live in memory only.
//
// It exists for tests, for the sandbox's JSON mode (where it plays the user's
// device) and for headless agents. It is never a substitute for a user's own
// device in production: whoever holds it holds the passkeys.
//
// An Authenticator is safe for concurrent use.
type Authenticator struct {
	aaguid     [16]byte
	transports []string

	mu    sync.Mutex
	creds []*credential // in creation order
}

type credential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	rpID       string
	userHandle []byte

	counter uint32 // guarded by Authenticator.mu
}

// NewAuthenticator returns an empty authenticator configured by opts.
func NewAuthenticator(opts ...Option) (*Authenticator, error) {
	a := &Authenticator{transports: []string{"internal"}}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Credentials returns how many credentials the authenticator holds for rpID.
func (a *Authenticator) Credentials(rpID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.creds {
		if c.rpID == rpID {
			n++
		}
	}
	return n
}

// String describes the authenticator without its keys.
func (a *Authenticator) String() string {
	a.mu.Lock()
	n := len(a.creds)
	a.mu.Unlock()
	return "fido.Authenticator{credentials:" + strconv.Itoa(n) + "}"
}

// GoString is String, so %#v shows no key material.
func (a *Authenticator) GoString() string { return a.String() }

// Register performs navigator.credentials.create: it reads
// PublicKeyCredentialCreationOptionsJSON (bare, or wrapped in "publicKey" as
// go-webauthn's CredentialCreation marshals it), creates a new credential and
// returns the registration response JSON (id, rawId, type, response{
// clientDataJSON, attestationObject, authenticatorData, transports,
// publicKey, publicKeyAlgorithm}, authenticatorAttachment "platform",
// clientExtensionResults).
//
// Errors wrap ErrInvalidOptions, ErrMissingChallenge, ErrUnsupportedAlgorithm,
// ErrUnsupportedAttachment, ErrInvalidOrigin, ErrRPIDMismatch or
// ErrCredentialExcluded; on error nothing is stored.
func (a *Authenticator) Register(optionsJSON []byte, o ClientOrigin) ([]byte, error) {
	var opts creationOptions
	if err := decodeOptions(optionsJSON, &opts); err != nil {
		return nil, err
	}
	if len(opts.Challenge) == 0 {
		return nil, ErrMissingChallenge
	}
	if n := len(opts.User.ID); n == 0 || n > maxUserIDLen {
		return nil, fmt.Errorf("%w: user.id must be 1..%d bytes, got %d", ErrInvalidOptions, maxUserIDLen, n)
	}
	if !offersES256(opts.PubKeyCredParams) {
		return nil, ErrUnsupportedAlgorithm
	}
	if att := opts.AuthenticatorSelection.AuthenticatorAttachment; att == "cross-platform" {
		return nil, fmt.Errorf("%w: %q requested, this is a platform authenticator", ErrUnsupportedAttachment, att)
	}
	cc, err := newClientContext(o, opts.RP.ID)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fido: generate key: %w", err)
	}
	cred := &credential{
		id:         make([]byte, credIDLen),
		key:        key,
		rpID:       cc.rpID,
		userHandle: bytes.Clone(opts.User.ID),
	}
	if _, err := rand.Read(cred.id); err != nil {
		return nil, fmt.Errorf("fido: credential id: %w", err)
	}
	cose, spki, err := encodePublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}

	authData := make([]byte, 0, 37+16+2+credIDLen+len(cose))
	authData = appendAuthDataHeader(authData, cc.rpID, flagUP|flagUV|flagAT, 0)
	authData = append(authData, a.aaguid[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(cred.id)))
	authData = append(authData, cred.id...)
	authData = append(authData, cose...)

	cdj := clientDataJSON("webauthn.create", opts.Challenge, cc)
	sig, err := signOver(key, authData, cdj)
	if err != nil {
		return nil, err
	}
	attObj, err := ctap2Enc().Marshal(attestationObject{
		Fmt:      "packed",
		AttStmt:  packedAttStmt{Alg: AlgES256, Sig: sig},
		AuthData: authData,
	})
	if err != nil {
		return nil, fmt.Errorf("fido: encode attestationObject: %w", err)
	}

	ext := map[string]any{}
	if opts.Extensions.CredProps {
		ext["credProps"] = map[string]bool{"rk": true}
	}
	out, err := json.Marshal(registrationResponseJSON{
		ID:    base64.RawURLEncoding.EncodeToString(cred.id),
		RawID: cred.id,
		Response: attestationResponseJSON{
			ClientDataJSON:     cdj,
			AuthenticatorData:  authData,
			Transports:         a.transports,
			PublicKey:          spki,
			PublicKeyAlgorithm: AlgES256,
			AttestationObject:  attObj,
		},
		AuthenticatorAttachment: "platform",
		ClientExtensionResults:  ext,
		Type:                    publicKeyType,
	})
	if err != nil {
		return nil, fmt.Errorf("fido: encode registration response: %w", err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range opts.ExcludeCredentials {
		if a.findLocked(cc.rpID, ex.ID) != nil {
			return nil, ErrCredentialExcluded
		}
	}
	// CTAP2 authenticatorMakeCredential: a new discoverable credential
	// replaces the one held for the same RP id and user handle.
	a.creds = slices.DeleteFunc(a.creds, func(c *credential) bool {
		return c.rpID == cred.rpID && bytes.Equal(c.userHandle, cred.userHandle)
	})
	a.creds = append(a.creds, cred)
	return out, nil
}

// Authenticate performs navigator.credentials.get: it reads
// PublicKeyCredentialRequestOptionsJSON (bare, or wrapped in "publicKey" as
// go-webauthn's CredentialAssertion marshals it), picks a credential for the
// RP id (the first one in allowCredentials it holds; or, when the list is
// empty, its most recent discoverable credential for the RP), increments its
// signature counter and returns the authentication response JSON (id, rawId,
// type, response{clientDataJSON, authenticatorData, signature, userHandle},
// authenticatorAttachment "platform", clientExtensionResults).
//
// Errors wrap ErrInvalidOptions, ErrMissingChallenge, ErrInvalidOrigin,
// ErrRPIDMismatch or ErrNoCredential; bad input moves no counter.
func (a *Authenticator) Authenticate(optionsJSON []byte, o ClientOrigin) ([]byte, error) {
	var opts requestOptions
	if err := decodeOptions(optionsJSON, &opts); err != nil {
		return nil, err
	}
	if len(opts.Challenge) == 0 {
		return nil, ErrMissingChallenge
	}
	cc, err := newClientContext(o, opts.RPID)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	cred := a.selectLocked(cc.rpID, opts.AllowCredentials)
	if cred == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("%w for RP id %q", ErrNoCredential, cc.rpID)
	}
	cred.counter++
	counter := cred.counter
	a.mu.Unlock()

	authData := appendAuthDataHeader(make([]byte, 0, 37), cc.rpID, flagUP|flagUV, counter)
	cdj := clientDataJSON("webauthn.get", opts.Challenge, cc)
	sig, err := signOver(cred.key, authData, cdj)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(authenticationResponseJSON{
		ID:    base64.RawURLEncoding.EncodeToString(cred.id),
		RawID: cred.id,
		Response: assertionResponseJSON{
			ClientDataJSON:    cdj,
			AuthenticatorData: authData,
			Signature:         sig,
			UserHandle:        cred.userHandle,
		},
		AuthenticatorAttachment: "platform",
		ClientExtensionResults:  map[string]any{},
		Type:                    publicKeyType,
	})
	if err != nil {
		return nil, fmt.Errorf("fido: encode authentication response: %w", err)
	}
	return out, nil
}

func (a *Authenticator) findLocked(rpID string, id []byte) *credential {
	for _, c := range a.creds {
		if c.rpID == rpID && bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

func (a *Authenticator) selectLocked(rpID string, allow []credDescriptor) *credential {
	if len(allow) > 0 {
		for _, d := range allow {
			if d.Type != "" && d.Type != publicKeyType {
				continue
			}
			if c := a.findLocked(rpID, d.ID); c != nil {
				return c
			}
		}
		return nil
	}
	for i := len(a.creds) - 1; i >= 0; i-- {
		if a.creds[i].rpID == rpID {
			return a.creds[i]
		}
	}
	return nil
}

// offersES256 reports whether params allow ES256. An empty list means the
// WebAuthn default (ES256 and RS256).
func offersES256(params []credParam) bool {
	if len(params) == 0 {
		return true
	}
	for _, p := range params {
		if p.Type == publicKeyType && p.Alg == AlgES256 {
			return true
		}
	}
	return false
}

func appendAuthDataHeader(b []byte, rpID string, flags byte, counter uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	b = append(b, h[:]...)
	b = append(b, flags)
	return binary.BigEndian.AppendUint32(b, counter)
}

// signOver signs authData ‖ SHA-256(clientDataJSON), the message of both
// packed attestation and assertion, as an ASN.1 DER ECDSA signature.
func signOver(key *ecdsa.PrivateKey, authData, cdj []byte) ([]byte, error) {
	cdh := sha256.Sum256(cdj)
	msg := make([]byte, 0, len(authData)+len(cdh))
	msg = append(append(msg, authData...), cdh[:]...)
	digest := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("fido: sign: %w", err)
	}
	return sig, nil
}

// coseEC2Key is a COSE_Key for an EC2 public key (RFC 9053).
type coseEC2Key struct {
	Kty int64  `cbor:"1,keyasint"`
	Alg int64  `cbor:"3,keyasint"`
	Crv int64  `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

type packedAttStmt struct {
	Alg int64  `cbor:"alg"`
	Sig []byte `cbor:"sig"`
}

type attestationObject struct {
	Fmt      string        `cbor:"fmt"`
	AttStmt  packedAttStmt `cbor:"attStmt"`
	AuthData []byte        `cbor:"authData"`
}

// ctap2Enc is the CTAP2 canonical CBOR encoding (sorted map keys, definite
// lengths, no tags).
var ctap2Enc = sync.OnceValue(func() cbor.EncMode {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic("fido: CTAP2 CBOR options rejected: " + err.Error()) // static options; cannot happen
	}
	return em
})

// encodePublicKey returns the COSE_Key (CTAP2 canonical CBOR) and the
// SubjectPublicKeyInfo DER of pub.
func encodePublicKey(pub *ecdsa.PublicKey) (cose, spki []byte, err error) {
	raw, err := pub.Bytes() // 0x04 ‖ X(32) ‖ Y(32)
	if err != nil || len(raw) != 65 {
		return nil, nil, fmt.Errorf("fido: encode public key: bad point")
	}
	cose, err = ctap2Enc().Marshal(coseEC2Key{
		Kty: coseKtyEC2, Alg: AlgES256, Crv: coseCrvP256, X: raw[1:33], Y: raw[33:],
	})
	if err != nil {
		return nil, nil, fmt.Errorf("fido: encode COSE key: %w", err)
	}
	spki, err = x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("fido: encode SPKI: %w", err)
	}
	return cose, spki, nil
}

// newClientContext validates o as a browser would present it and derives the
// effective RP id (rpID, or the origin's host when rpID is empty), which must
// be the origin's host or a parent domain of it, and not an IP address. (The
// public suffix list is not consulted.)
func newClientContext(o ClientOrigin, rpID string) (clientContext, error) {
	origin, host, err := serializeOrigin(o.Origin, "origin")
	if err != nil {
		return clientContext{}, err
	}
	cc := clientContext{origin: origin, crossOrigin: o.CrossOrigin}
	switch {
	case o.CrossOrigin && o.TopOrigin == "":
		return clientContext{}, fmt.Errorf("%w: a cross-origin call needs TopOrigin", ErrInvalidOrigin)
	case !o.CrossOrigin && o.TopOrigin != "":
		return clientContext{}, fmt.Errorf("%w: TopOrigin is sent only with CrossOrigin", ErrInvalidOrigin)
	case o.CrossOrigin:
		if cc.topOrigin, _, err = serializeOrigin(o.TopOrigin, "top origin"); err != nil {
			return clientContext{}, err
		}
	}
	if rpID == "" {
		rpID = host
	}
	if net.ParseIP(strings.Trim(rpID, "[]")) != nil {
		return clientContext{}, fmt.Errorf("%w: RP id %q is an IP address, browsers require a domain", ErrRPIDMismatch, rpID)
	}
	lrp := strings.ToLower(rpID)
	if lrp != host && !strings.HasSuffix(host, "."+lrp) {
		return clientContext{}, fmt.Errorf("%w: RP id %q is not %q or a parent domain of it", ErrRPIDMismatch, rpID, host)
	}
	cc.rpID = lrp
	return cc, nil
}

// serializeOrigin checks that s is an origin (scheme://host[:port], no path,
// query, fragment or credentials) in a secure context (https, or http on
// localhost/loopback), and returns its serialization (lower case, default
// port dropped) and its host without port.
func serializeOrigin(s, what string) (origin, host string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %s %q %s", ErrInvalidOrigin, what, s, why)
	}
	u, perr := url.Parse(s)
	if perr != nil || s == "" {
		return bad("is not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return bad("is not http(s)")
	}
	if u.Opaque != "" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return bad("is not an origin (scheme://host[:port])")
	}
	host = strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if scheme == "http" && !isLocalhost(host) {
		return bad("is not a secure context (use https, or http on localhost)")
	}
	origin = scheme + "://" + host
	if strings.Contains(host, ":") {
		origin = scheme + "://[" + host + "]"
	}
	if port != "" {
		origin += ":" + port
	}
	return origin, host, nil
}

func isLocalhost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
