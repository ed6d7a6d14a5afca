// Package jwe implements the JOSE encryption Visa uses, and nothing else.
//
// Two shapes of compact JWE travel between an agent and Visa:
//
//   - VTS field-level encryption (FieldCipher). Card data and risk data
//     fields such as encPaymentInstrument are JWEs with alg A256GCMKW and
//     enc A256GCM. The key-encryption key is SHA-256 of the UTF-8 encryption
//     shared secret, used directly as an AES-256 key; kid is the encryption
//     API key. Like Visa's own examples, the header also carries typ "JOSE",
//     channelSecurityContext "SHARED_SECRET" and iat as a string of seconds.
//
//   - Message Level Encryption of VIC bodies (MLEEncrypter, MLEDecrypter).
//     The whole JSON body is a JWE with alg RSA-OAEP-256 and enc A128GCM
//     (default) or A256GCM, to the recipient's RSA key, with kid the MLE key
//     ID and iat a JSON number of milliseconds. It travels inside the
//     envelope {"encData":"<compact>"} (MarshalEnvelope, ParseEnvelope).
//
// Decryption is strict. Inputs larger than DefaultMaxInput are refused
// before parsing; a compact JWE must have exactly five unpadded base64url
// parts and a protected header that is one JSON object without duplicate
// members; alg and enc must be on a fixed allow-list (never "dir", "none",
// PBES2, RSA1_5 or compression). ParseHeader reads the protected header
// without decrypting, so a server can pick the key by kid first, and
// Header.CheckIssuedAt judges iat (milliseconds, or a string of seconds)
// against a clock skew.
//
// Every error wraps exactly one sentinel (ErrMalformed, ErrAlgorithm,
// ErrKeyID, ErrDecrypt, ErrTooLarge, ErrKey, ErrIssuedAt) and never contains
// key material, secrets or plaintext. Plaintexts are raw bytes, normally
// UTF-8 JSON; nothing is re-encoded. All types are immutable and safe for
// concurrent use.
//
// EmailHash computes the clientWalletAccountEmailAddressHash, and
// ParsePublicKeyPEM / ParsePrivateKeyPEM read MLE keys and certificates.
//
// The package is built on github.com/go-jose/go-jose/v4 and imports nothing
// else outside the standard library.
package jwe
