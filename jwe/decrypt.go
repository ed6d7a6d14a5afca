package jwe

import (
	"errors"

	jose "github.com/go-jose/go-jose/v4"
)

// decryptCompact checks the header of p against the allow-lists, then
// parses and decrypts it with go-jose using the same allow-lists.
func decryptCompact(compact string, p *compactParts, algs []jose.KeyAlgorithm, encs []jose.ContentEncryption, key any) ([]byte, error) {
	if !allowedAlg(p.header.Alg, algs) {
		return nil, errorf(ErrAlgorithm, "alg %q not allowed", truncate(p.header.Alg, 32))
	}
	if !allowedEnc(p.header.Enc, encs) {
		return nil, errorf(ErrAlgorithm, "enc %q not allowed", truncate(p.header.Enc, 32))
	}
	if p.raw[1] == "" {
		return nil, errorf(ErrMalformed, "encrypted key is empty")
	}
	obj, err := jose.ParseEncryptedCompact(compact, algs, encs)
	if err != nil {
		// Our own checks above already cover encoding, part count and the
		// algorithms, so whatever go-jose still dislikes is a malformed
		// header (e.g. a GCMKW "iv" of the wrong type).
		return nil, errorf(ErrMalformed, "cannot parse JWE")
	}
	pt, err := obj.Decrypt(key)
	if err != nil {
		if errors.Is(err, jose.ErrUnsupportedCriticalHeader) {
			return nil, errorf(ErrMalformed, "unsupported critical header")
		}
		return nil, errorf(ErrDecrypt, "authenticated decryption failed")
	}
	return pt, nil
}

func allowedAlg(v string, list []jose.KeyAlgorithm) bool {
	for _, a := range list {
		if v == string(a) {
			return true
		}
	}
	return false
}

func allowedEnc(v string, list []jose.ContentEncryption) bool {
	for _, a := range list {
		if v == string(a) {
			return true
		}
	}
	return false
}
