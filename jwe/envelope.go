package jwe

import (
	"encoding/json"
	"io"
)

// envelope's fixed parts: {"encData":"<compact>"}.
const envPre, envPost = `{"encData":"`, `"}`

// MarshalEnvelope returns the MLE body envelope {"encData":"<compact>"}.
// A compact JWE (base64url and dots, which JSON needs no escape for) is
// written in one allocation; any other string goes through the JSON
// encoder.
func MarshalEnvelope(compact string) []byte {
	if !compactChars(compact) {
		return marshalEnvelopeJSON(compact)
	}
	return AppendEnvelope(make([]byte, 0, len(envPre)+len(compact)+len(envPost)), compact)
}

// AppendEnvelope appends MarshalEnvelope(compact) to dst and returns the
// extended slice; it allocates only when dst is too small (or compact is
// not a compact JWE).
func AppendEnvelope(dst []byte, compact string) []byte {
	if !compactChars(compact) {
		return append(dst, marshalEnvelopeJSON(compact)...)
	}
	dst = append(dst, envPre...)
	dst = append(dst, compact...)
	return append(dst, envPost...)
}

func marshalEnvelopeJSON(compact string) []byte {
	b, err := marshalJSON(struct {
		EncData string `json:"encData"`
	}{compact})
	if err != nil { // cannot happen for a struct of one string
		panic("jwe: marshal envelope: " + err.Error())
	}
	return b
}

// EnvelopeReader reads MarshalEnvelope(compact) without building it: the
// fixed parts and compact are copied straight into the caller's buffer,
// so a request body is never held twice. Each reader is read once; make
// one per send.
type EnvelopeReader struct {
	compact string
	off     int    // bytes of the envelope read so far
	other   []byte // MarshalEnvelope's bytes when compact is not a compact JWE
}

// NewEnvelopeReader returns a reader of MarshalEnvelope(compact).
func NewEnvelopeReader(compact string) *EnvelopeReader {
	r := &EnvelopeReader{compact: compact}
	if !compactChars(compact) {
		r.other = marshalEnvelopeJSON(compact)
	}
	return r
}

// Len returns the number of bytes not yet read.
func (r *EnvelopeReader) Len() int {
	if r.other != nil {
		return len(r.other) - r.off
	}
	return len(envPre) + len(r.compact) + len(envPost) - r.off
}

// Read implements io.Reader.
func (r *EnvelopeReader) Read(p []byte) (int, error) {
	if r.Len() == 0 {
		return 0, io.EOF
	}
	if r.other != nil {
		n := copy(p, r.other[r.off:])
		r.off += n
		return n, nil
	}
	n := 0
	for n < len(p) && r.Len() > 0 {
		var k int
		switch off := r.off; {
		case off < len(envPre):
			k = copy(p[n:], envPre[off:])
		case off < len(envPre)+len(r.compact):
			k = copy(p[n:], r.compact[off-len(envPre):])
		default:
			k = copy(p[n:], envPost[off-len(envPre)-len(r.compact):])
		}
		n += k
		r.off += k
	}
	return n, nil
}

// Close does nothing; it makes the reader an io.ReadCloser (a request
// body).
func (r *EnvelopeReader) Close() error { return nil }

// compactChars reports whether s holds only base64url characters and dots.
func compactChars[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if !compactTable[s[i]] {
			return false
		}
	}
	return true
}

// ParseEnvelope extracts the compact JWE from an MLE body. ok is true only
// if body is a single JSON object (no duplicate member names, no trailing
// data) whose "encData" member is a string; other members are ignored.
// Bodies larger than twice DefaultMaxInput are refused. A body that is not
// an envelope is, per Visa's clients, plain JSON.
//
// The envelope as MarshalEnvelope writes it (and as Visa sends it) is
// recognised byte for byte and copied once; anything else is decoded
// strictly.
func ParseEnvelope(body []byte) (compact string, ok bool) {
	if len(body) > 2*DefaultMaxInput {
		return "", false
	}
	if len(body) >= len(envPre)+len(envPost) && string(body[:len(envPre)]) == envPre && string(body[len(body)-len(envPost):]) == envPost {
		if inner := body[len(envPre) : len(body)-len(envPost)]; compactChars(inner) {
			return string(inner), true
		}
	}
	fields, ferr := objectFields(body)
	if ferr != nil {
		return "", false
	}
	raw, found := fields["encData"]
	if !found || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
