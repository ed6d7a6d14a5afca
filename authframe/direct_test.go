package authframe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/vts"
)

// Values of the journey the tests run against the sandbox.
const (
	email     = "alice@example.com"
	deviceOne = "dev-aZ3_k9Qm7Lp2Xw8Rt5Yb" // clientDeviceId: 24 of [A-Za-z0-9_-]
)

var (
	agentID  = vts.MerchantIdentifier{ExternalClientID: "visaagent", ApplicationURL: "https://agent.example.com", MerchantName: "Example Agent"}
	merchant = vts.MerchantIdentifier{ExternalClientID: "bestbuy", ApplicationURL: "https://www.bestbuy.example", MerchantName: "Best Buy"}
)

// journey runs the VTS half of onboarding and purchase around a Frame:
// the sandbox decides what the iFrame sees.
type journey struct {
	vts     *vts.Client
	frame   authframe.Frame
	now     func() time.Time
	device  string
	channel string
	tokenID string
	exp     vts.ExpirationDate
	ref     string
}

func newJourney(cfg visa.Config, frame authframe.Frame, now func() time.Time) (*journey, error) {
	if now == nil {
		now = time.Now
	}
	c, err := vts.New(cfg, vts.WithClock(now))
	if err != nil {
		return nil, err
	}
	return &journey{vts: c, frame: frame, now: now, device: deviceOne, ref: visa.NewClientReferenceID()}, nil
}

// provision runs steps 1 and 2 with the happy test card.
func (j *journey) provision(ctx context.Context) error {
	pan, err := visa.ParsePAN(sandbox.CardHappy)
	if err != nil {
		return err
	}
	cvv, err := visa.ParseCVV2("123")
	if err != nil {
		return err
	}
	j.exp = vts.ExpirationDate{Month: 12, Year: j.now().Year() + 2}
	enr, err := j.vts.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: j.exp, Name: "Alice Doe"}})
	if err != nil {
		return err
	}
	tok, err := j.vts.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: j.exp})
	if err != nil {
		return err
	}
	j.tokenID = tok.VProvisionedTokenID
	return nil
}

// open is step 3 (or 10): a session of the Frame.
func (j *journey) open(ctx context.Context) (*authframe.Session, error) {
	return j.frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: j.device, Channel: j.channel})
}

func (j *journey) options(ctx context.Context, s *authframe.Session, action visa.Action, amount visa.Amount, mi vts.MerchantIdentifier) (visa.AuthenticationContext, error) {
	r, err := j.vts.AttestationOptions(ctx, vts.AttestationOptionsRequest{
		VProvisionedTokenID: j.tokenID, ClientReferenceID: j.ref, Type: action, Amount: amount,
		SessionContext: s.SessionContext, BrowserData: s.BrowserData, MerchantIdentifier: mi, Email: email,
	})
	if err != nil {
		return visa.AuthenticationContext{}, err
	}
	return r.AuthenticationContext, nil
}

// register runs steps 4 to 8 on the session: the probe, device binding,
// the OTP step-up, then the REGISTER options.
func (j *journey) register(ctx context.Context, s *authframe.Session) (visa.AuthenticationContext, error) {
	if _, err := j.options(ctx, s, visa.ActionAuthenticate, visa.Amount{}, agentID); err != nil {
		return visa.AuthenticationContext{}, err
	}
	b, err := j.vts.DeviceBinding(ctx, vts.DeviceBindingRequest{
		VProvisionedTokenID: j.tokenID, ClientReferenceID: j.ref, SessionContext: s.SessionContext,
		BrowserData: s.BrowserData, Email: email, ExpirationDate: j.exp,
	})
	if err != nil {
		return visa.AuthenticationContext{}, err
	}
	if b.Status == vts.BindingChallenge {
		if _, err := j.vts.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{
			VProvisionedTokenID: j.tokenID, ClientReferenceID: j.ref, StepUpRequestID: b.StepUpRequest[0].Identifier,
		}); err != nil {
			return visa.AuthenticationContext{}, err
		}
		otp, err := visa.ParseOTP(sandbox.GoldenOTP)
		if err != nil {
			return visa.AuthenticationContext{}, err
		}
		if _, err := j.vts.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: j.tokenID, ClientReferenceID: j.ref, OTP: otp}); err != nil {
			return visa.AuthenticationContext{}, err
		}
	}
	return j.options(ctx, s, visa.ActionRegister, visa.Amount{}, agentID)
}

// pay is step 11: the purchase options for an amount at the merchant.
func (j *journey) pay(ctx context.Context, s *authframe.Session, amount string) (visa.AuthenticationContext, error) {
	a, err := visa.ParseAmount(amount, "USD")
	if err != nil {
		return visa.AuthenticationContext{}, err
	}
	return j.options(ctx, s, visa.ActionAuthenticate, a, merchant)
}

func startJourney(t *testing.T, frame func(visa.Config) authframe.Frame, opts ...sandbox.Option) (*journey, *sandbox.Sandbox) {
	t.Helper()
	sb := sandboxtest.Start(t, opts...)
	j, err := newJourney(sb.Config(), frame(sb.Config()), nil)
	require.NoError(t, err)
	require.NoError(t, j.provision(context.Background()))
	return j, sb
}

func direct(t *testing.T, opts ...authframe.DirectOption) func(visa.Config) authframe.Frame {
	return func(cfg visa.Config) authframe.Frame {
		d, err := authframe.NewDirect(cfg, opts...)
		require.NoError(t, err)
		return d
	}
}

func TestDirectRegisterThenAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, _ := startJourney(t, direct(t))

	s, err := j.open(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, s.RequestID)
	assert.NotEmpty(t, s.DFPSessionID)
	assert.False(t, s.SessionContext.SecureToken.IsZero())
	token := s.SessionContext.SecureToken.Reveal()
	ac, err := j.register(ctx, s)
	require.NoError(t, err)
	require.Equal(t, visa.ActionRegister, ac.Action)
	reg, err := j.frame.Authenticate(ctx, s, ac)
	require.NoError(t, err)
	assert.Equal(t, "localhost", reg.RPID)
	assert.Equal(t, ac.Identifier, reg.Identifier)
	assert.False(t, reg.FidoBlob.IsZero())

	// The secureToken covered one ceremony: a second one is refused.
	_, err = j.frame.Authenticate(ctx, s, ac)
	require.ErrorIs(t, err, authframe.ErrSecureTokenReused)
	assert.NotContains(t, err.Error(), token)
	require.NoError(t, j.frame.Close(ctx, s))

	// Purchase: a new session, the passkey of this device.
	s2, err := j.open(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, s.RequestID, s2.RequestID)
	pay, err := j.pay(ctx, s2, "129.99")
	require.NoError(t, err)
	require.Equal(t, visa.ActionAuthenticate, pay.Action)
	as, err := j.frame.Authenticate(ctx, s2, pay)
	require.NoError(t, err)
	assert.Equal(t, reg.Identifier, as.Identifier, "the same passkey")
	assert.NotEqual(t, reg.FidoBlob.Reveal(), as.FidoBlob.Reveal())
	require.NoError(t, j.frame.Close(ctx, s2))
}

func TestDirectOutcomeHooks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		outcome string
		want    error
		event   string
	}{
		{"CANCELLED", authframe.ErrUserCancelled, authframe.TypeAuthCancelled},
		{"FAILED", authframe.ErrFailed, authframe.TypeAuthFailed},
		{"NOT_SUPPORTED", authframe.ErrNotSupported, authframe.TypeAuthNotSupported},
		{"NOT_PERFORMED", authframe.ErrFailed, authframe.TypeAuthNotPerformed},
	}
	for _, c := range cases {
		t.Run(c.outcome, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j, _ := startJourney(t, direct(t, authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", c.outcome)))
			s, err := j.open(ctx)
			require.NoError(t, err)
			ac, err := j.register(ctx, s)
			require.NoError(t, err)
			_, err = j.frame.Authenticate(ctx, s, ac)
			require.ErrorIs(t, err, c.want)
			var fe *authframe.FrameError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.event, fe.Event)
			assert.Equal(t, "authenticate", fe.Op)
			assert.NotContains(t, err.Error(), s.SessionContext.SecureToken.Reveal())
			// The ceremony consumed the secureToken whatever its outcome.
			_, err = j.frame.Authenticate(ctx, s, ac)
			require.ErrorIs(t, err, authframe.ErrSecureTokenReused)
		})
	}
}

func TestDirectSessionExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := sandbox.NewManualClock(time.Now().Truncate(time.Second))
	sb := sandboxtest.Start(t, sandbox.WithClock(clock))
	d, err := authframe.NewDirect(sb.Config())
	require.NoError(t, err)
	j, err := newJourney(sb.Config(), d, clock.Now)
	require.NoError(t, err)
	require.NoError(t, j.provision(ctx))
	s, err := j.open(ctx)
	require.NoError(t, err)
	ac, err := j.register(ctx, s)
	require.NoError(t, err)
	clock.Advance(11 * time.Minute)
	_, err = d.Authenticate(ctx, s, ac)
	require.ErrorIs(t, err, authframe.ErrSessionExpired)
}

func TestDirectUnknownRequestID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, _ := startJourney(t, direct(t))
	s, err := j.open(ctx)
	require.NoError(t, err)
	ac, err := j.register(ctx, s)
	require.NoError(t, err)
	forged := *s
	forged.RequestID = "REQ-not-a-session"
	_, err = j.frame.Authenticate(ctx, &forged, ac)
	require.ErrorIs(t, err, authframe.ErrProtocol)
	// The real session is untouched.
	_, err = j.frame.Authenticate(ctx, s, ac)
	require.NoError(t, err)
}

func TestDirectBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	cfg := visa.Config{Environment: visa.Sandbox, AuthBaseURL: srv.URL}
	cfg.VTS.APIKey = visa.NewSecret("KEY")
	cfg.VTS.ClientAppID = "APP"
	d, err := authframe.NewDirect(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	good := &authframe.Session{RequestID: "REQ-1"}
	ac := visa.AuthenticationContext{Action: visa.ActionRegister, Identifier: "ID", Payload: "P"}

	calls := map[string]func() error{
		"bad device":    func() error { _, err := d.Open(ctx, authframe.OpenRequest{ClientDeviceID: "short"}); return err },
		"empty device":  func() error { _, err := d.Open(ctx, authframe.OpenRequest{}); return err },
		"nil session":   func() error { _, err := d.Authenticate(ctx, nil, ac); return err },
		"empty session": func() error { _, err := d.Authenticate(ctx, &authframe.Session{}, ac); return err },
		"empty context": func() error { _, err := d.Authenticate(ctx, good, visa.AuthenticationContext{}); return err },
		"bad action": func() error {
			bad := ac
			bad.Action = "PAY"
			_, err := d.Authenticate(ctx, good, bad)
			return err
		},
		"no payload": func() error {
			bad := ac
			bad.Payload = ""
			_, err := d.Authenticate(ctx, good, bad)
			return err
		},
		"close nil": func() error { return d.Close(ctx, nil) },
	}
	for name, call := range calls {
		err := call()
		require.ErrorIs(t, err, visa.ErrInvalidInput, name)
	}
	assert.Zero(t, hits.Load(), "no request was sent")

	// The Frame reports the server's refusal as an API error, without the
	// api key of the URL.
	_, err = d.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "KEY")
}

func TestNewDirectBadConfig(t *testing.T) {
	t.Parallel()
	base := visa.Config{Environment: visa.Sandbox, AuthBaseURL: "http://localhost:1"}
	base.VTS.APIKey = visa.NewSecret("SECRETAPIKEY9")
	base.VTS.ClientAppID = "APP"
	cases := map[string]struct {
		mut  func(*visa.Config)
		opts []authframe.DirectOption
	}{
		"no api key":     {mut: func(c *visa.Config) { c.VTS.APIKey = visa.Secret{} }},
		"no app id":      {mut: func(c *visa.Config) { c.VTS.ClientAppID = "" }},
		"relative base":  {mut: func(c *visa.Config) { c.AuthBaseURL = "/vts-auth" }},
		"ftp base":       {mut: func(c *visa.Config) { c.AuthBaseURL = "ftp://localhost" }},
		"empty header":   {opts: []authframe.DirectOption{authframe.WithDirectHeader("", "x")}},
		"zero timeout":   {opts: []authframe.DirectOption{authframe.WithDirectTimeout(0)}},
		"negative timer": {opts: []authframe.DirectOption{authframe.WithDirectTimeout(-time.Second)}},
	}
	for name, c := range cases {
		cfg := base
		if c.mut != nil {
			c.mut(&cfg)
		}
		_, err := authframe.NewDirect(cfg, c.opts...)
		require.ErrorIs(t, err, visa.ErrInvalidInput, name)
		assert.NotContains(t, fmt.Sprint(err), "SECRETAPIKEY9", name)
	}
}

func TestDirectTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := visa.Config{Environment: visa.Sandbox, AuthBaseURL: srv.URL}
	cfg.VTS.APIKey = visa.NewSecret("SECRET-KEY")
	cfg.VTS.ClientAppID = "APP"
	d, err := authframe.NewDirect(cfg, authframe.WithDirectTimeout(50*time.Millisecond))
	require.NoError(t, err)
	_, err = d.Open(context.Background(), authframe.OpenRequest{ClientDeviceID: deviceOne})
	require.ErrorIs(t, err, authframe.ErrTimeout)
	assert.False(t, strings.Contains(err.Error(), "SECRET-KEY"))
}
