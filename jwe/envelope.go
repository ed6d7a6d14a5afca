package jwe

import "encoding/json"

// MarshalEnvelope returns the MLE body envelope {"encData":"<compact>"}.
func MarshalEnvelope(compact string) []byte {
	b, err := marshalJSON(struct {
		EncData string `json:"encData"`
	}{compact})
	if err != nil { // cannot happen for a struct of one string
		panic("jwe: marshal envelope: " + err.Error())
	}
	return b
}

// ParseEnvelope extracts the compact JWE from an MLE body. ok is true only
// if body is a single JSON object (no duplicate member names, no trailing
// data) whose "encData" member is a string; other members are ignored.
// Bodies larger than twice DefaultMaxInput are refused. A body that is not
// an envelope is, per Visa's clients, plain JSON.
func ParseEnvelope(body []byte) (compact string, ok bool) {
	if len(body) > 2*DefaultMaxInput {
		return "", false
	}
	fields, ferr := objectFields(body)
	if ferr != nil {
		return "", false
	}
	raw, found := fields["encData"]
	if !found || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if err := json.Unmarshal(raw, &compact); err != nil {
		return "", false
	}
	return compact, true
}
