package sandbox

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

// retainedIDs returns the ids of the instructions and tokens the sandbox
// holds.
func retainedIDs(sb *Sandbox) (instructions, tokens map[string]bool) {
	sb.st.mu.Lock()
	defer sb.st.mu.Unlock()
	instructions, tokens = map[string]bool{}, map[string]bool{}
	for id := range sb.st.instructions {
		instructions[id] = true
	}
	for id := range sb.st.tokens {
		tokens[id] = true
	}
	return instructions, tokens
}

// TestMaxRetainedEvictsOldestFirst drives a sandbox capped at 8 records of
// each kind past its cap and checks that finished state goes oldest first
// while the state of live journeys stays: an instruction charged but not
// yet confirmed (its authorization too, so the agent can resume), an
// ACTIVE instruction without credentials, and the token they belong to.
func TestMaxRetainedEvictsOldestFirst(t *testing.T) {
	const limit = 8
	clk := NewManualClock(time.Now())
	sb := Start(t, WithPlainHTTP(), WithClock(clk), WithMaxRetained(limit))
	w := newWire(t, sb, jwe.EncA128GCM)

	// Idle tokens, provisioned long ago and never activated.
	var idle []string
	for range 12 {
		idle = append(idle, w.provision(CardHappy))
		clk.Advance(time.Second)
	}
	clk.Advance(DefaultRetention + time.Minute)

	tok, device := w.onboard(CardHappy)
	// A: charged, not confirmed. B: ACTIVE, no credential yet.
	insA := w.instruct(tok, device, "25.00")
	dd := w.credentials(insA, tok, "T-held", "25.00").DynamicData[0]
	r := w.merchant(merchantBody(dd, "25.00"))
	require.Equal(t, "00", r.body["responseCode"], string(r.raw))
	clk.Advance(time.Second)
	insB := w.instruct(tok, device, "25.00")
	clk.Advance(time.Second)

	var done []string
	for i := range 3 * limit {
		ins := w.instruct(tok, device, "25.00")
		ref := "T-" + strconv.Itoa(i)
		d := w.credentials(ins, tok, ref, "25.00").DynamicData[0]
		r := w.merchant(merchantBody(d, "25.00"))
		require.Equal(t, "00", r.body["responseCode"], string(r.raw))
		r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations",
			confirmBody(ins, ref, d.DynamicDataID, "APPROVED", "00", "25.00", w.epoch()))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		done = append(done, ins)
		clk.Advance(time.Second)
	}
	w.provision(CardHappy) // one more pass of the janitor after the last confirmation

	ins, toks := retainedIDs(sb)
	assert.True(t, ins[insA], "charged but unconfirmed instruction kept")
	assert.True(t, ins[insB], "active instruction kept")
	assert.True(t, toks[tok], "token of live instructions kept")
	assert.Equal(t, 1, sb.ChargesFor("T-held"), "authorization of a live instruction kept")
	assert.LessOrEqual(t, len(ins), limit+2)

	// Finished instructions: what is kept is a suffix of the creation order.
	keptFrom := slices.IndexFunc(done, func(id string) bool { return ins[id] })
	require.GreaterOrEqual(t, keptFrom, 1, "some finished instructions evicted")
	for i, id := range done {
		assert.Equal(t, i >= keptFrom, ins[id], "instruction %d of %d", i, len(done))
	}
	// Idle tokens: the oldest went first.
	keptTok := slices.IndexFunc(idle, func(id string) bool { return toks[id] })
	require.GreaterOrEqual(t, keptTok, 1, "some idle tokens evicted")
	for i, id := range idle[keptTok:] {
		assert.True(t, toks[id], "idle token %d", keptTok+i)
	}
	assert.LessOrEqual(t, len(toks), limit+1)
	assert.Positive(t, sb.Inspect().Evicted)

	// The held journey completes.
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+insA+"/confirmations",
		confirmBody(insA, "T-held", dd.DynamicDataID, "APPROVED", "00", "25.00", w.epoch()))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	_ = w.credentials(insB, tok, "T-late", "25.00")
}

// TestMaxRetainedZeroKeepsEverything checks that WithMaxRetained(0) turns
// the count bound off and that a negative count is refused.
func TestMaxRetainedZeroKeepsEverything(t *testing.T) {
	_, err := New(WithMaxRetained(-1))
	require.Error(t, err)
	clk := NewManualClock(time.Now())
	sb := Start(t, WithPlainHTTP(), WithClock(clk), WithMaxRetained(0))
	w := newWire(t, sb, jwe.EncA128GCM)
	for range 20 {
		w.provision(CardHappy)
	}
	clk.Advance(DefaultRetention + time.Minute)
	w.provision(CardHappy)
	_, toks := retainedIDs(sb)
	assert.Len(t, toks, 21)
	assert.Zero(t, sb.Inspect().Evicted)
}
