package tap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/vicgo/visa/tap/httpsig"
)

// DefaultSkew is the clock difference a Verifier tolerates on created and
// expires.
const DefaultSkew = 30 * time.Second

// Identity is the verified agent: what a merchant learns from a request
// that passed Verify.
type Identity struct {
	// KeyID is the signature's keyid.
	KeyID string
	// Tag says what the agent was doing (browsing, paying, a bot).
	Tag Tag
	// Agent is the Signature-Agent URL the signature covers, if any.
	Agent string
	// Source is where the key came from: the Web Bot Auth directory URL
	// (the agent's identifier), a JWKS URL, or empty for a static key.
	Source string
	// Algorithm, Label, Created, Expires and Nonce describe the signature.
	Algorithm        httpsig.Algorithm
	Label            string
	Created, Expires time.Time
	Nonce            string
}

type identityKey struct{}

// IdentityFrom returns the Identity Middleware put in a request's context.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok
}

// ContextWithIdentity returns ctx carrying id (what Middleware does).
func ContextWithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Verifier checks TAP and Web Bot Auth signatures on a merchant's requests.
// It is safe for concurrent use.
type Verifier struct {
	keys        KeyResolver
	nonces      NonceStore
	now         func() time.Time
	skew        time.Duration
	maxValidity time.Duration
	tags        []Tag
	parser      httpsig.Parser
	logger      *slog.Logger
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier) error

// WithNonceStore sets where nonces are remembered (by default a
// MemoryNonceStore on the verifier's clock; a fleet shares a tapsql store).
func WithNonceStore(n NonceStore) VerifierOption {
	return func(v *Verifier) error {
		if n == nil {
			return errors.New("tap: WithNonceStore: nil store")
		}
		v.nonces = n
		return nil
	}
}

// WithClock sets the verifier's clock.
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) error {
		if now == nil {
			return errors.New("tap: WithClock: nil clock")
		}
		v.now = now
		return nil
	}
}

// WithSkew sets the tolerated clock difference (default 30 s, at most 5
// min).
func WithSkew(d time.Duration) VerifierOption {
	return func(v *Verifier) error {
		if d < 0 || d > 5*time.Minute {
			return errors.New("tap: WithSkew: between 0 and 5 min")
		}
		v.skew = d
		return nil
	}
}

// WithMaxValidity sets the longest accepted time between created and
// expires (default 8 minutes, TAP's; Web Bot Auth recommends at most 24 h).
func WithMaxValidity(d time.Duration) VerifierOption {
	return func(v *Verifier) error {
		if d <= 0 {
			return errors.New("tap: WithMaxValidity: must be positive")
		}
		v.maxValidity = d
		return nil
	}
}

// WithTags sets the tags accepted when Verify or Middleware is given none
// (default TagBrowser and TagPayer).
func WithTags(tags ...Tag) VerifierOption {
	return func(v *Verifier) error {
		if len(tags) == 0 {
			return errors.New("tap: WithTags: no tag")
		}
		for _, t := range tags {
			if !t.Valid() {
				return fmt.Errorf("tap: WithTags: unknown tag %q", string(t))
			}
		}
		v.tags = slices.Clone(tags)
		return nil
	}
}

// WithLenient accepts the non-canonical Signature-Input of Visa's TAP
// sample agent (camelCase keyId, spaces after ';', the query inside
// @path), verifying over the parameters exactly as sent. Off by default;
// see httpsig.Parser.Lenient.
func WithLenient() VerifierOption {
	return func(v *Verifier) error { v.parser.Lenient = true; return nil }
}

// WithLimits bounds the signature fields: bytes per field and signatures
// per request (defaults 8 KiB and 8).
func WithLimits(maxFieldBytes, maxSignatures int) VerifierOption {
	return func(v *Verifier) error {
		if maxFieldBytes <= 0 || maxSignatures <= 0 {
			return errors.New("tap: WithLimits: limits must be positive")
		}
		v.parser.MaxFieldBytes, v.parser.MaxSignatures = maxFieldBytes, maxSignatures
		return nil
	}
}

// WithLogger logs each refusal (reason, label, method, path; never a
// signature or a nonce) at Info.
func WithLogger(l *slog.Logger) VerifierOption {
	return func(v *Verifier) error {
		if l == nil {
			return errors.New("tap: WithLogger: nil logger")
		}
		v.logger = l
		return nil
	}
}

// NewVerifier returns a Verifier that finds keys with keys.
func NewVerifier(keys KeyResolver, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("tap: NewVerifier: nil key resolver")
	}
	v := &Verifier{keys: keys, now: time.Now, skew: DefaultSkew, maxValidity: DefaultValidity,
		tags: []Tag{TagBrowser, TagPayer}, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if v.nonces == nil {
		v.nonces = NewMemoryNonceStore(v.now, 0)
	}
	return v, nil
}

// Verify checks r's signature and returns who signed it. tags are the
// tags this route accepts (the verifier's default set when none). In
// order, it parses the signature fields, picks the first signature whose
// tag is accepted, checks the profile's parameters and components, the
// time window, resolves the key, verifies the signature and only then
// records the nonce, so a refused request records nothing. A failure is a
// *VerifyError whose Reason says why.
func (v *Verifier) Verify(r *http.Request, tags ...Tag) (*Identity, error) {
	if len(tags) == 0 {
		tags = v.tags
	}
	var (
		id  *Identity
		err error
	)
	// The parsed signatures live only during the call (ParseFunc reuses
	// their memory): what verify returns holds none of them, only strings.
	perr := v.parser.ParseFunc(r.Header, func(sigs []*httpsig.Signature) error {
		id, err = v.verify(r, tags, sigs)
		return nil
	})
	if perr != nil {
		return nil, &VerifyError{Reason: fromHTTPSig(perr), Detail: httpsigDetail(perr), Err: perr}
	}
	return id, err
}

// verify is Verify after the parse.
func (v *Verifier) verify(r *http.Request, tags []Tag, sigs []*httpsig.Signature) (*Identity, error) {
	var sig *httpsig.Signature
	for _, s := range sigs {
		if slices.Contains(tags, Tag(s.Params.Tag)) {
			sig = s
			break
		}
	}
	if sig == nil {
		return nil, &VerifyError{Reason: ErrTag, Detail: "this route accepts " + tagList(tags)}
	}
	fail := func(r *Reason, detail string, err error) (*Identity, error) {
		return nil, &VerifyError{Reason: r, Label: sig.Label, Detail: detail, Err: err}
	}
	p, tag := sig.Params, Tag(sig.Params.Tag)

	switch {
	case p.Created.IsZero():
		return fail(ErrMissingParameter, "created is required", nil)
	case p.Expires.IsZero():
		return fail(ErrMissingParameter, "expires is required", nil)
	case !p.Expires.After(p.Created):
		return fail(ErrMissingParameter, "expires must be after created", nil)
	case p.KeyID == "":
		return fail(ErrMissingParameter, "keyid is required", nil)
	case p.Nonce == "" && tag != TagWebBotAuth:
		return fail(ErrMissingParameter, "nonce is required", nil)
	case len(p.Nonce) > 512 || len(p.KeyID) > 512:
		return fail(ErrMissingParameter, "keyid and nonce are at most 512 bytes", nil)
	}
	agent, err := v.checkComponents(r, sig, tag)
	if err != nil {
		return nil, err
	}
	now, expires := v.now(), p.Expires.Add(v.skew) // expires: also how long the nonce is kept
	switch {
	case p.Created.After(now.Add(v.skew)):
		return fail(ErrNotYetValid, "", nil)
	case now.After(expires):
		return fail(ErrExpired, "", nil)
	case p.Expires.Sub(p.Created) > v.maxValidity:
		return fail(ErrValidityTooLong, "expires is more than "+v.maxValidity.String()+" after created", nil)
	}
	rk, err := v.keys.ResolveKey(r.Context(), KeyQuery{KeyID: p.KeyID, Alg: p.Alg, Tag: tag, Agent: agent})
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			out := *ve
			out.Label = sig.Label
			return nil, &out
		}
		var reason *Reason
		if !errors.As(err, &reason) {
			reason = ErrKeyUnavailable
		}
		return fail(reason, "", err)
	}
	if err := sig.Verify(httpsig.Message{Request: r}, rk.Key); err != nil {
		return fail(fromHTTPSig(err), httpsigDetail(err), err)
	}
	if p.Nonce != "" {
		var err error
		if ms, ok := v.nonces.(*MemoryNonceStore); ok {
			err = ms.useNonce(rk.Source, p.KeyID, p.Nonce, expires)
		} else {
			err = v.nonces.Use(r.Context(), nonceKey(rk.Source, p.KeyID, p.Nonce), expires)
		}
		if err != nil {
			if errors.Is(err, ErrReplay) {
				return fail(ErrReplay, "", nil)
			}
			return fail(ErrNonceStore, "", err)
		}
	}
	return &Identity{KeyID: p.KeyID, Tag: tag, Agent: agent, Source: rk.Source, Algorithm: rk.Key.Algorithm(),
		Label: sig.Label, Created: p.Created, Expires: p.Expires, Nonce: p.Nonce}, nil
}

// checkComponents applies the profile: TAP covers @authority and @path;
// Web Bot Auth covers @authority (or @target-uri) and its Signature-Agent
// member. It returns the Signature-Agent URL the signature covers.
func (v *Verifier) checkComponents(r *http.Request, sig *httpsig.Signature, tag Tag) (string, error) {
	has := func(name string) bool {
		for _, c := range sig.Components {
			if c.Name == name && !c.Req {
				return true
			}
		}
		return false
	}
	bad := func(d string) (string, error) {
		return "", &VerifyError{Reason: ErrComponents, Label: sig.Label, Detail: d}
	}
	if tag != TagWebBotAuth {
		if !has("@authority") || !has("@path") {
			return bad(`TAP signatures cover "@authority" and "@path"`)
		}
		return v.coveredAgent(r, sig)
	}
	if !has("@authority") && !has("@target-uri") {
		return bad(`Web Bot Auth signatures cover "@authority" or "@target-uri"`)
	}
	agent, err := v.coveredAgent(r, sig)
	if err != nil {
		return "", err
	}
	if agent == "" && len(r.Header["Signature-Agent"]) > 0 { // the canonical name: what Values looks up
		return bad(`the signature must cover its Signature-Agent member`)
	}
	return agent, nil
}

// coveredAgent returns the Signature-Agent URL the signature covers: the
// member under its key parameter, or the whole field in the legacy String
// form.
func (v *Verifier) coveredAgent(r *http.Request, sig *httpsig.Signature) (string, error) {
	for _, c := range sig.Components {
		if c.Name != "signature-agent" || c.Req {
			continue
		}
		lines := r.Header["Signature-Agent"] // the canonical name: what Values looks up
		malformed := &VerifyError{Reason: ErrMalformed, Label: sig.Label, Detail: "Signature-Agent is malformed"}
		if len(lines) == 0 {
			return "", &VerifyError{Reason: ErrInvalidSignature, Label: sig.Label, Detail: "covered component signature-agent missing"}
		}
		if c.Key == "" {
			it, err := httpsfv.UnmarshalItem(lines)
			if err != nil {
				return "", malformed
			}
			s, ok := it.Value.(string)
			if !ok {
				return "", malformed
			}
			return s, nil
		}
		d, err := httpsfv.UnmarshalDictionary(lines)
		if err != nil {
			return "", malformed
		}
		m, ok := d.Get(c.Key)
		if !ok {
			return "", &VerifyError{Reason: ErrInvalidSignature, Label: sig.Label, Detail: "covered Signature-Agent member missing"}
		}
		it, ok := m.(httpsfv.Item)
		s, isString := it.Value.(string)
		if !ok || !isString {
			return "", malformed
		}
		return s, nil
	}
	return "", nil
}

// nonceKey scopes a nonce to the key that signed it, in a fixed length: the
// key a NonceStore shared by a fleet (tapsql) stores, stable across
// processes. A MemoryNonceStore is given the parts instead (useNonce).
func nonceKey(source, keyID, nonce string) string {
	var buf [256]byte // on the stack for the usual sizes
	b := buf[:0]
	b = append(append(append(append(append(append(b, source...), 0), keyID...), 0), nonce...), 0)
	sum := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// labelPrefix is the label httpsig puts before a cause; VerifyError
// carries the label already.
var labelPrefix = regexp.MustCompile(`signature [a-z*][a-z0-9_.*-]*: `)

func tagList(tags []Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// httpsigDetail keeps what an httpsig error says beyond its sentinel: the
// label, component or parameter at fault.
func httpsigDetail(err error) string {
	s := err.Error()
	for _, sentinel := range []error{httpsig.ErrMalformed, httpsig.ErrTooLarge, httpsig.ErrNoSignature,
		httpsig.ErrUnsupportedComponent, httpsig.ErrMissingComponent, httpsig.ErrUnsupportedAlgorithm,
		httpsig.ErrAlgorithmMismatch, httpsig.ErrInvalidSignature, httpsig.ErrInvalidKey} {
		if errors.Is(err, sentinel) {
			s = strings.Replace(s, sentinel.Error(), "", 1)
			if sentinel == httpsig.ErrUnsupportedComponent || sentinel == httpsig.ErrMissingComponent ||
				sentinel == httpsig.ErrAlgorithmMismatch || sentinel == httpsig.ErrUnsupportedAlgorithm {
				s = strings.TrimSuffix(strings.TrimPrefix(sentinel.Error(), "httpsig: "), ":") + ": " + s
			}
			break
		}
	}
	s = labelPrefix.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, ": : ", ": ")
	s = strings.Trim(strings.ReplaceAll(s, ":  ", ": "), " :")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Middleware returns middleware that verifies each request with tags (the
// verifier's default set when none) and passes it on with the Identity in
// its context (IdentityFrom). A refused request gets the Reason's status
// (400, 401 or 503) and a JSON body naming it, such as
// {"error":"signature_expired","message":"tap: signature expired (signature sig1)"};
// the signature is never echoed.
func (v *Verifier) Middleware(tags ...Tag) func(http.Handler) http.Handler {
	tags = slices.Clone(tags)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := v.Verify(r, tags...)
			if err != nil {
				v.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithIdentity(r.Context(), id)))
		})
	}
}

func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code := "signature_error"
	var reason *Reason
	if errors.As(err, &reason) {
		code = reason.Code()
	}
	label := ""
	var ve *VerifyError
	if errors.As(err, &ve) {
		label = ve.Label
	}
	v.logger.LogAttrs(r.Context(), slog.LevelInfo, "tap: request refused",
		slog.String("reason", code), slog.String("label", label),
		slog.String("method", r.Method), slog.String("path", r.URL.Path))
	body, _ := json.Marshal(map[string]string{"error": code, "message": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(Status(err))
	_, _ = w.Write(append(body, '\n'))
}
