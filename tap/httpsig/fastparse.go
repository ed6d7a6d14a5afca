package httpsig

import (
	"encoding/base64"
	"math/bits"
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

// keyChars classifies the bytes of a structured-field key: keyFirst may
// start one (a-z, *), keyNext may follow (a-z, *, 0-9, _, -, .).
var keyChars = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = keyFirst | keyNext
	}
	t['*'] = keyFirst | keyNext
	for _, c := range "0123456789_-." {
		t[c] = keyNext
	}
	return t
}()

const (
	keyFirst = 1 << iota
	keyNext
)

// key reads a structured-field key.
func (f *fastScanner) key() (string, bool) {
	s, start := f.s, f.off
	if start >= len(s) || keyChars[s[start]]&keyFirst == 0 {
		return "", false
	}
	i := start + 1
	for i < len(s) && keyChars[s[i]]&keyNext != 0 {
		i++
	}
	f.off = i
	return s[start:i], true
}

// Masks for looking at eight bytes of a string at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// str reads a string item; escapes are only \" and \\.
func (f *fastScanner) str() (string, bool) {
	s, i := f.s, f.off
	if i >= len(s) || s[i] != '"' {
		return "", false
	}
	i++
	start := i
	// Eight bytes at a time: below 0x20, above 0x7e and '\\' are special,
	// '"' ends the string. Each test is exact for "some byte is", and its
	// lowest set bit marks the first such byte: (x-n*ones)&^x has the high
	// bit of a byte below n (n <= 0x80) set, (x+ones)|x that of a byte
	// above 0x7e, and the first test on x^(c*ones) that of a byte equal to
	// c (a borrow can only mark bytes above one that is). A word with a
	// special byte before its first quote, and the last bytes of the text,
	// are read one by one below.
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, b := x^('"'*ones), x^('\\'*ones)
		special := ((x-0x20*ones)&^x | (x + ones) | x | (b-ones)&^b) & highs
		quote := (q - ones) &^ q & highs
		if special|quote == 0 {
			continue
		}
		if quote != 0 && special&(quote^(quote-1)) == 0 { // a quote before any special byte
			end := i + bits.TrailingZeros64(quote)/8
			f.off = end + 1
			return s[start:end], true
		}
		break
	}
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			f.off = i + 1
			return s[start:i], true
		case c == '\\':
			return f.escaped(start)
		case c < 0x20 || c > 0x7e:
			return "", false
		}
	}
	return "", false
}

// escaped reads the rest of a string item that has an escape, from start
// (after its opening quote).
func (f *fastScanner) escaped(start int) (string, bool) {
	s := f.s
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			f.off = i + 1
			return unescape(s[start:i]), true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] != '"' && s[i+1] != '\\' {
				return "", false
			}
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

// integer reads a canonical non-negative integer: 1 to 15 digits, no
// leading zero (what strconv.ParseInt gives, without overflow).
func (f *fastScanner) integer() (int64, bool) {
	s := f.s[f.off:]
	var n int64
	i := 0
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		n = n*10 + int64(d)
	}
	f.off += i
	if i == 0 || i > 15 || i > 1 && s[0] == '0' {
		return 0, false
	}
	return n, true
}

// Bits of the signature parameters sigParams has read.
const (
	seenCreated = 1 << iota
	seenExpires
	seenKeyID
	seenNonce
	seenTag
	seenAlg
)

// maxOtherParams bounds the parameters other than the six of Params a
// signature may have on the fast path (more take the httpsfv path).
const maxOtherParams = 4

// sigParams reads the ";key[=value]" parameters of a signature into p:
// created and expires integers, keyid, nonce, tag and alg strings, any
// other a bare flag, a string or an integer (ignored). A repeated key is
// refused.
func (f *fastScanner) sigParams(p *Params) bool {
	var seen uint8
	var other [maxOtherParams]string
	n := 0
	for f.peek() == ';' {
		f.off++
		k, ok := f.key()
		if !ok {
			return false
		}
		var bit uint8
		switch k {
		case "created":
			bit = seenCreated
		case "expires":
			bit = seenExpires
		case "keyid":
			bit = seenKeyID
		case "nonce":
			bit = seenNonce
		case "tag":
			bit = seenTag
		case "alg":
			bit = seenAlg
		default:
			for _, o := range other[:n] {
				if o == k {
					return false
				}
			}
			if n == len(other) {
				return false
			}
			other[n] = k
			n++
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if f.peek() != '=' { // a bare flag
			if bit != 0 {
				return false
			}
			continue
		}
		f.off++
		if f.peek() == '"' {
			s, ok := f.str()
			if !ok {
				return false
			}
			switch bit {
			case seenCreated, seenExpires:
				return false
			case seenKeyID:
				p.KeyID = s
			case seenNonce:
				p.Nonce = s
			case seenTag:
				p.Tag = s
			case seenAlg:
				p.Alg = Algorithm(s)
			}
			continue
		}
		v, ok := f.integer()
		if !ok {
			return false
		}
		switch bit {
		case seenCreated:
			p.Created = time.Unix(v, 0)
		case seenExpires:
			p.Expires = time.Unix(v, 0)
		case 0:
		default:
			return false
		}
	}
	return true
}

// compParams reads the ";key[=value]" parameters of a component into c:
// the bare flags sf, bs and req, the strings key and name; any other
// parameter, value or a repeated key is refused. It reports how many it
// read.
func (f *fastScanner) compParams(c *Component) (int, bool) {
	var seen uint8
	n := 0
	for f.peek() == ';' {
		f.off++
		k, ok := f.key()
		if !ok {
			return 0, false
		}
		var bit uint8
		switch k {
		case "sf":
			bit, c.SF = 1, true
		case "bs":
			bit, c.BS = 2, true
		case "req":
			bit, c.Req = 4, true
		case "key":
			bit = 8
		case "name":
			bit = 16
		default:
			return 0, false
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		n++
		if bit < 8 { // a flag
			if f.peek() == '=' {
				return 0, false
			}
			continue
		}
		if f.peek() != '=' {
			return 0, false
		}
		f.off++
		s, ok := f.str()
		if !ok {
			return 0, false
		}
		if bit == 8 {
			c.Key = s
		} else {
			c.QueryName = s
		}
	}
	return n, true
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

// fastInputs reads a canonical Signature-Input, the first signature built
// in first when it is not nil (a zero fastBlock) rather than in a new
// allocation.
func fastInputs(text string, maxComps int, first *fastBlock) ([]*Signature, bool) {
	f := fastScanner{s: text}
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
		blk := first
		if blk == nil || out != nil {
			blk = &fastBlock{}
		}
		s := &blk.sig
		s.Label, s.Components, s.scratch = label, blk.comps[:0], blk.value[:]
		for f.peek() != ')' {
			if len(s.Components) > 0 {
				if f.peek() != ' ' {
					return nil, false
				}
				f.off++
			}
			n := len(s.Components)
			if n >= maxComps {
				return nil, false
			}
			if n < cap(s.Components) {
				s.Components = s.Components[:n+1] // built in place: no copy of a Component
			} else {
				s.Components = append(s.Components, Component{})
			}
			c := &s.Components[n]
			if !f.component(c) {
				return nil, false
			}
			for i := range s.Components[:n] {
				if s.Components[i].id == c.id {
					return nil, false
				}
			}
		}
		f.off++
		if !f.sigParams(&s.Params) {
			return nil, false
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

// component reads a component identifier into *c, a zero Component.
func (f *fastScanner) component(c *Component) bool {
	start := f.off
	name, ok := f.str()
	if !ok {
		return false
	}
	c.Name = name
	n, ok := f.compParams(c)
	if !ok {
		return false
	}
	c.id = f.s[start:f.off]
	if n == 0 && name != "" && name[0] == '@' { // the common case: a derived component without parameters
		return isDerived(name)
	}
	return c.validName() == nil && c.validParams() == nil
}

// maxFastValue bounds the base64 text of a signature value the fast path
// decodes through a buffer on the stack (an RSA-4096 signature is 684
// characters); a longer one goes through DecodeString.
const maxFastValue = 704

// fastValues reads a canonical Signature field into values by label.
func fastValues(text string, sigs []*Signature) bool {
	f := fastScanner{s: text}
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
		if strings.IndexByte(enc, '\r') >= 0 || strings.IndexByte(enc, '\n') >= 0 {
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
