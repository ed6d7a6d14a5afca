package fido

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// This file holds the WebAuthn JSON shapes the software authenticator reads
// and writes: the options as PublicKeyCredential.parseCreationOptionsFromJSON
// and parseRequestOptionsFromJSON take them, and the results as a browser's
// PublicKeyCredential.toJSON() gives them.

// b64url is a byte string carried as base64url in WebAuthn JSON. Like a
// browser, it tolerates '=' padding on input and writes none.
type b64url []byte

func (b *b64url) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("expected a base64url string")
	}
	dec, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return errors.New("not base64url")
	}
	*b = dec
	return nil
}

func (b b64url) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

type rpEntity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userEntity struct {
	ID          b64url `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

type credParam struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

type credDescriptor struct {
	Type       string   `json:"type"`
	ID         b64url   `json:"id"`
	Transports []string `json:"transports,omitempty"`
}

type authenticatorSelection struct {
	AuthenticatorAttachment string `json:"authenticatorAttachment"`
	ResidentKey             string `json:"residentKey"`
	RequireResidentKey      bool   `json:"requireResidentKey"`
	UserVerification        string `json:"userVerification"`
}

type extensionInputs struct {
	CredProps bool `json:"credProps"`
}

// creationOptions is PublicKeyCredentialCreationOptionsJSON.
type creationOptions struct {
	RP                     rpEntity               `json:"rp"`
	User                   userEntity             `json:"user"`
	Challenge              b64url                 `json:"challenge"`
	PubKeyCredParams       []credParam            `json:"pubKeyCredParams"`
	Timeout                int64                  `json:"timeout"`
	ExcludeCredentials     []credDescriptor       `json:"excludeCredentials"`
	AuthenticatorSelection authenticatorSelection `json:"authenticatorSelection"`
	Hints                  []string               `json:"hints"`
	Attestation            string                 `json:"attestation"`
	Extensions             extensionInputs        `json:"extensions"`
}

// requestOptions is PublicKeyCredentialRequestOptionsJSON.
type requestOptions struct {
	Challenge        b64url           `json:"challenge"`
	Timeout          int64            `json:"timeout"`
	RPID             string           `json:"rpId"`
	AllowCredentials []credDescriptor `json:"allowCredentials"`
	UserVerification string           `json:"userVerification"`
	Hints            []string         `json:"hints"`
}

// unwrapPublicKey accepts either the options themselves or a
// CredentialCreation / CredentialAssertion object that wraps them in
// "publicKey" (what go-webauthn's Begin* return), and returns the options.
func unwrapPublicKey(data []byte) ([]byte, error) {
	var probe struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidOptions)
	}
	if len(probe.PublicKey) > 0 && !bytes.Equal(probe.PublicKey, []byte("null")) {
		return probe.PublicKey, nil
	}
	return data, nil
}

// decodeOptions decodes the (possibly wrapped) options JSON into v. The error
// names the JSON field at fault but never echoes values.
func decodeOptions(data []byte, v any) error {
	inner, err := unwrapPublicKey(data)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(inner, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%w: field %q has the wrong type", ErrInvalidOptions, te.Field)
		}
		return fmt.Errorf("%w: %s", ErrInvalidOptions, jsonErrorText(err))
	}
	return nil
}

// jsonErrorText keeps the useful part of a decoding error from our own
// b64url decoder, and a generic text otherwise.
func jsonErrorText(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "base64url"):
		return "a binary field is not base64url"
	case strings.Contains(msg, "cannot unmarshal"):
		return "a field has the wrong type"
	}
	return "malformed JSON"
}

// Output shapes of PublicKeyCredential.toJSON().

type attestationResponseJSON struct {
	ClientDataJSON     b64url   `json:"clientDataJSON"`
	AuthenticatorData  b64url   `json:"authenticatorData"`
	Transports         []string `json:"transports"`
	PublicKey          b64url   `json:"publicKey"`
	PublicKeyAlgorithm int64    `json:"publicKeyAlgorithm"`
	AttestationObject  b64url   `json:"attestationObject"`
}

type registrationResponseJSON struct {
	ID                      string                  `json:"id"`
	RawID                   b64url                  `json:"rawId"`
	Response                attestationResponseJSON `json:"response"`
	AuthenticatorAttachment string                  `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any          `json:"clientExtensionResults"`
	Type                    string                  `json:"type"`
}

type assertionResponseJSON struct {
	ClientDataJSON    b64url `json:"clientDataJSON"`
	AuthenticatorData b64url `json:"authenticatorData"`
	Signature         b64url `json:"signature"`
	UserHandle        b64url `json:"userHandle,omitempty"`
}

type authenticationResponseJSON struct {
	ID                      string                `json:"id"`
	RawID                   b64url                `json:"rawId"`
	Response                assertionResponseJSON `json:"response"`
	AuthenticatorAttachment string                `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any        `json:"clientExtensionResults"`
	Type                    string                `json:"type"`
}

// clientDataJSON serializes CollectedClientData the way browsers do: members
// in the order type, challenge, origin, crossOrigin, then topOrigin for a
// cross-origin call; no HTML escaping.
func clientDataJSON(ceremonyType string, challenge []byte, o clientContext) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	writeJSONString(&b, ceremonyType)
	b.WriteString(`,"challenge":`)
	writeJSONString(&b, base64.RawURLEncoding.EncodeToString(challenge))
	b.WriteString(`,"origin":`)
	writeJSONString(&b, o.origin)
	if o.crossOrigin {
		b.WriteString(`,"crossOrigin":true,"topOrigin":`)
		writeJSONString(&b, o.topOrigin)
	} else {
		b.WriteString(`,"crossOrigin":false`)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}
