package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
)

// chaosKinds is every failure the sandbox can inject, with the parameters
// the chaos run uses. sandbox.PendingEvents is not one: a 202 with
// pendingEvents is a cardholder outcome (docs/wire.md §6.7), not a fault
// to survive.
var chaosKinds = []sandbox.FaultKind{
	sandbox.Latency(200 * time.Millisecond),
	sandbox.RateLimited(time.Second),
	sandbox.Status500,
	sandbox.Status503,
	sandbox.ResetBeforeProcessing,
	sandbox.DropAfterProcessing,
	sandbox.TruncatedBody,
	sandbox.MalformedJSON,
	sandbox.InvalidMLE,
}

// chaosRate is the share of requests that get a fault.
const chaosRate = 0.2

// purchaseTag carries a purchase's index in its context; the tagging
// RoundTripper turns it into a request header the front server reads.
type purchaseTag struct{}

const tagHeader = "X-Reliability-Purchase"

// tagger adds the purchase index of the request's context as a header.
type tagger struct{ base *http.Transport }

func (t tagger) RoundTrip(r *http.Request) (*http.Response, error) {
	if n, ok := r.Context().Value(purchaseTag{}).(int); ok {
		r = r.Clone(r.Context())
		r.Header.Set(tagHeader, strconv.Itoa(n))
	}
	return t.base.RoundTrip(r)
}

// faultLog joins the sandbox's "fault injected" records (keyed by the
// sandbox's correlation id) with the purchase each request belonged to.
type faultLog struct {
	mu        sync.Mutex
	byCorr    map[string]string // correlation id → fault type
	purchases map[string]int    // correlation id → purchase index
}

func newFaultLog() *faultLog {
	return &faultLog{byCorr: map[string]string{}, purchases: map[string]int{}}
}

// perPurchase returns, for each purchase, the faults its requests got.
func (f *faultLog) perPurchase() (map[int][]string, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int][]string{}
	untagged := map[string]int{}
	for corr, kind := range f.byCorr {
		if n, ok := f.purchases[corr]; ok {
			out[n] = append(out[n], kind)
		} else {
			untagged[kind]++
		}
	}
	return out, untagged
}

// faultHandler is the sandbox's slog handler: it keeps the fault records.
type faultHandler struct{ log *faultLog }

func (h faultHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h faultHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h faultHandler) WithGroup(string) slog.Handler            { return h }
func (h faultHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sandbox fault injected" {
		return nil
	}
	var kind, corr string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "fault":
			kind = a.Value.String()
		case "correlationId":
			corr = a.Value.String()
		}
		return true
	})
	h.log.mu.Lock()
	h.log.byCorr[corr] = kind
	h.log.mu.Unlock()
	return nil
}

// front serves the sandbox's handler and remembers which purchase each
// correlation id belonged to.
func front(sbx *sandbox.Sandbox, log *faultLog) http.Handler {
	h := sbx.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		h.ServeHTTP(w, r)
		n, err := strconv.Atoi(r.Header.Get(tagHeader))
		if err != nil {
			return
		}
		if corr := hdr.Get("X-Correlation-Id"); corr != "" {
			log.mu.Lock()
			log.purchases[corr] = n
			log.mu.Unlock()
		}
	})
}

type chaosPurchase struct {
	user    store.User
	dev     agent.Device
	card    store.Card
	amount  string
	err     error
	receipt *agent.Receipt
	// repeat is the error of a second call with the same idempotency key,
	// made at once from another replica, for one purchase in five.
	repeat    error
	repeated  bool
	repeatRec *agent.Receipt
}

// chaosSize is the number of purchases of TestChaos:
// RELIABILITY_PURCHASES when set, else 100 under -short and 1,000
// otherwise. The race detector needs no smaller run: 1,000 purchases take
// about 50 s under -race on the 2-core CI machine (docs/reliability.md).
func chaosSize() int {
	if n, err := strconv.Atoi(os.Getenv("RELIABILITY_PURCHASES")); err == nil && n >= 10 {
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// TestChaos: purchases under 20% injected faults of every kind, each with
// an idempotency key and one in five repeated at once with the same key from
// a second replica, while a third replica runs the reconciler; then
// reconciliation until everything is settled. Nothing issued or charged
// twice, one record per key, nothing lost or stuck, no leak, every failure
// typed. With RELIABILITY_REPORT=path it writes the figures
// (markdown) to path.
func TestChaos(t *testing.T) {
	// Not parallel: goleak checks the goroutines this test leaves behind.
	leakOpts := []goleak.Option{goleak.IgnoreCurrent()}
	start := time.Now()
	n := chaosSize()
	const concurrency = 16

	flog := newFaultLog()
	sbx, err := sandbox.New(sandbox.WithPlainHTTP(), sandbox.WithLogger(slog.New(faultHandler{flog})))
	require.NoError(t, err)
	srv := httptest.NewServer(front(sbx, flog))
	base := &http.Transport{MaxIdleConnsPerHost: 2 * concurrency, IdleConnTimeout: 30 * time.Second}

	cfg := sbx.Config()
	cfg.VICBaseURL, cfg.VTSBaseURL, cfg.AuthBaseURL = srv.URL, srv.URL, srv.URL
	cfg.HTTPClient = &http.Client{Transport: tagger{base}}
	cfg.Timeout = 20 * time.Second
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	// The agents' clock runs with the real one (the sandbox judges X-Pay
	// and MLE times on it) plus an offset the test moves forward at the
	// end, so leases lapse and charges that never reached the merchant can
	// be settled without waiting.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	st, err := memstore.New(memstore.WithClock(clock))
	require.NoError(t, err)
	m, err := agenttest.NewSandboxMerchant(srv.URL+"/sandbox/v1/merchant/authorizations", cfg)
	require.NoError(t, err)
	sealer := newSealer(t)
	replica := func(name string) *agent.Agent {
		r, err := agent.New(cfg, st, sealer, agent.WithMerchant(m), agent.WithClock(clock), agent.WithOwner(name),
			agent.WithLease(5*time.Second), agent.WithMerchantTimeout(10*time.Second, 5*time.Second))
		require.NoError(t, err)
		return r
	}
	a, again, reconciler := replica("replica-a"), replica("replica-b"), replica("replica-c")
	ctx := context.Background()

	// Users: 40% of the purchases by distinct users (one each), 60% shared
	// by ten users buying concurrently on one card and passkey. One in ten
	// cards is the sandbox's insufficient-funds card, so declines happen.
	distinct := n * 2 / 5
	const shared = 10
	purchases := make([]chaosPurchase, n)
	type acct struct {
		u    store.User
		dev  agent.Device
		pan  string
		card store.Card
	}
	accts := make([]acct, distinct+shared)
	for i := range accts {
		pan := sandbox.CardHappy
		if i%10 == 9 {
			pan = sandbox.CardInsufficientFunds
		}
		accts[i] = acct{u: user(i), dev: device(i), pan: pan}
	}
	// Onboarding runs before the faults are switched on: the chaos is about
	// purchases (AddCard under faults is a separate concern; see
	// docs/reliability.md).
	runPool(len(accts), concurrency, func(i int) {
		res, err := a.AddCard(ctx, agent.AddCardRequest{User: accts[i].u, Card: card(t, accts[i].pan), Device: accts[i].dev, Cardholder: golden()})
		if assert.NoError(t, err, "AddCard %d", i) {
			accts[i].card = res.Card
		}
	})
	require.False(t, t.Failed())
	onboarded := time.Since(start)
	for i := range purchases {
		k := i
		if i >= distinct {
			k = distinct + i%shared
		}
		purchases[i] = chaosPurchase{user: accts[k].u, dev: accts[k].dev, card: accts[k].card,
			amount: fmt.Sprintf("%d.%02d", 1+i/100, i%100)}
	}
	order := rand.New(rand.NewPCG(7, 7)).Perm(n)

	require.NoError(t, sbx.SetFaults(sandbox.FaultPlan{Rate: chaosRate, Kinds: chaosKinds, Seed: 20261125}))
	before := sbx.Inspect()
	// The third replica reconciles throughout the faults.
	rctx, stopReconciler := context.WithCancel(ctx)
	reconciled := make(chan struct{})
	go func() {
		defer close(reconciled)
		_ = reconciler.RunReconciler(rctx, 50*time.Millisecond)
	}()
	runPool(n, concurrency, func(j int) {
		i := order[j]
		p := &purchases[i]
		req := purchaseReq(p.user, p.card, p.dev, p.amount)
		req.IdempotencyKey = fmt.Sprintf("chaos-%d", i)
		pctx, cancel := context.WithTimeout(context.WithValue(ctx, purchaseTag{}, i), time.Minute)
		defer cancel()
		if i%5 != 0 {
			p.receipt, p.err = a.Purchase(pctx, req)
			return
		}
		// The same request at once on another replica: one journey, one
		// charge at most, and both answers tell the same story.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.repeatRec, p.repeat = again.Purchase(pctx, req)
		}()
		p.receipt, p.err = a.Purchase(pctx, req)
		wg.Wait()
		p.repeated = true
	})
	sbx.ClearFaults()
	stopReconciler()
	<-reconciled
	purchased := time.Since(start)

	// Reconcile until nothing is left unfinished (bounded): each round
	// moves the agents' clock on, past the leases and the merchant timeout.
	rounds := 0
	var resumed agent.ReconcileReport
	for ; rounds < 5; rounds++ {
		if countNonFinal(t, st) == 0 {
			break
		}
		offset.Add(int64(time.Minute))
		rep, err := reconciler.Reconcile(ctx)
		// assert, not require: the figures below are still worth having
		// when a pass reports an error after settling the transactions.
		assert.NoError(t, err, "Reconcile round %d", rounds)
		if rep == nil {
			break
		}
		resumed.Completed += rep.Completed
		resumed.Declined += rep.Declined
		resumed.Cancelled += rep.Cancelled
		for id, err := range rep.Failed {
			t.Logf("reconcile round %d: %s: %v", rounds, id, err)
			assert.NotEmpty(t, ErrorClass(err), "Reconcile failed %s with an untyped error %T: %v", id, err, err)
		}
	}
	snap := sbx.Inspect()
	// No journey is left under way either.
	for j, err := range st.ListJourneys(ctx, store.JourneyFilter{NonFinalOnly: true}) {
		require.NoError(t, err)
		t.Errorf("journey %s (%s) left %s at %s", j.ID, j.Kind, j.Status, j.Step)
	}

	// The store: every purchase has exactly one record, and it is final.
	txByAmount := map[string]store.Transaction{}
	for tx, err := range st.ListTransactions(ctx, store.TxFilter{}) {
		require.NoError(t, err)
		_, dup := txByAmount[tx.Amount]
		assert.False(t, dup, "two records for amount %s", tx.Amount)
		txByAmount[tx.Amount] = tx
		assert.True(t, tx.Status.Final(), "transaction %s left %s", tx.ID, tx.Status)
	}
	assert.Len(t, txByAmount, n, "one record per purchase, none lost")

	// The sandbox: no instruction with two credentials, no credential
	// approved twice, no reference charged twice, and COMPLETED ⇔ one
	// approval.
	for id, c := range snap.CredentialsPerInstruction {
		assert.LessOrEqual(t, c, 1, "credentials for instruction %s", id)
	}
	for id, c := range snap.ApprovalsPerCredential {
		assert.LessOrEqual(t, c, 1, "approvals for credential %s", id)
	}
	approvedRefs := map[string]int{}
	for _, au := range snap.Authorizations {
		if au.Status == "APPROVED" {
			approvedRefs[au.TransactionReferenceID]++
		}
	}
	completedRefs := map[string]bool{}
	for _, tx := range txByAmount {
		charges := 0
		if tx.TransactionReferenceID != "" {
			charges = sbx.ChargesFor(tx.TransactionReferenceID)
		}
		assert.LessOrEqual(t, charges, 1, "charges for %s", tx.TransactionReferenceID)
		switch tx.Status {
		case store.TxCompleted:
			completedRefs[tx.TransactionReferenceID] = true
			assert.Equal(t, 1, charges, "a COMPLETED purchase was charged once (%s)", tx.ID)
			assert.False(t, tx.ConfirmedAt.IsZero(), "a COMPLETED purchase is confirmed (%s)", tx.ID)
		case store.TxCancelled, store.TxFailed, store.TxDeclined:
			assert.Zero(t, charges, "a %s purchase was not charged (%s)", tx.Status, tx.ID)
		}
	}
	for ref, c := range approvedRefs {
		assert.Equal(t, 1, c, "approvals for reference %s", ref)
		assert.True(t, completedRefs[ref], "approved reference %s has a COMPLETED record", ref)
	}

	// Every failure is typed; a nil error means COMPLETED; nothing the
	// merchant may have charged was reported as a failure to retry; a
	// repeated call tells the same story as the first.
	classes := map[string]int{}
	var untyped []string
	repeats := counts{}
	for i, p := range purchases {
		tx := txByAmount[p.amount]
		for k, err := range map[string]error{"": p.err, "repeat ": p.repeat} {
			if k != "" && !p.repeated {
				continue
			}
			c := ErrorClass(err)
			if c == "" {
				untyped = append(untyped, fmt.Sprintf("%spurchase %d: %T: %v", k, i, err, err))
				c = "untyped"
			}
			if k == "" {
				classes[c]++
			} else {
				repeats.add(c)
			}
			if err == nil {
				assert.Equal(t, store.TxCompleted, tx.Status, "%spurchase %d succeeded", k, i)
			}
			if err != nil && !agent.MayHaveCharged(err) && !errors.Is(err, agent.ErrDeclined) && tx.TransactionReferenceID != "" {
				assert.Zero(t, sbx.ChargesFor(tx.TransactionReferenceID),
					"%spurchase %d was reported as a failure to retry (%v) but was charged", k, i, err)
			}
		}
	}
	assert.Empty(t, untyped, "untyped errors:\n%s", strings.Join(untyped, "\n"))

	// Figures.
	perPurchase, untagged := flog.perPurchase()
	rep := chaosReport{n: n, concurrency: concurrency, distinct: distinct, shared: shared,
		onboard: onboarded, purchase: purchased - onboarded, total: time.Since(start), rounds: rounds, resumed: resumed,
		injected: diffCounts(snap.FaultsInjected, before.FaultsInjected), untagged: untagged, classes: classes,
		snap: snap, kinds: map[string]map[string]int{}, repeats: repeats}
	for i, p := range purchases {
		final := string(txByAmount[p.amount].Status)
		if p.err != nil && final == string(store.TxCompleted) {
			final = "COMPLETED by the reconciler"
		}
		if p.err != nil && final == string(store.TxDeclined) && !errors.Is(p.err, agent.ErrDeclined) {
			final = "DECLINED by the reconciler"
		}
		seen := map[string]bool{}
		for _, k := range perPurchase[i] {
			seen[k] = true
		}
		if len(seen) == 0 {
			seen["(none)"] = true
		}
		for k := range seen {
			if rep.kinds[k] == nil {
				rep.kinds[k] = map[string]int{}
			}
			rep.kinds[k][final]++
		}
		rep.outcomes.add(final)
	}
	t.Log("\n" + rep.markdown())
	if path := os.Getenv("RELIABILITY_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(rep.markdown()), 0o644))
	}

	// No leak: close everything this test opened, then look.
	srv.Close()
	require.NoError(t, sbx.Close())
	base.CloseIdleConnections()
	require.NoError(t, st.Close())
	goleak.VerifyNone(t, leakOpts...)
}

func runPool(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func countNonFinal(t *testing.T, st store.Store) int {
	t.Helper()
	c := 0
	for _, err := range st.ListTransactions(context.Background(), store.TxFilter{NonFinalOnly: true}) {
		require.NoError(t, err)
		c++
	}
	return c
}

func diffCounts(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

type counts struct {
	m     map[string]int
	order []string
}

func (c *counts) total() int {
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

func (c *counts) add(k string) {
	if c.m == nil {
		c.m = map[string]int{}
	}
	if _, ok := c.m[k]; !ok {
		c.order = append(c.order, k)
	}
	c.m[k]++
}

type chaosReport struct {
	n, concurrency, distinct, shared int
	onboard, purchase, total         time.Duration
	rounds                           int
	resumed                          agent.ReconcileReport
	injected, untagged, classes      map[string]int
	repeats                          counts
	snap                             sandbox.Snapshot
	kinds                            map[string]map[string]int
	outcomes                         counts
}

var finalColumns = []string{"COMPLETED", "COMPLETED by the reconciler", "DECLINED", "DECLINED by the reconciler", "CANCELLED", "FAILED"}

func (r chaosReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Purchases: %d (%d by distinct users, %d shared by %d users), concurrency %d, fault rate %.0f%%.\n",
		r.n, r.distinct, r.n-r.distinct, r.shared, r.concurrency, chaosRate*100)
	fmt.Fprintf(&b, "Every purchase has an idempotency key; one in five (%d) was repeated at once with its key from a second replica, and a third replica ran the reconciler every 50 ms throughout.\n",
		r.repeats.total())
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs, %s, race detector %v. Onboarding %s, purchases %s, total %s; final reconciliation rounds %d.\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), raceEnabled,
		r.onboard.Round(time.Millisecond), r.purchase.Round(time.Millisecond), r.total.Round(time.Millisecond), r.rounds)

	b.WriteString("Final outcome of each purchase:\n\n| outcome | purchases |\n|---|---:|\n")
	for _, c := range finalColumns {
		fmt.Fprintf(&b, "| %s | %d |\n", c, r.outcomes.m[c])
	}
	fmt.Fprintf(&b, "\nThe final reconciliation rounds settled: %d completed, %d declined, %d cancelled (the reconciler replica settled the rest during the run).\n\n", r.resumed.Completed, r.resumed.Declined, r.resumed.Cancelled)

	b.WriteString("Faults injected by the sandbox (Inspect().FaultsInjected) and outcomes of the purchases that met each kind (a purchase meeting several kinds counts in each row):\n\n")
	b.WriteString("| fault | injected |")
	for _, c := range finalColumns {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(finalColumns)) + "\n")
	var kinds []string
	for _, k := range chaosKinds {
		kinds = append(kinds, string(k.Type))
	}
	kinds = append(kinds, "(none)")
	for _, k := range kinds {
		inj := strconv.Itoa(r.injected[k])
		if k == "(none)" {
			inj = "–"
		}
		fmt.Fprintf(&b, "| %s | %s |", k, inj)
		for _, c := range finalColumns {
			fmt.Fprintf(&b, " %d |", r.kinds[k][c])
		}
		b.WriteString("\n")
	}
	if len(r.untagged) > 0 {
		fmt.Fprintf(&b, "\nFaults on requests outside a purchase's context (JWKS fetches on the sandbox's own listener): %v.\n", r.untagged)
	}

	b.WriteString("\nWhat Purchase returned:\n\n| error class | purchases |\n|---|---:|\n")
	var cls []string
	for c := range r.classes {
		cls = append(cls, c)
	}
	sort.Strings(cls)
	for _, c := range cls {
		fmt.Fprintf(&b, "| %s | %d |\n", c, r.classes[c])
	}
	b.WriteString("\nWhat the repeated call (same key, another replica, at the same time) returned:\n\n| error class | calls |\n|---|---:|\n")
	for _, c := range r.repeats.order {
		fmt.Fprintf(&b, "| %s | %d |\n", c, r.repeats.m[c])
	}
	maxCred, maxAppr := 0, 0
	for _, c := range r.snap.CredentialsPerInstruction {
		maxCred = max(maxCred, c)
	}
	for _, c := range r.snap.ApprovalsPerCredential {
		maxAppr = max(maxAppr, c)
	}
	fmt.Fprintf(&b, "\nSandbox: %d instructions, %d credentials (at most %d per instruction), %d authorizations, %d approvals (at most %d per credential), %d confirmations.\n",
		r.snap.InstructionsCreated, r.snap.CredentialsIssued, maxCred, r.snap.AuthorizationsTotal, r.snap.ApprovalsTotal, maxAppr, r.snap.ConfirmationsTotal)
	var st []string
	for s, c := range r.snap.InstructionsByStatus {
		st = append(st, fmt.Sprintf("%s %d", s, c))
	}
	sort.Strings(st)
	fmt.Fprintf(&b, "Instructions by status after reconciliation: %s.\n", strings.Join(st, ", "))
	return b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
