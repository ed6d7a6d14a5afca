package httpsig

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dunglas/httpsfv"
)

// Params are the signature parameters of RFC 9421 §2.3. A zero field is
// absent.
type Params struct {
	Created time.Time
	Expires time.Time
	KeyID   string
	Alg     Algorithm
	Nonce   string
	Tag     string
}

// innerList serializes components and params in the order created, keyid,
// alg, expires, nonce, tag (the order of the RFC's examples).
func innerList(comps []Component, p Params) httpsfv.InnerList {
	il := httpsfv.InnerList{Items: make([]httpsfv.Item, len(comps)), Params: httpsfv.NewParams()}
	for i, c := range comps {
		il.Items[i] = c.item()
		if c.id != "" {
			if it, err := httpsfv.UnmarshalItem([]string{c.id}); err == nil {
				il.Items[i] = it
			}
		}
	}
	if !p.Created.IsZero() {
		il.Params.Add("created", p.Created.Unix())
	}
	if p.KeyID != "" {
		il.Params.Add("keyid", p.KeyID)
	}
	if p.Alg != "" {
		il.Params.Add("alg", string(p.Alg))
	}
	if !p.Expires.IsZero() {
		il.Params.Add("expires", p.Expires.Unix())
	}
	if p.Nonce != "" {
		il.Params.Add("nonce", p.Nonce)
	}
	if p.Tag != "" {
		il.Params.Add("tag", p.Tag)
	}
	return il
}

// Signature is one signature of a message: its label, covered components,
// parameters and value, as Parse read them or Sign made them.
type Signature struct {
	// Label is the dictionary key shared by Signature-Input and Signature.
	Label string
	// Components are the covered components, in order.
	Components []Component
	// Params are the signature parameters.
	Params Params
	// Value is the signature.
	Value []byte

	// params is the canonical serialization of the inner list, the value
	// of @signature-params.
	params string
	// raw is the member as sent, for the lenient reading; empty otherwise.
	raw string
	// lenient allows the readings of Visa's sample (raw parameters, @path
	// with the query).
	lenient bool
	// scratch is room for Value in the fast parse's allocation, while it
	// parses; nil after.
	scratch []byte
}

// SignatureInput returns the Signature-Input member of s ("label=(...)...").
func (s *Signature) SignatureInput() string { return s.Label + "=" + s.params }

// SignatureField returns the Signature member of s ("label=:base64:").
func (s *Signature) SignatureField() string {
	return s.Label + "=:" + base64.StdEncoding.EncodeToString(s.Value) + ":"
}

// SignatureParams returns the value of the @signature-params line: the
// canonical serialization of the covered components and parameters.
func (s *Signature) SignatureParams() string { return s.params }

// Base returns the signature base of s over m (RFC 9421 §2.5).
func (s *Signature) Base(m Message) ([]byte, error) {
	return buildBase(m, s.Components, s.params, false)
}

func buildBase(m Message, comps []Component, params string, pathWithQuery bool) ([]byte, error) {
	b, err := appendBase(make([]byte, 0, 64*len(comps)+len(params)+24), m, comps, params, pathWithQuery)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// appendBase appends the signature base to dst. On an error it returns
// what it appended so far with the error.
func appendBase(dst []byte, m Message, comps []Component, params string, pathWithQuery bool) ([]byte, error) {
	b := dst
	for i := range comps {
		c := &comps[i]
		v, err := c.value(m, pathWithQuery)
		if err != nil {
			return b, err
		}
		if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
			return b, fmt.Errorf("%w: component %s has a line break", ErrMalformed, c.Name)
		}
		b = append(b, c.String()...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, '\n')
	}
	b = append(b, `"@signature-params": `...)
	b = append(b, params...)
	return b, nil
}

// basePool holds the buffers Verify builds signature bases in; a base
// never leaves Verify.
var basePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBase: a larger buffer is left to the garbage collector.
const maxPooledBase = 16 << 10

// Verify checks s over m with key. The alg parameter, when present, must
// name key's algorithm (ErrAlgorithmMismatch). A lenient signature (see
// Parser.Lenient) is also tried over its parameters as sent and with the
// query inside @path, the two forms Visa's sample signs.
func (s *Signature) Verify(m Message, key *VerifyingKey) error {
	if key == nil {
		return fmt.Errorf("%w: nil verifying key", ErrInvalidKey)
	}
	if s.Params.Alg != "" && s.Params.Alg != key.alg {
		return fmt.Errorf("%w: signature %s declares %s, the key is %s", ErrAlgorithmMismatch, s.Label, s.Params.Alg, key.alg)
	}
	if key.macs != nil && !s.lenient {
		return s.verifyMAC(m, key)
	}
	bp, used := basePool.Get().(*[]byte), 0
	defer func() {
		if cap(*bp) <= maxPooledBase {
			clear((*bp)[:used]) // the request's data does not stay in the pool
			*bp = (*bp)[:0]
			basePool.Put(bp)
		}
	}()
	check := func(c candidate) error {
		base, err := appendBase((*bp)[:0], m, s.Components, c.params, c.pathWithQuery)
		*bp, used = base, max(used, len(base))
		if err != nil {
			return err
		}
		return key.Verify(base, s.Value)
	}
	if !s.lenient {
		if err := check(candidate{s.params, false}); err != nil {
			return fmt.Errorf("signature %s: %w", s.Label, err)
		}
		return nil
	}
	var firstErr error
	for _, c := range s.candidates() {
		err := check(c)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return fmt.Errorf("signature %s: %w", s.Label, firstErr)
}

// verifyMAC is Verify with a pooled HMAC state of key, the base built in
// the state's buffer.
func (s *Signature) verifyMAC(m Message, key *VerifyingKey) error {
	ms := key.macs.Get().(*macState) // keyed, nothing written
	base, err := appendBase(ms.base[:0], m, s.Components, s.params, false)
	if err == nil && !ms.check(base, s.Value) {
		err = key.notVerified()
	}
	clear(base) // the request's data does not stay in the pool
	if cap(base) <= maxPooledBase {
		ms.base = base[:0]
	} else {
		ms.base = nil
	}
	key.macs.Put(ms)
	if err != nil {
		return fmt.Errorf("signature %s: %w", s.Label, err)
	}
	return nil
}

type candidate struct {
	params        string
	pathWithQuery bool
}

func (s *Signature) candidates() []candidate {
	if !s.lenient {
		return []candidate{{s.params, false}}
	}
	out := make([]candidate, 0, 4)
	if s.params != "" {
		out = append(out, candidate{s.params, false})
	}
	if s.raw != "" && s.raw != s.params {
		out = append(out, candidate{s.raw, false})
	}
	for _, c := range s.Components {
		if c.Name == "@path" {
			n := len(out)
			for i := 0; i < n; i++ {
				out = append(out, candidate{out[i].params, true})
			}
			break
		}
	}
	return out
}

// Sign signs m: it builds the signature base of comps and p, signs it with
// key and returns the signature under label. When p.Alg is set it must
// name key's algorithm. The message is not changed; see SignRequest.
func Sign(m Message, label string, comps []Component, p Params, key *SigningKey) (*Signature, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil signing key", ErrInvalidKey)
	}
	if err := checkLabel(label); err != nil {
		return nil, err
	}
	if p.Alg != "" && p.Alg != key.alg {
		return nil, fmt.Errorf("%w: params name %s, the key is %s", ErrAlgorithmMismatch, p.Alg, key.alg)
	}
	cs := make([]Component, len(comps))
	seen := make(map[string]bool, len(comps))
	for i, c := range comps {
		c, err := c.check()
		if err != nil {
			return nil, err
		}
		if seen[c.id] {
			return nil, fmt.Errorf("%w: component %s covered twice", ErrMalformed, c.id)
		}
		seen[c.id] = true
		cs[i] = c
	}
	il := innerList(cs, p)
	params, err := httpsfv.Marshal(il)
	if err != nil {
		return nil, fmt.Errorf("%w: signature parameters: %v", ErrMalformed, err)
	}
	base, err := buildBase(m, cs, params, false)
	if err != nil {
		return nil, err
	}
	v, err := key.Sign(base)
	if err != nil {
		return nil, fmt.Errorf("httpsig: sign: %w", err)
	}
	return &Signature{Label: label, Components: cs, Params: p, Value: v, params: params}, nil
}

// SignRequest signs r as Sign does and adds the signature to r's
// Signature-Input and Signature fields, beside any signature already there.
// A label already present is ErrMalformed, and r is left unchanged.
func SignRequest(r *http.Request, label string, comps []Component, p Params, key *SigningKey) error {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if err := labelFree(r.Header, label); err != nil {
		return err
	}
	s, err := Sign(Message{Request: r}, label, comps, p, key)
	if err != nil {
		return err
	}
	r.Header.Add("Signature-Input", s.SignatureInput())
	r.Header.Add("Signature", s.SignatureField())
	return nil
}

func labelFree(h http.Header, label string) error {
	for _, name := range []string{"Signature-Input", "Signature"} {
		v := h.Values(name)
		if len(v) == 0 {
			continue
		}
		d, err := httpsfv.UnmarshalDictionary(v)
		if err != nil {
			return fmt.Errorf("%w: the message's %s field cannot take another signature: %v", ErrMalformed, name, err)
		}
		if _, ok := d.Get(label); ok {
			return fmt.Errorf("%w: label %q already used", ErrMalformed, label)
		}
	}
	return nil
}

// checkLabel: a label is a structured-field key.
func checkLabel(l string) error {
	if l == "" || len(l) > 64 {
		return fmt.Errorf("%w: a label is 1 to 64 characters", ErrMalformed)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		ok := c >= 'a' && c <= 'z' || c == '*' || i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.')
		if !ok {
			return fmt.Errorf("%w: label %q is not a structured-field key", ErrMalformed, l)
		}
	}
	return nil
}
