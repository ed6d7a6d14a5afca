package fido

import "errors"

// Errors returned by this package. Every error the package returns wraps exactly
// one of these sentinels, so callers branch with errors.Is. No error text ever
// contains a fidoBlob, a key or a plaintext.
var (
	// ErrBlobEmpty reports an empty fidoBlob.
	ErrBlobEmpty = errors.New("fido: fidoBlob is empty")
	// ErrBlobTooLarge reports a fidoBlob longer than MaxBlobLen bytes.
	ErrBlobTooLarge = errors.New("fido: fidoBlob is too large")
	// ErrBlobCharset reports a fidoBlob holding a character outside the
	// base64, base64url and JWT alphabets.
	ErrBlobCharset = errors.New("fido: fidoBlob holds an invalid character")

	// ErrIdentifierEmpty reports an assurance without its identifier.
	ErrIdentifierEmpty = errors.New("fido: identifier is empty")
	// ErrUnknownCeremony reports a ceremony other than REGISTER or AUTHENTICATE.
	ErrUnknownCeremony = errors.New("fido: unknown ceremony")
	// ErrDFPSessionIDEmpty reports an assuranceData element without dfpSessionId.
	ErrDFPSessionIDEmpty = errors.New("fido: dfpSessionId is empty")
	// ErrInvalidTimestamp reports a verification time that cannot go on the
	// wire (zero, before 1970, or more than 12 digits of epoch seconds).
	ErrInvalidTimestamp = errors.New("fido: invalid verification timestamp")

	// ErrInvalidKeyring reports a Sealer configuration error: a key that is not
	// 32 bytes, a bad key id, a missing current key or an unparsable keyring spec.
	ErrInvalidKeyring = errors.New("fido: invalid keyring")
	// ErrInvalidBinding reports a Binding with an empty or oversized field.
	ErrInvalidBinding = errors.New("fido: invalid binding")
	// ErrSealedMalformed reports sealed bytes that are not a well-formed envelope
	// (truncated, unknown version, bad key id length).
	ErrSealedMalformed = errors.New("fido: sealed blob is malformed")
	// ErrUnknownKey reports a sealed blob whose key id is not in the keyring.
	ErrUnknownKey = errors.New("fido: sealed blob names an unknown key")
	// ErrLegacySealed reports a sealed blob in format 1, sealed before the
	// device was part of the binding. Sealer.Reseal (agent.Reseal for a whole
	// store) opens it once and rewrites it bound to the device.
	ErrLegacySealed = errors.New("fido: sealed blob predates the device binding; reseal it")
	// ErrOpenFailed reports a sealed blob that does not authenticate: wrong key,
	// tampered bytes, or a binding (user, token) other than the one it was sealed to.
	ErrOpenFailed = errors.New("fido: sealed blob does not open")

	// ErrInvalidOptions reports WebAuthn options JSON that a browser's
	// parseCreationOptionsFromJSON / parseRequestOptionsFromJSON would refuse.
	ErrInvalidOptions = errors.New("fido: invalid WebAuthn options")
	// ErrMissingChallenge reports WebAuthn options without a challenge.
	ErrMissingChallenge = errors.New("fido: WebAuthn options carry no challenge")
	// ErrUnsupportedAlgorithm reports creation options whose pubKeyCredParams
	// do not offer ES256 (COSE -7).
	ErrUnsupportedAlgorithm = errors.New("fido: no supported public key algorithm (need ES256, -7)")
	// ErrUnsupportedAttachment reports creation options that ask for a
	// cross-platform authenticator; the software authenticator is a platform one.
	ErrUnsupportedAttachment = errors.New("fido: authenticator attachment not supported")
	// ErrInvalidOrigin reports a ClientOrigin that is not a serialized origin
	// a browser could present (or an insecure origin other than localhost).
	ErrInvalidOrigin = errors.New("fido: invalid client origin")
	// ErrRPIDMismatch reports an RP id that is not the origin's host or a
	// parent domain of it, or that is an IP address.
	ErrRPIDMismatch = errors.New("fido: RP id does not match the origin")
	// ErrCredentialExcluded reports a registration whose excludeCredentials
	// names a credential this authenticator already holds.
	ErrCredentialExcluded = errors.New("fido: authenticator already holds an excluded credential")
	// ErrNoCredential reports an assertion request for which the authenticator
	// holds no matching credential.
	ErrNoCredential = errors.New("fido: no matching credential")
)
