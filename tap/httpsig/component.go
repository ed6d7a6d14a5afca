package httpsig

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"
)

// Component is one covered component (RFC 9421 §2): an HTTP field by its
// lowercase name, or a derived component such as @authority, with the
// parameters of §2.1 and §2.2.8.
type Component struct {
	// Name is the lowercase field name or the derived component name
	// (@method, @target-uri, @authority, @scheme, @request-target, @path,
	// @query, @query-param, @status).
	Name string
	// Key selects one member of a Dictionary field (the key parameter).
	Key string
	// QueryName names the query parameter of @query-param (the name
	// parameter).
	QueryName string
	// SF re-serializes a structured field (sf); BS wraps each field line
	// as a byte sequence (bs); Req takes the component from the request of
	// a response (req).
	SF, BS, Req bool

	// id is the serialized identifier as it appeared in Signature-Input,
	// parameter order kept; empty for components built in Go.
	id string
}

// Derived component names (RFC 9421 §2.2).
var derived = map[string]bool{
	"@method": true, "@target-uri": true, "@authority": true, "@scheme": true,
	"@request-target": true, "@path": true, "@query": true, "@query-param": true, "@status": true,
}

// isDerived reports whether name is a derived component name: the derived
// map's keys, as a switch (no string hashing on the parser's fast path).
func isDerived(name string) bool {
	switch len(name) { // by length first: each test is then one comparison
	case 5:
		return name == "@path"
	case 6:
		return name == "@query"
	case 7:
		return name == "@method" || name == "@scheme" || name == "@status"
	case 10:
		return name == "@authority"
	case 11:
		return name == "@target-uri"
	case 12:
		return name == "@query-param"
	case 15:
		return name == "@request-target"
	}
	return false
}

// structuredFields names the fields whose structured type is known, for
// the sf and key parameters.
var structuredFields = map[string]string{
	"signature-input": "dict", "signature": "dict", "signature-agent": "dict",
	"content-digest": "dict", "repr-digest": "dict", "want-content-digest": "dict",
	"want-repr-digest": "dict", "accept-signature": "dict", "priority": "dict",
	"cache-status": "list", "proxy-status": "list", "accept-ch": "list",
}

// ParseComponent parses one component identifier in its serialized form,
// such as `"@authority"` or `"signature-agent";key="sig1"`.
func ParseComponent(s string) (Component, error) {
	it, err := httpsfv.UnmarshalItem([]string{s})
	if err != nil {
		return Component{}, fmt.Errorf("%w: component identifier: %v", ErrMalformed, err)
	}
	return componentOf(it)
}

// MustComponents parses identifiers with ParseComponent and panics on an
// error; for identifiers written in the program.
func MustComponents(ids ...string) []Component {
	out := make([]Component, len(ids))
	for i, s := range ids {
		c, err := ParseComponent(s)
		if err != nil {
			panic(err)
		}
		out[i] = c
	}
	return out
}

func componentOf(it httpsfv.Item) (Component, error) {
	name, ok := it.Value.(string)
	if !ok {
		return Component{}, fmt.Errorf("%w: a component identifier must be a string", ErrMalformed)
	}
	c := Component{Name: name}
	if err := c.validName(); err != nil {
		return Component{}, err
	}
	for _, p := range it.Params.Names() {
		v, _ := it.Params.Get(p)
		switch p {
		case "sf", "bs", "req":
			b, ok := v.(bool)
			if !ok || !b {
				return Component{}, fmt.Errorf("%w: component %s: parameter %s must be a bare flag", ErrMalformed, name, p)
			}
			switch p {
			case "sf":
				c.SF = true
			case "bs":
				c.BS = true
			default:
				c.Req = true
			}
		case "key", "name":
			s, ok := v.(string)
			if !ok {
				return Component{}, fmt.Errorf("%w: component %s: parameter %s must be a string", ErrMalformed, name, p)
			}
			if p == "key" {
				c.Key = s
			} else {
				c.QueryName = s
			}
		default:
			return Component{}, fmt.Errorf("%w: component %s: parameter %s", ErrUnsupportedComponent, name, p)
		}
	}
	if err := c.validParams(); err != nil {
		return Component{}, err
	}
	if len(it.Params.Names()) == 0 && !strings.ContainsAny(name, "\"\\") {
		// The common case, serialized without a round through httpsfv.
		c.id = `"` + name + `"`
		return c, nil
	}
	s, err := httpsfv.Marshal(it)
	if err != nil {
		return Component{}, fmt.Errorf("%w: component identifier: %v", ErrMalformed, err)
	}
	c.id = s
	return c, nil
}

func (c Component) validName() error {
	if c.Name == "" {
		return fmt.Errorf("%w: empty component name", ErrMalformed)
	}
	if c.Name[0] == '@' {
		if !derived[c.Name] {
			return fmt.Errorf("%w: derived component %q", ErrUnsupportedComponent, c.Name)
		}
		return nil
	}
	for i := 0; i < len(c.Name); i++ {
		b := c.Name[i]
		if b >= 'A' && b <= 'Z' || b <= ' ' || b >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, b) >= 0 {
			return fmt.Errorf("%w: component name %q: field names are lowercase tokens", ErrMalformed, c.Name)
		}
	}
	return nil
}

func (c Component) validParams() error {
	derivedName := c.Name[0] == '@'
	switch {
	case c.Name == "@query-param" && c.QueryName == "":
		return fmt.Errorf("%w: @query-param needs a name parameter", ErrMalformed)
	case c.Name != "@query-param" && c.QueryName != "":
		return fmt.Errorf("%w: component %s: the name parameter is for @query-param", ErrMalformed, c.Name)
	case derivedName && (c.SF || c.BS || c.Key != ""):
		return fmt.Errorf("%w: component %s: sf, bs and key are for fields", ErrMalformed, c.Name)
	case c.BS && (c.SF || c.Key != ""):
		return fmt.Errorf("%w: component %s: bs cannot be combined with sf or key", ErrMalformed, c.Name)
	case (c.SF || c.Key != "") && structuredFields[c.Name] == "":
		return fmt.Errorf("%w: component %s: structured type of the field unknown", ErrUnsupportedComponent, c.Name)
	case c.Key != "" && structuredFields[c.Name] != "dict":
		return fmt.Errorf("%w: component %s: key needs a Dictionary field", ErrUnsupportedComponent, c.Name)
	}
	return nil
}

// String returns the serialized component identifier.
func (c Component) String() string {
	if c.id != "" {
		return c.id
	}
	it := c.item()
	s, err := httpsfv.Marshal(it)
	if err != nil {
		return strconv.Quote(c.Name)
	}
	return s
}

func (c Component) item() httpsfv.Item {
	it := httpsfv.NewItem(c.Name)
	if c.Key != "" {
		it.Params.Add("key", c.Key)
	}
	if c.QueryName != "" {
		it.Params.Add("name", c.QueryName)
	}
	if c.SF {
		it.Params.Add("sf", true)
	}
	if c.BS {
		it.Params.Add("bs", true)
	}
	if c.Req {
		it.Params.Add("req", true)
	}
	return it
}

// check validates a component built in Go and caches its identifier.
func (c Component) check() (Component, error) {
	if err := c.validName(); err != nil {
		return c, err
	}
	if err := c.validParams(); err != nil {
		return c, err
	}
	if c.id == "" {
		s, err := httpsfv.Marshal(c.item())
		if err != nil {
			return c, fmt.Errorf("%w: component %s: %v", ErrMalformed, c.Name, err)
		}
		c.id = s
	}
	return c, nil
}

// Message is the HTTP message a signature covers: a request (Request set),
// or a response (Response set, with the Request that caused it when a
// component carries req).
type Message struct {
	Request  *http.Request
	Response *http.Response
}

func (m Message) header(req bool) (http.Header, error) {
	switch {
	case m.Response != nil && !req:
		return m.Response.Header, nil
	case m.Request != nil:
		return m.Request.Header, nil
	}
	return nil, fmt.Errorf("%w: no request in the message", ErrMissingComponent)
}

// value computes the component value of c in m (RFC 9421 §2.1, §2.2).
// pathWithQuery is the lenient reading of @path that includes the query.
func (c Component) value(m Message, pathWithQuery bool) (string, error) {
	if c.Name[0] == '@' {
		return c.derivedValue(m, pathWithQuery)
	}
	h, err := m.header(c.Req)
	if err != nil {
		return "", err
	}
	lines := h.Values(c.Name)
	if len(lines) == 0 && c.Name == "host" && m.Request != nil && (m.Response == nil || c.Req) && m.Request.Host != "" {
		lines = []string{m.Request.Host}
	}
	if len(lines) == 0 && c.Name == "content-length" && m.Request != nil && (m.Response == nil || c.Req) && m.Request.ContentLength > 0 {
		lines = []string{strconv.FormatInt(m.Request.ContentLength, 10)}
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("%w: field %s", ErrMissingComponent, c.Name)
	}
	switch {
	case c.BS:
		parts := make([]string, len(lines))
		for i, l := range lines {
			parts[i] = ":" + base64.StdEncoding.EncodeToString([]byte(strings.Trim(l, " \t"))) + ":"
		}
		return strings.Join(parts, ", "), nil
	case c.Key != "" || c.SF:
		return c.structuredValue(lines)
	}
	if len(lines) == 1 {
		return canonicalLine(lines[0]), nil
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = canonicalLine(l)
	}
	return strings.Join(parts, ", "), nil
}

// canonicalLine trims a field line and replaces obsolete line folding with
// a space (RFC 9421 §2.1).
func canonicalLine(s string) string {
	s = strings.Trim(s, " \t")
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r\n ", " ", "\r\n\t", " ", "\n ", " ", "\n\t", " ").Replace(s)
		s = strings.Trim(s, " \t")
	}
	return s
}

func (c Component) structuredValue(lines []string) (string, error) {
	var sv httpsfv.StructuredFieldValue
	switch structuredFields[c.Name] {
	case "dict":
		d, err := httpsfv.UnmarshalDictionary(lines)
		if err != nil {
			return "", fmt.Errorf("%w: field %s is not a valid Dictionary", ErrMissingComponent, c.Name)
		}
		if c.Key != "" {
			m, ok := d.Get(c.Key)
			if !ok {
				return "", fmt.Errorf("%w: field %s has no member %q", ErrMissingComponent, c.Name, c.Key)
			}
			sv = m
		} else {
			sv = d
		}
	case "list":
		l, err := httpsfv.UnmarshalList(lines)
		if err != nil {
			return "", fmt.Errorf("%w: field %s is not a valid List", ErrMissingComponent, c.Name)
		}
		sv = l
	}
	s, err := httpsfv.Marshal(sv)
	if err != nil {
		return "", fmt.Errorf("%w: field %s: %v", ErrMissingComponent, c.Name, err)
	}
	return s, nil
}

func (c Component) derivedValue(m Message, pathWithQuery bool) (string, error) {
	if c.Name == "@status" {
		if m.Response == nil || c.Req {
			return "", fmt.Errorf("%w: @status needs a response", ErrMissingComponent)
		}
		return strconv.Itoa(m.Response.StatusCode), nil
	}
	r := m.Request
	if m.Response != nil && !c.Req {
		return "", fmt.Errorf("%w: %s in a response needs req", ErrMissingComponent, c.Name)
	}
	if r == nil || r.URL == nil {
		return "", fmt.Errorf("%w: %s needs a request", ErrMissingComponent, c.Name)
	}
	switch c.Name {
	case "@method":
		return r.Method, nil
	case "@scheme":
		return scheme(r), nil
	case "@authority":
		return authority(r), nil
	case "@target-uri":
		return scheme(r) + "://" + hostOf(r) + requestTarget(r), nil
	case "@request-target":
		return requestTarget(r), nil
	case "@path":
		p := path(r)
		if pathWithQuery && r.URL.RawQuery != "" {
			p += "?" + r.URL.RawQuery
		}
		return p, nil
	case "@query":
		return "?" + r.URL.RawQuery, nil
	case "@query-param":
		return queryParam(r.URL.RawQuery, c.QueryName)
	}
	return "", fmt.Errorf("%w: %s", ErrUnsupportedComponent, c.Name)
}

// scheme is the request's scheme: the URL's on the client side; on the
// server side, https when the connection is TLS.
func scheme(r *http.Request) string {
	if r.URL.Scheme != "" {
		return strings.ToLower(r.URL.Scheme)
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func hostOf(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// authority is the lowercase host, without the scheme's default port
// (RFC 9421 §2.2.3).
func authority(r *http.Request) string {
	h := lowerASCII(hostOf(r))
	if strings.IndexByte(h, ':') < 0 {
		return h // what SplitHostPort's "missing port" error leads to, without making the error
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return h
	}
	if s := scheme(r); (s == "https" && port == "443") || (s == "http" && port == "80") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return h
}

// lowerASCII is strings.ToLower(s), s itself when it holds neither an
// upper-case letter nor a non-ASCII byte (the common host) without
// ToLower's scan for both.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c-'A' < 26 || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// plainPathChars are the bytes url.URL.EscapedPath never escapes in a
// path: letters, digits, '-', '.', '_', '~' and '/'.
var plainPathChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/'
	}
	return t
}()

// path is the request's escaped path, "/" when empty: r.URL.EscapedPath(),
// which is the path itself when there is no RawPath and nothing to escape
// (the common case, recognised without url's escaping pass).
func path(r *http.Request) string {
	if r.URL.RawPath == "" {
		p, plain := r.URL.Path, true
		for i := 0; i < len(p); i++ {
			if !plainPathChars[p[i]] {
				plain = false
				break
			}
		}
		if plain {
			if p == "" {
				return "/"
			}
			return p
		}
	}
	p := r.URL.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

func requestTarget(r *http.Request) string {
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		return path(r) + "?" + r.URL.RawQuery
	}
	return path(r)
}

// queryParam returns the re-encoded value of the query parameter name
// (RFC 9421 §2.2.8). A parameter given more than once cannot be covered.
func queryParam(raw, name string) (string, error) {
	found, value := false, ""
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("%w: the query string is not valid form encoding", ErrMissingComponent)
		}
		if k != name {
			continue
		}
		if found {
			return "", fmt.Errorf("%w: query parameter %q occurs more than once", ErrMissingComponent, name)
		}
		found, value = true, v
	}
	if !found {
		return "", fmt.Errorf("%w: query parameter %q", ErrMissingComponent, name)
	}
	return formEncode(value), nil
}

// formEncode percent-encodes s with the application/x-www-form-urlencoded
// percent-encode set, a space as %20.
func formEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '-' || c == '.' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
