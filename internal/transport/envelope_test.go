package transport

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

// TestDoMLEBodySentWithLengthOnEveryAttempt: the MLE envelope goes out
// with a Content-Length (never chunked), byte for byte the same on a
// retried attempt, and X-Pay covers exactly those bytes each time.
func TestDoMLEBodySentWithLengthOnEveryAttempt(t *testing.T) {
	t.Parallel()
	type wire struct {
		length int64
		te     []string
	}
	var mu sync.Mutex
	var seen []wire
	f := newFakeVisa(t, true, func(n int, _ recorded) reply {
		return reply{Raw: func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, wire{r.ContentLength, r.TransferEncoding})
			mu.Unlock()
			if n == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(encryptToClient(t, []byte(`{"instructionId":"INS-1"}`)))
		}}
	})
	c := newClient(t, testConfig(f.URL()), visa.ProductVIC)
	var out struct {
		InstructionID string `json:"instructionId"`
	}
	_, err := c.Do(bg, &Request{Op: "vic.InitiatePurchaseInstruction", Method: http.MethodPost, Path: "/vacp/v1/instructions",
		Body: map[string]string{"consumerPrompt": "shoes"}, Idempotent: true}, &out)
	require.NoError(t, err)
	assert.Equal(t, "INS-1", out.InstructionID)

	reqs := f.requests()
	require.Len(t, reqs, 2)
	require.Len(t, seen, 2)
	compact, ok := jwe.ParseEnvelope(reqs[0].Body)
	require.True(t, ok, "the body is an MLE envelope")
	assert.Equal(t, jwe.MarshalEnvelope(compact), reqs[0].Body)
	assert.Equal(t, reqs[0].Body, reqs[1].Body, "one envelope per call, the same bytes on every attempt")
	for i, r := range reqs {
		assert.True(t, r.SigOK, "attempt %d: X-Pay over the bytes sent", i+1)
		assert.Equal(t, int64(len(r.Body)), seen[i].length, "attempt %d: Content-Length", i+1)
		assert.Empty(t, seen[i].te, "attempt %d: not chunked", i+1)
	}
}

// TestReadBodyClasses: a body is read whole whatever its size and
// whether its length is announced, up to the limit and not one byte
// beyond, through buffers of the size-class pools.
func TestReadBodyClasses(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, minBodyClass - 1, minBodyClass, minBodyClass + 1, 3*minBodyClass + 7, 70 << 10} {
		assert.Equal(t, n <= minBodyClass, bodyClass(n) == 0, n)
		b := getBody(n)
		assert.GreaterOrEqual(t, cap(b), n)
		assert.Equal(t, minBodyClass<<bodyClass(n), cap(b))
		putBody(b)
	}
	assert.Equal(t, -1, bodyClass(maxBodyClass+1))
	assert.Equal(t, numBodyClass-1, bodyClass(maxBodyClass))
}

// TestReadBodyLengths: readBody returns every byte of a body of any size,
// announced or not (Content-Length -1), refuses one byte over the limit
// as errTooLarge, and reads no further than that byte.
func TestReadBodyLengths(t *testing.T) {
	t.Parallel()
	const limit = 3*minBodyClass + 5
	c := &Client{maxBody: limit}
	for _, n := range []int{0, 1, 100, minBodyClass - 1, minBodyClass, minBodyClass + 1, 2 * minBodyClass, limit - 1, limit, limit + 1, 5 * limit} {
		for _, announced := range []bool{true, false} {
			body := make([]byte, n)
			for i := range body {
				body[i] = byte(i*7 + n)
			}
			src := &countingReader{b: body}
			resp := &http.Response{Body: io.NopCloser(iotest.HalfReader(src)), ContentLength: -1}
			if announced {
				resp.ContentLength = int64(n)
			}
			cl := &call{c: c}
			got, err := cl.readBody(resp)
			switch {
			case n > limit:
				assert.ErrorIs(t, err, errTooLarge, "n=%d announced=%v", n, announced)
				assert.LessOrEqual(t, src.read, limit+1, "n=%d announced=%v: read past the limit", n, announced)
			default:
				require.NoError(t, err, "n=%d announced=%v", n, announced)
				assert.True(t, bytes.Equal(body, got), "n=%d announced=%v", n, announced)
			}
			putBody(cl.rbuf)
		}
	}
}

// TestReadBodyAnnouncedLengthReservesLittle: a server announcing a body
// near the limit and sending a few bytes gets a buffer of maxPresize at
// most, not of the announced size; a body that really is that large is
// still read whole.
func TestReadBodyAnnouncedLengthReservesLittle(t *testing.T) {
	t.Parallel()
	const limit = 8 << 20
	c := &Client{maxBody: limit}
	cl := &call{c: c}
	resp := &http.Response{Body: io.NopCloser(bytes.NewReader([]byte("{}"))), ContentLength: limit}
	got, err := cl.readBody(resp)
	require.NoError(t, err) // the body ends early: what came is returned, as before
	assert.Equal(t, "{}", string(got))
	assert.LessOrEqual(t, cap(cl.rbuf), 2*maxPresize, "the announced length reserved a large buffer")
	putBody(cl.rbuf)

	body := bytes.Repeat([]byte("x"), 3*maxPresize)
	cl = &call{c: c}
	resp = &http.Response{Body: io.NopCloser(iotest.HalfReader(bytes.NewReader(body))), ContentLength: int64(len(body))}
	got, err = cl.readBody(resp)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(body, got))
	putBody(cl.rbuf)
}

// countingReader reads b and counts the bytes handed out.
type countingReader struct {
	b    []byte
	read int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read == len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.read:])
	r.read += n
	return n, nil
}
