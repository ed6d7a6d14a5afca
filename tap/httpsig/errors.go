package httpsig

import "errors"

// Sentinel errors. Every error of the package wraps one of them, so callers
// branch with errors.Is; the text after the sentinel names the label,
// component or parameter at fault and never quotes a signature value or a
// key.
var (
	// ErrMalformed: a Signature-Input or Signature field (or a component
	// identifier) is not valid under RFC 9421 and RFC 8941.
	ErrMalformed = errors.New("httpsig: malformed signature field")
	// ErrTooLarge: a signature field, or the number of signatures or
	// covered components, is over the parser's limits.
	ErrTooLarge = errors.New("httpsig: signature field too large")
	// ErrNoSignature: the message carries no signature (or none with the
	// label asked for).
	ErrNoSignature = errors.New("httpsig: no signature")
	// ErrUnsupportedComponent: a covered component this package cannot
	// compute (trailers, an unknown derived component, sf on a field whose
	// structured type is unknown).
	ErrUnsupportedComponent = errors.New("httpsig: unsupported component")
	// ErrMissingComponent: a covered component is absent from the message.
	ErrMissingComponent = errors.New("httpsig: covered component missing from the message")
	// ErrUnsupportedAlgorithm: an algorithm name outside the supported set.
	ErrUnsupportedAlgorithm = errors.New("httpsig: unsupported algorithm")
	// ErrAlgorithmMismatch: the signature's alg parameter names another
	// algorithm than the key's.
	ErrAlgorithmMismatch = errors.New("httpsig: algorithm does not match the key")
	// ErrInvalidSignature: the cryptographic check failed: the message or
	// its signature parameters were altered, or another key signed it.
	ErrInvalidSignature = errors.New("httpsig: invalid signature")
	// ErrInvalidKey: a key that cannot be used with its algorithm (wrong
	// type, curve or size), or an HMAC secret that is too short.
	ErrInvalidKey = errors.New("httpsig: invalid key")
)
