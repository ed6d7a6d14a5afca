// Package httpsig is the RFC 9421 (HTTP Message Signatures) core under
// package tap: signature bases, the Signature-Input and Signature fields,
// signing and verifying, with no profile policy of its own.
//
// A signature covers components of a message: HTTP fields by name, with
// the sf, key and bs parameters, and the derived components @method,
// @target-uri, @authority, @scheme, @request-target, @path, @query,
// @query-param and @status (req takes one from the request of a response).
// Its parameters (created, expires, nonce, keyid, alg, tag) close the
// signature base as the @signature-params line. The structured fields are
// read and written with github.com/dunglas/httpsfv, so a message can carry
// several signatures under different labels.
//
// Keys are crypto.Signers, so a key held in a KMS or an HSM signs as well
// as one in memory: NewSigningKey(alg, signer) for ed25519,
// ecdsa-p256-sha256, rsa-pss-sha512, rsa-v1_5-sha256 and Visa's
// rsa-pss-sha256; NewHMACKey(secret) for hmac-sha256. Keys print only their
// algorithm, in every format and in logs.
//
// Sign and SignRequest produce signatures; Parse reads them (ParseFunc
// too, without allocating the first signature, for a verifier that keeps
// none of them) and (*Signature).Verify checks one with a VerifyingKey. Freshness (created,
// expires), replay (nonce), key lookup (keyid) and which tags a route
// accepts are policy, left to the caller: package tap applies the Trusted
// Agent Protocol's and Web Bot Auth's.
//
// Every error wraps one of the package's sentinels (ErrMalformed,
// ErrInvalidSignature, ...) and names the label or component at fault,
// never a signature value.
//
// The tests reproduce RFC 9421 Appendix B byte for byte (B.2.1–B.2.6 and
// the two signatures of §4.3) with the RFC's own test keys.
package httpsig
