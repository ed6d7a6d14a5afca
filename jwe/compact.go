package jwe

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxInput is the largest compact JWE accepted, in bytes. Larger
// inputs are refused with ErrTooLarge before any parsing.
const DefaultMaxInput = 1 << 20

// Content encryption algorithms ("enc") accepted by NewMLEEncrypter.
const (
	EncA128GCM = "A128GCM"
	EncA256GCM = "A256GCM"
)

// Key management algorithms ("alg") used by this package.
const (
	// AlgA256GCMKW is the key wrap of VTS field-level encryption.
	AlgA256GCMKW = "A256GCMKW"
	// AlgRSAOAEP256 is the key transport of Message Level Encryption.
	AlgRSAOAEP256 = "RSA-OAEP-256"
)

// maxHeaderBytes bounds the decoded protected header; real headers are a
// few hundred bytes.
const maxHeaderBytes = 8 << 10

// iatKind records how the "iat" header was written.
type iatKind uint8

const (
	iatNone          iatKind = iota // absent
	iatMillis                       // JSON number of milliseconds (MLE)
	iatSecondsString                // JSON string of decimal seconds (VTS)
	iatSecondsNumber                // JSON number below 1e11: seconds by mistake
	iatInvalid                      // present but unusable
)

// msThreshold separates seconds from milliseconds in a numeric "iat": 1e11
// seconds is the year 5138, 1e11 milliseconds is 1973.
const msThreshold = 1e11

// Header is the part of a JWE protected header this package exposes. It
// also remembers, unexported, how "iat" was written (for CheckIssuedAt), so
// compare Headers field by field rather than as whole values.
type Header struct {
	Alg   string // "alg"
	Enc   string // "enc"
	KeyID string // "kid"
	// IssuedAt is "iat": a JSON number of milliseconds (MLE), or a JSON
	// string of decimal seconds (VTS field JWE). A numeric value below 1e11
	// is taken as seconds (sent by mistake); CheckIssuedAt rejects it.
	IssuedAt time.Time
	// HasIssuedAt reports whether "iat" was present and parsed.
	HasIssuedAt bool

	iat iatKind
}

// CheckIssuedAt returns an error wrapping ErrIssuedAt when "iat" is missing
// or invalid, was a number of seconds instead of milliseconds (below 1e11),
// or lies more than skew away from now (either direction).
func (h Header) CheckIssuedAt(now time.Time, skew time.Duration) error {
	switch {
	case h.iat == iatInvalid:
		return errorf(ErrIssuedAt, "iat is not a number or a string of digits")
	case !h.HasIssuedAt:
		return errorf(ErrIssuedAt, "iat missing")
	case h.iat == iatSecondsNumber:
		return errorf(ErrIssuedAt, "iat is a number of seconds, want milliseconds")
	}
	if skew < 0 {
		skew = -skew
	}
	d := now.Sub(h.IssuedAt) // saturates instead of overflowing
	if d > skew || d < -skew {
		return errorf(ErrIssuedAt, "iat outside the allowed skew of %s", skew)
	}
	return nil
}

// compactParts is a compact JWE split into its five segments, each checked to
// be strict unpadded base64url.
type compactParts struct {
	header Header
	raw    [5]string
}

var b64 = base64.RawURLEncoding.Strict()

// splitCompact checks size, part count and encoding of a compact JWE and
// parses its protected header.
func splitCompact(compact string) (*compactParts, error) {
	p := &compactParts{}
	if err := checkCompact(compact, &p.raw); err != nil {
		return nil, err
	}
	hdrJSON, err := b64.DecodeString(p.raw[0])
	if err != nil {
		return nil, errorf(ErrMalformed, "protected header is not base64url")
	}
	p.header, err = parseProtectedHeader(hdrJSON)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkCompact checks size, part count and encoding of a compact JWE and
// splits it into raw, without decoding anything (it does not allocate).
func checkCompact(compact string, raw *[5]string) error {
	if len(compact) > DefaultMaxInput {
		return errorf(ErrTooLarge, "compact JWE of %d bytes exceeds %d", len(compact), DefaultMaxInput)
	}
	if compact == "" {
		return errorf(ErrMalformed, "empty compact JWE")
	}
	if n := strings.Count(compact, "."); n != 4 {
		return errorf(ErrMalformed, "compact JWE has %d parts, want 5", n+1)
	}
	rest := compact
	for i := range 5 {
		var seg string
		seg, rest, _ = strings.Cut(rest, ".")
		raw[i] = seg
		if !validB64(seg) {
			return errorf(ErrMalformed, "part %d is not unpadded base64url", i+1)
		}
	}
	// The header, IV and tag are never empty. The ciphertext is empty for
	// an empty plaintext; the encrypted key is empty only for algorithms
	// ("dir", ECDH-ES) that the decrypters refuse by name.
	for _, i := range []int{0, 2, 4} {
		if raw[i] == "" {
			return errorf(ErrMalformed, "part %d is empty", i+1)
		}
	}
	if b64.DecodedLen(len(raw[0])) > maxHeaderBytes {
		return errorf(ErrMalformed, "protected header too large")
	}
	return nil
}

// validB64 reports whether s is canonical unpadded base64url: only the
// URL-safe alphabet, a length unpadded base64 can produce, and zero bits in
// the unused low bits of the last character (as a strict decoder requires).
// It does not allocate, so a 1 MiB ciphertext is not decoded twice.
func validB64(s string) bool {
	if len(s)%4 == 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b64Table[s[i]] < 0 {
			return false
		}
	}
	if len(s) == 0 {
		return true
	}
	last := b64Value(s[len(s)-1])
	switch len(s) % 4 {
	case 2: // 1 byte from 12 bits: the low 4 bits are padding
		return last&0x0f == 0
	case 3: // 2 bytes from 18 bits: the low 2 bits are padding
		return last&0x03 == 0
	}
	return true
}

// b64Value returns the 6-bit value of a base64url character, or -1.
func b64Value(c byte) int { return int(b64Table[c]) }

// b64Table maps every byte to its base64url value, or -1; compactTable
// marks the base64url characters and '.'. A table lookup per byte keeps
// the scans of a whole compact JWE (envelope check, part check) cheap.
var b64Table, compactTable = func() (v [256]int8, c [256]bool) {
	for i := range v {
		b := byte(i)
		switch {
		case b >= 'A' && b <= 'Z':
			v[i] = int8(b - 'A')
		case b >= 'a' && b <= 'z':
			v[i] = int8(b-'a') + 26
		case b >= '0' && b <= '9':
			v[i] = int8(b-'0') + 52
		case b == '-':
			v[i] = 62
		case b == '_':
			v[i] = 63
		default:
			v[i] = -1
		}
		c[i] = v[i] >= 0 || b == '.'
	}
	return v, c
}()

// parseProtectedHeader decodes a protected header strictly: a single JSON
// object, no duplicate names, string "alg"/"enc"/"kid".
func parseProtectedHeader(data []byte) (Header, error) {
	fields, ferr := objectFields(data)
	if ferr != nil {
		return Header{}, errorf(ErrMalformed, "protected header: %s", ferr.msg)
	}
	var h Header
	for _, f := range []struct {
		name string
		dst  *string
		req  bool
	}{{"alg", &h.Alg, true}, {"enc", &h.Enc, true}, {"kid", &h.KeyID, false}} {
		raw, ok := fields[f.name]
		if !ok {
			if f.req {
				return Header{}, errorf(ErrMalformed, "protected header: %q missing", f.name)
			}
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Header{}, errorf(ErrMalformed, "protected header: %q is not a string", f.name)
		}
		// A present member must carry a name: printable ASCII, not empty
		// (json.Unmarshal turns invalid UTF-8 into U+FFFD silently).
		if v := *f.dst; v == "" || len(v) > 256 || !printableASCII(v) {
			return Header{}, errorf(ErrMalformed, "protected header: %q is empty or not printable ASCII", f.name)
		}
	}
	if raw, ok := fields["iat"]; ok {
		h.IssuedAt, h.iat = parseIAT(raw)
		h.HasIssuedAt = h.iat != iatInvalid
	}
	if _, ok := fields["zip"]; ok {
		return Header{}, errorf(ErrAlgorithm, "compression (zip) is not allowed")
	}
	return h, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func parseIAT(raw json.RawMessage) (time.Time, iatKind) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return time.Time{}, iatInvalid
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" || len(s) > 12 {
			return time.Time{}, iatInvalid
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return time.Time{}, iatInvalid
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, iatInvalid
		}
		return time.Unix(n, 0), iatSecondsString
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return time.Time{}, iatInvalid
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	// 1e15 ms is the year 33658: anything beyond is nonsense.
	if err != nil || math.IsNaN(f) || f < 0 || f >= 1e15 {
		return time.Time{}, iatInvalid
	}
	if f < msThreshold {
		return time.Unix(int64(f), 0), iatSecondsNumber
	}
	return time.UnixMicro(int64(math.Round(f * 1000))), iatMillis
}

// fieldsError is an error message that is safe to show (never input bytes).
type fieldsError struct{ msg string }

// objectFields decodes data as exactly one JSON object and returns its
// members, refusing duplicate names and trailing data. The common case is
// one json.Unmarshal plus an allocation-free count of the members; only a
// header whose count disagrees (a duplicate name) takes the slow path that
// names the duplicate.
func objectFields(data []byte) (map[string]json.RawMessage, *fieldsError) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if json.Valid(data) {
			return nil, &fieldsError{"not a JSON object"}
		}
		return nil, &fieldsError{"not JSON"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return objectFieldsSlow(data)
	}
	if countMembers(trimmed) != len(fields) {
		return objectFieldsSlow(data)
	}
	return fields, nil
}

// countMembers counts the members of the JSON object that data (valid
// JSON, starting with '{') holds: the colons at depth 1 outside strings.
func countMembers(data []byte) int {
	n, depth, inString, escaped := 0, 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ':' && depth == 1:
			n++
		}
	}
	return n
}

// objectFieldsSlow is objectFields token by token, to name the problem.
func objectFieldsSlow(data []byte) (map[string]json.RawMessage, *fieldsError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, &fieldsError{"not JSON"}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &fieldsError{"not a JSON object"}
	}
	fields := make(map[string]json.RawMessage, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &fieldsError{"invalid JSON"}
		}
		name, ok := tok.(string)
		if !ok {
			return nil, &fieldsError{"invalid JSON"}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, &fieldsError{"invalid JSON"}
		}
		if _, dup := fields[name]; dup {
			return nil, &fieldsError{"duplicate member " + strconv.Quote(truncate(name, 32))}
		}
		fields[name] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, &fieldsError{"invalid JSON"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &fieldsError{"trailing data after JSON object"}
	}
	return fields, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ParseHeader parses the protected header of a compact JWE without
// decrypting it (the sandbox uses it to choose the key by "kid"). It is as
// strict as decryption about size, the five parts and their encoding.
// It does not check the algorithms: the decrypters do.
func ParseHeader(compact string) (Header, error) {
	p, err := splitCompact(compact)
	if err != nil {
		return Header{}, err
	}
	return p.header, nil
}
