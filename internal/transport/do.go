package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/bits"
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
	"github.com/vicgo/visa/internal/retry"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// Do sends req and decodes the answer into out: a pointer to decode JSON
// into, a *[]byte to receive the raw body (unsigned exchanges parse their
// own), or nil to discard it. It is the one path every HTTP exchange of
// the SDK takes, and it reads top to bottom:
//
//  1. check the request (method, path parameters, headers) and encode the
//     body once (MLE-wrapped once for VIC);
//  2. bound the call by the client's timeout (unless the caller's
//     deadline is earlier) and tell the Observer the operation starts;
//  3. hand the request to go-retryablehttp, whose hooks are this file's
//     methods, in the order they run for each attempt:
//     beforeAttempt (sign afresh, Observer.AttemptStart), the HTTP
//     exchange, checkRetry (the one classifier, internal/retry),
//     readResponse (the bounded read of an answer not retried), backoff;
//  4. map the outcome: a 2xx body into out, a non-2xx into
//     *visa.APIError, a network failure into *visa.RequestError, an
//     unusable answer into *visa.ResponseError;
//  5. end the last attempt and the operation (log, Observer) and return
//     the metadata, which every error carries too.
//
// Every error is a *visa.OperationError naming req.Op. No error text
// holds the api key or any other secret.
func (c *Client) Do(ctx context.Context, req *Request, out any) (visa.ResponseMeta, error) {
	if req == nil {
		return visa.ResponseMeta{}, &visa.OperationError{Operation: "transport.Do", Err: visa.NewInputError("transport.Request", "is nil")}
	}
	meta := visa.ResponseMeta{Operation: req.Op}
	if meta.Operation == "" {
		meta.Operation = "transport.Do"
	}
	// 1. Check and encode.
	if !validMethod(req.Method) {
		return meta, c.opError(meta, visa.NewInputError("method", "must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"))
	}
	path, err := buildPath(req.Path, req.PathParams, !c.signed)
	if err != nil {
		return meta, c.opError(meta, err)
	}
	for k := range req.Header {
		if ownedHeaders[http.CanonicalHeaderKey(k)] {
			return meta, c.opError(meta, visa.NewInputError("header "+http.CanonicalHeaderKey(k), "is set by the transport"))
		}
	}
	cl := callPool.Get().(*call)
	defer cl.release()
	enc := c.mle.Encrypter() // one key for the body and the keyId header
	body, err := c.encodeBody(enc, req.Body, &cl.scratch)
	if err != nil {
		return meta, c.opError(meta, err)
	}
	cl.c, cl.meta, cl.method = c, meta, req.Method
	cl.path, cl.query = path, c.buildQuery(req.Query)
	cl.idempotent = req.Idempotent || retry.Safe(req.Method)
	cl.check = req.Check
	if c.signed {
		cl.resourcePath = xpay.ResourcePath(path)
	}
	cl.body = body

	// 2. Deadline and operation start.
	if dl, ok := ctx.Deadline(); c.timeout > 0 && (!ok || time.Until(dl) > c.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now() // durations are real time, whatever the signing clock
	if c.obs != nil {
		cl.info = visa.OperationInfo{Operation: meta.Operation, Product: c.product, Method: req.Method, Route: req.Path, Host: c.host}
		ctx = c.obs.OperationStart(ctx, cl.info)
		cl.opCtx = ctx
	}
	ctx = httptrace.WithClientTrace(ctx, &cl.trace)

	// 3. The attempts.
	var rawBody any // untyped nil: no body at all (GET)
	if body != nil {
		rawBody = body
	}
	var u string
	if cl.query != "" {
		u = c.base + path + "?" + cl.query
	} else {
		u = c.base + path
	}
	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, u, rawBody)
	if err != nil {
		return cl.meta, c.endOperation(cl, start, visa.NewInputError("URL", "cannot be built"))
	}
	h := make(http.Header, 8+len(req.Header))
	rreq.Header = h
	for k, v := range req.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	// Shared value slices with len == cap: an append by anyone copies.
	h["Accept"] = jsonValue
	h["User-Agent"] = c.userAgent
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
	rreq.SetResponseHandler(cl.onResponse)
	rc := &cl.rc
	rc.HTTPClient = c.rhc
	rc.RetryMax = c.policy.MaxAttempts - 1
	resp, doErr := rc.Do(rreq)

	// 4. The outcome.
	cl.meta.Attempts = cl.attempt
	if resp != nil {
		cl.meta.StatusCode = resp.StatusCode
		cl.meta.CorrelationID = resp.Header.Get("X-Correlation-Id")
	}
	var result error
	switch {
	case errors.Is(doErr, errUnusable) && resp != nil && cl.bodyResp == resp:
		// The last answer was refused by Request.Check and not repeated:
		// decode it as any answer, so the caller's parser names the problem.
		result = c.decode(resp, cl.respBody, out)
	case doErr != nil:
		if resp != nil && cl.bodyResp != resp {
			closeBody(resp.Body)
		}
		result = cl.transportError(doErr)
	case resp == nil: // cannot happen: retryablehttp returns one or an error
		result = cl.transportError(errors.New("no response"))
	default:
		raw := cl.respBody
		if cl.bodyResp != resp {
			// The body of a response retryablehttp gave up on (retries
			// exhausted, or a status our policy stops on) is unread.
			if raw, err = cl.readBody(resp); err != nil {
				result = cl.transportError(err)
				break
			}
		}
		result = c.decode(resp, raw, out)
	}
	// 5. End of the last attempt and of the operation.
	cl.endAttempt(resp, result, false, 0)
	return cl.meta, c.endOperation(cl, start, result)
}

// beforeAttempt runs before every attempt (retryablehttp's
// RequestLogHook; it logs nothing): a fresh X-Pay-Token (new timestamp)
// and x-request-id on a copy of the header map (the previous attempt's
// request may still be referenced by the transport), and the Observer's
// AttemptStart.
func (cl *call) beforeAttempt(_ retryablehttp.Logger, r *http.Request, i int) {
	c := cl.c
	cl.attempt = i + 1
	cl.gotConn.Store(false)
	cl.attemptStart = time.Now()
	if c.signed {
		if i > 0 {
			r.Header = r.Header.Clone()
		}
		// One allocation for both values, each with len == cap.
		h := c.macs.Get().(hash.Hash)
		v := []string{xpay.SignMAC(h, c.now().Unix(), cl.resourcePath, cl.query, cl.body), uuid.NewString()}
		c.macs.Put(h)
		r.Header["X-Pay-Token"], r.Header["X-Request-Id"] = v[0:1:1], v[1:2:2]
	}
	if c.obs != nil {
		cl.attemptCtx = c.obs.AttemptStart(cl.opCtx, visa.AttemptInfo{OperationInfo: cl.info, Attempt: cl.attempt})
	}
}

// checkRetry is retryablehttp's CheckRetry: it runs after every attempt
// (and again after readResponse) and asks the one classifier. An attempt
// to be retried ends here; the last one ends in Do.
func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	again, wait, reason := cl.decide(ctx, resp, err)
	cl.nextWait, cl.reason = wait, reason
	if again {
		cl.endAttempt(resp, err, true, wait)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	return again, nil
}

// decide applies the classifier (internal/retry; docs/wire.md §10.3) and
// the limits on top of it: attempts, Retry-After cap, the call's deadline.
func (cl *call) decide(ctx context.Context, resp *http.Response, err error) (bool, time.Duration, string) {
	if errors.Is(err, errTooLarge) {
		return false, 0, retry.ReasonResponseError
	}
	if errors.Is(err, errUnusable) {
		switch {
		case !cl.idempotent:
			return false, 0, retry.ReasonResponseError
		case ctx.Err() != nil:
			return false, 0, retry.ReasonCanceled
		case cl.attempt >= cl.c.policy.MaxAttempts:
			return false, 0, retry.ReasonAttempts
		}
		wait := cl.jittered()
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return false, 0, retry.ReasonDeadline
		}
		return true, wait, retry.ReasonResponseError
	}
	status := 0
	if err == nil && resp != nil {
		status = resp.StatusCode
	}
	d := retry.Classify(status, cl.idempotent, err != nil && !cl.gotConn.Load(), err)
	switch {
	case !d.Retry:
		return false, 0, d.Reason
	case ctx.Err() != nil:
		return false, 0, retry.ReasonCanceled
	case cl.attempt >= cl.c.policy.MaxAttempts:
		return false, 0, retry.ReasonAttempts
	}
	wait := time.Duration(0)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		ra := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if ra > cl.c.policy.MaxRetryAfter {
			return false, 0, retry.ReasonRetryAfter // the server asks for longer than we wait: report it
		}
		wait = ra
	}
	if wait == 0 {
		wait = cl.jittered()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return false, 0, retry.ReasonDeadline // the call would time out while waiting
	}
	return true, wait, d.Reason
}

// readResponse is retryablehttp's response handler: it consumes the body
// of a response the policy does not retry, inside the retry loop, so that
// a read failure of an idempotent call is retried like any network error.
func (cl *call) readResponse(resp *http.Response) error {
	b, err := cl.readBody(resp)
	cl.bodyResp = resp
	cl.respBody = b
	if err == nil && cl.check != nil && resp.StatusCode/100 == 2 && cl.check(b) != nil {
		return errUnusable
	}
	return err
}

// backoff hands retryablehttp the wait decide chose; its own min/max and
// (uncapped) Retry-After handling are not used. retryablehttp sleeps in a
// select on the request context, so the wait ends as soon as ctx is done.
func (cl *call) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	w := cl.nextWait
	if cl.c.waitHook != nil {
		w = cl.c.waitHook(w)
	}
	return w
}

// endAttempt reports one attempt, once: a debug log record and the
// Observer's AttemptEnd. Never a body, never a header other than the
// correlation id, the URL redacted.
func (cl *call) endAttempt(resp *http.Response, err error, again bool, wait time.Duration) {
	if cl.ended == cl.attempt || cl.attempt == 0 {
		return
	}
	cl.ended = cl.attempt
	c := cl.c
	status, corr := 0, ""
	if resp != nil {
		status, corr = resp.StatusCode, resp.Header.Get("X-Correlation-Id")
	}
	dur := time.Since(cl.attemptStart)
	if c.obs != nil {
		r := visa.AttemptResult{StatusCode: status, CorrelationID: corr, Duration: dur, Retry: again, RetryReason: cl.reason, Err: err}
		if ae, ok := errors.AsType[*visa.APIError](err); ok {
			r.Code = ae.Code
			if r.Code == "" {
				r.Code = ae.Reason
			}
		}
		c.obs.AttemptEnd(cl.attemptCtx, visa.AttemptInfo{OperationInfo: cl.info, Attempt: cl.attempt}, r)
	}
	lg := c.log
	if lg == nil || !lg.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("op", cl.meta.Operation),
		slog.String("method", cl.method),
		slog.String("url", cl.redactedURL()),
		slog.Int("attempt", cl.attempt),
		slog.Duration("duration", dur),
		slog.Int("status", status),
	)
	if corr != "" {
		attrs = append(attrs, slog.String("correlation_id", corr))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.scrub(errText(err))))
	}
	attrs = append(attrs, slog.Bool("retry", again), slog.String("reason", cl.reason))
	if again {
		attrs = append(attrs, slog.Duration("wait", wait))
	}
	lg.LogAttrs(context.Background(), slog.LevelDebug, "visa http attempt", attrs...)
}

// endOperation wraps a failure in a *visa.OperationError, logs it (Warn
// for transport failures, undecodable answers and 5xx; Debug for other API
// errors, ordinary outcomes such as a wrong OTP) and tells the Observer.
func (c *Client) endOperation(cl *call, start time.Time, err error) error {
	meta := cl.meta
	if err != nil {
		err = c.opError(meta, err)
	}
	if c.obs != nil {
		c.obs.OperationEnd(cl.opCtx, cl.info, visa.OperationResult{Meta: meta, Duration: time.Since(start), Err: err})
	}
	if c.log == nil || err == nil {
		return err
	}
	level := slog.LevelWarn
	if ae, ok := errors.AsType[*visa.APIError](err); ok && ae.HTTPStatus < 500 && !errors.Is(err, visa.ErrMalformedResponse) {
		level = slog.LevelDebug
	}
	if c.log.Enabled(context.Background(), level) {
		c.log.LogAttrs(context.Background(), level, "visa http call failed",
			slog.String("op", meta.Operation),
			slog.String("method", cl.method),
			slog.String("url", cl.redactedURL()),
			slog.Int("status", meta.StatusCode),
			slog.Int("attempts", meta.Attempts),
			slog.Duration("duration", time.Since(start)),
			slog.String("correlation_id", meta.CorrelationID),
			slog.String("error", c.scrub(err.Error())),
		)
	}
	return err
}

// opError wraps err with the operation and its metadata.
func (c *Client) opError(meta visa.ResponseMeta, err error) error {
	return &visa.OperationError{Operation: meta.Operation, Meta: meta, Err: err}
}

// transportError maps what retryablehttp returned (or a failed read)
// into *visa.ResponseError (too large) or *visa.RequestError.
func (cl *call) transportError(err error) error {
	if errors.Is(err, errTooLarge) {
		return &visa.ResponseError{StatusCode: cl.meta.StatusCode, CorrelationID: cl.meta.CorrelationID,
			Kind: visa.ErrResponseTooLarge, Detail: "body exceeds " + strconv.FormatInt(cl.c.maxBody, 10) + " bytes"}
	}
	// *url.Error carries the full URL, api key included: keep its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &visa.RequestError{Method: cl.method, URL: cl.redactedURL(), Attempts: cl.meta.Attempts,
		Unsent: !cl.gotConn.Load(), Err: cl.c.scrubError(err)}
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
// which covers the envelope bytes, is recomputed for every attempt.
//
// The JSON is encoded into scratch (pooled) and copied out only when it
// is sent as is (VTS): the bytes handed to net/http must not be reused,
// since a transport may still read a request body after RoundTrip
// returns.
func (c *Client) encodeBody(mle *jwe.MLEEncrypter, v any, scratch *bytes.Buffer) ([]byte, error) {
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
			return nil, visa.NewInputError("body", "cannot be encoded as JSON: "+jsonErrorKind(err))
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
		return nil, fmt.Errorf("visa: MLE encryption: %w: %w", visa.ErrEncryption, err)
	}
	// The envelope is one []byte, not a reader over the compact string:
	// net/http writes the headers of a body it does not know to be in
	// memory (*bytes.Reader, *strings.Reader) in a write of their own,
	// one more system call per attempt than the copy saves.
	return jwe.MarshalEnvelope(compact), nil
}

// readBody reads resp.Body up to the client's limit into the call's
// buffer (rbuf), closes it and returns the bytes. The buffer is
// taken from the size-class pools: sized from Content-Length when the
// server sent one (one spare byte sees the end of the body), at most
// maxPresize, else grown class by class as bytes arrive, so that a
// server announcing a large body it never sends costs no large buffer.
// The buffer of an earlier attempt goes back first.
func (cl *call) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	putBody(cl.rbuf)
	cl.rbuf = nil
	maxBody := cl.c.maxBody
	size := minBodyClass
	if n := resp.ContentLength; n > maxBody {
		return nil, errTooLarge
	} else if n >= 0 {
		size = int(min(n, maxPresize)) + 1
	}
	b := getBody(size)
	for {
		if len(b) == cap(b) { // below the limit (checked after each read)
			nb := getBody(2 * cap(b))
			nb = append(nb, b...)
			putBody(b)
			b = nb
		}
		// Never more than maxBody+1 bytes: one past the limit tells.
		end := cap(b)
		if room := maxBody + 1 - int64(len(b)); int64(end-len(b)) > room {
			end = len(b) + int(room)
		}
		n, err := resp.Body.Read(b[len(b):end])
		b = b[:len(b)+n]
		cl.rbuf = b
		if int64(len(b)) > maxBody {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Response buffers are pooled by size class: class i holds buffers of
// capacity minBodyClass<<i, up to maxBodyClass; larger ones are not kept.
// A call takes one per read and returns it when it ends, so no call state
// pins a large buffer and a large answer does not make every later one
// cost a large buffer.
const (
	maxPresize    = 1 << 20 // the most an announced length reserves
	minBodyClass  = 4 << 10
	maxBodyClass  = 16 << 20
	numBodyClass  = 13 // 4 KiB << 12 == 16 MiB
	bodyClassBits = 12 // log2(minBodyClass)
)

var bodyPools [numBodyClass]sync.Pool

// bodyClass returns the smallest class whose buffers hold n bytes, or -1
// when n is above maxBodyClass.
func bodyClass(n int) int {
	if n <= minBodyClass {
		return 0
	}
	if n > maxBodyClass {
		return -1
	}
	return bits.Len(uint(n-1)) - bodyClassBits
}

// getBody returns an empty buffer of capacity at least n.
func getBody(n int) []byte {
	i := bodyClass(n)
	if i < 0 {
		return make([]byte, 0, n)
	}
	if p, ok := bodyPools[i].Get().(*[]byte); ok {
		b := (*p)[:0]
		*p = nil
		bodyPtrs.Put(p)
		return b
	}
	return make([]byte, 0, minBodyClass<<i)
}

// putBody returns b to its class's pool, if it has the exact capacity of
// one (buffers from getBody do, except those above maxBodyClass).
func putBody(b []byte) {
	c := cap(b)
	if c == 0 {
		return
	}
	i := bodyClass(c)
	if i < 0 || minBodyClass<<i != c {
		return
	}
	p, _ := bodyPtrs.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b[:0]
	bodyPools[i].Put(p)
}

// bodyPtrs recycles the *[]byte boxes the class pools hold, so that
// putting a buffer back costs no allocation.
var bodyPtrs sync.Pool

// errTooLarge is the internal marker of an oversize body; Do reports it
// as a *visa.ResponseError matching visa.ErrResponseTooLarge.
var errTooLarge = errors.New("response body too large")

// errUnusable marks an answer Request.Check refused.
var errUnusable = errors.New("answer refused by the request's check")

// decode turns a complete response into out or an error.
func (c *Client) decode(resp *http.Response, raw []byte, out any) error {
	plain, mleErr := c.unwrap(raw)
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		if mleErr != nil {
			return c.malformed(resp, "MLE", mleErr)
		}
		if p, ok := out.(*[]byte); ok {
			*p = bytes.Clone(plain)
			return nil
		}
		if out == nil || isEmptyJSON(plain) {
			return nil
		}
		if err := json.Unmarshal(plain, out); err != nil {
			return c.malformed(resp, "JSON", errors.New(jsonErrorKind(err)))
		}
		return nil
	}
	apiErr := parseAPIError(c.product, status, resp.Header, plain, time.Now())
	if mleErr != nil {
		// The status is still worth having: errors.As finds the
		// *visa.APIError, errors.Is finds ErrMalformedResponse.
		return fmt.Errorf("%w (%w)", apiErr, c.malformed(resp, "MLE", mleErr))
	}
	return apiErr
}

// unwrap decrypts an MLE envelope ({"encData":"<JWE>"}); any other body
// is plain JSON (gateway errors are never encrypted). VTS has no MLE.
func (c *Client) unwrap(raw []byte) ([]byte, error) {
	if c.mle == nil || len(raw) == 0 {
		return raw, nil
	}
	compact, ok := jwe.ParseEnvelope(raw)
	if !ok {
		return raw, nil
	}
	pt, _, err := c.mle.Decrypt(compact)
	if err != nil {
		return nil, err
	}
	return pt, nil
}

func (c *Client) malformed(resp *http.Response, what string, cause error) error {
	return &visa.ResponseError{StatusCode: resp.StatusCode, CorrelationID: resp.Header.Get("X-Correlation-Id"),
		Kind: visa.ErrMalformedResponse, Detail: what, Err: cause}
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
	meta         visa.ResponseMeta // filled as the call goes; returned
	method       string
	path, query  string
	resourcePath string
	body         []byte
	idempotent   bool
	check        func([]byte) error

	info              visa.OperationInfo // Observer only
	opCtx, attemptCtx context.Context    // Observer only

	trace        httptrace.ClientTrace
	rc           retryablehttp.Client
	onResponse   retryablehttp.ResponseHandlerFunc
	scratch      bytes.Buffer // request JSON before MLE; never sent as is
	gotConn      atomic.Bool  // a connection was obtained in this attempt
	attempt      int
	ended        int // last attempt reported by endAttempt
	attemptStart time.Time
	nextWait     time.Duration // wait decided by checkRetry, returned by backoff
	reason       string        // the classifier's reason for the last decision

	bodyResp *http.Response // response whose body readResponse consumed
	respBody []byte
	rbuf     []byte // the pooled buffer respBody lies in (getBody); returned by release
}

// callPool recycles call states, each with its retryablehttp.Client and
// callbacks bound once: a call costs no allocation for them.
var callPool = sync.Pool{New: func() any {
	cl := &call{}
	cl.trace.GotConn = cl.onGotConn
	cl.onResponse = cl.readResponse
	cl.rc = retryablehttp.Client{
		CheckRetry:     cl.checkRetry,
		Backoff:        cl.backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: cl.beforeAttempt,
		// Logger and ResponseLogHook stay nil: retryablehttp would print
		// the URL, api key included.
	}
	return cl
}}

func (cl *call) onGotConn(httptrace.GotConnInfo) { cl.gotConn.Store(true) }

// release clears the call and returns it to the pool. The response bytes
// have been decoded by then; out never aliases them (json copies, *[]byte
// gets a clone).
func (cl *call) release() {
	cl.c, cl.meta, cl.body, cl.bodyResp, cl.respBody = nil, visa.ResponseMeta{}, nil, nil, nil
	cl.method, cl.path, cl.query, cl.resourcePath, cl.reason = "", "", "", "", ""
	cl.info, cl.opCtx, cl.attemptCtx = visa.OperationInfo{}, nil, nil
	cl.idempotent, cl.attempt, cl.ended, cl.nextWait = false, 0, 0, 0
	cl.check = nil
	cl.gotConn.Store(false)
	cl.attemptStart = time.Time{}
	cl.rc.HTTPClient = nil
	putBody(cl.rbuf)
	cl.rbuf = nil
	if cl.scratch.Cap() > 64<<10 {
		cl.scratch = bytes.Buffer{} // do not pin large buffers
	}
	cl.scratch.Reset()
	callPool.Put(cl)
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

// cryptoJitter returns a uniform value in [0, n) from crypto/rand.
func cryptoJitter(n int64) int64 {
	if n <= 1 {
		return 0
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) % uint64(n))
}

func (cl *call) redactedURL() string {
	u := cl.c.base + cl.path
	if cl.query == "" {
		return u
	}
	return u + "?" + RedactURL("?" + cl.query)[1:]
}

// errText is the text of an attempt error without the *url.Error URL.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
