package reliability

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
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
	"github.com/vicgo/visa/vts"
)

// TestChaosOnboarding adds cards while the sandbox injects 20% faults of
// every kind into every endpoint, then runs Resume without faults. Every
// failure is typed; afterwards every stored card is complete (ACTIVE,
// enrolled in VIC, with a passkey), and the tokens ACTIVE at VTS are
// exactly the stored cards: a half-added card never survives, and never
// leaves a usable token behind.
func TestChaosOnboarding(t *testing.T) {
	// Not parallel: goleak checks the goroutines this test leaves behind.
	leakOpts := []goleak.Option{goleak.IgnoreCurrent()}
	n := 200
	if testing.Short() {
		n = 40
	}
	const concurrency = 16
	flog := newFaultLog()
	sbx, err := sandbox.New(sandbox.WithPlainHTTP(), sandbox.WithLogger(slog.New(faultHandler{flog})),
		sandbox.WithFaults(sandbox.FaultPlan{Rate: chaosRate, Kinds: chaosKinds, Seed: 20261126}))
	require.NoError(t, err)
	srv := httptest.NewServer(front(sbx, flog))
	base := &http.Transport{MaxIdleConnsPerHost: 2 * concurrency}
	cfg := sbx.Config()
	cfg.VICBaseURL, cfg.VTSBaseURL, cfg.AuthBaseURL = srv.URL, srv.URL, srv.URL
	cfg.HTTPClient = &http.Client{Transport: tagger{base}}
	cfg.Timeout = 20 * time.Second
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	st, err := memstore.New()
	require.NoError(t, err)
	a, err := agent.New(cfg, st, newSealer(t))
	require.NoError(t, err)
	ctx := context.Background()

	errs := make([]error, n)
	ok := make([]bool, n)
	runPool(n, concurrency, func(i int) {
		pan := sandbox.CardHappy
		if i%3 == 2 {
			pan = sandbox.CardNoStepUp
		}
		ch := &agenttest.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: []string{sandbox.GoldenOTP, sandbox.GoldenOTP, sandbox.GoldenOTP}}
		cctx, cancel := context.WithTimeout(context.WithValue(ctx, purchaseTag{}, i), time.Minute)
		defer cancel()
		_, errs[i] = a.AddCard(cctx, agent.AddCardRequest{User: user(i), Card: card(t, pan), Device: device(i), Cardholder: ch})
		ok[i] = errs[i] == nil
	})
	sbx.ClearFaults()

	var untyped []string
	classes := map[string]int{}
	for i, err := range errs {
		c := ErrorClass(err)
		if c == "" {
			untyped = append(untyped, fmt.Sprintf("AddCard %d: %T: %v", i, err, err))
			c = "untyped"
		}
		classes[c]++
	}
	assert.Empty(t, untyped, "untyped errors:\n%s", strings.Join(untyped, "\n"))

	removed := 0
	for round := 0; round < 5; round++ {
		rep, err := a.Reconcile(ctx)
		require.NoError(t, err)
		removed += rep.CardsRemoved
		if rep.CardsRemoved == 0 {
			break
		}
	}

	// Every stored card is complete; every added card is stored.
	stored := map[string]store.Card{}
	for i := range n {
		for c, err := range st.ListCards(ctx, user(i).ID) {
			require.NoError(t, err)
			stored[c.TokenID] = c
			assert.Equal(t, store.TokenActive, c.TokenStatus, "card of user %d", i)
			assert.Equal(t, store.VICEnrolled, c.VICEnrollment, "card of user %d", i)
			_, err := st.GetPasskey(ctx, c.TokenID, device(i).ClientDeviceID)
			assert.NoError(t, err, "passkey of user %d", i)
		}
	}
	added := 0
	for i := range n {
		if ok[i] {
			added++
		}
	}
	assert.Len(t, stored, added, "the stored cards are exactly the successful AddCards")

	// VTS agrees: ACTIVE tokens are the stored cards.
	snap := sbx.Inspect()
	assert.Equal(t, len(stored), snap.TokensByStatus["ACTIVE"], "ACTIVE tokens at VTS: %v", snap.TokensByStatus)

	var cls []string
	for c, k := range classes {
		cls = append(cls, fmt.Sprintf("%s %d", c, k))
	}
	sort.Strings(cls)
	t.Logf("AddCard under faults: %d of %d added; errors: %s; Resume removed %d half-added cards; tokens by status %v; faults injected %v",
		added, n, strings.Join(cls, ", "), removed, snap.TokensByStatus, snap.FaultsInjected)

	srv.Close()
	require.NoError(t, sbx.Close())
	base.CloseIdleConnections()
	require.NoError(t, st.Close())
	goleak.VerifyNone(t, leakOpts...)
}
