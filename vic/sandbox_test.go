package vic_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// world is a sandbox with one onboarded card, the clients, and a way to
// get fresh passkey assertions for purchases.
type world struct {
	sbx   *sandbox.Sandbox
	clock *sandbox.ManualClock
	cfg   visa.Config
	vic   *vic.Client
	vts   *vts.Client
	frame *authframe.Direct
	user  store.User
	dev   agent.Device
	token string
}

func newWorld(t testing.TB, pan string) *world {
	t.Helper()
	return newWorldWith(t, pan, sandbox.WithPlainHTTP())
}

// newWorldWith is newWorld with the sandbox options given (TLS unless
// they include sandbox.WithPlainHTTP).
func newWorldWith(t testing.TB, pan string, opts ...sandbox.Option) *world {
	t.Helper()
	clock := sandbox.NewManualClock(time.Now())
	sbx := sandboxtest.Start(t, append([]sandbox.Option{sandbox.WithClock(clock)}, opts...)...)
	cfg := sbx.Config()
	st, err := memstore.New()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := fido.NewSealer("k", map[string][]byte{"k": key})
	require.NoError(t, err)
	a, err := agent.New(cfg, st, sealer, agent.WithClock(clock.Now))
	require.NoError(t, err)
	w := &world{sbx: sbx, clock: clock, cfg: cfg, user: store.User{ID: "user-vic", Email: "vic@example.com", Country: "US", Language: "en"},
		dev: agent.Device{ClientDeviceID: "vicdevice-000000000000001", AppInstance: appInstance("vicdevice-000000000000001")}}
	w.dev.ClientDeviceID = "vicdevice-00000000000001"
	w.dev.AppInstance.ClientDeviceID = w.dev.ClientDeviceID
	p, _ := visa.ParsePAN(pan)
	c, _ := visa.ParseCVV2("123")
	res, err := a.AddCard(context.Background(), agent.AddCardRequest{User: w.user, Device: w.dev,
		Card:       vts.Card{PAN: p, CVV2: c, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}, Name: "Vic Tor"},
		Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{"456789"}}})
	require.NoError(t, err)
	w.token = res.Card.TokenID
	w.vic, err = vic.New(cfg, vic.WithClock(clock.Now))
	require.NoError(t, err)
	w.vts, err = vts.New(cfg, vts.WithClock(clock.Now))
	require.NoError(t, err)
	w.frame, err = authframe.NewDirect(cfg)
	require.NoError(t, err)
	return w
}

func appInstance(dev string) visa.AppInstance {
	return visa.AppInstance{UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", ClientDeviceID: dev, DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}
}

// assertion runs steps 10 to 12 for amount: a passkey assertion.
func (w *world) assertion(t testing.TB, amount visa.Amount) (fido.Assurance, string) {
	t.Helper()
	ctx := context.Background()
	s, err := w.frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: w.dev.ClientDeviceID})
	require.NoError(t, err)
	ao, err := w.vts.AttestationOptions(ctx, vts.AttestationOptionsRequest{VProvisionedTokenID: w.token,
		ClientReferenceID: visa.NewClientReferenceID(), Type: visa.ActionAuthenticate, SessionContext: s.SessionContext,
		BrowserData: s.BrowserData, Amount: amount, Email: w.user.Email,
		MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: w.cfg.VIC.ExternalClientID, ApplicationURL: "https://www.bestbuy.com", MerchantName: "Best Buy"}})
	require.NoError(t, err)
	require.Equal(t, visa.ActionAuthenticate, ao.AuthenticationContext.Action)
	as, err := w.frame.Authenticate(ctx, s, ao.AuthenticationContext)
	require.NoError(t, err)
	return as, s.DFPSessionID
}

func (w *world) instruction(t testing.TB, amount string, mutate func(*vic.CreateInstructionRequest)) (*vic.InstructionResponse, error) {
	t.Helper()
	amt := visa.MustParseAmount(amount, "USD")
	as, dfp := w.assertion(t, amt)
	req := vic.CreateInstructionRequest{ConsumerID: w.user.ID, TokenID: w.token, AppInstance: w.dev.AppInstance,
		Assurance: as, DFPSessionID: dfp, ConsumerPrompt: "headphones",
		Mandates: []vic.Mandate{{Description: "Noise-cancelling headphones", DeclineThreshold: amt, PreferredMerchantName: "Best Buy"}}}
	if mutate != nil {
		mutate(&req)
	}
	return w.vic.CreateInstruction(context.Background(), req)
}

func (w *world) credentials(ins *vic.InstructionResponse, amount, ref string) (*vic.CredentialsResponse, error) {
	return w.vic.RetrieveCredentials(context.Background(), vic.CredentialsRequest{ClientReferenceID: ins.ClientReferenceID,
		InstructionID: ins.InstructionID, TokenID: w.token,
		Transactions: []vic.TransactionData{{TransactionReferenceID: ref, Amount: visa.MustParseAmount(amount, "USD"),
			MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}}})
}

func TestSandboxPurchaseCalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "4111111111111111")
	ctx := context.Background()

	ins, err := w.instruction(t, "129.99", nil)
	require.NoError(t, err)
	assert.Equal(t, vic.StatusActive, ins.Status)
	assert.NotEmpty(t, ins.InstructionID)

	// Update needs a fresh assertion; the new threshold must be covered by it.
	as, dfp := w.assertion(t, visa.MustParseAmount("99.00", "USD"))
	upd, err := w.vic.UpdateInstruction(ctx, vic.UpdateInstructionRequest{InstructionID: ins.InstructionID, ClientReferenceID: ins.ClientReferenceID,
		ConsumerID: w.user.ID, TokenID: w.token, AppInstance: w.dev.AppInstance, Assurance: as, DFPSessionID: dfp,
		Mandates: []vic.Mandate{{Description: "Cheaper headphones", DeclineThreshold: visa.MustParseAmount("99.00", "USD")}}})
	require.NoError(t, err)
	assert.Equal(t, vic.StatusActive, upd.Status)

	// Above the (updated) threshold: refused, nothing issued.
	_, err = w.credentials(ins, "120.00", "")
	assert.ErrorIs(t, err, visa.ErrAmountExceeded)

	cr, err := w.credentials(ins, "99.00", "")
	require.NoError(t, err)
	assert.Equal(t, vic.StatusCompleted, cr.Status)
	require.True(t, cr.Credentials.Verified, "verified against the sandbox JWKS")
	cred := cr.Credentials.DynamicData[0]
	assert.Equal(t, ins.InstructionID, cred.TransactionReferenceID)
	dyn := testutil.NewSecrets()
	dyn.AddDynamic("dynamic value", cred.DynamicDataValue.Reveal())
	dyn.Check(t, "the printed credential", fmt.Sprintf("%v %+v", cred, cred), testutil.Text)

	// Credentials requested twice: the instruction's one credential is spent.
	_, err = w.credentials(ins, "99.00", "second-ref")
	assert.ErrorIs(t, err, visa.ErrInstructionExpired)
	assert.Equal(t, 1, w.sbx.CredentialsFor(ins.InstructionID))

	confirm := vic.ConfirmRequest{ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID,
		Confirmations: []vic.Confirmation{{TransactionReferenceID: cred.TransactionReferenceID, DynamicDataID: cred.DynamicDataID,
			Status: vic.TransactionApproved, Amount: visa.MustParseAmount("99.00", "USD"), ResponseCode: "00", Order: &vic.Order{OrderID: "ORD-1"}}}}
	ack, err := w.vic.ConfirmTransaction(ctx, confirm)
	require.NoError(t, err)
	assert.Equal(t, ins.InstructionID, ack.InstructionID)
	// Confirmation repeated: idempotent, the last one wins.
	_, err = w.vic.ConfirmTransaction(ctx, confirm)
	require.NoError(t, err)
	assert.Equal(t, 2, w.sbx.Inspect().ConfirmationsPerInstruction[ins.InstructionID])

	// Unknown transaction reference.
	bad := confirm
	bad.Confirmations = []vic.Confirmation{confirm.Confirmations[0]}
	bad.Confirmations[0].TransactionReferenceID = "never-issued"
	_, err = w.vic.ConfirmTransaction(ctx, bad)
	assert.ErrorIs(t, err, visa.ErrNotFound)
}

func TestSandboxInstructionRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "4111111111111111")
	ctx := context.Background()

	t.Run("cancelled instruction used", func(t *testing.T) {
		ins, err := w.instruction(t, "10.00", nil)
		require.NoError(t, err)
		res, err := w.vic.CancelInstruction(ctx, vic.CancelRequest{ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID, AppInstance: w.dev.AppInstance})
		require.NoError(t, err)
		assert.Equal(t, vic.StatusCancelled, res.Status)
		_, err = w.credentials(ins, "10.00", "")
		assert.ErrorIs(t, err, visa.ErrInstructionExpired)
		_, err = w.vic.CancelInstruction(ctx, vic.CancelRequest{ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID, AppInstance: w.dev.AppInstance})
		assert.ErrorIs(t, err, visa.ErrInstructionExpired)
	})
	t.Run("expired instruction", func(t *testing.T) {
		ins, err := w.instruction(t, "10.00", nil)
		require.NoError(t, err)
		w.clock.Advance(6 * time.Minute)
		_, err = w.credentials(ins, "10.00", "")
		assert.ErrorIs(t, err, visa.ErrInstructionExpired)
	})
	t.Run("threshold above the authenticated amount", func(t *testing.T) {
		_, err := w.instruction(t, "10.00", func(r *vic.CreateInstructionRequest) {
			r.Mandates[0].DeclineThreshold = visa.MustParseAmount("500.00", "USD")
		})
		assert.ErrorIs(t, err, visa.ErrAmountExceeded)
	})
	t.Run("assertion redeemed twice", func(t *testing.T) {
		amt := visa.MustParseAmount("10.00", "USD")
		as, dfp := w.assertion(t, amt)
		req := vic.CreateInstructionRequest{ConsumerID: w.user.ID, TokenID: w.token, AppInstance: w.dev.AppInstance, Assurance: as, DFPSessionID: dfp,
			Mandates: []vic.Mandate{{Description: "x", DeclineThreshold: amt}}}
		_, err := w.vic.CreateInstruction(ctx, req)
		require.NoError(t, err)
		_, err = w.vic.CreateInstruction(ctx, req)
		assert.ErrorIs(t, err, visa.ErrAssuranceInvalid)
	})
	t.Run("unknown instruction", func(t *testing.T) {
		_, err := w.credentials(&vic.InstructionResponse{InstructionID: "INS-nope", ClientReferenceID: "CR-1"}, "1.00", "")
		assert.ErrorIs(t, err, visa.ErrNotFound)
	})
	t.Run("quantity allows several credentials", func(t *testing.T) {
		ins, err := w.instruction(t, "30.00", func(r *vic.CreateInstructionRequest) { r.Mandates[0].Quantity = 2 })
		require.NoError(t, err)
		_, err = w.credentials(ins, "10.00", "")
		require.NoError(t, err)
		_, err = w.credentials(ins, "10.00", "")
		assert.ErrorIs(t, err, visa.ErrConflict, "a transaction reference is issued once")
		_, err = w.credentials(ins, "10.00", "ref-2")
		require.NoError(t, err)
		_, err = w.credentials(ins, "10.00", "ref-3")
		assert.ErrorIs(t, err, visa.ErrInstructionExpired)
		assert.Equal(t, 2, w.sbx.CredentialsFor(ins.InstructionID))
	})
}

func TestSandboxJWKSRotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "4111111111111111")
	ins, err := w.instruction(t, "10.00", func(r *vic.CreateInstructionRequest) { r.Mandates[0].Quantity = 2 })
	require.NoError(t, err)
	_, err = w.credentials(ins, "5.00", "")
	require.NoError(t, err)
	// The sandbox rotates its signing key: the next payload names a new
	// kid, which the client's JWKS picks up with one refresh.
	_, err = w.sbx.RotateSigningKey()
	require.NoError(t, err)
	w.clock.Advance(time.Minute)
	cr, err := w.credentials(ins, "5.00", "ref-2")
	require.NoError(t, err)
	assert.True(t, cr.Credentials.Verified)
}

func TestSandboxPendingEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "4111111111111111")
	ctx := context.Background()
	amt := visa.MustParseAmount("25.00", "USD")
	as, dfp := w.assertion(t, amt)
	req := vic.CreateInstructionRequest{ConsumerID: w.user.ID, TokenID: w.token, AppInstance: w.dev.AppInstance, Assurance: as, DFPSessionID: dfp,
		Mandates: []vic.Mandate{{Description: "Headphones", DeclineThreshold: amt}}}

	// The sandbox answers HTTP 202 with pendingEvents once (docs/wire.md §6.7).
	require.NoError(t, w.sbx.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{
		{Endpoint: "POST /vacp/v1/instructions", Kind: sandbox.PendingEvents("CARDHOLDER_ACTION_PENDING", "VERIFY_EMAIL"), Count: 1}}}))
	_, err := w.vic.CreateInstruction(ctx, req)
	require.ErrorIs(t, err, vic.ErrPending)
	var pe *vic.PendingError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "vic.CreateInstruction", pe.Op)
	assert.Equal(t, vic.StatusPending, pe.Status)
	assert.Equal(t, []vic.PendingEvent{"CARDHOLDER_ACTION_PENDING", "VERIFY_EMAIL"}, pe.Events)
	assert.NotEmpty(t, pe.ClientReferenceID)

	// Nothing was redeemed: the same request, sent again once the
	// cardholder has acted, creates the instruction.
	ins, err := w.vic.CreateInstruction(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, vic.StatusActive, ins.Status)
	assert.NotEmpty(t, ins.InstructionID)

	// A pending credentials answer is no credential.
	require.NoError(t, w.sbx.SetFaults(sandbox.FaultPlan{Rules: []sandbox.FaultRule{
		{Endpoint: "POST /vacp/v1/instructions/{id}/credentials", Kind: sandbox.PendingEvents(), Count: 1}}}))
	_, err = w.credentials(ins, "25.00", "")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "vic.RetrieveCredentials", pe.Op)
	assert.Equal(t, ins.InstructionID, pe.InstructionID)
	assert.Equal(t, []vic.PendingEvent{sandbox.DefaultPendingEvents}, pe.Events)
	assert.Zero(t, w.sbx.CredentialsFor(ins.InstructionID))
	cr, err := w.credentials(ins, "25.00", "")
	require.NoError(t, err)
	assert.Equal(t, vic.StatusCompleted, cr.Status)
}
