package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vts"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.ClosePostgres()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// faultKinds is every fault the sandbox can inject, with the parameters of
// the fleet run.
var faultKinds = []sandbox.FaultKind{
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

// faultRate is the share of the sandbox's requests that get a fault.
const faultRate = 0.15

// The replicas' timing: short, so that a killed replica's journeys are
// taken over, and "never seen" charges settled, within seconds.
const (
	leaseTTL        = 4 * time.Second
	merchantTimeout = 5 * time.Second
	merchantMargin  = 5 * time.Second
	reconcileEvery  = 500 * time.Millisecond
	// settleWithin bounds the wait for the reconcilers to leave nothing
	// unfinished once the workload is over: the lease, the merchant
	// timeout and margin, and many passes more.
	settleWithin = 90 * time.Second
	concurrency  = 16
	replicaCount = 3
)

// size is the workload: FLEET_ADD_CARDS and FLEET_PURCHASES when set,
// else 300 add-cards and 600 purchases (60 and 120 under -short).
func size() (adds, buys int) {
	adds, buys = 300, 600
	if testing.Short() {
		adds, buys = 60, 120
	}
	if n, err := strconv.Atoi(os.Getenv("FLEET_ADD_CARDS")); err == nil && n >= 3 {
		adds = n
	}
	if n, err := strconv.Atoi(os.Getenv("FLEET_PURCHASES")); err == nil && n >= 3 {
		buys = n
	}
	return adds, buys
}

// openDatabase opens the store the replicas share: a private PostgreSQL
// schema when VISA_TEST_POSTGRES_DSN is set (required under CI=true), else
// a SQLite file. It returns FLEET_DATABASE for the replicas, the test's own
// handle (which applied the migrations) and a name for the report.
func openDatabase(t *testing.T, dir string) (string, store.Store, string) {
	t.Helper()
	ctx := context.Background()
	if os.Getenv("VISA_TEST_POSTGRES_DSN") != "" || os.Getenv("CI") == "true" {
		dsn := testutil.PostgresSchema(t) // fails under CI=true without a DSN
		st, err := postgres.Open(ctx, dsn)
		require.NoError(t, err)
		return "postgres:" + dsn, st, "PostgreSQL (one schema shared by the three replicas)"
	}
	path := filepath.Join(dir, "fleet.db")
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	return "sqlite:" + path, st, "SQLite (one WAL file shared by the three replicas)"
}

// TestFleet runs three agent replicas as processes, sharing one database,
// against cmd/visa-sandbox as a fourth, under faults of every kind and
// SIGKILLs at random moments, and checks the money and the journeys
// against the sandbox's inspection API and the database. docs/reliability.md
// (section 8, "A fleet of replica processes") says what it proves; FLEET_REPORT=path writes its
// figures.
func TestFleet(t *testing.T) {
	began := time.Now()
	adds, buys := size()
	ctx := context.Background()
	dir := t.TempDir()

	spec, st, dbName := openDatabase(t, dir) // first: under CI=true without PostgreSQL, fail at once
	t.Cleanup(func() { _ = st.Close() })
	sbBin := build(t, dir, "github.com/vicgo/visa/cmd/visa-sandbox", "visa-sandbox", false)
	repBin := build(t, dir, "github.com/vicgo/visa/test/fleet/replica", "replica", raceReplicas())
	built := time.Since(began)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * concurrency, IdleConnTimeout: 30 * time.Second}}
	sb := startSandbox(t, sbBin, hc)
	t.Cleanup(func() {
		_ = sb.stop(time.Second)
		hc.CloseIdleConnections()
	})
	env := baseEnv()
	for name, v := range sb.env {
		env = append(env, name+"="+v)
	}
	env = append(env, "VISA_SEALER_KEYS="+sealerKeys(), "FLEET_DATABASE="+spec)
	args := []string{"-lease", leaseTTL.String(), "-merchant-timeout", merchantTimeout.String(),
		"-merchant-margin", merchantMargin.String(), "-reconcile", reconcileEvery.String()}
	replicas := make([]*replica, replicaCount)
	for i := range replicas {
		replicas[i] = newReplica(i, repBin, args, env)
	}
	// Clean-ups run last first: the replicas go before the sandbox, the
	// store and the schema.
	t.Cleanup(func() {
		for _, r := range replicas {
			_ = r.shutdown(time.Second)
		}
	})
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	for _, r := range replicas {
		require.NoError(t, r.launch(sctx))
	}
	cancel()

	d := &driver{replicas: replicas, hc: hc, replies: &syncBuffer{}, poll: 200 * time.Millisecond,
		rng: rand.New(rand.NewPCG(14, 14))}
	require.NoError(t, sb.setFaults(ctx, sandbox.FaultPlan{Rate: faultRate, Kinds: faultKinds, Seed: 20260214}))
	before, err := sb.state(ctx)
	require.NoError(t, err)
	k := &killer{replicas: replicas, minGap: 500 * time.Millisecond, maxGap: 2500 * time.Millisecond, rng: rand.New(rand.NewPCG(13, 13))}
	stopKills, killed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(killed)
		k.run(ctx, stopKills)
	}()
	stopKilling := func() {
		select {
		case <-stopKills:
		default:
			close(stopKills)
		}
		<-killed
	}
	defer stopKilling()

	// Phase 1: add cards. Each starts on one replica; every human step
	// (the OTP method, the code, a wrong code first for one shopper in
	// ten) is answered on another.
	workStart := time.Now()
	cards := make([]*addCard, adds)
	for i := range cards {
		pan := sandbox.CardHappy
		if i%10 == 9 {
			pan = sandbox.CardInsufficientFunds
		}
		cards[i] = &addCard{i: i, starter: i % replicaCount, wrongOTP: i%10 == 4, mistypes: i%10 == 4, double: i%10 == 7, req: AddCardRequest{
			IdempotencyKey: fmt.Sprintf("add-%d", i), UserID: fmt.Sprintf("fleet-user-%d", i),
			Email: fmt.Sprintf("fleet%d@example.com", i), PAN: pan, CVV2: testCVV2,
			ExpiryMonth: 12, ExpiryYear: time.Now().Year() + 3, DeviceID: fmt.Sprintf("fleet-device-%011d", i),
		}}
	}
	runPool(adds, concurrency, func(i int) {
		actx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		d.runAddCard(actx, cards[i])
	})
	addDone := time.Since(workStart)
	var added []*addCard
	for _, a := range cards {
		require.NoError(t, a.err, "add-card %d", a.i)
		if a.final != nil && a.final.Status == "SUCCEEDED" {
			added = append(added, a)
		}
	}
	require.NotEmpty(t, added, "no card was added")

	// Phase 2: purchases on the added cards, each with its idempotency
	// key; one in five sent at once to a second replica with the same key,
	// one in ten sent again to another replica once answered.
	buysStart := time.Now()
	purchases := make([]*purchase, buys)
	for i := range purchases {
		a := added[i%len(added)]
		slot := (i / 2) % replicaCount
		p := &purchase{i: i, slot: slot, repeatSlot: -1, replaySlot: -1, req: PurchaseRequest{
			IdempotencyKey: fmt.Sprintf("buy-%d", i), UserID: a.req.UserID, TokenID: a.final.TokenID,
			DeviceID: a.req.DeviceID, Amount: fmt.Sprintf("%d.%02d", 1+i/100, i%100),
		}}
		if i%5 == 0 {
			p.repeatSlot = (slot + 1) % replicaCount
		}
		if i%10 == 3 {
			p.replaySlot = (slot + 2) % replicaCount
		}
		purchases[i] = p
	}
	runPool(buys, concurrency, func(i int) {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		d.runPurchase(pctx, purchases[i])
	})
	buyDone := time.Since(buysStart)
	stopKilling()
	for _, err := range k.errs {
		t.Errorf("restarting a replica: %v", err)
	}
	require.NoError(t, sb.clearFaults(ctx))

	// Settle: every replica up, its reconciler running; nothing may stay
	// unfinished longer than settleWithin.
	settleStart := time.Now()
	for _, r := range replicas {
		_, err := r.current(ctx)
		require.NoError(t, err)
	}
	var left unsettled
	deadline := time.Now().Add(settleWithin)
	for {
		left = countUnsettled(t, st)
		if left.total() == 0 || time.Now().After(deadline) {
			break
		}
		require.NoError(t, d.pause(ctx))
	}
	settled := time.Since(settleStart)
	assert.Zero(t, left.total(), "left unfinished %s after the workload: %+v", settleWithin, left)

	// The replicas stop cleanly, with no data race reported.
	for _, r := range replicas {
		assert.NoError(t, r.shutdown(20*time.Second), "%s stops on SIGTERM", r.name)
		assert.NotContains(t, r.stderr.String(), "WARNING: DATA RACE", "%s reported a data race", r.name)
	}

	snap, err := sb.state(ctx)
	require.NoError(t, err)
	rep := &report{db: dbName, adds: adds, buys: buys, built: built, addPhase: addDone, buyPhase: buyDone,
		settle: settled, kills: k.kills, cut: k.cut, restarts: k.restart, injected: diffCounts(snap.FaultsInjected, before.FaultsInjected),
		transportErrs: d.transportErrs.Load(), snap: snap}
	v := &verifier{t: t, ctx: ctx, st: st, snap: snap, rep: rep, vts: vtsClient(t, sb)}
	v.load()
	v.sandboxInvariants()
	v.addCards(cards)
	v.purchases(purchases)
	v.secrets(sb, replicas, d)
	assert.Positive(t, k.kills, "a replica was killed")
	for _, kind := range faultKinds {
		assert.Positive(t, rep.injected[string(kind.Type)], "fault %s injected", kind.Type)
	}

	require.NoError(t, sb.stop(20*time.Second), "the sandbox stops on SIGTERM")
	rep.total = time.Since(began)
	md := rep.markdown()
	t.Log("\n" + md)
	if path := os.Getenv("FLEET_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(md), 0o644))
	}
}

// raceReplicas reports whether the replicas are built with the race
// detector: with FLEET_RACE=1 only. The agent's concurrency within a
// process is raced by its own tests and the reliability suite; racing three
// more processes would make this test several times slower.
func raceReplicas() bool { return os.Getenv("FLEET_RACE") == "1" }

// testCVV2 is distinctive, so the secret scan's whole-word match is a leak.
const testCVV2 = "917"

// unsettled counts what the reconcilers have left to do.
type unsettled struct {
	Journeys, Transactions, UnconfirmedDeclines int
}

func (u unsettled) total() int { return u.Journeys + u.Transactions + u.UnconfirmedDeclines }

func countUnsettled(t *testing.T, st store.Store) unsettled {
	t.Helper()
	ctx := context.Background()
	var u unsettled
	for _, err := range st.ListJourneys(ctx, store.JourneyFilter{NonFinalOnly: true}) {
		require.NoError(t, err)
		u.Journeys++
	}
	for _, err := range st.ListTransactions(ctx, store.TxFilter{NonFinalOnly: true}) {
		require.NoError(t, err)
		u.Transactions++
	}
	for _, err := range st.ListTransactions(ctx, store.TxFilter{Status: []store.TxStatus{store.TxDeclined}, Unconfirmed: true}) {
		require.NoError(t, err)
		u.UnconfirmedDeclines++
	}
	return u
}

func vtsClient(t *testing.T, sb *sandboxProc) *vts.Client {
	t.Helper()
	cfg, err := visa.ConfigFromLookup(func(name string) (string, bool) { v, ok := sb.env[name]; return v, ok })
	require.NoError(t, err)
	c, err := vts.New(cfg)
	require.NoError(t, err)
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

// verifier checks the run against the database and the sandbox.
type verifier struct {
	t    *testing.T
	ctx  context.Context
	st   store.Store
	snap sandbox.Snapshot
	rep  *report
	vts  *vts.Client

	journeys map[string]store.Journey     // by id
	byKey    map[string]store.Journey     // by kind/user/key
	txs      map[string]store.Transaction // by id
	cards    map[string]store.Card        // by token id
	approved map[string]int               // transaction reference → approvals at the merchant
	declined map[string]int               // transaction reference → declines at the merchant
}

func (v *verifier) load() {
	t := v.t
	v.journeys, v.byKey = map[string]store.Journey{}, map[string]store.Journey{}
	for j, err := range v.st.ListJourneys(v.ctx, store.JourneyFilter{}) {
		require.NoError(t, err)
		v.journeys[j.ID] = j
		if j.IdempotencyKey != "" {
			k := string(j.Kind) + "/" + j.UserID + "/" + j.IdempotencyKey
			_, dup := v.byKey[k]
			assert.False(t, dup, "two journeys for %s", k)
			v.byKey[k] = j
		}
		assert.True(t, j.Status.Final(), "journey %s (%s) left %s at %s", j.ID, j.Kind, j.Status, j.Step)
	}
	v.txs = map[string]store.Transaction{}
	for tx, err := range v.st.ListTransactions(v.ctx, store.TxFilter{}) {
		require.NoError(t, err)
		v.txs[tx.ID] = tx
		assert.True(t, tx.Status.Final(), "transaction %s left %s", tx.ID, tx.Status)
	}
	v.cards = map[string]store.Card{}
	for c, err := range v.st.ListCards(v.ctx, "") {
		require.NoError(t, err)
		v.cards[c.TokenID] = c
	}
	v.approved, v.declined = map[string]int{}, map[string]int{}
	for _, au := range v.snap.Authorizations {
		switch au.Status {
		case "APPROVED":
			v.approved[au.TransactionReferenceID]++
		case "DECLINED":
			v.declined[au.TransactionReferenceID]++
		}
	}
}

// sandboxInvariants: no credential issued twice, nothing approved twice.
func (v *verifier) sandboxInvariants() {
	t := v.t
	for id, c := range v.snap.CredentialsPerInstruction {
		assert.LessOrEqual(t, c, 1, "credentials issued for instruction %s", id)
		v.rep.maxCreds = max(v.rep.maxCreds, c)
	}
	for id, c := range v.snap.ApprovalsPerCredential {
		assert.LessOrEqual(t, c, 1, "approvals of credential %s", id)
		v.rep.maxApprovals = max(v.rep.maxApprovals, c)
	}
	for ref, c := range v.approved {
		assert.Equal(t, 1, c, "approvals for transaction reference %s", ref)
	}
}

// stateToken is the token an add-card journey provisioned, from its
// stored state (the agent keeps it there from step 2 on).
func stateToken(j store.Journey) string {
	var s struct {
		TokenID string `json:"tokenId"`
	}
	_ = json.Unmarshal(j.State, &s)
	return s.TokenID
}

// typedCode reports whether a stored failure code is one of the agent's
// typed codes, not its catch-all.
func typedCode(code string) bool { return code != "" && code != "error" }

// addCards checks every add-card intent against the database and VTS.
//
// A journey answered on another replica has ended in one of two ways:
//   - SUCCEEDED: its card is stored ACTIVE and enrolled in VIC with a
//     passkey for the shopper's device, and VTS says its token is ACTIVE;
//   - FAILED with a typed failure code (one of the agent's codes, not its
//     catch-all "error"), no card stored for its token, and the token, if
//     one was provisioned, DELETED at VTS (no usable token left behind).
//
// Nothing else: not CANCELLED or EXPIRED (the shoppers answer everything),
// not abandoned by the driver, not left WAITING or RUNNING.
func (v *verifier) addCards(cards []*addCard) {
	t, r := v.t, v.rep
	succeeded := map[string]bool{}
	for _, a := range cards {
		r.addStarted++
		j, ok := v.byKey["ADD_CARD/"+a.req.UserID+"/"+a.req.IdempotencyKey]
		if a.journeyID == "" {
			// No replica recorded a journey for the key.
			assert.False(t, ok, "add-card %d: a journey exists that no reply named", a.i)
			r.addOutcomes.add("no journey (" + kindOf(a.startErr) + ")")
			continue
		}
		if !assert.True(t, ok, "add-card %d: journey %s lost", a.i, a.journeyID) {
			continue
		}
		assert.Equal(t, a.journeyID, j.ID, "add-card %d: one journey per key", a.i)
		assert.False(t, a.abandoned, "add-card %d: journey %s abandoned by the driver:\n%s", a.i, j.ID, a.history())
		assert.Zero(t, a.appliedTwice, "add-card %d: one answer applied by two replicas:\n%s", a.i, a.history())
		if a.final != nil {
			assert.Equal(t, a.final.Status, string(j.Status), "add-card %d: the shopper was told what the database says", a.i)
		}
		elsewhere := 0
		for slot, n := range a.answered {
			assert.NotEqual(t, a.starter, slot, "add-card %d: answered on its starter", a.i)
			elsewhere += n
		}
		r.humanSteps += a.answers
		r.lostAnswers += a.lost
		r.busy += a.busy
		r.unexpected += a.unexpected
		if a.mistypes {
			r.mistyped++
		}
		if a.double {
			r.doubled++
		}
		token := stateToken(j)
		switch j.Status {
		case store.JourneySucceeded:
			succeeded[j.ResultID] = true
			c, ok := v.cards[j.ResultID]
			if assert.True(t, ok, "add-card %d: card %s of a SUCCEEDED journey lost", a.i, j.ResultID) {
				assert.Equal(t, store.TokenActive, c.TokenStatus, "add-card %d", a.i)
				assert.Equal(t, store.VICEnrolled, c.VICEnrollment, "add-card %d", a.i)
				_, err := v.st.GetPasskey(v.ctx, c.TokenID, a.req.DeviceID)
				assert.NoError(t, err, "add-card %d: passkey of the device", a.i)
			}
			assert.Equal(t, "ACTIVE", v.tokenStatus(j.ResultID), "add-card %d: VTS's truth", a.i)
			r.addOutcomes.add("SUCCEEDED")
		case store.JourneyFailed:
			assert.True(t, typedCode(j.FailureCode), "add-card %d: journey %s FAILED with the untyped code %q: %s\n%s",
				a.i, j.ID, j.FailureCode, j.FailureReason, a.history())
			if token != "" {
				_, stored := v.cards[token]
				assert.False(t, stored, "add-card %d: the card of a FAILED journey is still stored", a.i)
				assert.Contains(t, []string{"DELETED", "NOT_FOUND"}, v.tokenStatus(token),
					"add-card %d: a FAILED journey left a usable token", a.i)
			}
			r.addOutcomes.add("FAILED " + j.FailureCode)
		default:
			t.Errorf("add-card %d: journey %s ended %s (%s: %s): the shoppers answer every step\n%s", a.i, j.ID, j.Status, j.FailureCode, j.FailureReason, a.history())
			r.addOutcomes.add(string(j.Status) + " " + j.FailureCode)
		}
		if elsewhere > 0 {
			r.answeredElsewhere++
			if j.Status == store.JourneySucceeded {
				r.answeredCompleted++
			} else {
				r.answeredFailed.add(j.FailureCode)
			}
		}
	}
	// The stored cards are exactly the cards of SUCCEEDED journeys, and
	// VTS's ACTIVE tokens are exactly those.
	for id, c := range v.cards {
		if succeeded[id] {
			continue
		}
		var named []string
		for _, a := range cards {
			if j, ok := v.journeys[a.journeyID]; ok && stateToken(j) == id {
				named = append(named, fmt.Sprintf("add-card %d: journey %s %s at %s (%s: %s)\n%s", a.i, j.ID, j.Status, j.Step, j.FailureCode, j.FailureReason, a.history()))
			}
		}
		t.Errorf("card %s (%s, %s, updated %s) is stored without a SUCCEEDED journey; VTS says %s; %s", id, c.TokenStatus, c.VICEnrollment,
			c.UpdatedAt.Format(time.RFC3339Nano), v.tokenStatus(id), strings.Join(named, "\n"))
	}
	assert.Equal(t, len(v.cards), v.snap.TokensByStatus["ACTIVE"], "tokens ACTIVE at VTS = stored cards")
	r.cardsStored = len(v.cards)
	r.journeys = len(v.journeys)
}

// tokenStatus asks VTS (the sandbox) for a token's status.
func (v *verifier) tokenStatus(id string) string {
	res, err := v.vts.GetToken(v.ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	if errors.Is(err, visa.ErrNotFound) {
		return "NOT_FOUND"
	}
	if !assert.NoError(v.t, err, "GetToken %s", id) {
		return ""
	}
	return string(res.TokenInfo.TokenStatus)
}

// purchases checks every purchase intent against the database and the
// sandbox's merchant.
func (v *verifier) purchases(ps []*purchase) {
	t, r := v.t, v.rep
	seen := map[string]bool{}
	for _, p := range ps {
		require.NoError(t, p.first.err, "purchase %d", p.i)
		r.lostPurchases += p.lost
		r.inProgress += p.inProgress
		j, ok := v.byKey["PURCHASE/"+p.req.UserID+"/"+p.req.IdempotencyKey]
		first := p.first.reply
		if !ok {
			// Refused before a journey was recorded: it must say so.
			assert.Nil(t, first.Receipt, "purchase %d: a receipt without a journey", p.i)
			r.buyOutcomes.add("no journey (" + kindOf(first.Error) + ")")
			continue
		}
		tx, hasTx := v.txs[j.ID]
		for name, c := range map[string]callResult{"first": p.first, "repeat": p.repeat, "replay": p.replay} {
			if (name == "repeat" && !p.repeated) || (name == "replay" && !p.replayed) {
				continue
			}
			require.NoError(t, c.err, "purchase %d (%s call)", p.i, name)
			rp := c.reply
			if rp.Receipt != nil {
				assert.Equal(t, j.ID, rp.Receipt.TransactionID, "purchase %d (%s call): one journey per key", p.i, name)
				assert.True(t, hasTx, "purchase %d (%s call): transaction %s lost", p.i, name, rp.Receipt.TransactionID)
			}
			if rp.Error != nil {
				assert.NotEmpty(t, rp.Error.Class, "purchase %d (%s call): untyped error: %s", p.i, name, rp.Error.Message)
				assert.NotEqual(t, "replayed error", rp.Error.Class, "purchase %d (%s call): untyped stored error: %s", p.i, name, rp.Error.Message)
			}
			v.toldTheTruth(p.i, name, rp, tx, hasTx)
			switch name {
			case "first":
				r.firstKinds.add(kindOf(rp.Error))
			case "repeat":
				r.repeatKinds.add(kindOf(rp.Error))
			case "replay":
				r.replayKinds.add(kindOf(rp.Error))
				// Asked again once the first call answered: the same
				// story, from the record.
				if first.Receipt != nil && rp.Receipt != nil && final(journeyOf(first)) {
					assert.Equal(t, first.Receipt.Status, rp.Receipt.Status, "purchase %d: the replay tells the first call's story", p.i)
					assert.True(t, rp.Receipt.Replayed, "purchase %d: the replay is marked Replayed", p.i)
				}
			}
		}
		if !hasTx {
			assert.True(t, j.Status.Final() && j.Status != store.JourneySucceeded, "purchase %d: journey %s %s without a transaction", p.i, j.ID, j.Status)
			r.buyOutcomes.add("journey " + string(j.Status) + " " + j.FailureCode + ", no transaction")
			continue
		}
		seen[tx.ID] = true
		assert.Equal(t, p.req.IdempotencyKey, tx.IdempotencyKey, "purchase %d", p.i)
		v.moneyTruth(p.i, tx)
		outcome := string(tx.Status)
		if first.Error != nil && (first.Error.Kind == KindChargedUnconfirmed || first.Error.Kind == KindOutcomeUnknown || first.Error.Kind == KindOwnershipLost) {
			outcome += " (settled by a reconciler)"
		}
		r.buyOutcomes.add(outcome)
	}
	// No transaction that no purchase intent owns.
	for id, tx := range v.txs {
		assert.True(t, seen[id], "transaction %s (%s) belongs to no purchase", id, tx.IdempotencyKey)
	}
	// Every approval at the merchant is a COMPLETED record.
	completed := map[string]bool{}
	for _, tx := range v.txs {
		if tx.Status == store.TxCompleted {
			completed[tx.TransactionReferenceID] = true
		}
	}
	for ref := range v.approved {
		assert.True(t, completed[ref], "approved reference %s has no COMPLETED record", ref)
	}
	r.transactions = len(v.txs)
}

func journeyOf(rp Reply) string {
	if rp.Receipt == nil {
		return ""
	}
	switch rp.Receipt.Status {
	case "COMPLETED", "DECLINED", "FAILED", "CANCELLED":
		return "SUCCEEDED" // a final transaction: any final journey status will do
	}
	return ""
}

// toldTheTruth: what a call returned agrees with the record and the money.
func (v *verifier) toldTheTruth(i int, name string, rp Reply, tx store.Transaction, hasTx bool) {
	t := v.t
	kind := kindOf(rp.Error)
	switch kind {
	case "ok":
		if assert.True(t, hasTx, "purchase %d (%s call) succeeded without a record", i, name) {
			assert.Equal(t, store.TxCompleted, tx.Status, "purchase %d (%s call) succeeded", i, name)
		}
	case KindDeclined:
		if assert.True(t, hasTx, "purchase %d (%s call) declined without a record", i, name) {
			assert.Equal(t, store.TxDeclined, tx.Status, "purchase %d (%s call) declined", i, name)
		}
	case KindChargedUnconfirmed, KindOutcomeUnknown, KindOwnershipLost, KindInProgress:
		// "Do not retry": the reconciler settled it (checked by moneyTruth).
	default:
		// "Nothing was charged, safe to try again" must be true.
		if hasTx {
			assert.Zero(t, v.approved[tx.TransactionReferenceID],
				"purchase %d (%s call) was told %s (%s), safe to retry, but was charged", i, name, kind, rp.Error.Message)
		}
	}
}

// moneyTruth: a record's status equals the sandbox's truth.
func (v *verifier) moneyTruth(i int, tx store.Transaction) {
	t := v.t
	ref := tx.TransactionReferenceID
	charges := 0
	if ref != "" {
		charges = v.approved[ref]
	}
	switch tx.Status {
	case store.TxCompleted:
		assert.Equal(t, 1, charges, "purchase %d: COMPLETED with %d approvals", i, charges)
		assert.False(t, tx.ConfirmedAt.IsZero(), "purchase %d: COMPLETED unconfirmed", i)
		assert.Positive(t, v.snap.ConfirmationsPerInstruction[tx.InstructionID], "purchase %d: VIC got no confirmation", i)
	case store.TxDeclined:
		assert.Zero(t, charges, "purchase %d: DECLINED but approved", i)
		assert.Positive(t, v.declined[ref], "purchase %d: DECLINED without a decline at the merchant", i)
		assert.False(t, tx.ConfirmedAt.IsZero(), "purchase %d: decline unconfirmed", i)
	default:
		assert.Zero(t, charges, "purchase %d: %s but approved", i, tx.Status)
	}
}

// secrets: no secret in any log, reply or stored row, and no race report.
func (v *verifier) secrets(sb *sandboxProc, replicas []*replica, d *driver) {
	t := v.t
	sec := testutil.NewSecrets()
	sec.Add("PAN", sandbox.CardHappy)
	sec.Add("PAN", sandbox.CardInsufficientFunds)
	sec.Add("CVV2", testCVV2)
	sec.Add("OTP", sandbox.GoldenOTP)
	for _, name := range []string{"VISA_VTS_API_KEY", "VISA_VTS_SHARED_SECRET", "VISA_VIC_API_KEY", "VISA_VIC_SHARED_SECRET",
		"VISA_ENC_API_KEY", "VISA_ENC_SHARED_SECRET", "VISA_HASH_SECRET", "VISA_MLE_CLIENT_KEY"} {
		sec.Add(name, sb.env[name])
	}
	for _, r := range replicas {
		sec.Check(t, r.name+" stderr", r.stderr.String(), testutil.JSON)
	}
	sec.Check(t, "sandbox stderr", sb.stderr.String(), testutil.Text)
	sec.Check(t, "replies", d.replies.String(), testutil.JSON)
	var rows strings.Builder
	for _, j := range v.journeys {
		fmt.Fprintf(&rows, "%s %s %s %s\n", j.State, j.FailureCode, j.FailureReason, j.ResultID)
	}
	for _, tx := range v.txs {
		fmt.Fprintf(&rows, "%s %s %s\n", tx.FailureReason, tx.MerchantName, tx.IdempotencyKey)
	}
	sec.Check(t, "stored rows", rows.String(), testutil.Text)
}

// kindOf names what a reply's error says, "ok" for none.
func kindOf(e *ErrorView) string {
	if e == nil {
		return "ok"
	}
	return e.Kind
}

// counts keeps counts by name, in first-seen order.
type counts struct {
	m     map[string]int
	order []string
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

func (c *counts) sorted() []string {
	out := slices.Clone(c.order)
	slices.SortFunc(out, func(a, b string) int {
		if d := c.m[b] - c.m[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}
