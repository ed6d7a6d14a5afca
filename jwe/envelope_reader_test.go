package jwe

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvelopeReaderAndAppend: AppendEnvelope and a full read of
// NewEnvelopeReader give exactly MarshalEnvelope's bytes, for a compact
// JWE and for a string the JSON encoder has to escape, whatever the read
// sizes; Len counts down to 0 and the end is io.EOF.
func TestEnvelopeReaderAndAppend(t *testing.T) {
	for _, s := range []string{"", "a.b.c.d.e", "eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a-_b.c.d.e", `a<b"c\d` + "\x00é"} {
		want := MarshalEnvelope(s)
		assert.Equal(t, want, AppendEnvelope(nil, s), "%q", s)
		assert.Equal(t, append([]byte("x"), want...), AppendEnvelope([]byte("x"), s), "%q", s)
		for _, chunk := range []int{1, 2, 5, 11, 12, 13, len(want), len(want) + 1, 4096} {
			r := NewEnvelopeReader(s)
			assert.Equal(t, len(want), r.Len())
			var got []byte
			buf := make([]byte, chunk)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				require.Positive(t, n, "no progress")
				assert.Equal(t, len(want)-len(got), r.Len())
			}
			assert.Equal(t, string(want), string(got), "%q in chunks of %d", s, chunk)
			assert.Equal(t, 0, r.Len())
			assert.NoError(t, r.Close())
		}
	}
	compact := "eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a.b.c.d"
	dst := make([]byte, 0, 128)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = AppendEnvelope(dst, compact) }))
}
