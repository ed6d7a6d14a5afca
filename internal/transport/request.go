package transport

import (
	"net/http"
	"net/url"
	"strings"

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
	// "/vts/panEnrollments/{vPanEnrollmentID}/provisionedTokens": each
	// placeholder ("{name}" or "{}") is replaced by the next PathParams
	// value, path-escaped. The template itself is the route the Observer
	// sees. An unsigned client may leave it empty (its base URL).
	Path string
	// PathParams fill the placeholders of Path in order. An empty value,
	// "." or "..", or one containing "/" is refused with a
	// *visa.InputError.
	PathParams []string
	// Query parameters follow apikey=... (signed) or the base URL's query
	// (unsigned) in this order, form-escaped. The query string is built by
	// hand and signed exactly as sent.
	Query []QueryParam
	// Body is JSON-encoded once per call (HTML escaping off); nil sends no
	// body. A []byte or json.RawMessage is sent as is.
	Body any
	// Idempotent marks a write the server deduplicates (for example a
	// confirmation keyed by transactionReferenceId), so it is retried
	// like a read (docs/wire.md §10.3). GET, HEAD and OPTIONS always are.
	Idempotent bool
	// Check, when set, vets the body of a 2xx answer before it is
	// accepted. An answer it refuses is unusable: an idempotent request is
	// then repeated like one whose answer was lost (docs/wire.md §10.3);
	// a write is not, and its last answer is decoded as usual. Check never
	// sees a secret-bearing error path: it returns only a reason.
	Check func(body []byte) error
	// Header holds extra request headers. It cannot replace the headers
	// the transport owns (signature, request id, content type, keyId).
	Header http.Header
}

// QueryParam is one query parameter, in wire order.
type QueryParam struct{ Key, Value string }

// ownedHeaders are set by the transport and cannot be overridden through
// Request.Header.
var ownedHeaders = map[string]bool{
	"X-Pay-Token": true, "X-Request-Id": true, "Content-Type": true, "Accept": true,
	"Keyid": true, "Authorization": true, "Content-Length": true, "Host": true, "User-Agent": true,
}

// buildPath replaces each placeholder ("{...}") of tmpl by the next
// param, path-escaped. It returns the escaped path as sent and signed.
func buildPath(tmpl string, params []string, unsigned bool) (string, error) {
	if tmpl == "" && unsigned && len(params) == 0 {
		return "", nil
	}
	if tmpl == "" || tmpl[0] != '/' {
		return "", visa.NewInputError("path", "must start with /")
	}
	if strings.IndexByte(tmpl, '{') < 0 {
		if len(params) != 0 {
			return "", visa.NewInputError("path", "has fewer placeholders than parameters")
		}
		return tmpl, nil
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 16*len(params))
	rest := tmpl
	for _, p := range params {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest[max(i, 0):], '}')
		if i < 0 || j < 0 {
			return "", visa.NewInputError("path", "has fewer placeholders than parameters")
		}
		if p == "" || p == "." || p == ".." || strings.Contains(p, "/") {
			return "", visa.NewInputError("path parameter", `must not be empty, ".", ".." or contain "/"`)
		}
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(p))
		rest = rest[i+j+1:]
	}
	if strings.IndexByte(rest, '{') >= 0 {
		return "", visa.NewInputError("path", "has more placeholders than parameters")
	}
	b.WriteString(rest)
	return b.String(), nil
}

// buildQuery returns the fixed query ("apikey=K", or the unsigned base
// URL's) followed by the extras in order.
func (c *Client) buildQuery(extra []QueryParam) string {
	if len(extra) == 0 {
		return c.fixedQuery
	}
	var b strings.Builder
	b.WriteString(c.fixedQuery)
	for i, q := range extra {
		if i > 0 || c.fixedQuery != "" {
			b.WriteByte('&')
		}
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
