package httpsig

import (
	"encoding/base64"
	"strings"
	"time"
)

// The fast path reads the canonical serializations signers send (RFC 8941
// §4.1, as httpsfv.Marshal writes them) without building httpsfv's
// dictionaries: members separated by ", ", items by one space, no other
// whitespace, strings and integers only, no repeated key. For such text the
// member as sent is its canonical serialization, so it is the
// @signature-params value as is. Anything else returns ok=false and takes
// the httpsfv path, which also reports the errors; FuzzFastParse checks that
// both paths agree on everything the fast one accepts.

type fastScanner struct {
	s   string
	off int
}

func (f *fastScanner) eof() bool { return f.off >= len(f.s) }

func (f *fastScanner) peek() byte {
	if f.eof() {
		return 0
	}
	return f.s[f.off]
}

// key reads a structured-field key.
func (f *fastScanner) key() (string, bool) {
	s, start := f.s, f.off
	i := start
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c == '*' || i > start && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			continue
		}
		break
	}
	f.off = i
	return s[start:i], i > start
}

// str reads a string item; escapes are only \" and \\.
func (f *fastScanner) str() (string, bool) {
	s, i := f.s, f.off
	if i >= len(s) || s[i] != '"' {
		return "", false
	}
	i++
	start, plain := i, true
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			v := s[start:i]
			f.off = i + 1
			if !plain {
				v = unescape(v)
			}
			return v, true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] != '"' && s[i+1] != '\\' {
				return "", false
			}
			plain = false
			i++
		case c < 0x20 || c > 0x7e:
			return "", false
		}
	}
	return "", false
}

func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// A fastParam is one ";key[=value]" parameter: a bare flag (value true),
// a string or a canonical integer. Typed fields rather than an interface
// value, so that reading a parameter allocates nothing.
type fastParam struct {
	name string
	kind byte // 'f' bare flag, 's' string, 'i' integer
	str  string
	num  int64
}

// bare reads a string or a canonical integer into p.
func (f *fastScanner) bare(p *fastParam) bool {
	if f.peek() == '"' {
		s, ok := f.str()
		p.kind, p.str = 's', s
		return ok
	}
	s, start := f.s, f.off
	i := start
	var n int64 // at most 15 digits: no overflow, what strconv.ParseInt gives
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	f.off = i
	digits := s[start:i]
	if len(digits) == 0 || len(digits) > 15 || len(digits) > 1 && digits[0] == '0' {
		return false
	}
	p.kind, p.num = 'i', n
	return true
}

// params reads ";key[=value]" parameters, refusing a repeated key.
func (f *fastScanner) params(dst []fastParam) ([]fastParam, bool) {
	for f.peek() == ';' {
		f.off++
		k, ok := f.key()
		if !ok {
			return nil, false
		}
		for _, p := range dst {
			if p.name == k {
				return nil, false
			}
		}
		p := fastParam{name: k, kind: 'f'}
		if f.peek() == '=' {
			f.off++
			if !f.bare(&p) {
				return nil, false
			}
		}
		dst = append(dst, p)
	}
	return dst, true
}

// inlineComps and inlineValue size the allocation a fast parse makes for
// one signature: its Signature, room for this many components (TAP covers
// two, Web Bot Auth two or three) and for a signature value of this many
// bytes (Ed25519 and ECDSA P-256 64, HMAC-SHA256 32; Decode needs two
// bytes more for 64). Longer lists and
// values (RSA) take their own allocation.
const (
	inlineComps = 4
	inlineValue = 66 // base64.StdEncoding.DecodedLen of a 64-byte value
)

// fastBlock is the one allocation of a fast parse per signature.
type fastBlock struct {
	sig   Signature
	comps [inlineComps]Component
	value [inlineValue]byte
	list  [1]*Signature // the []*Signature of a parse whose first signature this is
}

// fastInputs reads a canonical Signature-Input.
func fastInputs(text string, maxComps int) ([]*Signature, bool) {
	f := &fastScanner{s: text}
	var out []*Signature
	for {
		label, ok := f.key()
		if !ok || f.peek() != '=' {
			return nil, false
		}
		for _, s := range out {
			if s.Label == label {
				return nil, false
			}
		}
		f.off++
		if f.peek() != '(' {
			return nil, false
		}
		f.off++
		valueStart := f.off - 1
		blk := &fastBlock{}
		s := &blk.sig
		s.Label, s.Components, s.scratch = label, blk.comps[:0], blk.value[:]
		for f.peek() != ')' {
			if len(s.Components) > 0 {
				if f.peek() != ' ' {
					return nil, false
				}
				f.off++
			}
			itemStart := f.off
			name, ok := f.str()
			if !ok {
				return nil, false
			}
			var pbuf [4]fastParam
			ps, ok := f.params(pbuf[:0])
			if !ok {
				return nil, false
			}
			if len(s.Components) >= maxComps {
				return nil, false
			}
			id := f.s[itemStart:f.off]
			for i := range s.Components {
				if s.Components[i].id == id {
					return nil, false
				}
			}
			n := len(s.Components)
			if n < cap(s.Components) {
				s.Components = s.Components[:n+1] // built in place: no copy of a Component
			} else {
				s.Components = append(s.Components, Component{})
			}
			c := &s.Components[n]
			if !fastComponent(c, name, ps) {
				return nil, false
			}
			c.id = id
		}
		f.off++
		var buf [8]fastParam
		ps, ok := f.params(buf[:0])
		if !ok {
			return nil, false
		}
		for _, p := range ps {
			if !fastSetParam(&s.Params, p) {
				return nil, false
			}
		}
		s.params = f.s[valueStart:f.off]
		if out == nil {
			out = blk.list[:0]
		}
		out = append(out, s)
		if f.eof() {
			return out, true
		}
		if f.off+2 > len(f.s) || f.s[f.off] != ',' || f.s[f.off+1] != ' ' {
			return nil, false
		}
		f.off += 2
	}
}

// fastComponent sets *c, a zero Component, to the component name with
// parameters ps.
func fastComponent(c *Component, name string, ps []fastParam) bool {
	c.Name = name
	if len(ps) == 0 && name != "" && name[0] == '@' { // the common case: a derived component without parameters
		return isDerived(name)
	}
	if c.validName() != nil {
		return false
	}
	for _, p := range ps {
		switch p.name {
		case "sf", "bs", "req":
			if p.kind != 'f' {
				return false
			}
			switch p.name {
			case "sf":
				c.SF = true
			case "bs":
				c.BS = true
			default:
				c.Req = true
			}
		case "key", "name":
			if p.kind != 's' {
				return false
			}
			if p.name == "key" {
				c.Key = p.str
			} else {
				c.QueryName = p.str
			}
		default:
			return false
		}
	}
	return c.validParams() == nil
}

func fastSetParam(p *Params, fp fastParam) bool {
	switch fp.name {
	case "created", "expires":
		if fp.kind != 'i' {
			return false
		}
		if fp.name == "created" {
			p.Created = time.Unix(fp.num, 0)
		} else {
			p.Expires = time.Unix(fp.num, 0)
		}
	case "keyid", "nonce", "tag", "alg":
		if fp.kind != 's' {
			return false
		}
		switch fp.name {
		case "keyid":
			p.KeyID = fp.str
		case "nonce":
			p.Nonce = fp.str
		case "tag":
			p.Tag = fp.str
		default:
			p.Alg = Algorithm(fp.str)
		}
	}
	return true
}

// maxFastValue bounds the base64 text of a signature value the fast path
// decodes through a buffer on the stack (an RSA-4096 signature is 684
// characters); a longer one goes through DecodeString.
const maxFastValue = 704

// fastValues reads a canonical Signature field into values by label.
func fastValues(text string, sigs []*Signature) bool {
	f := &fastScanner{s: text}
	var seen [DefaultMaxSignatures * 2]string
	n := 0
	for {
		label, ok := f.key()
		if !ok || f.peek() != '=' {
			return false
		}
		for _, l := range seen[:n] {
			if l == label {
				return false
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = label
		n++
		f.off++
		if f.peek() != ':' {
			return false
		}
		f.off++
		// The value runs to the next ':'. Every value is decoded below, and
		// the decoder refuses any byte outside the base64 alphabet and '='
		// except CR and LF, which it skips: refusing those two makes the
		// check httpsfv's (alphabet, '+', '/', '=' only, then decoding).
		end := strings.IndexByte(f.s[f.off:], ':')
		if end < 0 {
			return false
		}
		enc := f.s[f.off : f.off+end]
		if strings.ContainsAny(enc, "\r\n") {
			return false
		}
		f.off += end + 1
		if f.peek() == ';' { // parameters on a signature value: the slow path
			return false
		}
		matched := false
		for _, s := range sigs {
			if s.Label == label {
				v, ok := decodeValue(enc, s.scratch)
				if !ok {
					return false
				}
				s.Value, matched = v, true
			}
		}
		if !matched { // a member no input names: httpsfv still refuses bad base64
			if _, err := base64.StdEncoding.DecodeString(enc); err != nil {
				return false
			}
		}
		if f.eof() {
			break
		}
		if f.off+2 > len(f.s) || f.s[f.off] != ',' || f.s[f.off+1] != ' ' {
			return false
		}
		f.off += 2
	}
	for _, s := range sigs {
		s.scratch = nil
		if s.Value == nil {
			return false
		}
	}
	return true
}

// decodeValue decodes a non-empty standard base64 signature value, into
// scratch when it fits (the result then shares scratch's memory), into a
// new slice otherwise: exactly base64.StdEncoding.DecodeString's result.
func decodeValue(enc string, scratch []byte) ([]byte, bool) {
	switch {
	case len(enc) <= 88: // up to 64 bytes: Ed25519, ECDSA, HMAC
		var src [88]byte
		return decodeInto(src[:copy(src[:], enc)], scratch)
	case len(enc) <= maxFastValue:
		var src [maxFastValue]byte
		return decodeInto(src[:copy(src[:], enc)], scratch)
	}
	v, err := base64.StdEncoding.DecodeString(enc)
	return v, err == nil && len(v) > 0
}

func decodeInto(src, scratch []byte) ([]byte, bool) {
	dst := scratch
	if need := base64.StdEncoding.DecodedLen(len(src)); need > len(dst) {
		dst = make([]byte, need)
	}
	m, err := base64.StdEncoding.Decode(dst, src)
	if err != nil || m == 0 {
		return nil, false
	}
	return dst[:m:m], true
}
