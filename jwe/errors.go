package jwe

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers branch with errors.Is. No error text ever contains key
// material, a shared secret or plaintext.
var (
	// ErrMalformed: the input is not a well-formed compact JWE, envelope,
	// header or JSON value (wrong number of parts, bad base64url, padding,
	// bad JSON, duplicate header names, ...).
	ErrMalformed = errors.New("jwe: malformed input")
	// ErrAlgorithm: the "alg", "enc" or "zip" of a JWE is not on the
	// allow-list of the operation, or an unsupported algorithm was requested.
	ErrAlgorithm = errors.New("jwe: algorithm not allowed")
	// ErrKeyID: the "kid" of a JWE is not the expected one.
	ErrKeyID = errors.New("jwe: unexpected key id")
	// ErrDecrypt: authenticated decryption failed (wrong key, tampered
	// ciphertext, tag, IV or header).
	ErrDecrypt = errors.New("jwe: decryption failed")
	// ErrTooLarge: the input exceeds DefaultMaxInput.
	ErrTooLarge = errors.New("jwe: input too large")
	// ErrKey: a key or secret is missing, unparsable, of the wrong type or
	// too weak.
	ErrKey = errors.New("jwe: invalid key")
	// ErrIssuedAt: the "iat" header is missing, invalid, in seconds where
	// milliseconds are expected, or outside the allowed clock skew.
	ErrIssuedAt = errors.New("jwe: invalid issued-at")
)

// errorf builds an error that wraps sentinel, with a message that must never
// carry secrets or plaintext.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
