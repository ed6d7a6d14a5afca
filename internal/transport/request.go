package transport

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vicgo/visa"
)

// Request describes one logical call: what every service method hands to
// Client.Do.
type Request struct {
	// Op names the SDK operation, e.g. "vts.ProvisionToken". It goes into
	// errors and log records.
	Op string
	// Method is the HTTP method ("GET", "POST", "PUT", "DELETE").
	Method string
	// Path is the API path template, e.g.
	// "/vts/panEnrollments/{}/provisionedTokens"; each "{}" is replaced by
	// the next PathParams value, path-escaped.
	Path string
	// PathParams fill the "{}" of Path in order. An empty value, "." or
	// "..", or one containing "/" is refused with a *visa.InputError.
	PathParams []string
	// Query parameters follow apikey=... in this order, form-escaped. The
	// query string is built by hand and signed exactly as sent.
	Query []QueryParam
	// Body is JSON-encoded once per call (HTML escaping off); nil sends no
	// body. A []byte or json.RawMessage is sent as is.
	Body any
	// Idempotent marks a write the server deduplicates (for example a
	// confirmation keyed by transactionReferenceId), so it may be retried
	// like a read. GET, HEAD and OPTIONS are always idempotent.
	Idempotent bool
	// Header holds extra request headers. It cannot replace the headers
	// the transport owns (signature, request id, content type, keyId).
	Header http.Header
}

// QueryParam is one query parameter, in wire order.
type QueryParam struct{ Key, Value string }

// Response is what Do learned about the exchange. Do returns it with
// errors too, as far as it got.
type Response struct {
	// StatusCode is the HTTP status of the last attempt (0 if no response).
	StatusCode int
	// CorrelationID is the X-CORRELATION-ID response header.
	CorrelationID string
	// Header is the response header of the last attempt.
	Header http.Header
	// Attempts is the number of HTTP attempts made.
	Attempts int
	// Duration is the time the whole call took, backoff included.
	Duration time.Duration
}

// ownedHeaders are set by the transport and cannot be overridden through
// Request.Header.
var ownedHeaders = map[string]bool{
	"X-Pay-Token": true, "X-Request-Id": true, "Content-Type": true, "Accept": true,
	"Keyid": true, "Authorization": true, "Content-Length": true, "Host": true, "User-Agent": true,
}

// idempotentMethod reports the methods RFC 9110 calls safe to repeat
// without server-side deduplication that this SDK uses as reads.
func idempotentMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// buildPath replaces each "{}" of tmpl by the next param, path-escaped.
// It returns the escaped path as sent and signed.
func buildPath(op, tmpl string, params []string) (string, error) {
	if tmpl == "" || tmpl[0] != '/' {
		return "", visa.NewInputError(op+": path", "must start with /")
	}
	n := strings.Count(tmpl, "{}")
	if n != len(params) {
		return "", visa.NewInputError(op+": path", "has a different number of {} than parameters")
	}
	if n == 0 {
		return tmpl, nil
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 16*n)
	rest := tmpl
	for _, p := range params {
		if p == "" || p == "." || p == ".." || strings.Contains(p, "/") {
			return "", visa.NewInputError(op+": path parameter", `must not be empty, ".", ".." or contain "/"`)
		}
		i := strings.Index(rest, "{}")
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(p))
		rest = rest[i+2:]
	}
	b.WriteString(rest)
	return b.String(), nil
}

// buildQuery returns "apikey=K" followed by the extras in order.
func (c *Client) buildQuery(extra []QueryParam) string {
	if len(extra) == 0 {
		return c.apiKeyQuery
	}
	var b strings.Builder
	b.WriteString(c.apiKeyQuery)
	for _, q := range extra {
		b.WriteByte('&')
		b.WriteString(url.QueryEscape(q.Key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(q.Value))
	}
	return b.String()
}

// redactedValue replaces secret query values.
const redactedValue = "REDACTED"

// secretQueryKey reports whether a query parameter name looks like it
// carries a credential: apikey, apiKey, api_key, any name containing
// "key", "secret", "token", "password" or "signature".
func secretQueryKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"key", "secret", "token", "password", "signature"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// RedactURL returns u with the value of every credential-like query
// parameter (apikey, apiKey, any name containing "key", "secret", "token",
// "password" or "signature") replaced by REDACTED and any user-info
// password masked. Parameter order and other values are kept. A string
// that does not parse as a URL is reduced to "[unparseable URL]".
func RedactURL(u string) string {
	base, query, hasQuery := strings.Cut(u, "?")
	frag := ""
	if hasQuery {
		query, frag, _ = strings.Cut(query, "#")
	} else {
		base, frag, _ = strings.Cut(base, "#")
	}
	pu, err := url.Parse(base)
	if err != nil {
		return "[unparseable URL]"
	}
	if pu.User != nil {
		if _, has := pu.User.Password(); has {
			pu.User = url.UserPassword(pu.User.Username(), redactedValue)
		}
		base = pu.String()
	}
	if !hasQuery {
		return base
	}
	var b strings.Builder
	b.Grow(len(u))
	b.WriteString(base)
	b.WriteByte('?')
	for i, kv := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, hasVal := strings.Cut(kv, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if secretQueryKey(dk) {
			b.WriteString(k)
			b.WriteString("=" + redactedValue)
			continue
		}
		if !hasVal {
			b.WriteString(k)
			continue
		}
		b.WriteString(kv)
	}
	_ = frag // fragments are never sent; drop them
	return b.String()
}
