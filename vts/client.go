package vts

import (
	"context"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
	"github.com/vicgo/visa/jwe"
)

// Default lifecycle paths of suspend and resume. Visa's public sources
// never call them; these follow the shape of delete (docs/wire.md §5.7)
// and can be replaced with WithLifecyclePaths.
const (
	DefaultSuspendPath = "/vts/provisionedTokens/{vProvisionedTokenID}/suspend"
	DefaultResumePath  = "/vts/provisionedTokens/{vProvisionedTokenID}/resume"
)

// DefaultLocale is the locale sent when a request leaves Locale empty.
const DefaultLocale = "en_US"

// Client is a Visa Token Service client. Build it once with New from a
// visa.Config; it is safe for concurrent use.
type Client struct {
	t             *transport.Client
	cipher        *jwe.FieldCipher
	hashSecret    visa.Secret
	clientAppID   string
	walletAccount string
	now           func() time.Time
	suspendPath   string
	resumePath    string
}

// Option configures a Client. An Option validates its argument and may
// make New fail.
type Option func(*options) error

type options struct {
	now         func() time.Time
	suspendPath string
	resumePath  string
}

// WithClock sets the clock used for the "date" of step-up calls, for
// reading a relative codeExpiration, and for X-Pay-Token timestamps
// (default time.Now). Tests pass the sandbox's clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return visa.NewInputError("vts.WithClock", "clock is nil")
		}
		o.now = now
		return nil
	}
}

// WithLifecyclePaths replaces the path templates of SuspendToken and
// ResumeToken, which docs/wire.md §5.7 infers. Each must start with "/"
// and hold exactly one "{}", where the vProvisionedTokenID goes.
func WithLifecyclePaths(suspend, resume string) Option {
	return func(o *options) error {
		for _, p := range []struct{ name, v string }{{"suspend", suspend}, {"resume", resume}} {
			if !strings.HasPrefix(p.v, "/") || strings.Count(p.v, "{}") != 1 || strings.ContainsAny(p.v, "?# ") {
				return visa.NewInputError("vts.WithLifecyclePaths: "+p.name, `must start with "/" and hold exactly one "{}"`)
			}
		}
		o.suspendPath, o.resumePath = suspend, resume
		return nil
	}
}

// New builds a VTS client from cfg, validated once by
// cfg.ValidateFor(visa.ProductVTS): cfg.VTS complete (APIKey and
// SharedSecret for signing, ClientAppID and ClientWalletAccountID for the
// bodies, EncAPIKey and EncSharedSecret for field encryption, HashSecret
// for the email hash) and every set field well formed. Every problem is a
// *visa.InputError naming the field and its environment variable.
func New(cfg visa.Config, opts ...Option) (*Client, error) {
	o := options{now: time.Now, suspendPath: DefaultSuspendPath, resumePath: DefaultResumePath}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	t, err := transport.New(cfg, visa.ProductVTS, transport.WithClock(o.now))
	if err != nil {
		return nil, err
	}
	cipher, err := jwe.NewFieldCipher(cfg.VTS.EncAPIKey.Reveal(), cfg.VTS.EncSharedSecret.Reveal())
	if err != nil {
		return nil, visa.NewInputError("VTS.EncAPIKey", "field encryption key is unusable")
	}
	return &Client{
		t: t, cipher: cipher, hashSecret: cfg.VTS.HashSecret,
		clientAppID: cfg.VTS.ClientAppID, walletAccount: cfg.VTS.ClientWalletAccountID,
		now: o.now, suspendPath: o.suspendPath, resumePath: o.resumePath,
	}, nil
}

// String describes the client without any credential.
func (c *Client) String() string { return "vts.Client{clientAppID: " + c.clientAppID + "}" }

// CallOption varies one call.
type CallOption func(*callOptions)

type callOptions struct {
	header http.Header
	refID  string
}

// WithHeader adds a request header to one call. It cannot replace the
// headers the transport owns (x-pay-token, x-request-id, Content-Type,
// Accept).
func WithHeader(key, value string) CallOption {
	return func(o *callOptions) {
		if o.header == nil {
			o.header = make(http.Header)
		}
		o.header.Add(textproto.CanonicalMIMEHeaderKey(key), value)
	}
}

// WithClientReferenceID supplies the flow's client reference id to a call
// whose request leaves ClientReferenceID empty (AttestationOptions,
// DeviceBinding, SelectStepUpMethod, ValidateOTP). A flow can build the
// option once and pass it to every call of that flow; calls without a
// reference id ignore it. A request that sets a different
// ClientReferenceID is refused.
func WithClientReferenceID(id string) CallOption {
	return func(o *callOptions) { o.refID = id }
}

func collect(opts []CallOption) callOptions {
	var o callOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// do sends r with the call options applied and decodes the reply into out.
func (c *Client) do(ctx context.Context, r *transport.Request, out any, co callOptions) (visa.ResponseMeta, error) {
	r.Header = co.header
	return c.t.Do(ctx, r, out)
}

// resolveRefID picks the request's reference id or the call option's and
// checks its shape (≤ 36 characters of [A-Za-z0-9-]).
func resolveRefID(field, fromOpt string) (string, error) {
	id := field
	switch {
	case id == "":
		id = fromOpt
	case fromOpt != "" && fromOpt != id:
		return "", visa.NewInputError("ClientReferenceID", "differs from the WithClientReferenceID option")
	}
	if id == "" {
		return "", visa.NewInputError("ClientReferenceID", "is required (see visa.NewClientReferenceID)")
	}
	if err := rule("ClientReferenceID", check.ClientReferenceID(id)); err != nil {
		return "", err
	}
	return id, nil
}
