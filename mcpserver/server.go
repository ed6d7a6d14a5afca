package mcpserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// Version is the server's version, reported to MCP clients: the
// module's, visa.Version.
const Version = visa.Version

// Name is the server's MCP implementation name.
const Name = "visa-mcp"

// Defaults of the options.
const (
	// DefaultWaitTimeout is how long a -continue call waits for a journey
	// that another request is working on to move before it answers
	// IN_PROGRESS.
	DefaultWaitTimeout = 30 * time.Second
	// DefaultCardEntryTTL is how long a card-entry link stays usable.
	DefaultCardEntryTTL = 15 * time.Minute
	// DefaultHandleTTL is how long a sessionHandle or assuranceHandle
	// lives: the life of the Auth iFrame secureToken it stands for.
	DefaultHandleTTL = 10 * time.Minute
	// DefaultUserID is the user of a server without authentication when a
	// call names none: stdio serves one local user.
	DefaultUserID = "default"
)

// ScopeReveal is the OAuth scope that allows a caller clear payment
// credentials from retrieve-payment-credentials (on a server built
// WithRevealCredentials(true)). The HTTP side puts the token's scopes in
// auth.TokenInfo.Scopes.
const ScopeReveal = "visa:reveal"

// Server is the MCP server: an *mcp.Server with the Visa tools, and the
// SDK clients, store and flows behind them. Build it with New, serve it
// with RunStdio or Handler, and release it with Close.
type Server struct {
	mcp     *mcp.Server
	agent   *agent.Agent
	vts     *vts.Client
	vic     *vic.Client
	frame   authframe.Frame
	store   store.Store
	closeSt bool
	reveal  bool
	charges bool // a merchant is configured
	bridged bool // passkeys run on the Bridge page

	requireAuth  bool
	cardArgs     bool
	publicURL    string
	passkeyBase  string
	cardEntryTTL time.Duration
	entryKey     []byte
	stateKey     []byte
	logger       *slog.Logger
	now          func() time.Time

	externalClientID string
	appURL, appName  string
	deviceKey        []byte // keys default device ids (deviceIDFor)

	waitTimeout time.Duration
	handleTTL   time.Duration

	handles *handleSet

	closed sync.Once
}

// Option configures a Server. An Option validates its argument and may
// make New fail.
type Option func(*options) error

type options struct {
	store       store.Store
	sealer      *fido.Sealer
	merchant    agent.Merchant
	reveal      bool
	logger      *slog.Logger
	frame       authframe.Frame
	bridge      *authframe.Bridge
	passkeyBase string
	waitTimeout time.Duration
	handleTTL   time.Duration
	requireAuth bool
	cardArgs    *bool
	publicURL   string
	entryTTL    time.Duration
	appURL      string
	appName     string
	agentOpts   []agent.Option
	deviceKey   []byte
}

// WithStore sets where cards, sealed passkeys and transactions are kept.
// Default: a fresh in-memory store (store/memstore), lost when the process
// ends; use store/sqlstore to keep them. The Server does not close a store
// given here.
func WithStore(st store.Store) Option {
	return func(o *options) error {
		if st == nil {
			return visa.NewInputError("Store", "is nil")
		}
		o.store = st
		return nil
	}
}

// WithSealer sets the sealer of passkey fidoBlobs at rest. Default: a
// random AES-256 key made for this process, so blobs sealed by one run
// cannot be opened by the next: give a persistent sealer (for example
// fido.ParseKeyring) together with a persistent store.
func WithSealer(s *fido.Sealer) Option {
	return func(o *options) error {
		if s == nil {
			return visa.NewInputError("Sealer", "is nil")
		}
		o.sealer = s
		return nil
	}
}

// MinDeviceKeyLen is the shortest key WithDeviceKey accepts, in bytes.
const MinDeviceKeyLen = 32

// WithDeviceKey sets the per-deployment key of default device ids: when a
// tool call names no clientDeviceId, the device is the HMAC-SHA-256 of the
// user id under this key (24 base64url characters), so the same user shows
// the same device on every replica and after a restart, while nobody who
// lacks the key can compute another user's device id. Default: a random key
// made for this Server, so default device ids (and the passkeys bound to
// them) change when the process restarts: give a persistent key together
// with a persistent store (visa-mcp: VISA_MCP_DEVICE_KEY). The key must be
// at least MinDeviceKeyLen bytes; it is copied.
func WithDeviceKey(key []byte) Option {
	return func(o *options) error {
		if len(key) < MinDeviceKeyLen {
			return visa.NewInputError("DeviceKey", "must be at least 32 bytes")
		}
		o.deviceKey = append([]byte(nil), key...)
		return nil
	}
}

// WithMerchant sets the merchant the purchase tool charges (journey step 15),
// for example agenttest.NewSandboxMerchant. Without one, purchase fails with
// agent.ErrNoMerchant.
func WithMerchant(m agent.Merchant) Option {
	return func(o *options) error {
		if m == nil {
			return visa.NewInputError("Merchant", "is nil")
		}
		o.merchant = m
		return nil
	}
}

// WithRevealCredentials makes retrieve-payment-credentials return the clear
// payment token number and dynamic value, for agents that pay merchants
// themselves: to every caller of a server without authentication, and to
// callers whose token holds ScopeReveal on one with. purchase never
// returns a clear credential. Default false: results carry only the masked
// token (****8717) and the credential's ids.
func WithRevealCredentials(reveal bool) Option {
	return func(o *options) error { o.reveal = reveal; return nil }
}

// WithLogger sets the logger of tool calls (tool, duration, outcome) and
// of the journey's steps; never an argument or a secret. Default:
// cfg.Logger, else no logging. For a stdio server it must not write to
// standard output, which is the MCP transport.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithFrame sets the Auth iFrame implementation. Default:
// authframe.Direct, where the server itself plays the iFrame exchange; the
// local sandbox answers it as the cardholder's device.
func WithFrame(f authframe.Frame) Option {
	return func(o *options) error {
		if f == nil {
			return visa.NewInputError("Frame", "is nil")
		}
		o.frame = f
		return nil
	}
}

// WithBridge runs the passkey ceremonies in the cardholder's browser
// through b, relayed through the store (agent.WithBridge), so any server
// instance sharing the store serves the page and continues the journey.
// The journey tools then answer PASSKEY_REQUIRED with a pageUrl
// (publicBaseURL + the page's path) for the agent to show the cardholder;
// a follow-up -continue call reads the outcome. Mount b at publicBaseURL
// yourself, on every instance. The low-level passkey tools need the Direct
// frame and refuse to run with a Bridge.
func WithBridge(b *authframe.Bridge, publicBaseURL string) Option {
	return func(o *options) error {
		if b == nil {
			return visa.NewInputError("Bridge", "is nil")
		}
		if publicBaseURL == "" {
			return visa.NewInputError("Bridge.publicBaseURL", "is required")
		}
		o.bridge, o.passkeyBase = b, strings.TrimSuffix(publicBaseURL, "/")
		return nil
	}
}

// WithRequireAuth makes every tool call need an authenticated caller (an
// auth.TokenInfo with a UserID in the request, as the go-sdk's
// auth.RequireBearerToken middleware puts it). The caller is the user:
// tools take no userId (it is left out of their schemas), and every card,
// journey, handle and transaction is bound to its owner; another caller is
// told "not found". It also turns card arguments off by default
// (WithCardArguments). Without it (stdio), calls act for the userId
// argument or DefaultUserID.
func WithRequireAuth(require bool) Option {
	return func(o *options) error { o.requireAuth = require; return nil }
}

// WithCardArguments says whether add-card takes the card number and CVV2 as
// tool arguments (and provision-token-given-pan-data is offered), for
// headless use. Arguments pass through the agent and the model's context;
// the card-entry page (PagesHandler) keeps them out. Default: true, or
// false with WithRequireAuth. With both, a token
// provision-token-given-pan-data makes is recorded as the signed-in
// caller's card (only the caller may use it).
func WithCardArguments(allow bool) Option {
	return func(o *options) error { o.cardArgs = &allow; return nil }
}

// WithPublicURL sets the public URL where PagesHandler is mounted (for
// example "https://mcp.example.com/pages"): the card-entry links of add-card
// start with it. Without it add-card cannot offer a card-entry page.
func WithPublicURL(u string) Option {
	return func(o *options) error {
		if reason := check.URL(u, check.MaxURL); reason != "" {
			return visa.NewInputError("PublicURL", reason)
		}
		o.publicURL = strings.TrimSuffix(u, "/")
		return nil
	}
}

// WithCardEntryTTL sets how long a card-entry link stays usable (default
// DefaultCardEntryTTL).
func WithCardEntryTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return visa.NewInputError("CardEntryTTL", "must be positive")
		}
		o.entryTTL = d
		return nil
	}
}

// WithWaitTimeout sets how long a -continue call waits for a journey that
// another request is working on to move (default DefaultWaitTimeout),
// before it answers IN_PROGRESS.
func WithWaitTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return visa.NewInputError("WaitTimeout", "must be positive")
		}
		o.waitTimeout = d
		return nil
	}
}

// WithHandleTTL sets the life of sessionHandle and assuranceHandle values
// (default DefaultHandleTTL).
func WithHandleTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return visa.NewInputError("HandleTTL", "must be positive")
		}
		o.handleTTL = d
		return nil
	}
}

// WithApplication names the agent application (its URL and name go into
// the onboarding attestation and the appInstance). Defaults:
// "https://agent.example.com", "vicgo MCP agent".
func WithApplication(url, name string) Option {
	return func(o *options) error {
		if url == "" || name == "" {
			return visa.NewInputError("Application", "needs a URL and a name")
		}
		o.appURL, o.appName = url, name
		return nil
	}
}

// WithAgentOptions passes further options to the agent behind the journey
// tools (for example agent.WithProgress).
func WithAgentOptions(opts ...agent.Option) Option {
	return func(o *options) error { o.agentOpts = append(o.agentOpts, opts...); return nil }
}

// New builds the Server for cfg: VTS, VIC and Auth iFrame clients, the
// agent, and every tool.
func New(cfg visa.Config, opts ...Option) (*Server, error) {
	o := options{waitTimeout: DefaultWaitTimeout, handleTTL: DefaultHandleTTL, entryTTL: DefaultCardEntryTTL,
		appURL: "https://agent.example.com", appName: "vicgo MCP agent"}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := cfg.ValidateFor(visa.ProductVTS, visa.ProductVIC, visa.ProductAuth); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	logger := o.logger
	if logger == nil {
		logger = cfg.Logger
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{reveal: o.reveal, charges: o.merchant != nil, logger: logger, now: time.Now,
		externalClientID: cfg.VIC.ExternalClientID, appURL: o.appURL, appName: o.appName,
		waitTimeout: o.waitTimeout, handleTTL: o.handleTTL, requireAuth: o.requireAuth, cardArgs: !o.requireAuth,
		publicURL: o.publicURL, passkeyBase: o.passkeyBase, cardEntryTTL: o.entryTTL, bridged: o.bridge != nil}
	if o.cardArgs != nil {
		s.cardArgs = *o.cardArgs
	}
	var err error
	if s.vts, err = vts.New(cfg); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	if s.vic, err = vic.New(cfg); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	s.deviceKey = o.deviceKey
	if s.deviceKey == nil {
		s.deviceKey = make([]byte, MinDeviceKeyLen)
		_, _ = rand.Read(s.deviceKey)
	}
	// The card-entry links and the multi round-trip states are signed with
	// keys derived from the device key: replicas sharing the device key
	// accept each other's.
	s.entryKey = derive(s.deviceKey, "vicgo visa-mcp card entry")
	s.stateKey = derive(s.deviceKey, "vicgo visa-mcp request state")
	s.frame = o.frame
	if s.frame == nil {
		if s.frame, err = authframe.NewDirect(cfg); err != nil {
			return nil, fmt.Errorf("mcpserver: %w", err)
		}
	}
	sealer := o.sealer
	if sealer == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		if sealer, err = fido.NewSealer("process", map[string][]byte{"process": key}); err != nil {
			return nil, fmt.Errorf("mcpserver: %w", err)
		}
		clear(key)
	}
	s.store = o.store
	if s.store == nil {
		if s.store, err = memstore.New(); err != nil {
			return nil, fmt.Errorf("mcpserver: %w", err)
		}
		s.closeSt = true
	}
	aopts := []agent.Option{agent.WithLogger(logger), agent.WithApplication(o.appURL, o.appName)}
	if o.bridge != nil {
		aopts = append(aopts, agent.WithBridge(o.bridge))
	} else {
		aopts = append(aopts, agent.WithFrame(s.frame))
	}
	if o.merchant != nil {
		aopts = append(aopts, agent.WithMerchant(o.merchant))
	}
	if s.agent, err = agent.New(cfg, s.store, sealer, append(aopts, o.agentOpts...)...); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	s.handles = newHandleSet(s.now)
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: Name, Title: "Visa Intelligent Commerce", Version: Version},
		&mcp.ServerOptions{Logger: logger, Instructions: instructions})
	for _, t := range s.tools() {
		s.mcp.AddTool(t.tool, t.handler)
	}
	return s, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

const instructions = `Tools to pay with Visa cards on the user's behalf.
Add a card once with add-card: the shopper types the card on a one-time page (cardEntryUrl), never in the chat. ` +
	`It may answer OTP_REQUIRED or CHOOSE_STEP_UP: ask the user, then call add-card-continue. ` +
	`Then buy with purchase using the returned tokenId and an idempotencyKey. ` +
	`Never purchase again after CHARGED_UNCONFIRMED, OUTCOME_UNKNOWN or IN_PROGRESS: follow up with purchase-continue. ` +
	`No result ever contains a card number, CVV2, OTP or passkey data.`

// MCP returns the *mcp.Server, to serve it on any MCP transport.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Handler returns a plain streamable HTTP handler of the server (one MCP
// endpoint; mount it at e.g. /mcp), without authentication: cmd/visa-mcp
// wraps the MCP server with its own HTTP hardening.
func (s *Server) Handler() http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp },
		&mcp.StreamableHTTPOptions{Logger: s.logger})
}

// RunStdio serves MCP on standard input and output until ctx is done or
// the client disconnects. Nothing else may write to standard output.
func (s *Server) RunStdio(ctx context.Context) error {
	err := s.mcp.Run(ctx, &mcp.StdioTransport{})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Agent returns the agent behind the journey tools.
func (s *Server) Agent() *agent.Agent { return s.agent }

// Store returns the store behind the journey tools.
func (s *Server) Store() store.Store { return s.store }

// ErrClosed is returned by tools called after Close.
var ErrClosed = errors.New("mcpserver: server closed")

// Close forgets every low-level handle and closes the default store.
// Journeys live in the store: a journey waiting for the user survives
// Close and is continued by any server sharing the store. It is safe to
// call more than once.
func (s *Server) Close() error {
	var err error
	s.closed.Do(func() {
		s.handles.clear()
		if s.closeSt {
			err = s.store.Close()
		}
	})
	return err
}
