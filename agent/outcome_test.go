package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
)

// TestLostConfirmationIsNotAFailure: once the merchant approved, a failed
// confirmation (a 503, a dropped answer) or a lost merchant answer whose
// look-up fails too is reported with the Receipt and a typed outcome that
// says "do not retry", never as a failure to start again; the reconciler
// then completes the purchase with exactly one approval.
func TestLostConfirmationIsNotAFailure(t *testing.T) {
	t.Parallel()
	confirmations := "POST /vacp/v1/instructions/{id}/confirmations"
	for _, c := range []struct {
		name    string
		rules   []sandbox.FaultRule
		outcome error
		status  store.TxStatus
	}{
		{"confirmation 503", []sandbox.FaultRule{{Endpoint: confirmations, Kind: sandbox.Status503}},
			agent.ErrChargedUnconfirmed, store.TxAuthorized},
		{"confirmation answer dropped", []sandbox.FaultRule{{Endpoint: confirmations, Kind: sandbox.DropAfterProcessing}},
			agent.ErrChargedUnconfirmed, store.TxAuthorized},
		{"merchant answer lost, look-up fails", []sandbox.FaultRule{
			{Endpoint: "POST /sandbox/v1/merchant/authorizations", Kind: sandbox.DropAfterProcessing, Count: 1},
			// Every attempt of the look-up fails: it is a GET, which the
			// SDK's one retry classifier repeats on a 500.
			{Endpoint: "GET /sandbox/v1/merchant/authorizations/{transactionReferenceId}", Kind: sandbox.Status500},
		}, agent.ErrOutcomeUnknown, store.TxAuthorizing},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			u, dev := user(200), deviceN(200)
			card := e.addCard(t, u, "4111111111111111", dev)
			require.NoError(t, e.sbx.SetFaults(sandbox.FaultPlan{Rules: c.rules}))

			rec, err := e.agent.Purchase(ctx, purchaseReq(u, card, dev, "42.00"))
			require.Error(t, err)
			require.ErrorIs(t, err, c.outcome)
			require.NotNil(t, rec, "the Receipt comes with the outcome")
			assert.Equal(t, c.status, rec.Transaction.Status)
			assert.True(t, agent.MayHaveCharged(err))
			var oe *agent.OutcomeError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, rec.Transaction.ID, oe.TransactionID)
			// Nothing in it invites a retry: it is not a network error,
			// not retryable, and not a plain failure.
			assert.NotErrorIs(t, err, visa.ErrNetwork)
			assert.NotErrorIs(t, err, visa.ErrServerUnavailable)
			assert.False(t, visa.IsRetryable(err))
			assert.Equal(t, 1, e.sbx.ChargesFor(rec.Transaction.TransactionReferenceID), "the merchant charged")

			// The reconciler (any replica) completes it.
			e.sbx.ClearFaults()
			other, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
				agent.WithOwner("replica-2"))
			require.NoError(t, err)
			rep, err := other.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, rep.Completed)
			tx := onlyTx(t, e, u.ID)
			assert.Equal(t, store.TxCompleted, tx.Status)
			assert.False(t, tx.ConfirmedAt.IsZero())
			assert.Equal(t, 1, e.sbx.ChargesFor(tx.TransactionReferenceID), "exactly one approval")
			assert.Equal(t, 1, e.sbx.Inspect().ApprovalsTotal)

			// Asking again with nothing changed returns the settled
			// outcome: the purchase is now COMPLETED.
			j, err := e.agent.GetJourney(ctx, tx.ID)
			require.NoError(t, err)
			assert.Equal(t, store.JourneySucceeded, j.Status)
			e.assertNoDoubles(t)
		})
	}
}

// gatedMerchant holds the charge until the test releases it (or the call's
// deadline passes, as a real merchant client's would).
type gatedMerchant struct {
	agent.Merchant
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedMerchant) Authorize(ctx context.Context, c agent.Charge) (*agent.Authorization, error) {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Merchant.Authorize(ctx, c)
}

// TestReconcileNeverCancelsALiveCharge: a reconciler (another replica, or a
// process starting on the same database) running while a purchase's
// merchant call is still in flight neither cancels it while its lease is
// live, nor after the lease lapses while the charge could still land; the
// live charge completes, once.
func TestReconcileNeverCancelsALiveCharge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(210), deviceN(210)
	card := e.addCard(t, u, "4111111111111111", dev)
	gate := &gatedMerchant{Merchant: mustMerchant(t, e), entered: make(chan struct{}), release: make(chan struct{})}
	live, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(gate), agent.WithClock(e.clock.Now), agent.WithOwner("replica-live"))
	require.NoError(t, err)
	other, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
		agent.WithOwner("replica-other"))
	require.NoError(t, err)

	type result struct {
		rec *agent.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := live.Purchase(ctx, purchaseReq(u, card, dev, "42.00"))
		done <- result{rec, err}
	}()
	<-gate.entered // the charge is on its way: the record says AUTHORIZING

	status := func() store.TxStatus { return onlyTx(t, e, u.ID).Status }
	require.Equal(t, store.TxAuthorizing, status())
	// The lease is live: the reconciler keeps away.
	rep, err := other.Reconcile(ctx)
	require.NoError(t, err)
	assert.Positive(t, rep.Skipped)
	assert.Equal(t, store.TxAuthorizing, status())
	_, err = other.Reconcile(ctx) // and again: a second process starting on the database
	require.NoError(t, err)
	assert.Equal(t, store.TxAuthorizing, status())

	// The lease lapses (the live process paused, say), but the charge was
	// sent less than the merchant timeout plus its margin ago: the
	// merchant's "never seen" proves nothing yet.
	e.clock.Advance(45 * time.Second)
	rep, err = other.Reconcile(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Cancelled)
	assert.Equal(t, store.TxAuthorizing, status(), "a charge that may still land is never cancelled")

	// The charge lands.
	close(gate.release)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, store.TxCompleted, r.rec.Transaction.Status)
	rep, err = other.Reconcile(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Cancelled)
	tx := onlyTx(t, e, u.ID)
	assert.Equal(t, store.TxCompleted, tx.Status)
	assert.Equal(t, 1, e.sbx.ChargesFor(tx.TransactionReferenceID))
	assert.Equal(t, 1, e.sbx.Inspect().ApprovalsTotal)
	e.assertNoDoubles(t)
}

// TestIdempotencyKey: one key, one purchase, whether the repeat comes
// after, at the same time, or from another agent; the same key with
// another request changes nothing; a failure replays as the same typed
// error.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, dev := user(220), deviceN(220)
	card := e.addCard(t, u, "4111111111111111", dev)
	req := purchaseReq(u, card, dev, "17.50")
	req.IdempotencyKey = "order-1001"

	start := e.sbx.Inspect().InstructionsCreated
	first, err := e.agent.Purchase(ctx, req)
	require.NoError(t, err)
	again, err := e.agent.Purchase(ctx, req)
	require.NoError(t, err, "the repeat returns the first call's outcome")
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Transaction.ID, again.Transaction.ID)
	assert.Equal(t, store.TxCompleted, again.Transaction.Status)
	assert.Equal(t, 1, e.sbx.Inspect().InstructionsCreated-start, "one journey ran")

	// The same key with another request: a typed error, nothing changed.
	other := req
	other.Amount = visa.MustParseAmount("99.00", "USD")
	before := e.sbx.Inspect()
	_, err = e.agent.Purchase(ctx, other)
	require.ErrorIs(t, err, agent.ErrIdempotencyMismatch)
	assert.Equal(t, before.InstructionsCreated, e.sbx.Inspect().InstructionsCreated)
	assert.Len(t, allTx(t, e, u.ID), 1)

	// At the same time, from several agents sharing the store: one
	// journey, one charge; every answer is the outcome or "in progress".
	req.IdempotencyKey, req.Amount = "order-1002", visa.MustParseAmount("18.50", "USD")
	var agents []*agent.Agent
	for i := range 4 {
		a, err := agent.New(e.cfg, e.st, e.sealer, agent.WithMerchant(mustMerchant(t, e)), agent.WithClock(e.clock.Now),
			agent.WithOwner(fmt.Sprintf("replica-%d", i)))
		require.NoError(t, err)
		agents = append(agents, a)
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = agents[i%len(agents)].Purchase(ctx, req)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		assert.ErrorIs(t, err, agent.ErrInProgress)
	}
	assert.Positive(t, ok)
	txs := allTx(t, e, u.ID)
	require.Len(t, txs, 2, "one record per key")
	for _, tx := range txs {
		assert.Equal(t, 1, e.sbx.ChargesFor(tx.TransactionReferenceID))
	}
	_, err = e.agent.Purchase(ctx, req)
	require.NoError(t, err, "once settled, every repeat gets the outcome")

	// A failure replays as the same typed error; a decline as the same
	// decline.
	fail := purchaseReq(u, card, deviceN(221), "5.00") // a device without the passkey
	fail.IdempotencyKey = "order-1003"
	_, err1 := e.agent.Purchase(ctx, fail)
	require.ErrorIs(t, err1, visa.ErrAssuranceInvalid)
	rec, err2 := e.agent.Purchase(ctx, fail)
	require.ErrorIs(t, err2, visa.ErrAssuranceInvalid, "the replay matches the same sentinel")
	assert.True(t, rec.Replayed)
	assert.Equal(t, store.TxFailed, rec.Transaction.Status)

	du, ddev := user(222), deviceN(222)
	dcard := e.addCard(t, du, "4000000000009995", ddev)
	dreq := purchaseReq(du, dcard, ddev, "50.00")
	dreq.IdempotencyKey = "order-1004"
	_, err1 = e.agent.Purchase(ctx, dreq)
	var d1, d2 *agent.DeclineError
	require.ErrorAs(t, err1, &d1)
	_, err2 = e.agent.Purchase(ctx, dreq)
	require.ErrorAs(t, err2, &d2)
	assert.Equal(t, d1.ResponseCode, d2.ResponseCode)
	e.assertNoDoubles(t)
}

func allTx(t *testing.T, e *env, userID string) []store.Transaction {
	t.Helper()
	var txs []store.Transaction
	for tx, err := range e.agent.Transactions(context.Background(), store.TxFilter{UserID: userID}) {
		require.NoError(t, err)
		txs = append(txs, tx)
	}
	return txs
}

// TestIdempotencyAcrossProcesses: two processes sharing a database (a
// SQLite file, and PostgreSQL when VISA_TEST_POSTGRES_DSN is set, as CI
// sets it) receive the same purchase with one key at the same time: one
// journey runs, the card is charged once, and the second process answers
// with the first one's outcome or "in progress".
func TestIdempotencyAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short mode: skipping the two-process test")
	}
	dbs := map[string]func(t *testing.T) (store.Store, string){
		"SQLite file": func(t *testing.T) (store.Store, string) {
			path := filepath.Join(t.TempDir(), "agent.db")
			st, err := sqlite.Open(context.Background(), path)
			require.NoError(t, err)
			return st, "sqlite:" + path
		},
	}
	if os.Getenv("VISA_TEST_POSTGRES_DSN") != "" {
		dbs["PostgreSQL"] = func(t *testing.T) (store.Store, string) {
			schemaDSN := testutil.PostgresSchema(t)
			st, err := postgres.Open(context.Background(), schemaDSN)
			require.NoError(t, err)
			return st, "postgres:" + schemaDSN
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but VISA_TEST_POSTGRES_DSN is empty: the PostgreSQL case must run in CI")
	}
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
			cfg := sbx.Config()
			st, db := open(t)
			t.Cleanup(func() { _ = st.Close() })
			key := make([]byte, 32)
			for i := range key {
				key[i] = byte(i + 7)
			}
			sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
			require.NoError(t, err)
			m, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
			require.NoError(t, err)
			a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithOwner("process-1"))
			require.NoError(t, err)
			ctx := context.Background()
			u, dev := user(230), deviceN(230)
			res, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev, Cardholder: golden()})
			require.NoError(t, err)
			req := purchaseReq(u, res.Card, dev, "64.00")
			req.IdempotencyKey = "cross-process-1"
			reqJSON, err := json.Marshal(helperRequest{DB: db, Purchase: req, MerchantURL: sbx.MerchantURL()})
			require.NoError(t, err)

			// Both processes purchase at once.
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), cfg.EnvLines()...), "VICGO_AGENT_HELPER="+string(reqJSON),
				"VISA_SEALER_TEST_KEY=k1")
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			rec, err := a.Purchase(ctx, req)
			require.NoError(t, cmd.Wait(), out.String())
			child := helperOutcome(t, out.String())

			if err != nil {
				require.ErrorIs(t, err, agent.ErrInProgress)
			}
			if child != "ok" {
				assert.Contains(t, child, "under way", "the other process answers in progress, or the outcome")
			}
			assert.True(t, err == nil || child == "ok", "one of the two ran the purchase")
			var txs []store.Transaction
			for tx, err := range st.ListTransactions(ctx, store.TxFilter{UserID: u.ID}) {
				require.NoError(t, err)
				txs = append(txs, tx)
			}
			require.Len(t, txs, 1, "one record for the key")
			assert.Equal(t, store.TxCompleted, txs[0].Status)
			assert.Equal(t, 1, sbx.ChargesFor(txs[0].TransactionReferenceID))
			assert.Equal(t, 1, sbx.Inspect().InstructionsCreated, "one journey reached Visa")
			if rec != nil {
				assert.Equal(t, txs[0].ID, rec.Transaction.ID)
			}
		})
	}
}

// helperRequest is what the parent test hands the helper process.
type helperRequest struct {
	DB          string
	MerchantURL string
	Purchase    agent.PurchaseRequest
}

// runHelper is the second process of TestIdempotencyAcrossProcesses: it
// opens the shared database, builds its own agent from the environment and
// makes the purchase, printing "outcome: ok" or "outcome: <error>".
func runHelper(spec string) int {
	var h helperRequest
	if err := json.Unmarshal([]byte(spec), &h); err != nil {
		fmt.Println("helper: bad request:", err)
		return 2
	}
	ctx := context.Background()
	cfg, err := visa.ConfigFromEnv()
	if err != nil {
		fmt.Println("helper: config:", err)
		return 2
	}
	var st store.Store
	kind, dsn, _ := strings.Cut(h.DB, ":")
	if kind == "sqlite" {
		st, err = sqlite.Open(ctx, dsn)
	} else {
		st, err = postgres.Open(ctx, dsn)
	}
	if err != nil {
		fmt.Println("helper: store:", err)
		return 2
	}
	defer st.Close()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 7)
	}
	sealer, _ := fido.NewSealer(os.Getenv("VISA_SEALER_TEST_KEY"), map[string][]byte{"k1": key})
	m, err := agenttest.NewSandboxMerchant(h.MerchantURL, cfg)
	if err != nil {
		fmt.Println("helper: merchant:", err)
		return 2
	}
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithOwner("process-2"))
	if err != nil {
		fmt.Println("helper: agent:", err)
		return 2
	}
	if _, err := a.Purchase(ctx, h.Purchase); err != nil {
		fmt.Println("outcome:", err)
		return 0
	}
	fmt.Println("outcome: ok")
	return 0
}

func helperOutcome(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "outcome: "); ok {
			return s
		}
	}
	t.Fatalf("the helper process said no outcome:\n%s", out)
	return ""
}

func TestMain(m *testing.M) {
	if spec := os.Getenv("VICGO_AGENT_HELPER"); spec != "" {
		os.Exit(runHelper(spec))
	}
	code := m.Run()
	testutil.ClosePostgres()
	if code == 0 {
		// Leases are renewed by goroutines: every one must be gone.
		if err := goleak.Find(goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestValidationBeforeFirstRequest: what a journey will send is validated
// before its first request, with one vocabulary: an email VIC would refuse
// late, and a card number in any field that is not the card field
// (whatever its spacing, punctuation or digit forms), are refused with
// visa.ErrInvalidInput; nothing reaches Visa and nothing is stored.
func TestValidationBeforeFirstRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pans := map[string]string{
		"plain":          "4111111111111111",
		"spaces":         "4111 1111 1111 1111",
		"dots":           "4111.1111.1111.1111",
		"dashes":         "4111-1111-1111-1111",
		"no-break space": "4111\u00a01111\u00a01111\u00a01111",
		"full-width":     "４１１１１１１１１１１１１１１１",
	}
	before := e.sbx.Inspect()
	type addCase struct {
		name string
		mut  func(*agent.AddCardRequest)
	}
	cases := []addCase{
		{"email a..b", func(r *agent.AddCardRequest) { r.User.Email = "a..b@example.com" }},
		{"email without domain dot", func(r *agent.AddCardRequest) { r.User.Email = "alice@localhost" }},
		{"language", func(r *agent.AddCardRequest) { r.User.Language = "e" }},
	}
	for form, pan := range pans {
		cases = append(cases,
			addCase{"user id holds a PAN (" + form + ")", func(r *agent.AddCardRequest) { r.User.ID = "u-" + pan }},
			addCase{"email holds a PAN (" + form + ")", func(r *agent.AddCardRequest) { r.User.Email = "card-" + pan + "@example.com" }},
			addCase{"idempotency key holds a PAN (" + form + ")", func(r *agent.AddCardRequest) { r.IdempotencyKey = pan }},
			addCase{"card name holds a PAN (" + form + ")", func(r *agent.AddCardRequest) { r.Card.Name = "card " + pan }},
		)
	}
	for _, c := range cases {
		r := agent.AddCardRequest{User: user(240), Card: card(t, "4111111111111111"), Device: deviceN(240), Cardholder: golden()}
		c.mut(&r)
		_, err := e.agent.AddCard(ctx, r)
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, c.name)
		assert.NotContains(t, err.Error(), "4111", c.name)
	}
	after := e.sbx.Inspect()
	assert.Equal(t, before.EnrollmentsCreated, after.EnrollmentsCreated, "no request reached Visa")
	for _, err := range e.st.ListCards(ctx, "") {
		require.NoError(t, err)
		t.Error("a card was stored for bad input")
	}

	u, dev := user(241), deviceN(241)
	good := e.addCard(t, u, "4111111111111111", dev)
	mid := e.sbx.Inspect()
	type buyCase struct {
		name string
		mut  func(*agent.PurchaseRequest)
	}
	var buys []buyCase
	for form, pan := range pans {
		buys = append(buys,
			buyCase{"merchant name (" + form + ")", func(r *agent.PurchaseRequest) { r.Merchant.Name = "Shop " + pan }},
			buyCase{"merchant URL (" + form + ")", func(r *agent.PurchaseRequest) { r.Merchant.URL = "https://shop.example/c/" + pan }},
			buyCase{"order id (" + form + ")", func(r *agent.PurchaseRequest) { r.OrderID = "o-" + pan }},
			buyCase{"description (" + form + ")", func(r *agent.PurchaseRequest) { r.Description = "pay with " + pan }},
			buyCase{"prompt (" + form + ")", func(r *agent.PurchaseRequest) { r.ConsumerPrompt = "use card " + pan }},
			buyCase{"idempotency key (" + form + ")", func(r *agent.PurchaseRequest) { r.IdempotencyKey = pan }},
		)
	}
	buys = append(buys,
		buyCase{"plain-http merchant URL", func(r *agent.PurchaseRequest) { r.Merchant.URL = "http://shop.example.com/" }},
		buyCase{"bad MCC", func(r *agent.PurchaseRequest) { r.Merchant.CategoryCode = "57a2" }},
	)
	for _, c := range buys {
		r := purchaseReq(u, good, dev, "10.00")
		c.mut(&r)
		_, err := e.agent.Purchase(ctx, r)
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, c.name)
		assert.NotContains(t, err.Error(), "4111", c.name)
	}
	end := e.sbx.Inspect()
	assert.Equal(t, mid.InstructionsCreated, end.InstructionsCreated)
	assert.Equal(t, mid.TokensCreated, end.TokensCreated)
	assert.Empty(t, allTx(t, e, u.ID), "nothing recorded")
	for j, err := range e.st.ListJourneys(ctx, store.JourneyFilter{Kind: store.JourneyPurchase}) {
		require.NoError(t, err)
		t.Errorf("journey %s recorded for bad input", j.ID)
	}

	// The merchant endpoint follows the rule of the Visa base URLs.
	_, err := agenttest.NewSandboxMerchant("http://merchant.example.com/pay", e.cfg)
	assert.ErrorIs(t, err, visa.ErrInvalidInput, "plain http to a non-loopback merchant")
	_, err = agenttest.NewSandboxMerchant("http://127.0.0.1:9/pay", e.cfg)
	assert.NoError(t, err, "plain http to loopback, for development")
}
