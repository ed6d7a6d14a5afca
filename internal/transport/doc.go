// Package transport is the one signed HTTP path every Visa service client
// (vts, vic) takes. A service method builds a Request (operation name,
// method, path template with parameters, query, body, idempotency) and
// calls Client.Do; it never signs, encrypts, retries or decodes errors
// itself.
//
// # One path
//
// New(cfg, product) validates the configuration for VIC or VTS once
// (visa.Config.ValidateFor), parses the MLE keys once (VIC), and builds
// the HTTP client: TLS 1.2 at least, optional roots and mutual-TLS
// identity, dial and handshake timeouts, a pooled transport; a caller's
// *http.Client is copied, never modified. Redirects are never followed
// (Visa does not redirect, and following would resend a signed request
// elsewhere): a 3xx comes back as a *visa.APIError. HTTPClient(cfg) hands
// the same client to the SDK's unsigned requests (JWKS, Auth iFrame).
//
// Do builds the URL by hand (path parameters escaped with url.PathEscape,
// refusing "", ".", ".." and "/"; query "apikey=K" first, then the extras
// in order), encodes the body once (no HTML escaping), and for VIC wraps
// it once in an MLE envelope {"encData":"<JWE>"} with the keyId header.
// Encrypting once per call is safe: the JWE iat tolerates ±300 s and a
// call is bounded by cfg.Timeout.
//
// # Signing per attempt
//
// Every attempt carries a fresh X-Pay-Token (new timestamp over the exact
// path, raw query and body bytes sent) and a fresh x-request-id (UUIDv4):
// retryablehttp's PrepareRetry re-signs on a copy of the header map.
//
// # Retry safety
//
// Retries go through go-retryablehttp with this package's CheckRetry and
// Backoff:
//
//   - reads (GET, HEAD, OPTIONS) and writes marked Request.Idempotent
//     (the server deduplicates them) retry on 429, 5xx except 501, and
//     network errors, including a failure while reading the body;
//   - any other write retries only when it provably never reached the
//     server: no connection was obtained in that attempt (DNS, dial or
//     TLS-handshake failure), as observed through net/http/httptrace. A
//     write that got a 5xx, a 429, or lost its connection after it was
//     obtained is never repeated;
//   - certificate, TLS-alert and protocol errors are permanent;
//   - the wait is full jitter between RetryPolicy.MinBackoff and
//     min(MaxBackoff, MinBackoff·2^(n-1)), or the server's Retry-After on
//     429/503. A Retry-After above MaxRetryAfter is not waited for: the
//     429 comes back as a *visa.APIError with RetryAfter set. A wait that
//     would outlast the call's deadline ends the retries too;
//   - retryablehttp sleeps in a select on the request context, so
//     cancelling ctx ends a backoff at once.
//
// # Responses and errors
//
// Bodies are read through a bounded reader (cfg.MaxResponseBytes, 1 MiB
// by default); a larger one gives an error matching
// visa.ErrResponseTooLarge. An MLE envelope (a JSON object whose
// "encData" is a string) is decrypted with jwe, for error bodies too;
// anything else is plain JSON, as Visa's gateway errors are. A 2xx body decodes into out (an empty
// body or "{}" is success); a non-2xx becomes *visa.APIError via
// visa.ParseAPIError, with X-CORRELATION-ID. Undecodable JSON or MLE
// matches visa.ErrMalformedResponse. Network failures and cancellation are
// *RequestError.
//
// # Redaction
//
// retryablehttp's logger and hooks stay off: they print the URL, api key
// included. This package logs one slog debug record per attempt ("visa
// http attempt": op, method, redacted URL, status, duration, attempt,
// correlation id, retry decision) and one record per failed call, never a
// body and never a header other than the correlation id. Every URL in a
// log record or error passes through RedactURL; a *url.Error is reduced to
// its cause; error text from foreign RoundTrippers is scrubbed of every
// credential in the configuration.
package transport
