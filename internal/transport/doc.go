// Package transport is the one HTTP path of the SDK. Every exchange goes
// through Client.Do: the signed VIC and VTS calls (New), and the unsigned
// ones (NewUnsigned): the Auth iFrame handshake (authframe.Direct), the
// sandbox merchant (agent/agenttest) and the signedPayload JWKS (vic). A
// service method builds a Request (operation name, method, path template
// with parameters, query, body, idempotency) and calls Do; it never signs,
// encrypts, retries, reads bodies or decodes errors itself.
// internal/repotest.TestOneHTTPPath fails if any other package of the SDK
// sends HTTP.
//
// # Construction
//
// New(cfg, product) validates the configuration once
// (visa.Config.ValidateFor), parses the MLE keys once (VIC), and builds
// the HTTP client: TLS 1.2 at least, optional roots and mutual-TLS
// identity, dial and handshake timeouts, a pooled transport; a caller's
// *http.Client is copied, never modified. A caller's TLS settings that
// switch certificate verification off (InsecureSkipVerify, an empty root
// pool) are refused with a *visa.InsecureTLSError in production and for
// any host but a loopback one in sandbox mode, where one warning is logged.
// Config.WrapTransport wraps the transport last, after TLS, so an
// instrumenting RoundTripper (otelhttp) works with Config.TLS. Redirects
// are never followed (following would resend a signed request elsewhere):
// a 3xx comes back as a *visa.APIError.
//
// # The attempt flow (do.go, top to bottom)
//
// Do builds the URL by hand (path placeholders "{name}" replaced by
// url.PathEscape'd parameters, refusing "", ".", ".." and "/"; query
// "apikey=K" first, then the extras in order), encodes the body once (no
// HTML escaping), and for VIC wraps it once in an MLE envelope
// {"encData":"<JWE>"} with the keyId header (the JWE iat tolerates ±300 s
// and a call is bounded by its timeout). The call gets the client's
// timeout unless the caller's deadline is earlier. Then go-retryablehttp
// runs the attempts with this package's hooks: beforeAttempt (a fresh
// X-Pay-Token from a pooled crypto/hmac and a fresh x-request-id on a copy
// of the header map, Observer.AttemptStart), checkRetry (the classifier),
// readResponse (the bounded read, inside the loop so that a failed read of
// an idempotent call is retried), backoff. The outcome is mapped last and
// the Observer told.
//
// # Retries
//
// One classifier decides, internal/retry (the table is in docs/wire.md
// §10.3): reads and writes marked Request.Idempotent are retried on 408,
// 429, 5xx but 501 and 505, and network errors; other writes only on 429
// (throttled before processing) or when they provably never left (no
// connection was obtained in that attempt: DNS, dial or TLS-handshake
// failure, observed through net/http/httptrace); certificate, TLS-alert
// and TLS-record errors never. The wait is full jitter between
// RetryPolicy.MinBackoff and min(MaxBackoff, MinBackoff·2^(n-1)), or the
// server's Retry-After on 429 and 503; a Retry-After above MaxRetryAfter
// ends the call with the *visa.APIError (RetryAfter set), and so does a
// wait that would outlast the call's deadline. retryablehttp sleeps in a
// select on the request context, so cancelling ends a wait at once.
//
// retryablehttp closes its client's idle connections after every call
// that ends in an error; the client it is given hides
// CloseIdleConnections (keepIdle) so one failed call does not drop the
// pooled connections of every concurrent caller.
//
// # Responses and errors
//
// Bodies are read through a bounded reader sized from Content-Length
// (Config.MaxResponseBytes, 1 MiB by default). An MLE envelope is
// decrypted, for error bodies too; anything else is plain JSON, as Visa's
// gateway errors are. A 2xx body decodes into out (a *[]byte receives it
// raw; an empty body or "{}" is success); a non-2xx becomes a
// *visa.APIError with X-CORRELATION-ID and Retry-After. Network failures
// and cancellation are *visa.RequestError (matching visa.ErrNetwork), an
// oversize or undecodable answer a *visa.ResponseError. Every error is a
// *visa.OperationError naming the operation and carrying the
// visa.ResponseMeta (status, correlation id, attempts) that Do also
// returns on success.
//
// # Observer and redaction
//
// Config.Observer is told OperationStart, AttemptStart, AttemptEnd (status,
// Visa code, correlation id, duration, retry decision and reason) and
// OperationEnd, with the operation, product, method, route template and
// host: never a body, a query or a secret. retryablehttp's logger stays
// off (it prints the URL, api key included); this package logs one slog
// debug record per attempt and one per failed call, never a body and never
// a header other than the correlation id. Every URL in a log record or
// error passes through RedactURL; a *url.Error is reduced to its cause;
// error text from foreign RoundTrippers is scrubbed of every credential in
// the configuration.
package transport
