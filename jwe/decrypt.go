package jwe

import (
	"errors"
	"math"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// parsedJWE is a compact JWE that go-jose parsed, with the Header derived
// from go-jose's result.
type parsedJWE struct {
	obj    *jose.JSONWebEncryption
	header Header
}

// parseCompact checks compact without decoding it (size, five parts,
// strict base64url), lets go-jose parse it with the allow-lists (on the
// success path the one parse of the protected header) and derives Header
// from go-jose's result. Whenever go-jose refuses the JWE or its header is
// anything but plain (a member of the wrong type, "zip", an empty "kid"),
// the strict parser of splitCompact runs to name the problem, so the
// errors are those of a strict parse; that second parse costs only on
// the failure path.
func parseCompact(compact string, algs []jose.KeyAlgorithm, encs []jose.ContentEncryption) (*parsedJWE, error) {
	var raw [5]string
	if err := checkCompact(compact, &raw); err != nil {
		return nil, err
	}
	obj, err := jose.ParseEncryptedCompact(compact, algs, encs)
	if err != nil {
		// Our own checks already cover encoding, part count and the
		// algorithms, so whatever go-jose still dislikes is a malformed
		// header (e.g. a GCMKW "iv" of the wrong type).
		return nil, strictError(compact, algs, encs)
	}
	h, ok := headerOf(obj.Header)
	if !ok {
		return nil, strictError(compact, algs, encs)
	}
	if h.KeyID == "" { // absent, or present and empty: only a strict parse tells
		p, err := splitCompact(compact)
		if err != nil {
			return nil, err
		}
		h.KeyID = p.header.KeyID
	}
	if !allowedAlg(h.Alg, algs) || !allowedEnc(h.Enc, encs) { // go-jose checked; be sure
		return nil, strictError(compact, algs, encs)
	}
	if raw[1] == "" {
		return nil, errorf(ErrMalformed, "encrypted key is empty")
	}
	return &parsedJWE{obj: obj, header: h}, nil
}

// strictError parses compact strictly and returns the first problem it
// finds: malformed, then the algorithms; a JWE it cannot fault is
// ErrMalformed.
func strictError(compact string, algs []jose.KeyAlgorithm, encs []jose.ContentEncryption) error {
	p, err := splitCompact(compact)
	if err != nil {
		return err
	}
	if !allowedAlg(p.header.Alg, algs) {
		return errorf(ErrAlgorithm, "alg %q not allowed", truncate(p.header.Alg, 32))
	}
	if !allowedEnc(p.header.Enc, encs) {
		return errorf(ErrAlgorithm, "enc %q not allowed", truncate(p.header.Enc, 32))
	}
	if p.raw[1] == "" {
		return errorf(ErrMalformed, "encrypted key is empty")
	}
	return errorf(ErrMalformed, "cannot parse JWE")
}

// headerOf derives Header from go-jose's parsed protected header, with the
// checks parseProtectedHeader makes; ok is false when any fails or the
// header holds "zip".
func headerOf(jh jose.Header) (Header, bool) {
	enc, _ := jh.ExtraHeaders["enc"].(string)
	h := Header{Alg: jh.Algorithm, Enc: enc, KeyID: jh.KeyID}
	if !headerName(h.Alg) || !headerName(h.Enc) || (h.KeyID != "" && !headerName(h.KeyID)) {
		return Header{}, false
	}
	if _, zip := jh.ExtraHeaders["zip"]; zip {
		return Header{}, false
	}
	if v, ok := jh.ExtraHeaders["iat"]; ok {
		h.IssuedAt, h.iat = iatOf(v)
		h.HasIssuedAt = h.iat != iatInvalid
	}
	return h, true
}

// headerName reports whether v is a usable alg/enc/kid: printable ASCII,
// 1 to 256 bytes.
func headerName(v string) bool { return v != "" && len(v) <= 256 && printableASCII(v) }

// iatOf is parseIAT for a value go-jose decoded (a float64 for a JSON
// number, a string for a JSON string).
func iatOf(v any) (time.Time, iatKind) {
	switch x := v.(type) {
	case string:
		if x == "" || len(x) > 12 {
			return time.Time{}, iatInvalid
		}
		for i := 0; i < len(x); i++ {
			if x[i] < '0' || x[i] > '9' {
				return time.Time{}, iatInvalid
			}
		}
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return time.Time{}, iatInvalid
		}
		return time.Unix(n, 0), iatSecondsString
	case float64:
		if math.IsNaN(x) || x < 0 || x >= 1e15 {
			return time.Time{}, iatInvalid
		}
		if x < msThreshold {
			return time.Unix(int64(x), 0), iatSecondsNumber
		}
		return time.UnixMicro(int64(math.Round(x * 1000))), iatMillis
	}
	return time.Time{}, iatInvalid
}

// decrypt decrypts a parsed JWE with key.
func (p *parsedJWE) decrypt(key any) ([]byte, error) {
	pt, err := p.obj.Decrypt(key)
	if err != nil {
		if errors.Is(err, jose.ErrUnsupportedCriticalHeader) {
			return nil, errorf(ErrMalformed, "unsupported critical header")
		}
		return nil, errorf(ErrDecrypt, "authenticated decryption failed")
	}
	return pt, nil
}

// checkB64Member checks that header member name is a string holding the
// unpadded base64url encoding of exactly n bytes.
func (p *parsedJWE) checkB64Member(name string, n int) error {
	s, ok := p.obj.Header.ExtraHeaders[jose.HeaderKey(name)].(string)
	if !ok {
		return errorf(ErrMalformed, "protected header: %q missing or not a string", name)
	}
	if len(s) != b64.EncodedLen(n) || !validB64(s) {
		return errorf(ErrMalformed, "protected header: %q is not %d base64url bytes", name, n)
	}
	return nil
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
