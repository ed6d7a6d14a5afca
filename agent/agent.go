package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
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
	store    store.Store
	sealer   *fido.Sealer
	merchant Merchant

	externalClientID string
	vtsBase          string
	appURL           string
	appName          string

	logger    *slog.Logger
	progress  func(Progress)
	interrupt func(Boundary) bool
	now       func() time.Time
}

// Option configures an Agent.
type Option func(*options) error

type options struct {
	frame     authframe.Frame
	merchant  Merchant
	logger    *slog.Logger
	progress  func(Progress)
	interrupt func(Boundary) bool
	now       func() time.Time
	appURL    string
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

// WithInterrupt installs a hook asked at every step boundary of a
// purchase; when it returns true the purchase stops right there, exactly
// as if the process had crashed: nothing is cleaned up and Purchase
// returns ErrInterrupted. It exists to test and demonstrate Resume.
func WithInterrupt(f func(Boundary) bool) Option {
	return func(o *options) error { o.interrupt = f; return nil }
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
	o := options{now: time.Now, appURL: "https://agent.example.com", appName: "vicgo agent"}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
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
	return &Agent{
		vts: vtsc, vic: vicc, frame: o.frame, store: st, sealer: sealer, merchant: o.merchant,
		externalClientID: cfg.VIC.ExternalClientID, vtsBase: vtsBaseURL(cfg), appURL: o.appURL, appName: o.appName,
		logger: logger, progress: o.progress, interrupt: o.interrupt, now: o.now,
	}, nil
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

// Boundary names a point between two purchase steps where a crash can be
// simulated (WithInterrupt).
type Boundary string

// Purchase step boundaries, in order.
const (
	AfterPending             Boundary = "after-pending"
	AfterAssertion           Boundary = "after-assertion"
	AfterAuthenticated       Boundary = "after-authenticated"
	AfterInstructionCreated  Boundary = "after-instruction-created"
	AfterInstructed          Boundary = "after-instructed"
	AfterCredentialsRequest  Boundary = "after-credentials-requested"
	AfterCredentialsReceived Boundary = "after-credentials-received"
	AfterCredentialsIssued   Boundary = "after-credentials-issued"
	AfterAuthorizing         Boundary = "after-authorizing"
	AfterCharge              Boundary = "after-charge"
	AfterAuthorized          Boundary = "after-authorized"
	AfterConfirmed           Boundary = "after-confirmed"
)

// Boundaries lists every purchase boundary in order.
var Boundaries = []Boundary{
	AfterPending, AfterAssertion, AfterAuthenticated, AfterInstructionCreated, AfterInstructed,
	AfterCredentialsRequest, AfterCredentialsReceived, AfterCredentialsIssued, AfterAuthorizing,
	AfterCharge, AfterAuthorized, AfterConfirmed,
}

// Errors of the agent.
var (
	// ErrInterrupted: the WithInterrupt hook stopped a purchase.
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
	// ErrSuperseded: another replica (or Resume) moved the transaction
	// first; this flow stopped without side effects.
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
func (a *Agent) crashed(b Boundary) bool { return a.interrupt != nil && a.interrupt(b) }

func newID() string { return uuid.NewString() }

func vtsBaseURL(cfg visa.Config) string {
	_, v, _ := cfg.BaseURLs()
	return strings.TrimRight(v, "/")
}
