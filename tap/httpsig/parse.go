package httpsig

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dunglas/httpsfv"
)

// Default limits of a Parser.
const (
	// DefaultMaxFieldBytes bounds each of Signature-Input and Signature,
	// all field lines together.
	DefaultMaxFieldBytes = 8 << 10
	// DefaultMaxSignatures bounds the signatures of one message.
	DefaultMaxSignatures = 8
	// DefaultMaxComponents bounds the covered components of one signature.
	DefaultMaxComponents = 32
)

// Parser reads the signatures of a message. The zero value uses the
// default limits and the strict reading.
type Parser struct {
	// MaxFieldBytes, MaxSignatures and MaxComponents bound the input;
	// zero means the default. Over a limit, Parse returns ErrTooLarge.
	MaxFieldBytes, MaxSignatures, MaxComponents int
	// Lenient also accepts the non-canonical Signature-Input of Visa's
	// Trusted Agent Protocol sample: spaces after ';' and the camelCase
	// parameter name keyId, which RFC 8941 forbids. Such a signature is
	// verified over its parameters exactly as sent (the sample signs that
	// text, not the canonical serialization), and a covered @path may
	// include the query string, as the sample computes it. Off by default:
	// it trusts the sender's text for the signature base and weakens
	// nothing else, but it is outside RFC 9421.
	Lenient bool

	// slow turns the fast path off (for the equivalence fuzz test).
	slow bool
}

// Parse reads the signatures of h with the zero Parser.
func Parse(h http.Header) ([]*Signature, error) { return Parser{}.Parse(h) }

// Parse reads every signature of h: each Signature-Input member with its
// Signature member, in Signature-Input order. A message without either
// field is ErrNoSignature; a malformed or oversized one is ErrMalformed or
// ErrTooLarge.
func (p Parser) Parse(h http.Header) ([]*Signature, error) { return p.parse(h, nil) }

// blockPool holds the blocks ParseFunc parses a first signature into.
var blockPool = sync.Pool{New: func() any { return new(fastBlock) }}

// ParseFunc reads the signatures of h as Parse does and calls fn with
// them, without allocating them in the common case: the memory of the
// first signature (the Signature, its Components and its Value) is reused
// once fn has returned, so fn must not keep any of them, nor a slice of
// the Value, after it returns; the strings they hold (labels, component
// names, parameters) stay valid. A parse error is returned without calling
// fn; otherwise fn's error is returned.
func (p Parser) ParseFunc(h http.Header, fn func([]*Signature) error) error {
	blk := blockPool.Get().(*fastBlock)
	defer func() {
		// Nothing of the message stays in the pool: the fields a parse may
		// have set are cleared.
		n := min(len(blk.sig.Components), inlineComps)
		blk.sig = Signature{}
		clear(blk.comps[:n])
		clear(blk.value[:])
		blk.list[0] = nil
		blockPool.Put(blk)
	}()
	sigs, err := p.parse(h, blk)
	if err != nil {
		return err
	}
	return fn(sigs)
}

// parse is Parse, the fast path building the first signature in blk (a
// zero fastBlock) when it is not nil.
func (p Parser) parse(h http.Header, blk *fastBlock) ([]*Signature, error) {
	maxBytes, maxSigs, maxComps := p.MaxFieldBytes, p.MaxSignatures, p.MaxComponents
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFieldBytes
	}
	if maxSigs <= 0 {
		maxSigs = DefaultMaxSignatures
	}
	if maxComps <= 0 {
		maxComps = DefaultMaxComponents
	}
	// The names are in canonical form: indexing the map is what h.Values
	// does after canonicalizing them, without that work.
	in, sig := h["Signature-Input"], h["Signature"]
	if len(in) == 0 && len(sig) == 0 {
		return nil, ErrNoSignature
	}
	if len(in) == 0 || len(sig) == 0 {
		return nil, fmt.Errorf("%w: Signature-Input and Signature must come together", ErrMalformed)
	}
	if fieldBytes(in) > maxBytes+2 || fieldBytes(sig) > maxBytes+2 {
		return nil, fmt.Errorf("%w: a signature field is over %d bytes", ErrTooLarge, maxBytes)
	}
	if !p.Lenient && !p.slow {
		if sigs, ok := fastInputs(joinLines(in), maxComps, blk); ok && len(sigs) <= maxSigs && fastValues(joinLines(sig), sigs) {
			return sigs, nil
		}
	}
	values, err := httpsfv.UnmarshalDictionary(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: Signature: %v", ErrMalformed, err)
	}
	var (
		labels []string
		lists  = map[string]httpsfv.InnerList{}
		raws   map[string]string
	)
	inputs, err := httpsfv.UnmarshalDictionary(in)
	switch {
	case err == nil:
		labels = inputs.Names()
		for _, l := range labels {
			m, _ := inputs.Get(l)
			il, ok := m.(httpsfv.InnerList)
			if !ok {
				return nil, fmt.Errorf("%w: Signature-Input member %s is not an inner list", ErrMalformed, l)
			}
			lists[l] = il
		}
	case !p.Lenient:
		return nil, fmt.Errorf("%w: Signature-Input: %v", ErrMalformed, err)
	}
	if p.Lenient {
		var ll []string
		var lls map[string]httpsfv.InnerList
		ll, lls, raws, err = lenientInputs(strings.Join(in, ", "))
		if err != nil {
			return nil, err
		}
		if labels == nil {
			labels, lists = ll, lls
		}
	}
	if len(labels) > maxSigs {
		return nil, fmt.Errorf("%w: %d signatures (at most %d)", ErrTooLarge, len(labels), maxSigs)
	}
	out := make([]*Signature, 0, len(labels))
	for _, l := range labels {
		s, err := signatureOf(l, lists[l], values, maxComps)
		if err != nil {
			return nil, err
		}
		if p.Lenient {
			s.lenient, s.raw = true, raws[l]
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, ErrNoSignature
	}
	return out, nil
}

// fieldBytes is the length of a field's lines joined with ", ", plus 2.
func fieldBytes(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l) + 2
	}
	return n
}

// joinLines joins field lines as httpsfv does.
func joinLines(l []string) string {
	if len(l) == 1 {
		return l[0]
	}
	return strings.Join(l, ", ")
}

func signatureOf(label string, il httpsfv.InnerList, values *httpsfv.Dictionary, maxComps int) (*Signature, error) {
	m, ok := values.Get(label)
	if !ok {
		return nil, fmt.Errorf("%w: no Signature member for label %s", ErrMalformed, label)
	}
	it, ok := m.(httpsfv.Item)
	if !ok {
		return nil, fmt.Errorf("%w: Signature member %s is not a byte sequence", ErrMalformed, label)
	}
	v, ok := it.Value.([]byte)
	if !ok || len(v) == 0 {
		return nil, fmt.Errorf("%w: Signature member %s is not a byte sequence", ErrMalformed, label)
	}
	if len(il.Items) > maxComps {
		return nil, fmt.Errorf("%w: signature %s covers %d components (at most %d)", ErrTooLarge, label, len(il.Items), maxComps)
	}
	s := &Signature{Label: label, Value: v, Components: make([]Component, 0, len(il.Items))}
	seen := make(map[string]bool, len(il.Items))
	for _, item := range il.Items {
		c, err := componentOf(item)
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w", label, err)
		}
		if seen[c.id] {
			return nil, fmt.Errorf("%w: signature %s covers %s twice", ErrMalformed, label, c.id)
		}
		seen[c.id] = true
		s.Components = append(s.Components, c)
	}
	for _, name := range il.Params.Names() {
		pv, _ := il.Params.Get(name)
		var err error
		switch name {
		case "created":
			s.Params.Created, err = unixParam(label, name, pv)
		case "expires":
			s.Params.Expires, err = unixParam(label, name, pv)
		case "keyid", "nonce", "tag", "alg":
			str, ok := pv.(string)
			if !ok {
				return nil, fmt.Errorf("%w: signature %s: %s must be a string", ErrMalformed, label, name)
			}
			switch name {
			case "keyid":
				s.Params.KeyID = str
			case "nonce":
				s.Params.Nonce = str
			case "tag":
				s.Params.Tag = str
			default:
				s.Params.Alg = Algorithm(str)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	params, err := httpsfv.Marshal(il)
	if err != nil {
		return nil, fmt.Errorf("%w: signature %s: %v", ErrMalformed, label, err)
	}
	s.params = params
	return s, nil
}

func unixParam(label, name string, v any) (time.Time, error) {
	n, ok := v.(int64)
	if !ok || n < 0 {
		return time.Time{}, fmt.Errorf("%w: signature %s: %s must be a non-negative integer", ErrMalformed, label, name)
	}
	return time.Unix(n, 0), nil
}

// lenientInputs splits a Signature-Input text into members without RFC 8941
// strictness, keeping each member's text as sent.
func lenientInputs(text string) ([]string, map[string]httpsfv.InnerList, map[string]string, error) {
	var labels []string
	lists := map[string]httpsfv.InnerList{}
	raws := map[string]string{}
	for _, member := range splitTop(text, ',') {
		member = strings.Trim(member, " \t")
		if member == "" {
			return nil, nil, nil, fmt.Errorf("%w: Signature-Input has an empty member", ErrMalformed)
		}
		label, rest, ok := strings.Cut(member, "=")
		label, rest = strings.Trim(label, " \t"), strings.Trim(rest, " \t")
		if !ok || checkLabel(label) != nil {
			return nil, nil, nil, fmt.Errorf("%w: Signature-Input member without a valid label", ErrMalformed)
		}
		if _, dup := lists[label]; dup {
			return nil, nil, nil, fmt.Errorf("%w: Signature-Input label %s given twice", ErrMalformed, label)
		}
		il, err := lenientInnerList(label, rest)
		if err != nil {
			return nil, nil, nil, err
		}
		labels = append(labels, label)
		lists[label], raws[label] = il, rest
	}
	return labels, lists, raws, nil
}

func lenientInnerList(label, text string) (httpsfv.InnerList, error) {
	bad := func(why string) (httpsfv.InnerList, error) {
		return httpsfv.InnerList{}, fmt.Errorf("%w: Signature-Input member %s: %s", ErrMalformed, label, why)
	}
	if !strings.HasPrefix(text, "(") {
		return bad("not an inner list")
	}
	end := closing(text)
	if end < 0 {
		return bad("unclosed inner list")
	}
	l, err := httpsfv.UnmarshalList([]string{text[:end+1]})
	if err != nil || len(l) != 1 {
		return bad("malformed component list")
	}
	il, ok := l[0].(httpsfv.InnerList)
	if !ok {
		return bad("not an inner list")
	}
	il.Params = httpsfv.NewParams()
	rest := strings.Trim(text[end+1:], " \t")
	if rest == "" {
		return il, nil
	}
	if rest[0] != ';' {
		return bad("parameters must follow ';'")
	}
	for _, p := range splitTop(rest[1:], ';') {
		k, v, hasValue := strings.Cut(strings.Trim(p, " \t"), "=")
		k = strings.ToLower(strings.Trim(k, " \t"))
		if _, err := httpsfv.UnmarshalItem([]string{k}); err != nil || k == "" {
			return bad("malformed parameter name")
		}
		if _, dup := il.Params.Get(k); dup {
			return bad("parameter " + k + " given twice")
		}
		if !hasValue {
			il.Params.Add(k, true)
			continue
		}
		it, err := httpsfv.UnmarshalItem([]string{strings.Trim(v, " \t")})
		if err != nil || len(it.Params.Names()) != 0 {
			return bad("malformed value of parameter " + k)
		}
		il.Params.Add(k, it.Value)
	}
	return il, nil
}

// splitTop splits s at sep outside quoted strings and parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// closing returns the index of the ')' closing s[0], or -1.
func closing(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ')':
			return i
		}
	}
	return -1
}
