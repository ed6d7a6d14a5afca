package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/internal/hooks"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// Agent drives Visa's 16-step journey (docs/journey.md) over the service clients and a Store.
// It is safe for concurrent use: purchases for many users run at once.
type Agent struct {
	vts      *vts.Client
	vic      *vic.Client
	frame    authframe.Frame
	bridge   *authframe.Bridge // set when journeys talk to the iFrame through the relay
	store    store.Store
	sealer   *fido.Sealer
	merchant Merchant

	externalClientID string
	vtsBase          string
	appURL           string
	appName          string

	logger    *slog.Logger
	progress  func(Progress)
	interrupt func(string) bool
	now       func() time.Time

	owner           string
	leaseTTL        time.Duration
	merchantTimeout time.Duration
	settleMargin    time.Duration
	choiceTTL       time.Duration
}

// Option configures an Agent.
type Option func(*options) error

type options struct {
	frame     authframe.Frame
	bridge    *authframe.Bridge
	merchant  Merchant
	logger    *slog.Logger
	progress  func(Progress)
	interrupt func(string) bool
	now       func() time.Time
	appURL    string
	owner     string
	leaseTTL  time.Duration
	merchantT time.Duration
	margin    time.Duration
	choiceTTL time.Duration
	appName   string
	vtsOpts   []vts.Option
	vicOpts   []vic.Option
}

// WithFrame sets the Auth iFrame implementation: authframe.Direct by
// default (headless agents and the sandbox), or an authframe.Bridge that
// relays to the cardholder's browser.
func WithFrame(f authframe.Frame) Option {
	return func(o *options) error {
		if f == nil {
			return visa.NewInputError("Frame", "is nil")
		}
		o.frame = f
		return nil
	}
}

// WithMerchant sets the merchant that charges a credential (Step 15).
// Purchase needs one.
func WithMerchant(m Merchant) Option {
	return func(o *options) error {
		if m == nil {
			return visa.NewInputError("Merchant", "is nil")
		}
		o.merchant = m
		return nil
	}
}

// WithLogger sets the logger of step records (one per step, with its
// duration and outcome; never a secret). Nil means cfg.Logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithProgress sets a callback told about every step as it ends, for UIs.
// It is called synchronously: keep it quick.
func WithProgress(f func(Progress)) Option {
	return func(o *options) error { o.progress = f; return nil }
}

// WithApplication names the agent application: its URL and name go, as
// base64url, into the merchant identifier of the onboarding attestation
// (docs/wire.md §5.3). Defaults: "https://agent.example.com", "vicgo agent".
func WithApplication(url, name string) Option {
	return func(o *options) error {
		if url == "" || name == "" {
			return visa.NewInputError("Application", "needs a URL and a name")
		}
		o.appURL, o.appName = url, name
		return nil
	}
}

// WithClock sets the clock of timestamps and store records.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return visa.NewInputError("Clock", "is nil")
		}
		o.now = now
		o.vtsOpts = append(o.vtsOpts, vts.WithClock(now))
		o.vicOpts = append(o.vicOpts, vic.WithClock(now))
		return nil
	}
}

// WithVICOptions passes options to the VIC client (for example
// vic.WithVerifier).
func WithVICOptions(opts ...vic.Option) Option {
	return func(o *options) error { o.vicOpts = append(o.vicOpts, opts...); return nil }
}

// WithOwner names this agent process in the leases it takes on journeys
// (store.Journey.LeaseOwner), so an operator can tell replicas apart. The
// default is the host name and a random suffix, unique per Agent.
func WithOwner(id string) Option {
	return func(o *options) error {
		if reason := check.ID(id, 64); reason != "" {
			return visa.NewInputError("Owner", reason)
		}
		o.owner = id
		return nil
	}
}

// WithLease sets how long a journey's lease lasts without renewal (default
// 30 s). A running journey renews it every third of that; when its process
// dies, another replica's reconciler may take the journey over once the
// lease has lapsed.
func WithLease(ttl time.Duration) Option {
	return func(o *options) error {
		if ttl < time.Second || ttl > time.Hour {
			return visa.NewInputError("Lease", "must be between 1s and 1h")
		}
		o.leaseTTL = ttl
		return nil
	}
}

// WithMerchantTimeout bounds one merchant call (Merchant.Authorize and
// Lookup; default 30 s) and sets the margin (default 30 s) after which a
// charge the merchant has no record of is taken as never made. The
// reconciler settles such a purchase as CANCELLED only when its lease has
// lapsed and timeout + margin have passed since the charge was sent, so a
// slow charge still in flight is never cancelled.
func WithMerchantTimeout(timeout, margin time.Duration) Option {
	return func(o *options) error {
		if timeout <= 0 || margin < 0 {
			return visa.NewInputError("MerchantTimeout", "must be positive, with a margin of zero or more")
		}
		o.merchantT, o.margin = timeout, margin
		return nil
	}
}

func init() {
	hooks.Interrupt = func(f func(string) bool) any {
		return Option(func(o *options) error { o.interrupt = f; return nil })
	}
	hooks.Boundaries = purchaseBoundaries
}

// New returns an Agent for cfg that persists to st and seals passkeys at
// rest with sealer.
func New(cfg visa.Config, st store.Store, sealer *fido.Sealer, opts ...Option) (*Agent, error) {
	if st == nil {
		return nil, visa.NewInputError("Store", "is nil")
	}
	if sealer == nil {
		return nil, visa.NewInputError("Sealer", "is nil")
	}
	o := options{now: time.Now, appURL: "https://agent.example.com", appName: "vicgo agent",
		leaseTTL: 30 * time.Second, merchantT: 30 * time.Second, margin: 30 * time.Second, choiceTTL: 10 * time.Minute}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	// Validated once, for every product the agent will call, so that every
	// missing field is named together (with its environment variable).
	products := []visa.Product{visa.ProductVTS, visa.ProductVIC}
	if o.frame == nil {
		products = append(products, visa.ProductAuth)
	}
	if err := cfg.ValidateFor(products...); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	vtsc, err := vts.New(cfg, o.vtsOpts...)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	vicc, err := vic.New(cfg, o.vicOpts...)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if o.frame == nil {
		if o.frame, err = authframe.NewDirect(cfg); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	logger := o.logger
	if logger == nil {
		logger = cfg.Logger
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.owner == "" {
		o.owner = defaultOwner()
	}
	a := &Agent{
		vts: vtsc, vic: vicc, frame: o.frame, store: st, sealer: sealer, merchant: o.merchant,
		externalClientID: cfg.VIC.ExternalClientID, vtsBase: vtsBaseURL(cfg), appURL: o.appURL, appName: o.appName,
		logger: logger, progress: o.progress, interrupt: o.interrupt, now: o.now,
		owner: o.owner, leaseTTL: o.leaseTTL, merchantTimeout: o.merchantT, settleMargin: o.margin, choiceTTL: o.choiceTTL,
	}
	if o.bridge != nil && o.frame == authframe.Frame(o.bridge) {
		if err := o.bridge.UseRelay(bridgeRelay{a}); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		a.bridge = o.bridge
	}
	return a, nil
}

// Step is one step of the journey, numbered as docs/journey.md numbers them (1 to 16).
type Step struct {
	Number int
	Name   string
}

// The steps of the journey.
var (
	StepEnrollPAN         = Step{1, "enroll PAN"}
	StepProvisionToken    = Step{2, "provision token"}
	StepOpenSession       = Step{3, "open Auth iFrame session"}
	StepProbe             = Step{4, "attestation options (probe)"}
	StepDeviceBinding     = Step{5, "device binding"}
	StepSelectStepUp      = Step{6, "select step-up method"}
	StepValidateOTP       = Step{7, "validate OTP"}
	StepRegisterOptions   = Step{8, "attestation options (register)"}
	StepRegisterPasskey   = Step{9, "passkey ceremony (register)"}
	StepEnrollCard        = Step{9, "enroll card in VIC"}
	StepPurchaseSession   = Step{10, "open Auth iFrame session"}
	StepPurchaseOptions   = Step{11, "attestation options (payment)"}
	StepAssertPasskey     = Step{12, "passkey ceremony (authenticate)"}
	StepCreateInstruction = Step{13, "create purchase instruction"}
	StepCredentials       = Step{14, "retrieve payment credentials"}
	StepAuthorize         = Step{15, "merchant authorization"}
	StepConfirm           = Step{16, "confirm transaction"}
)

// Progress reports one finished step.
type Progress struct {
	Step     Step
	Duration time.Duration
	// Outcome is a short, secret-free description ("ACTIVE", "CHALLENGE",
	// "APPROVED 00", ...).
	Outcome string
	// Err is the step's error, if it failed.
	Err error
	// TransactionID is set for purchase steps.
	TransactionID string
}

// Errors of the agent.
var (
	// ErrInterrupted: a test hook (agenttest.WithInterrupt) stopped a
	// journey at a crash boundary, as if the process had died.
	ErrInterrupted = errors.New("agent: interrupted")
	// ErrDeclined: the merchant declined the payment. The *DeclineError
	// says why.
	ErrDeclined = errors.New("agent: payment declined")
	// ErrResendOTP is returned by a Cardholder that wants a new code.
	ErrResendOTP = errors.New("agent: resend the OTP")
	// ErrNoMerchant: Purchase needs WithMerchant.
	ErrNoMerchant = errors.New("agent: no merchant configured")
	// ErrTokenNotActive: the token did not become ACTIVE after step-up.
	ErrTokenNotActive = errors.New("agent: token not active after step-up")
	// ErrSuperseded: another replica (or the reconciler) moved the
	// transaction first, before the merchant was called; this flow stopped
	// without side effects. After the merchant was called, losing a move is
	// ErrOwnershipLost instead.
	ErrSuperseded = errors.New("agent: transaction moved by another flow")
)

// DeclineError tells why a merchant declined.
type DeclineError struct {
	ResponseCode  string
	DeclineReason string
}

// Error returns e.g. "agent: payment declined: 51 INSUFFICIENT_FUNDS".
func (e *DeclineError) Error() string {
	s := "agent: payment declined: " + e.ResponseCode
	if e.DeclineReason != "" {
		s += " " + e.DeclineReason
	}
	return s
}

// Is makes errors.Is(err, ErrDeclined) true.
func (e *DeclineError) Is(target error) bool { return target == ErrDeclined }

// step runs fn as step st: it times it, logs one record and reports
// progress. fn returns a short outcome.
func (a *Agent) step(ctx context.Context, st Step, txID string, fn func() (string, error)) error {
	start := time.Now()
	outcome, err := fn()
	d := time.Since(start)
	attrs := []slog.Attr{slog.Int("step", st.Number), slog.String("name", st.Name), slog.Duration("duration", d)}
	if txID != "" {
		attrs = append(attrs, slog.String("transaction", txID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		a.logger.LogAttrs(ctx, slog.LevelWarn, "agent step failed", attrs...)
	} else {
		attrs = append(attrs, slog.String("outcome", outcome))
		a.logger.LogAttrs(ctx, slog.LevelInfo, "agent step", attrs...)
	}
	if a.progress != nil {
		a.progress(Progress{Step: st, Duration: d, Outcome: outcome, Err: err, TransactionID: txID})
	}
	return err
}

// crashed asks the interrupt hook about boundary b.
func (a *Agent) crashed(b string) bool { return a.interrupt != nil && a.interrupt(b) }

// defaultOwner names this process in leases: the host name (cut to fit an
// id) and 8 random letters.
func defaultOwner() string {
	host, _ := os.Hostname()
	return ownerFor(host)
}

// ownerFor is defaultOwner on host. A host name that holds something like
// a card number is left out, since the store would refuse every lease.
func ownerFor(host string) string {
	var b strings.Builder
	for _, r := range host {
		if b.Len() >= 40 {
			break
		}
		if r > 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || check.HasCardNumber(b.String()) {
		b.Reset()
		b.WriteString("agent")
	}
	return b.String() + "-" + randomLetters(8)
}

func vtsBaseURL(cfg visa.Config) string {
	_, v, _ := cfg.BaseURLs()
	return strings.TrimRight(v, "/")
}
