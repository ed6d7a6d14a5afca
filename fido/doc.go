// Package fido is the passkey vocabulary of the SDK.
//
// In Visa Intelligent Commerce the WebAuthn relying party is Visa, not the
// integrator: the passkey ceremony runs inside Visa's Auth iFrame (journey steps
// 9 and 12), and what the integrator gets back, in the AUTH_COMPLETE
// message's assuranceData, is an Assurance: an opaque fidoBlob (Visa's proof
// of the ceremony, a JWT the SDK never parses), the passkey identifier and the
// RP id. The integrator never sees an attestation or an assertion, so
// production code never verifies WebAuthn itself.
//
// The pieces:
//
//   - Blob holds a fidoBlob. It is a bearer credential for one enrollment or
//     one purchase, so it never prints: every fmt verb, slog and
//     encoding/json show a mask such as "[REDACTED fidoBlob len=812]".
//     Reveal is the one way to the clear value.
//   - NewAssuranceData turns an Assurance into an element of VIC's
//     assuranceData[] (docs/wire.md §6.1): a REGISTER blob goes into
//     fidoAttestationData.code (card enrollment), an AUTHENTICATE blob into
//     fidoAssertionData.code (purchase instructions). AssuranceData.WireJSON
//     is the only place the blob is written out in clear: build it just
//     before sending and never log it.
//   - Sealer keeps blobs encrypted at rest (AES-256-GCM, a key id per
//     envelope, several keys for rotation), bound to the (user, token,
//     device) row they belong to, so a copied ciphertext does not open
//     elsewhere; Reseal moves a blob to the current key (agent.Reseal does
//     it for a whole store).
//     ParseKeyring reads a keyring from a configuration string.
//   - Authenticator is a software FIDO2 platform authenticator that takes the
//     WebAuthn options JSON a browser takes and returns the JSON a browser
//     returns (PublicKeyCredential.toJSON), including cross-origin iframe
//     client data. The sandbox uses it to play the user's device in its JSON
//     mode; tests and headless agents use it too. It is never a substitute
//     for a user's own device in production: whoever holds it holds the
//     passkeys.
//
// Every error wraps a sentinel of this package (errors.Is), and no error, log
// line or formatted value carries a fidoBlob or key material.
package fido
