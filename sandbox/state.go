package sandbox

import (
	"sync"
	"time"

	"github.com/vicgo/visa"
)

// state is the sandbox's memory: one mutex guards it all. Handlers hold the
// lock only while they read and mutate; crypto happens outside it.
type state struct {
	mu           sync.Mutex
	enrollments  map[string]*enrollment
	tokens       map[string]*token
	tokensByPAN  map[string]*token
	instructions map[string]*instruction
	auths        []*Authorization // in time order
	authsByRef   map[string][]*Authorization
	nextPurge    time.Time
	counters     counters
	// retention and maxRetained bound what is kept: by age (purge) and
	// by count (evictByCount).
	retention   time.Duration
	maxRetained int
}

// counters are cumulative: the janitor never lowers them.
type counters struct {
	enrollments       int
	tokens            int
	otpsSent          map[string]int // by method
	otpOK, otpFailed  int
	instructions      int
	credentials       int
	confirmations     int
	authorizations    int
	approvals         int
	purgedInstruction int
	evicted           int // records dropped by evictByCount
}

func newState(retention time.Duration, maxRetained int) *state {
	return &state{
		retention:    retention,
		maxRetained:  maxRetained,
		enrollments:  map[string]*enrollment{},
		tokens:       map[string]*token{},
		tokensByPAN:  map[string]*token{},
		instructions: map[string]*instruction{},
		authsByRef:   map[string][]*Authorization{},
		counters:     counters{otpsSent: map[string]int{}},
	}
}

type enrollment struct {
	id        string
	pan       string // kept only until provisioned, then cleared
	last4     string
	exp       expiry
	behaviour cardBehaviour
	created   time.Time
	expires   time.Time
	used      bool
}

type token struct {
	id         string
	refID      string
	pan        string // the token PAN (489537...)
	last4      string
	exp        expiry
	cardLast4  string
	cardExp    expiry
	behaviour  cardBehaviour
	status     visa.TokenStatus
	email      string
	stepUp     map[string]bool // device ids with a completed step-up
	binding    *binding
	enrolled   bool // enrolled in VIC (§6.2)
	consumerID string
	creds      []*credential
	created    time.Time
	changed    time.Time
}

type binding struct {
	clientRef   string
	device      string
	entries     []stepUpEntry
	otpRequests int
	otp         *otpState
}

type stepUpEntry struct {
	Method     string `json:"method"`
	Value      string `json:"value"`
	Identifier string `json:"identifier"`
}

type otpState struct {
	method  string
	issued  time.Time
	expires time.Time
	wrong   int
}

type instruction struct {
	id         string
	tokenID    string
	clientRef  string
	consumerID string
	prompt     string
	mandates   []*mandate
	status     string
	created    time.Time
	expires    time.Time
	creds      map[string]*credential // by transactionReferenceId
	credOrder  []string
	confirms   map[string]*confirmation
	confirmN   int
}

type mandate struct {
	id          string
	description string
	threshold   visa.Amount
	effUntil    time.Time
	quantity    int
	used        int
}

type credential struct {
	ddID          string
	value         string
	txRef         string
	instructionID string
	tokenID       string
	amount        visa.Amount
	issued        time.Time
	expires       time.Time
	used          bool
	approvals     int
	// auths are the merchant's decisions on this credential (docs/wire.md
	// §9), in time order: what a confirmation is checked against (§6.6).
	auths []*Authorization
}

// record is the merchant's decision a confirmation must agree with: the
// approval if there was one, else the latest decline; nil when the
// sandbox merchant never saw the credential.
func (c *credential) record() *Authorization {
	var last *Authorization
	for _, a := range c.auths {
		if a.Status == "APPROVED" {
			return a
		}
		last = a
	}
	return last
}

type confirmation struct {
	status       string
	responseCode string
	at           time.Time
	count        int
}

// Instruction statuses.
const (
	statusActive    = "ACTIVE"
	statusCompleted = "COMPLETED"
	statusCancelled = "CANCELLED"
	statusExpired   = "EXPIRED"
	// statusPending is only ever answered with HTTP 202 (docs/wire.md
	// §6.7); no instruction is stored in it.
	statusPending = "PENDING"
)

// effectiveStatus reports EXPIRED for an ACTIVE instruction past expiry.
func (in *instruction) effectiveStatus(now time.Time) string {
	if in.status == statusActive && !now.Before(in.expires) {
		return statusExpired
	}
	return in.status
}

// purge drops state that finished or expired more than retention ago. It
// runs at most once per purge interval and is called with st.mu held by
// the mutating handlers, so memory stays flat under a steady load.
func (st *state) purge(now time.Time, retention time.Duration) {
	st.evictByCount(now)
	if now.Before(st.nextPurge) {
		return
	}
	interval := min(retention/4, time.Minute)
	st.nextPurge = now.Add(interval)
	cutoff := now.Add(-retention)
	for id, e := range st.enrollments {
		if e.expires.Before(cutoff) {
			delete(st.enrollments, id)
		}
	}
	for id, in := range st.instructions {
		end := in.expires
		for _, c := range in.creds {
			if c.expires.After(end) {
				end = c.expires
			}
		}
		if end.Before(cutoff) {
			delete(st.instructions, id)
			st.counters.purgedInstruction++
		}
	}
	for id, t := range st.tokens {
		if t.status == visa.TokenDeleted && t.changed.Before(cutoff) {
			delete(st.tokens, id)
			delete(st.tokensByPAN, t.pan)
			continue
		}
		kept := t.creds[:0]
		for _, c := range t.creds {
			if !c.expires.Before(cutoff) {
				kept = append(kept, c)
			}
		}
		clear(t.creds[len(kept):])
		t.creds = kept
	}
	n := 0
	for n < len(st.auths) && st.auths[n].Time.Before(cutoff) {
		a := st.auths[n]
		list := st.authsByRef[a.TransactionReferenceID]
		if len(list) > 0 && list[0] == a {
			list = list[1:]
		}
		if len(list) == 0 {
			delete(st.authsByRef, a.TransactionReferenceID)
		} else {
			st.authsByRef[a.TransactionReferenceID] = list
		}
		n++
	}
	if n > 0 {
		st.auths = append([]*Authorization(nil), st.auths[n:]...)
	}
}
