package tap

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/vicgo/visa/tap/httpsig"
)

// Profile defaults.
const (
	// DefaultValidity is how long a signature is valid: TAP's 8 minutes
	// between created and expires.
	DefaultValidity = 8 * time.Minute
	// DefaultLabel is the label of the signatures a Signer adds.
	DefaultLabel = "sig1"
	// DirectoryPath is where a Web Bot Auth key directory is published.
	DirectoryPath = "/.well-known/http-message-signatures-directory"
	// DirectoryMediaType is the media type of a key directory.
	DirectoryMediaType = "application/http-message-signatures-directory+json"
)

// Signer signs an agent's requests with the Trusted Agent Protocol or Web
// Bot Auth profile. The tag of each request decides the profile:
//
//   - TagBrowser and TagPayer (TAP): components ("@authority" "@path"),
//     created and expires 8 minutes apart, a fresh nonce, keyid, alg and
//     the tag.
//   - TagWebBotAuth: the same parameters with keyid the key's JWK
//     thumbprint, plus the Signature-Agent field (a Dictionary naming the
//     agent's key directory under the signature's label), which the
//     signature covers as "signature-agent";key="<label>".
//
// A Signer is safe for concurrent use.
type Signer struct {
	alg      httpsig.Algorithm
	key      *httpsig.SigningKey
	keyID    string
	thumb    string
	label    string
	validity time.Duration
	now      func() time.Time
	random   io.Reader
	tag      Tag
	agent    string
}

// SignerOption configures a Signer.
type SignerOption func(*Signer) error

// WithAlgorithm sets the algorithm; by default ed25519 for Ed25519 keys,
// ecdsa-p256-sha256 for P-256 keys and rsa-pss-sha256 (TAP's) for RSA keys.
func WithAlgorithm(a httpsig.Algorithm) SignerOption {
	return func(s *Signer) error {
		if !a.Valid() || a == httpsig.HMACSHA256 {
			return fmt.Errorf("%w: %q", httpsig.ErrUnsupportedAlgorithm, string(a))
		}
		s.alg = a
		return nil
	}
}

// WithKeyID sets the keyid of TAP signatures (for example the id Visa's
// agent registry knows the key by). By default it is the key's JWK
// thumbprint. Web Bot Auth signatures always use the thumbprint.
func WithKeyID(id string) SignerOption {
	return func(s *Signer) error {
		if id == "" || len(id) > 256 {
			return errors.New("tap: WithKeyID: the key id must be 1 to 256 characters")
		}
		for i := 0; i < len(id); i++ {
			if id[i] < 0x20 || id[i] > 0x7e {
				return errors.New("tap: WithKeyID: the key id must be printable ASCII")
			}
		}
		s.keyID = id
		return nil
	}
}

// WithLabel sets the signature label (default "sig1").
func WithLabel(l string) SignerOption {
	return func(s *Signer) error {
		if !validKey(l) {
			return fmt.Errorf("tap: WithLabel: %q is not a structured-field key", l)
		}
		s.label = l
		return nil
	}
}

// WithValidity sets the time between created and expires (default 8
// minutes, TAP's maximum; at most 24 hours).
func WithValidity(d time.Duration) SignerOption {
	return func(s *Signer) error {
		if d < time.Second || d > 24*time.Hour {
			return errors.New("tap: WithValidity: between 1 s and 24 h")
		}
		s.validity = d
		return nil
	}
}

// WithSignerClock sets the clock of created and expires.
func WithSignerClock(now func() time.Time) SignerOption {
	return func(s *Signer) error {
		if now == nil {
			return errors.New("tap: WithSignerClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithRandom sets the source of nonces (and of randomized signatures), for
// reproducible tests; crypto/rand by default.
func WithRandom(r io.Reader) SignerOption {
	return func(s *Signer) error {
		if r == nil {
			return errors.New("tap: WithRandom: nil reader")
		}
		s.random = r
		return nil
	}
}

// WithDefaultTag sets the tag of requests whose context names none
// (default TagBrowser).
func WithDefaultTag(t Tag) SignerOption {
	return func(s *Signer) error {
		if !t.Valid() {
			return fmt.Errorf("tap: WithDefaultTag: unknown tag %q", string(t))
		}
		s.tag = t
		return nil
	}
}

// WithSignatureAgent sets the https origin whose
// /.well-known/http-message-signatures-directory publishes the agent's keys
// (see DirectoryHandler); Web Bot Auth signatures name it in
// Signature-Agent.
func WithSignatureAgent(origin string) SignerOption {
	return func(s *Signer) error {
		u, err := url.Parse(origin)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("tap: WithSignatureAgent: %q is not an https origin", origin)
		}
		s.agent = u.Scheme + "://" + u.Host
		return nil
	}
}

// NewSigner returns a Signer over key, a crypto.Signer (an Ed25519, P-256
// or RSA key of 2048 bits or more, in memory or in a KMS).
func NewSigner(key crypto.Signer, opts ...SignerOption) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", httpsig.ErrInvalidKey)
	}
	s := &Signer{label: DefaultLabel, validity: DefaultValidity, now: time.Now, random: rand.Reader, tag: TagBrowser}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if _, ok := key.Public().(*rsa.PublicKey); ok && s.alg == "" {
		s.alg = httpsig.RSAPSSSHA256
	}
	k, err := httpsig.NewSigningKey(s.alg, key)
	if err != nil {
		return nil, err
	}
	s.key = k
	if s.thumb, err = Thumbprint(key.Public()); err != nil {
		return nil, err
	}
	if s.keyID == "" {
		s.keyID = s.thumb
	}
	return s, nil
}

// KeyID returns the keyid of TAP signatures.
func (s *Signer) KeyID() string { return s.keyID }

// Thumbprint returns the key's JWK SHA-256 thumbprint, the keyid of Web
// Bot Auth signatures.
func (s *Signer) Thumbprint() string { return s.thumb }

// Algorithm returns the signing algorithm.
func (s *Signer) Algorithm() httpsig.Algorithm { return s.key.Algorithm() }

// Public returns the public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs r in place with tag t: it sets Signature-Input and Signature
// (and Signature-Agent for TagWebBotAuth), replacing a signature of the
// Signer's label already there and keeping others. Use it from clients
// that are not an http.Client, such as a headless browser's request
// interception (see also Headers).
func (s *Signer) Sign(r *http.Request, t Tag) error {
	if !t.Valid() {
		return fmt.Errorf("tap: sign: unknown tag %q", string(t))
	}
	if r.URL == nil {
		return errors.New("tap: sign: request without URL")
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	comps := []httpsig.Component{{Name: "@authority"}, {Name: "@path"}}
	keyID := s.keyID
	if t == TagWebBotAuth {
		if s.agent == "" {
			return errors.New("tap: sign: web-bot-auth needs WithSignatureAgent")
		}
		keyID = s.thumb
		comps = append(comps, httpsig.Component{Name: "signature-agent", Key: s.label})
	}
	nonce, err := s.nonce()
	if err != nil {
		return err
	}
	now := s.now().Truncate(time.Second)
	p := httpsig.Params{Created: now, Expires: now.Add(s.validity), KeyID: keyID, Alg: s.key.Algorithm(), Nonce: nonce, Tag: string(t)}

	// Sign a copy of the headers so r changes only on success.
	h := r.Header.Clone()
	for _, f := range []string{"Signature-Input", "Signature", "Signature-Agent"} {
		if err := dropMember(h, f, s.label); err != nil {
			return err
		}
	}
	if t == TagWebBotAuth {
		d := httpsfv.NewDictionary()
		d.Add(s.label, httpsfv.NewItem(s.agent))
		if old := h.Values("Signature-Agent"); len(old) > 0 {
			od, _ := httpsfv.UnmarshalDictionary(old)
			for _, n := range od.Names() {
				m, _ := od.Get(n)
				d.Add(n, m)
			}
		}
		v, err := httpsfv.Marshal(d)
		if err != nil {
			return fmt.Errorf("tap: sign: Signature-Agent: %w", err)
		}
		h.Set("Signature-Agent", v)
	}
	signed := *r
	signed.Header = h
	sig, err := httpsig.Sign(httpsig.Message{Request: &signed}, s.label, comps, p, s.key)
	if err != nil {
		return fmt.Errorf("tap: sign: %w", err)
	}
	h.Add("Signature-Input", sig.SignatureInput())
	h.Add("Signature", sig.SignatureField())
	r.Header = h
	return nil
}

// Headers returns the fields that sign a request for method and rawURL
// with tag t (Signature-Input, Signature and, for Web Bot Auth,
// Signature-Agent), for clients that add headers themselves.
func (s *Signer) Headers(method, rawURL string, t Tag) (http.Header, error) {
	r, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("tap: headers: %w", err)
	}
	if err := s.Sign(r, t); err != nil {
		return nil, err
	}
	return r.Header, nil
}

// Transport returns an http.RoundTripper that signs every request before
// base sends it (http.DefaultTransport when base is nil), with the tag
// WithTag put in the request's context, else the Signer's default tag. The
// caller's request is not modified: a clone is signed, afresh on every
// attempt, so a retried request carries a new nonce.
func (s *Signer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{s: s, base: base}
}

type transport struct {
	s    *Signer
	base http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tag, ok := TagFrom(r.Context())
	if !ok {
		tag = t.s.tag
	}
	c := r.Clone(r.Context())
	if err := t.s.Sign(c, tag); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(c)
}

func (s *Signer) nonce() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return "", fmt.Errorf("tap: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// dropMember removes label from the Dictionary field f of h.
func dropMember(h http.Header, f, label string) error {
	v := h.Values(f)
	if len(v) == 0 {
		return nil
	}
	d, err := httpsfv.UnmarshalDictionary(v)
	if err != nil {
		if f == "Signature-Agent" {
			// A legacy String-form Signature-Agent: ours replaces it.
			h.Del(f)
			return nil
		}
		return fmt.Errorf("tap: sign: the request's %s field is malformed: %w", f, err)
	}
	if !d.Del(label) {
		return nil
	}
	if len(d.Names()) == 0 {
		h.Del(f)
		return nil
	}
	out, err := httpsfv.Marshal(d)
	if err != nil {
		return fmt.Errorf("tap: sign: %s: %w", f, err)
	}
	h.Set(f, out)
	return nil
}

func validKey(l string) bool {
	if l == "" || len(l) > 64 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c == '*' || i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// String shows the algorithm and keyid, never key material.
func (s *Signer) String() string {
	return "tap.Signer{alg=" + string(s.key.Algorithm()) + " keyid=" + s.keyID + "}"
}

// Format prints String for every verb.
func (s *Signer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue shows the algorithm and keyid.
func (s *Signer) LogValue() slog.Value { return slog.StringValue(s.String()) }
