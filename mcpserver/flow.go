package mcpserver

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/vts"
)

// Statuses of a journey flow (the status of add-card, purchase and their
// -continue tools).
const (
	// StatusInProgress: the flow is working; call the -continue tool to
	// wait for its next step.
	StatusInProgress = "IN_PROGRESS"
	// StatusChooseStepUp: ask the user where the one-time passcode should
	// go (methods), then call add-card-continue with method.
	StatusChooseStepUp = "CHOOSE_STEP_UP"
	// StatusOTPRequired: ask the user for the code sent to destination,
	// then call add-card-continue with otp (or resend).
	StatusOTPRequired = "OTP_REQUIRED"
	// StatusPasskeyRequired: show the user pageUrl, where the passkey
	// ceremony runs, then call the -continue tool to wait for it.
	StatusPasskeyRequired = "PASSKEY_REQUIRED"
	// StatusCompleted: the card was added, or the purchase was approved.
	StatusCompleted = "COMPLETED"
	// StatusDeclined: the merchant declined the purchase.
	StatusDeclined = "DECLINED"
	// StatusFailed: the flow stopped; error says why. Nothing half-made
	// remains and nothing was charged.
	StatusFailed = "FAILED"
	// StatusCancelled: the purchase was cancelled; nothing was charged.
	StatusCancelled = "CANCELLED"
	// StatusChargedUnconfirmed: the card was charged, and the confirmation
	// to Visa is pending (the server's reconciler sends it). Never
	// purchase again.
	StatusChargedUnconfirmed = "CHARGED_UNCONFIRMED"
	// StatusOutcomeUnknown: the charge was sent and its answer was lost;
	// the card may have been charged (the server's reconciler asks the
	// merchant and settles it). Never purchase again.
	StatusOutcomeUnknown = "OUTCOME_UNKNOWN"
)

// StepUpMethod is one way to receive the one-time passcode, with its
// masked destination.
type StepUpMethod struct {
	Method      string `json:"method" jsonschema:"OTPSMS, OTPEMAIL, ..."`
	Destination string `json:"destination" jsonschema:"masked phone number or email address"`
}

// FlowResult is the answer of the journey tools: a status, what to do next,
// and the result once there is one. It never holds a card number, CVV2,
// OTP, secureToken or fidoBlob.
type FlowResult struct {
	Status string `json:"status" jsonschema:"IN_PROGRESS, CHOOSE_STEP_UP, OTP_REQUIRED, PASSKEY_REQUIRED, COMPLETED, DECLINED, CANCELLED, CHARGED_UNCONFIRMED (charged: never retry), OUTCOME_UNKNOWN (may be charged: never retry) or FAILED (nothing charged)"`
	FlowID string `json:"flowId,omitempty" jsonschema:"pass it to the -continue tool"`
	Next   string `json:"next" jsonschema:"what to do next, in words"`

	Methods       []StepUpMethod `json:"methods,omitempty" jsonschema:"step-up methods offered (CHOOSE_STEP_UP)"`
	Method        string         `json:"method,omitempty" jsonschema:"the step-up method in use (OTP_REQUIRED)"`
	Destination   string         `json:"destination,omitempty" jsonschema:"where the code went, masked (OTP_REQUIRED)"`
	Attempt       int            `json:"attempt,omitempty" jsonschema:"codes entered so far"`
	CodeExpiresAt string         `json:"codeExpiresAt,omitempty" jsonschema:"when the code expires, RFC 3339"`
	LastError     string         `json:"lastError,omitempty" jsonschema:"why the previous code was refused"`
	PageURL       string         `json:"pageUrl,omitempty" jsonschema:"page where the user completes the passkey (PASSKEY_REQUIRED)"`

	Card          *CardView          `json:"card,omitempty" jsonschema:"the added card (add-card)"`
	StepUp        string             `json:"stepUp,omitempty" jsonschema:"step-up used: OTPSMS, OTPEMAIL or APPROVED (none needed)"`
	Transaction   *TransactionView   `json:"transaction,omitempty" jsonschema:"the purchase record (purchase)"`
	Authorization *AuthorizationView `json:"authorization,omitempty" jsonschema:"the merchant's answer (purchase)"`
	Credential    *CredentialView    `json:"credential,omitempty" jsonschema:"the one-time credential used (purchase), masked unless the server reveals credentials"`
	Error         string             `json:"error,omitempty" jsonschema:"why the flow failed (FAILED)"`
}

type awaitKind int

const (
	awaitNothing awaitKind = iota
	awaitMethod
	awaitOTP
)

type answer struct {
	method vts.StepUpRequest
	otp    visa.OTP
	resend bool
}

// flow is one journey in progress: a goroutine running agent.AddCard or
// agent.Purchase, suspended at human steps until a -continue call answers.
type flow struct {
	id      string
	kind    string
	answers chan answer
	done    chan struct{}
	channel string // Bridge channel, if any
	cancel  context.CancelFunc

	mu         sync.Mutex
	state      FlowResult
	awaiting   awaitKind
	offered    []vts.StepUpRequest
	version    uint64
	changed    chan struct{}
	finishedAt time.Time
}

type flowKey struct{}

func flowFrom(ctx context.Context) *flow {
	f, _ := ctx.Value(flowKey{}).(*flow)
	return f
}

// publish makes st the flow's state and wakes waiters.
func (f *flow) publish(st FlowResult, a awaitKind, offered []vts.StepUpRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.FlowID = f.id
	f.state, f.awaiting, f.offered = st, a, offered
	f.version++
	close(f.changed)
	f.changed = make(chan struct{})
}

// working marks the flow busy without waking waiters: a waiter wants the
// next human step or the end, not this.
func (f *flow) working() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = inProgress(f)
	f.awaiting, f.offered = awaitNothing, nil
}

// inProgress is the IN_PROGRESS state of f.
func inProgress(f *flow) FlowResult {
	return FlowResult{Status: StatusInProgress, FlowID: f.id, Next: "call " + f.kind + "-continue with flowId to wait for the next step"}
}

func (f *flow) snapshot() (FlowResult, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.version
}

// wait returns the state once its version passes after, the flow ends,
// ctx ends or timeout passes, whichever is first.
func (f *flow) wait(ctx context.Context, after uint64, timeout time.Duration) FlowResult {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		st, v, ch := f.state, f.version, f.changed
		f.mu.Unlock()
		if v > after {
			return st
		}
		select {
		case <-f.done:
			st, _ = f.snapshot()
			return st
		case <-ch:
		case <-ctx.Done():
			return st
		case <-timer.C:
			return st
		}
	}
}

// prompt publishes a human step and waits for its answer.
func (f *flow) prompt(ctx context.Context, st FlowResult, a awaitKind, offered []vts.StepUpRequest) (answer, error) {
	f.publish(st, a, offered)
	select {
	case ans := <-f.answers:
		f.working()
		return ans, nil
	case <-ctx.Done():
		return answer{}, ctx.Err()
	}
}

// deliver hands an answer to the waiting prompt.
func (f *flow) deliver(ctx context.Context, a answer) error {
	select {
	case f.answers <- a:
		return nil
	case <-f.done:
		return errors.New("the flow has already ended")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flowSet holds the flows in progress and, for a while, finished ones, so
// a late -continue still learns the outcome.
type flowSet struct {
	mu        sync.Mutex
	flows     map[string]*flow
	max       int
	retention time.Duration
	now       func() time.Time
}

func newFlowSet(max int, now func() time.Time) *flowSet {
	return &flowSet{flows: map[string]*flow{}, max: max, retention: 10 * time.Minute, now: now}
}

// ErrTooManyFlows is returned when the server already runs its maximum of
// flows.
var ErrTooManyFlows = errors.New("mcpserver: too many flows in progress; try again later")

// ErrClosed is returned by tools that start a flow after Close.
var ErrClosed = errors.New("mcpserver: server closed")

func (fs *flowSet) add(kind string) (*flow, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := fs.now()
	for id, f := range fs.flows {
		f.mu.Lock()
		old := !f.finishedAt.IsZero() && now.Sub(f.finishedAt) > fs.retention
		f.mu.Unlock()
		if old {
			delete(fs.flows, id)
		}
	}
	if len(fs.flows) >= fs.max {
		return nil, ErrTooManyFlows
	}
	f := &flow{id: "flow_" + rand.Text(), kind: kind, answers: make(chan answer), done: make(chan struct{}), changed: make(chan struct{}),
		cancel: func() {}}
	f.state = inProgress(f)
	fs.flows[f.id] = f
	return f, nil
}

func (fs *flowSet) get(id string) *flow {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.flows[id]
}

// startFlow runs fn in its own goroutine, bounded by the flow timeout and
// the server's life, and returns the flow.
func (s *Server) startFlow(kind string, fn func(context.Context, *flow) FlowResult) (*flow, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	f, err := s.flows.add(kind)
	if err != nil {
		return nil, err
	}
	if s.pages != nil {
		ch, err := s.pages.newChannel()
		if err != nil {
			f.finish(FlowResult{Status: StatusFailed, Error: "no passkey page could be made: " + errorText(err)}, s.now())
			return f, nil
		}
		f.channel = ch
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.flowTimeout)
	f.cancel = cancel
	ctx = context.WithValue(ctx, flowKey{}, f)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		res := fn(ctx, f)
		if f.channel != "" {
			s.pages.closeChannel(f.channel)
		}
		f.finish(res, s.now())
	}()
	return f, nil
}

func (f *flow) finish(res FlowResult, at time.Time) {
	f.publish(res, awaitNothing, nil)
	f.mu.Lock()
	f.finishedAt = at
	f.mu.Unlock()
	close(f.done)
}

// failed is the FAILED result of err.
func failed(err error) FlowResult {
	msg := errorText(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg = "the flow timed out waiting for the user: " + msg
	case errors.Is(err, context.Canceled):
		msg = "the flow was cancelled: " + msg
	}
	return FlowResult{Status: StatusFailed, Error: msg, Next: "nothing was kept; fix the cause and start again"}
}

// flowCardholder is the agent.Cardholder of an add-card flow: it suspends
// the flow until add-card-continue answers.
type flowCardholder struct {
	f         *flow
	preferred string
}

func (c *flowCardholder) ChooseStepUp(ctx context.Context, offered []vts.StepUpRequest) (vts.StepUpRequest, error) {
	if len(offered) == 0 {
		return vts.StepUpRequest{}, errors.New("no step-up method offered")
	}
	for _, o := range offered {
		if c.preferred != "" && o.Method == c.preferred {
			return o, nil
		}
	}
	methods := make([]StepUpMethod, len(offered))
	for i, o := range offered {
		methods[i] = StepUpMethod{Method: o.Method, Destination: o.Value}
	}
	ans, err := c.f.prompt(ctx, FlowResult{Status: StatusChooseStepUp, Methods: methods,
		Next: "ask the user where to receive a one-time code, then call add-card-continue with flowId and method"}, awaitMethod, offered)
	if err != nil {
		return vts.StepUpRequest{}, err
	}
	return ans.method, nil
}

func (c *flowCardholder) EnterOTP(ctx context.Context, p agent.OTPPrompt) (visa.OTP, error) {
	st := FlowResult{Status: StatusOTPRequired, Method: p.Method, Destination: p.Destination, Attempt: p.Attempt,
		CodeExpiresAt: stamp(p.ExpiresAt),
		Next:          "ask the user for the code sent to " + p.Destination + ", then call add-card-continue with flowId and otp (or resend: true)"}
	if p.LastError != nil {
		st.LastError = errorText(p.LastError)
	}
	ans, err := c.f.prompt(ctx, st, awaitOTP, nil)
	if err != nil {
		return visa.OTP{}, err
	}
	if ans.resend {
		return visa.OTP{}, agent.ErrResendOTP
	}
	return ans.otp, nil
}

// flowFrame is the agent's Auth iFrame: the configured frame, and, when
// the ceremonies run on a page in the user's browser, a PASSKEY_REQUIRED
// step published before each of them.
type flowFrame struct {
	authframe.Frame
	s *Server
}

func (ff *flowFrame) Open(ctx context.Context, req authframe.OpenRequest) (*authframe.Session, error) {
	if f := flowFrom(ctx); f != nil && f.channel != "" {
		req.Channel = f.channel
		f.publish(FlowResult{Status: StatusPasskeyRequired, PageURL: ff.s.pages.pageURL(f.channel),
			Next: "show the user pageUrl (it opens a secure Visa passkey window), then call " + f.kind + "-continue with flowId"}, awaitNothing, nil)
	}
	return ff.Frame.Open(ctx, req)
}

func (ff *flowFrame) Authenticate(ctx context.Context, s *authframe.Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	if f := flowFrom(ctx); f != nil && f.channel != "" {
		f.publish(FlowResult{Status: StatusPasskeyRequired, PageURL: ff.s.pages.pageURL(f.channel),
			Next: "ask the user to confirm with their passkey on pageUrl, then call " + f.kind + "-continue with flowId"}, awaitNothing, nil)
	}
	return ff.Frame.Authenticate(ctx, s, ac)
}
