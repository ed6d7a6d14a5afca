// Package jsontext reads scalar JSON members leniently, the way Visa's
// error bodies and wire vocabulary need them read: the root package and
// internal/transport share it.
package jsontext

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Text returns a JSON string's value, a number's or boolean's text, and ""
// for anything else (null, objects, arrays, garbage).
func Text(raw json.RawMessage) string {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return strconv.FormatBool(b)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}
