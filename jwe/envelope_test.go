package jwe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseEnvelopeFastPathAgrees: the byte-for-byte recognition of the
// usual envelope gives what the strict decoder gives, and everything else
// (escapes, whitespace, duplicates, other members, trailing data) still
// goes through the strict decoder.
func TestParseEnvelopeFastPathAgrees(t *testing.T) {
	for _, c := range []struct {
		body string
		want string
		ok   bool
	}{
		{`{"encData":"a.b.c.d.e"}`, "a.b.c.d.e", true},
		{`{"encData":""}`, "", true},
		{`{"encData":"a\/b"}`, "a/b", true},
		{`{"encData":"a.b" }`, "a.b", true},
		{`{"encData":"a","encData":"b"}`, "", false},
		{`{"encData":"a.b"}x`, "", false},
		{`{"encData":"a.b"}{"encData":"c"}`, "", false},
		{`{"encData":"a.b","other":1}`, "a.b", true},
		{`{"encData":"a.b"`, "", false},
		{`{"encData":5}`, "", false},
	} {
		got, ok := ParseEnvelope([]byte(c.body))
		assert.Equal(t, c.ok, ok, c.body)
		assert.Equal(t, c.want, got, c.body)
		if ok {
			fields, ferr := objectFields([]byte(c.body))
			assert.Nil(t, ferr, c.body)
			assert.NotNil(t, fields["encData"], c.body)
		}
	}
}

// TestEnvelopeAllocations: writing an envelope allocates once, parsing
// the usual one once (the string it returns).
func TestEnvelopeAllocations(t *testing.T) {
	compact := "eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a2V5.aXY.Y2lwaGVy.dGFn"
	body := MarshalEnvelope(compact)
	assert.Equal(t, `{"encData":"`+compact+`"}`, string(body))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = MarshalEnvelope(compact) }))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = ParseEnvelope(body) }))
	odd := MarshalEnvelope("a<b") // not a compact JWE: the JSON encoder, HTML not escaped
	assert.Equal(t, `{"encData":"a<b"}`, string(odd))
}
