package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// Do sends req and decodes the answer into out (a pointer, or nil to
// discard it). It is the one path every service method takes:
//
//   - builds the URL (escaped path parameters, apikey first, then the
//     extras in order), encodes the body once, and for VIC wraps it in an
//     MLE envelope once;
//   - signs every attempt afresh (X-Pay-Token with a new timestamp, a new
//     x-request-id) and retries through go-retryablehttp under the safe
//     policy described in the package documentation;
//   - reads the response through a bounded reader, unwraps MLE (error
//     bodies too), and decodes a 2xx body into out or a non-2xx body into
//     a *visa.APIError.
//
// An empty 2xx body (or "{}") leaves out untouched and succeeds. Errors:
// *visa.InputError before anything is sent; *visa.APIError for a non-2xx
// answer (3xx included: redirects are never followed); errors wrapping
// visa.ErrResponseTooLarge or visa.ErrMalformedResponse; *RequestError
// for network failures and cancellation (unwrapping to the cause, e.g.
// context.Canceled). No error text holds the api key or any other secret.
//
// The returned *Response is non-nil whenever the request was sent.
func (c *Client) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	if req == nil {
		return nil, visa.NewInputError("transport.Request", "is nil")
	}
	op := req.Op
	if op == "" {
		op = "transport.Do"
	}
	if !validMethod(req.Method) {
		return nil, visa.NewInputError(op+": method", "must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
	}
	path, err := buildPath(op, req.Path, req.PathParams)
	if err != nil {
		return nil, err
	}
	for k := range req.Header {
		if ownedHeaders[http.CanonicalHeaderKey(k)] {
			return nil, visa.NewInputError(op+": header "+http.CanonicalHeaderKey(k), "is set by the transport")
		}
	}
	cl := callPool.Get().(*call)
	defer cl.release()
	enc := c.mle.Encrypter() // one key for the body and the keyId header
	body, err := c.encodeBody(op, enc, req.Body, &cl.scratch)
	if err != nil {
		return nil, err
	}
	cl.c, cl.op, cl.method = c, op, req.Method
	cl.path, cl.query = path, c.buildQuery(req.Query)
	cl.idempotent = req.Idempotent || idempotentMethod(req.Method)
	cl.resourcePath = xpay.ResourcePath(path)
	cl.body = body

	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	ctx = httptrace.WithClientTrace(ctx, &cl.trace)

	start := time.Now() // durations are real time, whatever the signing clock
	cl.attemptStart = start
	cl.attempt = 1
	var rawBody any // untyped nil: no body at all (GET)
	if body != nil {
		rawBody = body
	}
	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, c.base+path+"?"+cl.query, rawBody)
	if err != nil {
		return nil, visa.NewInputError(op+": URL", "cannot be built")
	}
	h := make(http.Header, 8+len(req.Header))
	rreq.Header = h
	for k, v := range req.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	// Shared value slices with len == cap: an append by anyone copies.
	h["Accept"] = jsonValue
	h["User-Agent"] = c.userAgentValue
	if body != nil {
		h["Content-Type"] = jsonValue
	}
	if enc != nil {
		// Sent with Visa's spelling; header names are case-insensitive,
		// but this is byte for byte what Visa's own clients send.
		h["keyId"] = []string{enc.KeyID()}
	}
	if c.basicUser != "" {
		rreq.SetBasicAuth(c.basicUser, c.basicPass)
	}
	cl.sign(h)
	rreq.SetResponseHandler(cl.onResponse)

	rc := &cl.rc
	rc.HTTPClient = c.rhc
	rc.RetryMax = c.policy.MaxAttempts - 1
	resp, doErr := rc.Do(rreq)

	res := &Response{Attempts: cl.attempt, Duration: time.Since(start)}
	if resp != nil {
		res.StatusCode = resp.StatusCode
		res.Header = resp.Header
		res.CorrelationID = resp.Header.Get("X-Correlation-Id")
	}
	if doErr != nil {
		if resp != nil && cl.bodyResp != resp {
			closeBody(resp.Body)
		}
		err := cl.finalError(doErr, res)
		return res, err
	}
	if resp == nil { // cannot happen: retryablehttp returns one or an error
		return res, cl.requestError(errors.New("no response"), res)
	}
	raw := cl.respBody
	if cl.bodyResp != resp {
		// The body of a response retryablehttp gave up on (retries
		// exhausted, or a status our policy stops on) is still unread.
		raw, err = c.readBody(resp, &cl.buf)
		if err != nil {
			return res, cl.finalError(err, res)
		}
	}
	err = c.decode(op, resp, raw, out)
	cl.logOutcome(ctx, res, err)
	return res, err
}

// jsonValue is the shared header value "application/json".
var jsonValue = []string{"application/json"}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// encodeBody returns the bytes to send: the JSON of v (HTML escaping off,
// no trailing newline), MLE-wrapped for VIC.
//
// The MLE envelope is made once per logical call, not per attempt: the
// JWE iat only has to be within ±300 s of Visa's clock and attempts of one
// call fall within the call's timeout (60 s by default), while X-Pay,
// which covers the envelope bytes, is recomputed for every attempt. One
// RSA-OAEP encryption per call instead of per attempt.
//
// The JSON is encoded into scratch (pooled) and copied out only when it
// is sent as is (VTS): the bytes handed to net/http must not be reused,
// since a transport may still read a request body after RoundTrip
// returns.
func (c *Client) encodeBody(op string, mle *jwe.MLEEncrypter, v any, scratch *bytes.Buffer) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var plain []byte
	owned := false // plain aliases scratch
	switch b := v.(type) {
	case []byte:
		plain = b
	case json.RawMessage:
		plain = b
	default:
		scratch.Reset()
		enc := json.NewEncoder(scratch)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			// json errors name the type, never a value.
			return nil, visa.NewInputError(op+": body", "cannot be encoded as JSON: "+jsonErrorKind(err))
		}
		plain = bytes.TrimSuffix(scratch.Bytes(), []byte{'\n'})
		owned = true
	}
	if mle == nil {
		if owned {
			plain = bytes.Clone(plain)
		}
		return plain, nil
	}
	compact, err := mle.Encrypt(plain, c.now())
	if err != nil {
		return nil, fmt.Errorf("visa: %s: MLE encryption: %w: %w", op, visa.ErrEncryption, err)
	}
	return marshalEnvelope(compact), nil
}

// marshalEnvelope returns {"encData":"<compact>"}. A compact JWE is
// base64url and dots, which JSON needs no escaping for; anything else
// goes through jwe.MarshalEnvelope.
func marshalEnvelope(compact string) []byte {
	const pre, post = `{"encData":"`, `"}`
	for i := 0; i < len(compact); i++ {
		if b := compact[i]; !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return jwe.MarshalEnvelope(compact)
		}
	}
	out := make([]byte, 0, len(pre)+len(compact)+len(post))
	out = append(out, pre...)
	out = append(out, compact...)
	return append(out, post...)
}

// readBody reads resp.Body up to the client's limit and closes it.
func (c *Client) readBody(resp *http.Response, buf *bytes.Buffer) ([]byte, error) {
	defer resp.Body.Close()
	buf.Reset()
	if n := resp.ContentLength; n > c.maxBody {
		return nil, errTooLarge
	} else if n > 0 {
		buf.Grow(int(n) + 1)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBody+1))
	if n > c.maxBody {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errTooLarge is the internal marker of an oversize body; Do reports it
// wrapping visa.ErrResponseTooLarge.
var errTooLarge = errors.New("response body too large")

// decode turns a complete response into out or an error.
func (c *Client) decode(op string, resp *http.Response, raw []byte, out any) error {
	plain, mleErr := c.unwrap(raw)
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		if mleErr != nil {
			return c.malformed(op, resp, "MLE", mleErr)
		}
		if out == nil || isEmptyJSON(plain) {
			return nil
		}
		if err := json.Unmarshal(plain, out); err != nil {
			return c.malformed(op, resp, "JSON", errors.New(jsonErrorKind(err)))
		}
		return nil
	}
	apiErr := visa.ParseAPIError(op, c.product, status, resp.Header, plain)
	if mleErr != nil {
		// The status is still worth having: errors.As finds the
		// *visa.APIError, errors.Is finds ErrMalformedResponse.
		return fmt.Errorf("%w (%w)", apiErr, c.malformed(op, resp, "MLE", mleErr))
	}
	return apiErr
}

// unwrap decrypts an MLE envelope ({"encData":"<JWE>"}); any other body
// is plain JSON (gateway errors are never encrypted). VTS has no MLE.
func (c *Client) unwrap(raw []byte) ([]byte, error) {
	if c.mle == nil || len(raw) == 0 {
		return raw, nil
	}
	compact, ok := parseEnvelope(raw)
	if !ok {
		return raw, nil
	}
	pt, _, err := c.mle.Decrypt(compact)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

// parseEnvelope returns the string member "encData" of a JSON object.
// Like jwe.ParseEnvelope it ignores other members and refuses trailing
// data; unlike it, it does not look for duplicate member names (the last
// one wins, as encoding/json decides), which is cheaper and harmless here:
// whatever it returns must still decrypt with our private key.
func parseEnvelope(raw []byte) (string, bool) {
	var env struct {
		EncData json.RawMessage `json:"encData"`
	}
	if json.Unmarshal(raw, &env) != nil || len(env.EncData) < 2 || env.EncData[0] != '"' {
		return "", false
	}
	if inner := env.EncData[1 : len(env.EncData)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(env.EncData, &s) != nil {
		return "", false
	}
	return s, true
}

func (c *Client) malformed(op string, resp *http.Response, what string, cause error) error {
	return &responseError{op: op, status: resp.StatusCode, correlationID: resp.Header.Get("X-Correlation-Id"),
		sentinel: visa.ErrMalformedResponse, detail: what, cause: cause}
}

func isEmptyJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "{}" || string(b) == "null"
}

// jsonErrorKind describes a JSON error without quoting any input.
func jsonErrorKind(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ue *json.UnsupportedTypeError
	var uv *json.UnsupportedValueError
	var me *json.MarshalerError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "value"
		}
		return "JSON " + te.Value + " cannot be decoded into " + where + " of Go type " + typeString(te.Type)
	case errors.As(err, &ue):
		return "unsupported Go type " + ue.Type.String()
	case errors.As(err, &uv):
		return "unsupported value"
	case errors.As(err, &me):
		return "marshaler of Go type " + me.Type.String() + " failed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}

func typeString(t interface{ String() string }) string {
	if t == nil {
		return "?"
	}
	return t.String()
}

// call is the state of one Do: what retryablehttp's callbacks share.
// Attempts run one after another, but httptrace hooks may fire on
// transport goroutines, hence the atomic.
type call struct {
	c            *Client
	op, method   string
	path, query  string
	resourcePath string
	body         []byte
	idempotent   bool

	trace        httptrace.ClientTrace
	rc           retryablehttp.Client
	onResponse   retryablehttp.ResponseHandlerFunc
	scratch      bytes.Buffer // request JSON before MLE; never sent as is
	gotConn      atomic.Bool  // a connection was obtained in this attempt
	attempt      int
	attemptStart time.Time
	logged       int           // last attempt logged
	nextWait     time.Duration // wait decided by checkRetry, returned by backoff

	bodyResp *http.Response // response whose body readResponse consumed
	respBody []byte
	buf      bytes.Buffer
}

// callPool recycles call states, each with its retryablehttp.Client and
// callbacks bound once: a call costs no allocation for them.
var callPool = sync.Pool{New: func() any {
	cl := &call{}
	cl.trace.GotConn = cl.onGotConn
	cl.onResponse = cl.readResponse
	cl.rc = retryablehttp.Client{
		CheckRetry:   cl.checkRetry,
		Backoff:      cl.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: cl.prepareRetry,
		// Logger, RequestLogHook and ResponseLogHook stay nil:
		// retryablehttp would print the URL, api key included.
	}
	return cl
}}

func (cl *call) onGotConn(httptrace.GotConnInfo) { cl.gotConn.Store(true) }

// release clears the call and returns it to the pool. The response bytes
// have been decoded by then; out never aliases them (json copies).
func (cl *call) release() {
	cl.c, cl.body, cl.bodyResp, cl.respBody = nil, nil, nil, nil
	cl.op, cl.method, cl.path, cl.query, cl.resourcePath = "", "", "", "", ""
	cl.idempotent, cl.attempt, cl.logged, cl.nextWait = false, 0, 0, 0
	cl.gotConn.Store(false)
	cl.attemptStart = time.Time{}
	cl.rc.HTTPClient = nil
	for _, b := range []*bytes.Buffer{&cl.buf, &cl.scratch} {
		if b.Cap() > 64<<10 {
			*b = bytes.Buffer{} // do not pin large buffers
		}
		b.Reset()
	}
	callPool.Put(cl)
}

// sign sets the per-attempt headers: a fresh X-Pay-Token (new timestamp)
// and a fresh x-request-id.
func (cl *call) sign(h http.Header) {
	c := cl.c
	h["X-Pay-Token"] = []string{xpay.Sign(c.sharedSecret, c.now().Unix(), cl.resourcePath, cl.query, cl.body)}
	h["X-Request-Id"] = []string{uuid.NewString()}
}

// prepareRetry runs before every retry: it re-signs on a copy of the
// header map (the previous attempt's request may still be referenced by
// the transport) and resets the per-attempt state.
func (cl *call) prepareRetry(r *http.Request) error {
	r.Header = r.Header.Clone()
	cl.sign(r.Header)
	cl.attempt++
	cl.gotConn.Store(false)
	cl.attemptStart = time.Now()
	return nil
}

// readResponse is retryablehttp's response handler: it consumes the body
// of a response the policy does not retry, inside the retry loop, so that
// a read failure of an idempotent call can be retried like any network
// error.
func (cl *call) readResponse(resp *http.Response) error {
	b, err := cl.c.readBody(resp, &cl.buf)
	cl.bodyResp = resp
	cl.respBody = b
	return err
}

// checkRetry is the retry policy (see doc.go). It runs after every
// attempt, and again after readResponse; it logs each attempt once.
func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	retry, wait := cl.decide(ctx, resp, err)
	cl.nextWait = wait
	if cl.logged != cl.attempt {
		cl.logged = cl.attempt
		cl.logAttempt(ctx, resp, err, retry, wait)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	return retry, nil
}

func (cl *call) decide(ctx context.Context, resp *http.Response, err error) (bool, time.Duration) {
	if ctx.Err() != nil || cl.attempt >= cl.c.policy.MaxAttempts {
		return false, 0
	}
	var wait time.Duration
	if err != nil {
		if !retryableNetError(err) {
			return false, 0
		}
		// A write is retried only when it provably never left: no
		// connection was obtained in this attempt (DNS, dial or TLS
		// handshake failure), so not a byte of it was written.
		if !cl.idempotent && cl.gotConn.Load() {
			return false, 0
		}
		wait = cl.jittered()
	} else {
		s := resp.StatusCode
		if s != http.StatusTooManyRequests && (s < 500 || s == http.StatusNotImplemented) {
			return false, 0
		}
		if !cl.idempotent {
			return false, 0 // it reached the server: never repeat a write
		}
		ra := visa.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		switch {
		case ra > cl.c.policy.MaxRetryAfter:
			return false, 0 // the server asks for longer than we wait: report it
		case ra > 0:
			wait = ra
		default:
			wait = cl.jittered()
		}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return false, 0 // the call would time out while waiting
	}
	return true, wait
}

// jittered returns the full-jitter backoff of the current attempt: a
// uniform value between MinBackoff and min(MaxBackoff, MinBackoff·2^(n-1)).
func (cl *call) jittered() time.Duration {
	p := cl.c.policy
	ceil := p.MaxBackoff
	if n := cl.attempt - 1; n < 30 {
		if e := p.MinBackoff << n; e > 0 && e < ceil {
			ceil = e
		}
	}
	if ceil <= p.MinBackoff {
		return p.MinBackoff
	}
	return p.MinBackoff + time.Duration(cl.c.jitter(int64(ceil-p.MinBackoff)+1))
}

// backoff hands retryablehttp the wait checkRetry decided on; its own
// min/max and Retry-After handling (which is uncapped) are not used.
// retryablehttp sleeps in a select on the request context, so the wait
// ends as soon as ctx is done.
func (cl *call) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	w := cl.nextWait
	if cl.c.waitHook != nil {
		w = cl.c.waitHook(w)
	}
	return w
}

// retryableNetError reports transport failures that a new attempt may
// cure; certificate, protocol and TLS-alert failures are permanent.
func retryableNetError(err error) bool {
	if errors.Is(err, errTooLarge) || errors.Is(err, context.Canceled) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidCert) || errors.As(err, &recErr) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "remote error" { // a TLS alert from the server
		return false
	}
	return true
}

// cryptoJitter returns a uniform value in [0, n) from crypto/rand.
func cryptoJitter(n int64) int64 {
	if n <= 1 {
		return 0
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}

// finalError maps what retryablehttp returned into our error types.
func (cl *call) finalError(err error, res *Response) error {
	if errors.Is(err, errTooLarge) {
		e := &responseError{op: cl.op, status: res.StatusCode, correlationID: res.CorrelationID,
			sentinel: visa.ErrResponseTooLarge, detail: "body exceeds " + strconv.FormatInt(cl.c.maxBody, 10) + " bytes"}
		cl.logOutcome(context.Background(), res, e)
		return e
	}
	e := cl.requestError(err, res)
	cl.logOutcome(context.Background(), res, e)
	return e
}

func (cl *call) requestError(err error, res *Response) *RequestError {
	// *url.Error carries the full URL, api key included: keep only its
	// cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &RequestError{Op: cl.op, Method: cl.method, URL: cl.redactedURL(), Attempts: res.Attempts,
		StatusCode: res.StatusCode, Err: cl.c.scrubError(err)}
}

func (cl *call) redactedURL() string {
	return cl.c.base + cl.path + "?" + RedactURL("?" + cl.query)[1:]
}

// logAttempt writes the per-attempt debug record: never a body, never a
// header other than the correlation id, and the URL redacted.
func (cl *call) logAttempt(ctx context.Context, resp *http.Response, err error, retry bool, wait time.Duration) {
	lg := cl.c.log
	if lg == nil || !lg.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("op", cl.op),
		slog.String("method", cl.method),
		slog.String("url", cl.redactedURL()),
		slog.Int("attempt", cl.attempt),
		slog.Duration("duration", time.Since(cl.attemptStart)),
	)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("correlation_id", resp.Header.Get("X-Correlation-Id")))
	} else {
		attrs = append(attrs, slog.Int("status", 0))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", cl.c.scrub(errText(err))))
	}
	attrs = append(attrs, slog.Bool("retry", retry))
	if retry {
		attrs = append(attrs, slog.Duration("wait", wait))
	}
	lg.LogAttrs(ctx, slog.LevelDebug, "visa http attempt", attrs...)
}

// logOutcome writes one record per failed call: Warn for transport
// failures, undecodable answers and 5xx, Debug for other API errors
// (they are ordinary outcomes such as a wrong OTP).
func (cl *call) logOutcome(ctx context.Context, res *Response, err error) {
	lg := cl.c.log
	if lg == nil || err == nil {
		return
	}
	level := slog.LevelWarn
	var apiErr *visa.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatus < 500 && !errors.Is(err, visa.ErrMalformedResponse) {
		level = slog.LevelDebug
	}
	if !lg.Enabled(ctx, level) {
		return
	}
	lg.LogAttrs(ctx, level, "visa http call failed",
		slog.String("op", cl.op),
		slog.String("method", cl.method),
		slog.String("url", cl.redactedURL()),
		slog.Int("status", res.StatusCode),
		slog.Int("attempts", res.Attempts),
		slog.Duration("duration", res.Duration),
		slog.String("correlation_id", res.CorrelationID),
		slog.String("error", cl.c.scrub(err.Error())),
	)
}

// errText is the text of an attempt error without the *url.Error URL.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
