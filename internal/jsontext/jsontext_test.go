package jsontext

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"`: "abc", ` "a\u00e9" `: "aé", `42`: "42", `-1.5e3`: "-1.5e3", `true`: "true", `false`: "false",
		`null`: "", `{}`: "", `[1]`: "", ``: "", `"unterminated`: "", `tru`: "", `4x`: "",
	} {
		if got := Text(json.RawMessage(in)); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
