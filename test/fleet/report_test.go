package fleet

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vicgo/visa/sandbox"
)

// report holds the figures of a fleet run.
type report struct {
	db                                       string
	adds, buys                               int
	built, addPhase, buyPhase, settle, total time.Duration
	kills                                    int
	cut                                      int64
	restarts                                 []time.Duration
	injected                                 map[string]int
	transportErrs                            int64
	snap                                     sandbox.Snapshot
	maxCreds, maxApprovals                   int
	journeys, transactions, cardsStored      int
	addStarted, humanSteps, lostAnswers      int
	busy, unexpected, mistyped, doubled      int
	answeredElsewhere, answeredCompleted     int
	answeredFailed                           counts
	addOutcomes, buyOutcomes                 counts
	firstKinds, repeatKinds, replayKinds     counts
	lostPurchases, inProgress                int
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Store: %s. Test under the race detector: %v; three replica processes (race detector %v) and cmd/visa-sandbox as a fourth; lease %s, merchant timeout %s + margin %s, reconciler every %s in every replica; %d shoppers at a time.\n",
		r.db, raceEnabled, raceReplicas(), leaseTTL, merchantTimeout, merchantMargin, reconcileEvery, concurrency)
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs, %s. Build %s; add-cards %s; purchases %s; settling %s; total %s.\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), r.built.Round(time.Second),
		r.addPhase.Round(time.Second), r.buyPhase.Round(time.Second), r.settle.Round(100*time.Millisecond), r.total.Round(time.Second))

	med := time.Duration(0)
	if len(r.restarts) > 0 {
		s := slices.Clone(r.restarts)
		slices.Sort(s)
		med = s[len(s)/2]
	}
	fmt.Fprintf(&b, "Kills: %d SIGKILLs at random moments (every 0.5–2.5 s), each replica restarted at once (median %s to serve again); %d requests were under way to a killed process and %d requests in all got no answer (the driver asked again: the same answer, or the same idempotency key, on another replica).\n\n",
		r.kills, med.Round(time.Millisecond), r.cut, r.transportErrs)

	fmt.Fprintf(&b, "Faults: rate %.0f%%, every kind (`POST /sandbox/v1/admin/faults`):", faultRate*100)
	var kinds []string
	total := 0
	for _, k := range faultKinds {
		kinds = append(kinds, fmt.Sprintf(" %s %d", k.Type, r.injected[string(k.Type)]))
		total += r.injected[string(k.Type)]
	}
	fmt.Fprintf(&b, "%s; %d in all.\n\n", strings.Join(kinds, ","), total)

	fmt.Fprintf(&b, "Add-cards: %d journeys, each started on one replica with every human step answered on another (%d answers sent, %d cut by a kill, %d ErrJourneyBusy, %d ErrUnexpectedAnswer; %d shoppers typed a wrong code first; %d sent every answer to both other replicas at once, and no answer was applied twice). %d journeys reached a human step and were answered elsewhere: %d SUCCEEDED, %d FAILED with a typed code. Cards stored: %d.\n\n",
		r.addStarted, r.humanSteps, r.lostAnswers, r.busy, r.unexpected, r.mistyped, r.doubled, r.answeredElsewhere, r.answeredCompleted,
		r.answeredElsewhere-r.answeredCompleted, r.cardsStored)
	b.WriteString("| add-card outcome (database) | journeys |\n|---|---:|\n")
	for _, k := range r.addOutcomes.sorted() {
		fmt.Fprintf(&b, "| %s | %d |\n", k, r.addOutcomes.m[k])
	}

	fmt.Fprintf(&b, "\nPurchases: %d, each with an idempotency key; %d also sent at once to a second replica with the same key, %d sent again to a third once answered; %d requests cut by a kill, %d ErrInProgress answers asked again.\n\n",
		r.buys, r.repeatKinds.total(), r.replayKinds.total(), r.lostPurchases, r.inProgress)
	b.WriteString("| purchase outcome (database) | purchases |\n|---|---:|\n")
	for _, k := range r.buyOutcomes.sorted() {
		fmt.Fprintf(&b, "| %s | %d |\n", k, r.buyOutcomes.m[k])
	}
	b.WriteString("\n| what the call returned | first call | same key at once | same key after |\n|---|---:|---:|---:|\n")
	all := map[string]bool{}
	for _, c := range []*counts{&r.firstKinds, &r.repeatKinds, &r.replayKinds} {
		for k := range c.m {
			all[k] = true
		}
	}
	var ks []string
	for k := range all {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", k, r.firstKinds.m[k], r.repeatKinds.m[k], r.replayKinds.m[k])
	}

	s := r.snap
	var tokens []string
	for st, n := range s.TokensByStatus {
		tokens = append(tokens, fmt.Sprintf("%s %d", st, n))
	}
	sort.Strings(tokens)
	fmt.Fprintf(&b, "\nSandbox (`GET /sandbox/v1/admin/state`): %d tokens (%s); %d OTPs sent; %d instructions, %d credentials (at most %d per instruction); %d authorizations, %d approvals (at most %d per credential); %d confirmations. Database: %d journeys, %d transactions, nothing left RUNNING, WAITING or unconfirmed.\n",
		s.TokensCreated, strings.Join(tokens, ", "), s.OTPsSent, s.InstructionsCreated, s.CredentialsIssued, r.maxCreds,
		s.AuthorizationsTotal, s.ApprovalsTotal, r.maxApprovals, s.ConfirmationsTotal, r.journeys, r.transactions)
	return b.String()
}

func (c *counts) total() int {
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}
