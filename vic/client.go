package vic

import (
	"errors"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// Client calls the Visa Intelligent Commerce API. Every call is signed
// with an X-Pay-Token and wrapped in Message Level Encryption by the one
// transport the SDK shares. A Client is safe for concurrent use.
type Client struct {
	t        *transport.Client
	client   wireClient
	verifier *Verifier
	now      func() time.Time
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	verifier   *Verifier
	unverified bool
	now        func() time.Time
	transport  []transport.Option
}

// WithVerifier sets the signedPayload verifier, replacing the one built
// from Config.SignedPayload.
func WithVerifier(v *Verifier) Option {
	return func(o *options) error {
		if v == nil {
			return visa.NewInputError("Verifier", "is nil")
		}
		o.verifier = v
		return nil
	}
}

// WithoutVerification makes RetrieveCredentials decode the signedPayload
// without checking its signature (Credentials.Verified is then false).
// Use it only where no verification key is available.
func WithoutVerification() Option {
	return func(o *options) error { o.unverified = true; return nil }
}

// WithClock sets the clock used for timestamps and expiry checks.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return visa.NewInputError("Clock", "is nil")
		}
		o.now = now
		o.transport = append(o.transport, transport.WithClock(now))
		return nil
	}
}

// New returns a VIC client for cfg. cfg must hold the VIC credentials and
// MLE keys, and a signedPayload key source (Config.SignedPayload) unless
// WithVerifier or WithoutVerification is given.
func New(cfg visa.Config, opts ...Option) (*Client, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	t, err := transport.New(cfg, visa.ProductVIC, o.transport...)
	if err != nil {
		return nil, err
	}
	c := &Client{
		t:   t,
		now: o.now,
		client: wireClient{
			ExternalClientID: cfg.VIC.ExternalClientID,
			ExternalAppID:    cfg.VIC.ExternalAppID,
			Authorization:    cfg.VIC.Authorization,
			RelationshipID:   cfg.VIC.RelationshipID,
		},
		verifier: o.verifier,
	}
	if c.verifier == nil && !o.unverified {
		if c.verifier, err = verifierFromConfig(cfg, o.now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// verifierFromConfig builds the verifier of cfg.SignedPayload: static PEM
// keys, a JWKS URL, or both (PEM keys first).
func verifierFromConfig(cfg visa.Config, now func() time.Time) (*Verifier, error) {
	sp := cfg.SignedPayload
	var sources multiSource
	if len(sp.KeysPEM) > 0 {
		keys, err := ParseKeysPEM(sp.KeysPEM)
		if err != nil {
			return nil, visa.NewInputError("SignedPayload.KeysPEM", "holds no usable public key")
		}
		sources = append(sources, keys)
	}
	if sp.JWKSURL != "" {
		t, err := newJWKSTransport(cfg, sp.JWKSURL)
		if err != nil {
			return nil, err
		}
		sources = append(sources, newJWKS(sp.JWKSURL, t, nil, WithJWKSClock(now)))
	}
	if len(sources) == 0 {
		return nil, visa.NewInputError("SignedPayload", "needs a JWKSURL or KeysPEM (or the WithoutVerification option)")
	}
	opts := []VerifierOption{WithVerifierClock(now)}
	if len(sp.Algorithms) > 0 {
		opts = append(opts, WithAlgorithms(sp.Algorithms...))
	}
	if sp.Leeway > 0 {
		opts = append(opts, WithLeeway(sp.Leeway))
	}
	if sp.Issuer != "" {
		opts = append(opts, WithIssuer(sp.Issuer))
	}
	if sp.Audience != "" {
		opts = append(opts, WithAudience(sp.Audience))
	}
	var src KeySource = sources
	if len(sources) == 1 {
		src = sources[0]
	}
	return NewVerifier(src, opts...)
}

// fail names the operation of an error found before or after the
// exchange (refused input, an unverifiable signedPayload), as the
// transport names the errors of the exchange: one *visa.OperationError
// carrying the metadata of the answer, if one came.
func fail(op string, meta visa.ResponseMeta, err error) error {
	var oe *visa.OperationError
	if errors.As(err, &oe) && oe.Operation == op {
		return err
	}
	meta.Operation = op
	return &visa.OperationError{Operation: op, Meta: meta, Err: err}
}

// epoch formats t as Unix seconds, the timestamp form of VIC bodies.
func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
