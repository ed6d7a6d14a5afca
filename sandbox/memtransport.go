package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// WithInMemory makes Config and HTTPClient connect through Transport, an
// in-memory http.RoundTripper that hands each request to the sandbox's
// handler in the same process, instead of over loopback TCP (and TLS). The
// handler code is the same (routing, X-Pay, MLE, faults, every check);
// only the sockets and the TLS handshake are skipped, so users' unit tests
// run faster. The listener still serves, for browsers and other
// processes. It cannot be combined with WithMutualTLS (a client
// certificate is a TLS matter). Benchmarks of the SDK should keep real
// connections.
func WithInMemory() Option {
	return func(o *options) error { o.inMemory = true; return nil }
}

// Transport returns an http.RoundTripper that serves requests for the
// sandbox's host (http or https, any path) with its handler in this
// process: no socket, no TLS. Requests for any other host fail. The
// handler sees RemoteAddr 127.0.0.1 and no TLS connection state. A fault
// that resets or drops the connection makes RoundTrip (or the body's Read,
// once the status line was sent) fail with an error wrapping
// io.ErrUnexpectedEOF, as a dropped connection does.
func (s *Sandbox) Transport() http.RoundTripper { return &memTransport{s: s} }

// memTransport is the in-memory RoundTripper of Transport.
type memTransport struct{ s *Sandbox }

// errConnDropped is what a hijacked (reset or dropped) connection looks
// like to the client.
var errConnDropped = fmt.Errorf("sandbox: in-memory connection dropped by the server: %w", io.ErrUnexpectedEOF)

// RoundTrip implements http.RoundTripper.
func (m *memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u, err := url.Parse(m.s.base)
	if err != nil {
		return nil, err
	}
	if req.URL == nil || req.URL.Host != u.Host || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		closeBody(req)
		return nil, errors.New("sandbox: in-memory transport serves only " + u.Host)
	}
	select {
	case <-m.s.done:
		closeBody(req)
		return nil, errors.New("sandbox: in-memory transport: the sandbox is closed")
	default:
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	sr := req.Clone(ctx)
	sr.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	sr.RequestURI = req.URL.RequestURI()
	sr.Host = req.URL.Host
	if req.Host != "" {
		sr.Host = req.Host
	}
	sr.Header = wireHeader(req.Header)
	sr.Header.Del("Host")
	sr.RemoteAddr = "127.0.0.1:1"
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	sr.TLS = nil
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rw := newMemWriter()
	go func() {
		defer closeBody(req)
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
					m.s.opts.logger.Error("sandbox: handler panic", "panic", fmt.Sprint(v))
				}
				rw.finish(errConnDropped)
				return
			}
			rw.finish(nil)
		}()
		m.s.handler.ServeHTTP(rw, sr)
	}()
	select {
	case <-rw.ready:
	case <-ctx.Done():
		rw.abandon()
		return nil, ctx.Err()
	}
	if rw.err != nil {
		return nil, rw.err
	}
	resp := &http.Response{
		Status:     strconv.Itoa(rw.status) + " " + http.StatusText(rw.status),
		StatusCode: rw.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rw.sent, Body: rw.body, ContentLength: rw.length, Request: req,
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
	}
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// memWriter is the handler's http.ResponseWriter. It buffers the response
// and delivers it when the handler returns, with a Content-Length (as
// net/http does for a body written in one go); a Flush delivers the
// header at once and streams the rest through a pipe.
type memWriter struct {
	h      http.Header
	ready  chan struct{} // closed once status, sent, body, length, err are set
	once   sync.Once
	mu     sync.Mutex
	wrote  bool // WriteHeader called
	code   int
	buf    bytes.Buffer
	pw     *io.PipeWriter // non-nil once streaming
	status int
	sent   http.Header
	body   io.ReadCloser
	length int64
	err    error
}

func newMemWriter() *memWriter {
	return &memWriter{h: http.Header{}, ready: make(chan struct{}), code: http.StatusOK}
}

func (w *memWriter) Header() http.Header { return w.h }

func (w *memWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote || code < 200 { // informational answers are not forwarded
		return
	}
	w.wrote, w.code = true, code
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.wrote = true
	pw := w.pw
	if pw == nil {
		n, err := w.buf.Write(p)
		w.mu.Unlock()
		return n, err
	}
	w.mu.Unlock()
	return pw.Write(p)
}

// Flush sends the header and what is buffered, then streams.
func (w *memWriter) Flush() {
	w.mu.Lock()
	if w.pw != nil {
		w.mu.Unlock()
		return
	}
	pr, pw := io.Pipe()
	w.pw = pw
	pending := bytes.Clone(w.buf.Bytes())
	w.buf.Reset()
	w.deliverLocked(io.MultiReader(bytes.NewReader(pending), pr), declaredLength(w.h), pr)
	w.mu.Unlock()
}

// deliverLocked publishes the response head; called with w.mu held.
func (w *memWriter) deliverLocked(body io.Reader, length int64, closer io.Closer) {
	w.once.Do(func() {
		w.status, w.sent, w.length = w.code, wireHeader(w.h), length
		if closer == nil {
			closer = io.NopCloser(nil)
		}
		w.body = readCloser{body, closer}
		close(w.ready)
	})
}

// finish ends the response when the handler returns (err nil) or aborts.
func (w *memWriter) finish(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pw != nil {
		if err != nil {
			_ = w.pw.CloseWithError(err)
		} else {
			_ = w.pw.Close()
		}
		return
	}
	if err != nil {
		w.once.Do(func() { w.err = err; close(w.ready) })
		return
	}
	if w.h.Get("Content-Length") == "" {
		w.h.Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	n := declaredLength(w.h)
	body := w.buf.Bytes()
	if n >= 0 && int64(len(body)) < n { // a handler that declared more than it wrote
		w.deliverLocked(io.MultiReader(bytes.NewReader(body), errReader{errConnDropped}), n, nil)
		return
	}
	w.deliverLocked(bytes.NewReader(body), n, nil)
}

// abandon is called when the caller's context ended before the head: a
// later stream write fails instead of blocking.
func (w *memWriter) abandon() {
	go func() {
		<-w.ready
		if w.body != nil {
			_ = w.body.Close()
		}
	}()
}

// wireHeader copies h as it arrives over a connection: names in canonical
// form (a client may set a non-canonical one such as "keyId" directly in
// the map; on the wire case does not matter).
func wireHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], v...)
	}
	return out
}

// declaredLength is the Content-Length of h, or -1.
func declaredLength(h http.Header) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Content-Length")), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
