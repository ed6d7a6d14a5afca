package jwe

import "encoding/json"

// envelope's fixed parts: {"encData":"<compact>"}.
const envPre, envPost = `{"encData":"`, `"}`

// MarshalEnvelope returns the MLE body envelope {"encData":"<compact>"}.
// A compact JWE (base64url and dots, which JSON needs no escape for) is
// written in one allocation; any other string goes through the JSON
// encoder.
func MarshalEnvelope(compact string) []byte {
	if !compactChars(compact) {
		b, err := marshalJSON(struct {
			EncData string `json:"encData"`
		}{compact})
		if err != nil { // cannot happen for a struct of one string
			panic("jwe: marshal envelope: " + err.Error())
		}
		return b
	}
	out := make([]byte, 0, len(envPre)+len(compact)+len(envPost))
	out = append(out, envPre...)
	out = append(out, compact...)
	return append(out, envPost...)
}

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
