package agent_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox/sandboxtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

type env struct {
	sbx    *sandbox.Sandbox
	clock  *sandbox.ManualClock
	cfg    visa.Config
	st     store.Store
	sealer *fido.Sealer
	agent  *agent.Agent
	logs   *testutil.LogBuffer
}

// newEnv starts a sandbox (plain HTTP keeps -race runs quick; TLS is
// covered by the sandbox's own tests and the quickstart) and an agent
// sharing its clock.
func newEnv(t *testing.T, opts ...agent.Option) *env {
	t.Helper()
	clock := sandbox.NewManualClock(time.Now())
	sbx := sandboxtest.Start(t, sandbox.WithClock(clock), sandbox.WithPlainHTTP(), sandbox.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	logs := &testutil.LogBuffer{}
	cfg := sbx.Config()
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := memstore.New(memstore.WithClock(clock.Now)) // the agent's clock: leases compare the two
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	m, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	base := []agent.Option{agent.WithMerchant(m), agent.WithClock(clock.Now)}
	a, err := agent.New(cfg, st, sealer, append(base, opts...)...)
	require.NoError(t, err)
	return &env{sbx: sbx, clock: clock, cfg: cfg, st: st, sealer: sealer, agent: a, logs: logs}
}

func device(id string) agent.Device {
	return agent.Device{ClientDeviceID: id, AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
	}}
}

func deviceN(n int) agent.Device { return device(fmt.Sprintf("device-%017d", n)) }

func card(t testing.TB, pan string) vts.Card {
	p, err := visa.ParsePAN(pan)
	require.NoError(t, err)
	c, err := visa.ParseCVV2(testCVV2)
	require.NoError(t, err)
	return vts.Card{PAN: p, CVV2: c, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}, Name: "Alice Doe"}
}

func user(n int) store.User {
	return store.User{ID: fmt.Sprintf("user-%d", n), Email: fmt.Sprintf("user%d@example.com", n), Country: "US", Language: "en"}
}

func golden() *agenttest.ScriptedCardholder {
	return &agenttest.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: []string{"456789"}}
}

func (e *env) addCard(t testing.TB, u store.User, pan string, dev agent.Device) store.Card {
	t.Helper()
	res, err := e.agent.AddCard(context.Background(), agent.AddCardRequest{User: u, Card: card(t, pan), Device: dev, Cardholder: golden()})
	require.NoError(t, err)
	return res.Card
}

func purchaseReq(u store.User, c store.Card, dev agent.Device, amount string) agent.PurchaseRequest {
	return agent.PurchaseRequest{UserID: u.ID, TokenID: c.TokenID, Device: dev,
		Amount:         visa.MustParseAmount(amount, "USD"),
		Merchant:       agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US", CategoryCode: "5732"},
		Description:    "Noise-cancelling headphones",
		ConsumerPrompt: "buy the Sony headphones under $130"}
}

// assertNoDoubles proves with the sandbox's inspection that nothing was
// issued or charged twice.
func (e *env) assertNoDoubles(t *testing.T) {
	t.Helper()
	snap := e.sbx.Inspect()
	for id, n := range snap.CredentialsPerInstruction {
		assert.LessOrEqual(t, n, 1, "credentials for instruction %s", id)
	}
	for id, n := range snap.ApprovalsPerCredential {
		assert.LessOrEqual(t, n, 1, "approvals for credential %s", id)
	}
}

func TestAddCardAndPurchase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(1), deviceN(1)
	var steps []agent.Progress
	var mu sync.Mutex
	a2, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
		agent.WithProgress(func(p agent.Progress) { mu.Lock(); steps = append(steps, p); mu.Unlock() }))
	require.NoError(t, err)

	res, err := a2.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev, Cardholder: golden()})
	require.NoError(t, err)
	assert.Equal(t, fido.Register, res.Ceremony)
	assert.Equal(t, vts.MethodOTPSMS, res.StepUp)
	c := res.Card
	assert.Equal(t, store.TokenActive, c.TokenStatus)
	assert.Equal(t, store.VICEnrolled, c.VICEnrollment)
	assert.Len(t, c.Last4, 4)
	assert.NotEqual(t, "1111", c.Last4, "the token's last four, not the card's")

	pk, err := e.st.GetPasskey(ctx, c.TokenID, dev.ClientDeviceID)
	require.NoError(t, err)
	blob, err := e.sealer.Open(pk.SealedBlob, fido.Binding{UserID: u.ID, TokenID: c.TokenID, DeviceID: dev.ClientDeviceID})
	require.NoError(t, err, "the stored passkey blob is sealed for this user, token and device")
	assert.False(t, blob.IsZero())

	rec, err := a2.Purchase(ctx, purchaseReq(u, c, dev, "129.99"))
	require.NoError(t, err)
	assert.Equal(t, store.TxCompleted, rec.Transaction.Status)
	assert.False(t, rec.Transaction.ConfirmedAt.IsZero())
	assert.Equal(t, "00", rec.Transaction.ResponseCode)
	assert.Equal(t, "129.99", rec.Transaction.Amount)
	assert.Equal(t, 1, e.sbx.ChargesFor(rec.Transaction.TransactionReferenceID))
	assert.Equal(t, 1, e.sbx.CredentialsFor(rec.Transaction.InstructionID))
	dyn := testutil.NewSecrets()
	dyn.AddDynamic("dynamic value", rec.Credential.DynamicDataValue.Reveal())
	dyn.Check(t, "the printed credential", fmt.Sprintf("%v %+v", rec.Credential, rec.Credential), testutil.Text)

	// Every journey step reported its progress, 1 to 16.
	seen := map[int]bool{}
	for _, p := range steps {
		require.NoError(t, p.Err, p.Step.Name)
		seen[p.Step.Number] = true
	}
	for n := 1; n <= 16; n++ {
		assert.True(t, seen[n], "step %d reported", n)
	}
	e.assertNoDoubles(t)
}

func mustMerchant(t *testing.T, e *env) agent.Merchant {
	m, err := agenttest.NewSandboxMerchant(e.sbx.MerchantURL(), e.cfg)
	require.NoError(t, err)
	return m
}

func TestAddCardBranches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	t.Run("OTP wrong then right", func(t *testing.T) {
		ch := &agenttest.ScriptedCardholder{Method: vts.MethodOTPEmail, OTPs: []string{"111111", "222222", "456789"}}
		res, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: user(10), Card: card(t, "4111111111111111"), Device: deviceN(10), Cardholder: ch})
		require.NoError(t, err)
		assert.Equal(t, vts.MethodOTPEmail, res.StepUp)
		p := ch.Prompts()
		require.Len(t, p, 3)
		assert.ErrorIs(t, p[1].LastError, visa.ErrOTPInvalid)
	})
	t.Run("OTP resend on request", func(t *testing.T) {
		before := e.sbx.OTPsSent()
		ch := &agenttest.ScriptedCardholder{OTPs: []string{"resend", "456789"}}
		_, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: user(11), Card: card(t, "4111111111111111"), Device: deviceN(11), Cardholder: ch})
		require.NoError(t, err)
		assert.Equal(t, 2, e.sbx.OTPsSent()-before)
	})
	t.Run("OTP locked", func(t *testing.T) {
		wrong := make([]string, 20)
		for i := range wrong {
			wrong[i] = "000000"
		}
		u := user(12)
		_, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: deviceN(12),
			Cardholder: &agenttest.ScriptedCardholder{OTPs: wrong}})
		require.Error(t, err)
		assert.ErrorIs(t, err, visa.ErrOTPLimitExceeded)
		assertNoCards(t, e, u.ID)
	})
	t.Run("device binding approved without OTP", func(t *testing.T) {
		before := e.sbx.OTPsSent()
		ch := &agenttest.ScriptedCardholder{}
		res, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: user(13), Card: card(t, "4012888888881881"), Device: deviceN(13), Cardholder: ch})
		require.NoError(t, err)
		assert.Equal(t, "APPROVED", res.StepUp)
		assert.Empty(t, ch.Prompts())
		assert.Equal(t, before, e.sbx.OTPsSent())
	})
	t.Run("card declined at provisioning", func(t *testing.T) {
		u := user(14)
		_, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4000000000000002"), Device: deviceN(14), Cardholder: golden()})
		assert.ErrorIs(t, err, visa.ErrCardDeclined)
		assertNoCards(t, e, u.ID)
	})
	t.Run("expired card", func(t *testing.T) {
		_, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: user(15), Card: card(t, "4000000000000069"), Device: deviceN(15), Cardholder: golden()})
		assert.ErrorIs(t, err, visa.ErrCardExpired)
	})
	t.Run("user cancels the passkey", func(t *testing.T) {
		frame, err := authframe.NewDirect(e.cfg, authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", "CANCELLED"))
		require.NoError(t, err)
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithFrame(frame), agent.WithClock(e.clock.Now))
		require.NoError(t, err)
		u := user(16)
		_, err = a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: deviceN(16), Cardholder: golden()})
		assert.ErrorIs(t, err, authframe.ErrUserCancelled)
		assertNoCards(t, e, u.ID)
	})
}

func assertNoCards(t *testing.T, e *env, userID string) {
	t.Helper()
	n := 0
	for _, err := range e.st.ListCards(context.Background(), userID) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "a failed AddCard leaves no card behind")
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	before := e.sbx.Inspect()
	good := func() agent.AddCardRequest {
		return agent.AddCardRequest{User: user(20), Card: card(t, "4111111111111111"), Device: deviceN(20), Cardholder: golden()}
	}
	cases := map[string]func(*agent.AddCardRequest){
		"no user id":     func(r *agent.AddCardRequest) { r.User.ID = "" },
		"no email":       func(r *agent.AddCardRequest) { r.User.Email = "" },
		"bad country":    func(r *agent.AddCardRequest) { r.User.Country = "USA" },
		"bad device":     func(r *agent.AddCardRequest) { r.Device.ClientDeviceID = "short" },
		"no cardholder":  func(r *agent.AddCardRequest) { r.Cardholder = nil },
		"no PAN":         func(r *agent.AddCardRequest) { r.Card.PAN = visa.PAN{} },
		"no CVV2":        func(r *agent.AddCardRequest) { r.Card.CVV2 = visa.CVV2{} },
		"expired":        func(r *agent.AddCardRequest) { r.Card.ExpirationDate = vts.ExpirationDate{Month: 1, Year: 2020} },
		"bad month":      func(r *agent.AddCardRequest) { r.Card.ExpirationDate.Month = 13 },
		"device differs": func(r *agent.AddCardRequest) { r.Device.AppInstance.ClientDeviceID = "other-device-0000000000" },
	}
	for name, mut := range cases {
		r := good()
		mut(&r)
		_, err := e.agent.AddCard(ctx, r)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, name)
		assert.NotContains(t, err.Error(), "4111111111111111", name)
	}
	c := e.addCard(t, user(21), "4111111111111111", deviceN(21))
	u := user(21)
	pcases := map[string]func(*agent.PurchaseRequest){
		"no amount":         func(r *agent.PurchaseRequest) { r.Amount = visa.Amount{} },
		"zero amount":       func(r *agent.PurchaseRequest) { r.Amount = visa.MustParseAmount("0.00", "USD") },
		"no merchant":       func(r *agent.PurchaseRequest) { r.Merchant.Name = "" },
		"bad merchant url":  func(r *agent.PurchaseRequest) { r.Merchant.URL = "ftp://x" },
		"bad country":       func(r *agent.PurchaseRequest) { r.Merchant.CountryCode = "" },
		"no description":    func(r *agent.PurchaseRequest) { r.Description = "" },
		"someone else card": func(r *agent.PurchaseRequest) { r.UserID = "user-999" },
		"no token":          func(r *agent.PurchaseRequest) { r.TokenID = "" },
	}
	mid := e.sbx.Inspect()
	for name, mut := range pcases {
		r := purchaseReq(u, c, deviceN(21), "10.00")
		mut(&r)
		_, err := e.agent.Purchase(ctx, r)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, name)
		for tx, err := range e.agent.Transactions(ctx, store.TxFilter{}) {
			require.NoError(t, err)
			t.Errorf("%s recorded %s", name, tx.ID)
		}
	}
	after := e.sbx.Inspect()
	assert.Equal(t, before.EnrollmentsCreated+1, after.EnrollmentsCreated, "only the one good AddCard reached VTS")
	assert.Equal(t, mid.InstructionsCreated, after.InstructionsCreated)
	n := 0
	for _, err := range e.agent.Transactions(ctx, store.TxFilter{}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "no transaction recorded for bad input")
}

func TestPurchaseBranches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	t.Run("merchant declines", func(t *testing.T) {
		u, dev := user(30), deviceN(30)
		c := e.addCard(t, u, "4000000000009995", dev)
		rec, err := e.agent.Purchase(ctx, purchaseReq(u, c, dev, "50.00"))
		require.Error(t, err)
		assert.ErrorIs(t, err, agent.ErrDeclined)
		var de *agent.DeclineError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "51", de.ResponseCode)
		require.NotNil(t, rec)
		assert.Equal(t, store.TxDeclined, rec.Transaction.Status)
		assert.False(t, rec.Transaction.ConfirmedAt.IsZero(), "the decline is confirmed to VIC")
		assert.Equal(t, 1, e.sbx.Inspect().ConfirmationsPerInstruction[rec.Transaction.InstructionID])
	})
	t.Run("instruction expired before credentials", func(t *testing.T) {
		u, dev := user(31), deviceN(31)
		c := e.addCard(t, u, "4111111111111111", dev)
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
			agenttest.WithInterrupt(func(b agenttest.Boundary) bool {
				if b == agenttest.AfterInstructed {
					e.clock.Advance(6 * time.Minute)
				}
				return false
			}))
		require.NoError(t, err)
		_, err = a.Purchase(ctx, purchaseReq(u, c, dev, "20.00"))
		require.Error(t, err)
		assert.ErrorIs(t, err, visa.ErrInstructionExpired)
		tx := onlyTx(t, e, u.ID)
		assert.Equal(t, store.TxCancelled, tx.Status)
		assert.Zero(t, e.sbx.CredentialsFor(tx.InstructionID))
	})
	t.Run("user cancels the passkey", func(t *testing.T) {
		u, dev := user(32), deviceN(32)
		c := e.addCard(t, u, "4111111111111111", dev)
		frame, err := authframe.NewDirect(e.cfg, authframe.WithDirectHeader("X-Sandbox-Auth-Outcome", "CANCELLED"))
		require.NoError(t, err)
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithFrame(frame), agent.WithClock(e.clock.Now))
		require.NoError(t, err)
		_, err = a.Purchase(ctx, purchaseReq(u, c, dev, "20.00"))
		assert.ErrorIs(t, err, authframe.ErrUserCancelled)
		assert.Equal(t, store.TxCancelled, onlyTx(t, e, u.ID).Status)
	})
	t.Run("another device has no passkey", func(t *testing.T) {
		u := user(33)
		c := e.addCard(t, u, "4111111111111111", deviceN(33))
		_, err := e.agent.Purchase(ctx, purchaseReq(u, c, deviceN(34), "20.00"))
		assert.ErrorIs(t, err, visa.ErrAssuranceInvalid)
		assert.Equal(t, store.TxFailed, onlyTx(t, e, u.ID).Status)
	})
	t.Run("removed card cannot pay", func(t *testing.T) {
		u, dev := user(35), deviceN(35)
		c := e.addCard(t, u, "4111111111111111", dev)
		require.NoError(t, e.agent.RemoveCard(ctx, u.ID, c.TokenID))
		_, err := e.agent.Purchase(ctx, purchaseReq(u, c, dev, "20.00"))
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, 1, e.sbx.Inspect().TokensByStatus["DELETED"])
	})
	e.assertNoDoubles(t)
}

func onlyTx(t *testing.T, e *env, userID string) store.Transaction {
	t.Helper()
	var txs []store.Transaction
	for tx, err := range e.agent.Transactions(context.Background(), store.TxFilter{UserID: userID}) {
		require.NoError(t, err)
		txs = append(txs, tx)
	}
	require.Len(t, txs, 1)
	return txs[0]
}

// TestCrashAtEveryBoundaryThenResume interrupts a purchase at each step
// boundary, as a crash would, then resumes it: every record reaches a
// final state, and the sandbox proves no credential was issued twice and
// nothing was charged twice.
func TestCrashAtEveryBoundaryThenResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	want := map[agenttest.Boundary]store.TxStatus{
		agenttest.AfterPending: store.TxCancelled, agenttest.AfterAssertion: store.TxCancelled,
		agenttest.AfterAuthenticated: store.TxCancelled, agenttest.AfterInstructionCreated: store.TxCancelled,
		agenttest.AfterInstructed: store.TxCancelled, agenttest.AfterCredentialsRequest: store.TxCancelled,
		agenttest.AfterCredentialsReceived: store.TxCancelled, agenttest.AfterCredentialsIssued: store.TxCancelled,
		agenttest.AfterAuthorizing: store.TxCancelled, agenttest.AfterCharge: store.TxCompleted,
		agenttest.AfterAuthorized: store.TxCompleted, agenttest.AfterConfirmed: store.TxCompleted,
		agenttest.AfterDeclineConfirmed: store.TxDeclined,
	}
	for i, b := range agenttest.Boundaries() {
		t.Run(string(b), func(t *testing.T) {
			u, dev := user(100+i), deviceN(100+i)
			pan := "4111111111111111"
			if b == agenttest.AfterDeclineConfirmed {
				pan = "4000000000009995" // the merchant declines it
			}
			c := e.addCard(t, u, pan, dev)
			crashing, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
				agenttest.WithInterrupt(func(at agenttest.Boundary) bool { return at == b }))
			require.NoError(t, err)
			_, err = crashing.Purchase(ctx, purchaseReq(u, c, dev, "42.00"))
			require.ErrorIs(t, err, agent.ErrInterrupted)

			tx := onlyTx(t, e, u.ID)
			require.True(t, !tx.Status.Final() || tx.ConfirmedAt.IsZero(), "interrupted at %s, the record is %s and settled", b, tx.Status)
			credsBefore := e.sbx.CredentialsFor(tx.InstructionID)

			// A fresh agent (the restarted process) reconciles once the
			// crashed process's lease has lapsed and a charge it may have
			// sent can no longer be in flight.
			e.clock.Advance(2 * time.Minute)
			rep, err := e.agent.Reconcile(ctx)
			require.NoError(t, err)
			assert.Empty(t, rep.Failed)
			tx = onlyTx(t, e, u.ID)
			assert.Equal(t, want[b], tx.Status)
			if tx.TransactionReferenceID != "" {
				assert.LessOrEqual(t, e.sbx.ChargesFor(tx.TransactionReferenceID), 1)
			}
			assert.Equal(t, credsBefore, e.sbx.CredentialsFor(tx.InstructionID), "Resume never asks for a credential")
			if want[b] == store.TxCompleted {
				assert.Equal(t, 1, e.sbx.ChargesFor(tx.TransactionReferenceID))
			}
			if want[b] == store.TxCompleted || want[b] == store.TxDeclined {
				assert.False(t, tx.ConfirmedAt.IsZero(), "the outcome is confirmed to VIC")
			}
			// Reconciling again changes nothing.
			rep, err = e.agent.Reconcile(ctx)
			require.NoError(t, err)
			assert.Zero(t, rep.Completed+rep.Cancelled+rep.Declined)
		})
	}
	e.assertNoDoubles(t)
}

func TestConcurrentPurchasesForDistinctUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	n := 100
	if testing.Short() {
		n = 20
	}
	type acct struct {
		u   store.User
		dev agent.Device
		c   store.Card
	}
	accts := make([]acct, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range accts {
		accts[i] = acct{u: user(1000 + i), dev: deviceN(1000 + i)}
		wg.Add(1)
		go func(a *acct) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: a.u, Card: card(t, "4111111111111111"), Device: a.dev, Cardholder: golden()})
			if err != nil {
				errs <- fmt.Errorf("add %s: %w", a.u.ID, err)
				return
			}
			a.c = res.Card
		}(&accts[i])
	}
	wg.Wait()
	for i := range accts {
		wg.Add(1)
		go func(i int, a acct) {
			defer wg.Done()
			amount := fmt.Sprintf("%d.%02d", 10+i, i%100)
			rec, err := e.agent.Purchase(ctx, purchaseReq(a.u, a.c, a.dev, amount))
			if err != nil {
				errs <- fmt.Errorf("purchase %s: %w", a.u.ID, err)
				return
			}
			if rec.Transaction.UserID != a.u.ID || rec.Transaction.TokenID != a.c.TokenID || rec.Transaction.Amount != amount {
				errs <- fmt.Errorf("cross-talk: %s got %+v", a.u.ID, rec.Transaction)
			}
		}(i, accts[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	snap := e.sbx.Inspect()
	assert.Equal(t, n, snap.ApprovalsTotal)
	e.assertNoDoubles(t)
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(40), deviceN(40)
	ch := &agenttest.ScriptedCardholder{OTPs: []string{"123456", "456789"}}
	res, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev, Cardholder: ch})
	require.NoError(t, err)
	rec, err := e.agent.Purchase(ctx, purchaseReq(u, res.Card, dev, "12.00"))
	require.NoError(t, err)
	pk, err := e.st.GetPasskey(ctx, res.Card.TokenID, dev.ClientDeviceID)
	require.NoError(t, err)
	blob, err := e.sealer.Open(pk.SealedBlob, fido.Binding{UserID: u.ID, TokenID: res.Card.TokenID, DeviceID: dev.ClientDeviceID})
	require.NoError(t, err)
	tokenPAN, ok := e.sbx.TokenPAN(res.Card.TokenID)
	require.True(t, ok)

	logs := e.logs.String()
	require.NotEmpty(t, logs)
	sec := testutil.NewSecrets()
	for name, v := range map[string]string{
		"PAN": "4111111111111111", "CVV2": testCVV2, "OTP": "456789", "wrong OTP": "123456",
		"token PAN": tokenPAN, "fidoBlob": blob.Reveal(), "VTS api key": e.cfg.VTS.APIKey.Reveal(), "VIC api key": e.cfg.VIC.APIKey.Reveal(),
		"VTS secret": e.cfg.VTS.SharedSecret.Reveal(), "VIC secret": e.cfg.VIC.SharedSecret.Reveal(),
		"enc secret": e.cfg.VTS.EncSharedSecret.Reveal(), "hash secret": e.cfg.VTS.HashSecret.Reveal(),
	} {
		sec.Add(name, v)
	}
	sec.AddDynamic("dynamic value", rec.Credential.DynamicDataValue.Reveal())
	sec.Check(t, "the logs", logs, testutil.JSON)
	// Nor in any stored record.
	tx := onlyTx(t, e, u.ID)
	sec.Check(t, "a stored record", fmt.Sprintf("%+v %+v %+v", tx, res.Card, pk), testutil.Text)
}

// testCVV2 is distinctive: no port, status or count in the output is
// likely to hold it as a whole word.
const testCVV2 = "917"

func TestCancelPurchase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(50), deviceN(50)
	c := e.addCard(t, u, "4111111111111111", dev)
	crashing, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
		agenttest.WithInterrupt(func(at agenttest.Boundary) bool { return at == agenttest.AfterInstructed }))
	require.NoError(t, err)
	_, err = crashing.Purchase(ctx, purchaseReq(u, c, dev, "5.00"))
	require.ErrorIs(t, err, agent.ErrInterrupted)
	tx := onlyTx(t, e, u.ID)
	require.NoError(t, e.agent.CancelPurchase(ctx, tx.ID))
	assert.Equal(t, store.TxCancelled, onlyTx(t, e, u.ID).Status)
	assert.Equal(t, 1, e.sbx.Inspect().InstructionsByStatus["CANCELLED"])
	err = e.agent.CancelPurchase(ctx, tx.ID)
	assert.ErrorIs(t, err, store.ErrConflict)
	assert.True(t, errors.Is(e.agent.CancelPurchase(ctx, "nope"), store.ErrNotFound))
}

// TestJourneyOverMutualTLS runs the whole journey against a sandbox that
// requires a client certificate: every client (VTS, VIC, the JWKS fetch,
// the Auth iFrame, the merchant) presents the one in the Config.
func TestJourneyOverMutualTLS(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithMutualTLS())
	cfg := sbx.Config()
	st, err := memstore.New()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	m, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m))
	require.NoError(t, err)
	u, dev := user(60), deviceN(60)
	res, err := a.AddCard(context.Background(), agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev, Cardholder: golden()})
	require.NoError(t, err)
	rec, err := a.Purchase(context.Background(), purchaseReq(u, res.Card, dev, "9.99"))
	require.NoError(t, err)
	assert.Equal(t, store.TxCompleted, rec.Transaction.Status)

	// Without the client certificate nothing gets through.
	cfg.TLS.ClientCertPEM, cfg.TLS.ClientKeyPEM = nil, visa.Secret{}
	b, err := agent.New(cfg, st, sealer, agent.WithMerchant(m))
	require.NoError(t, err)
	_, err = b.Purchase(context.Background(), purchaseReq(u, res.Card, dev, "9.99"))
	require.Error(t, err)
	assert.ErrorIs(t, err, visa.ErrNetwork)
}
