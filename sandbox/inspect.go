package sandbox

import (
	"sort"
	"time"
)

// Snapshot is the sandbox's state as tests and operators see it: enough
// to prove that nothing was charged twice. Totals are cumulative since
// start; maps and lists cover the state the janitor still retains.
type Snapshot struct {
	Time time.Time `json:"time"`

	EnrollmentsCreated int            `json:"enrollmentsCreated"`
	TokensCreated      int            `json:"tokensCreated"`
	TokensByStatus     map[string]int `json:"tokensByStatus"`

	OTPsSent         int            `json:"otpsSent"`
	OTPsSentByMethod map[string]int `json:"otpsSentByMethod"`
	OTPValidationsOK int            `json:"otpValidationsOk"`
	OTPValidationsKO int            `json:"otpValidationsFailed"`

	InstructionsCreated int `json:"instructionsCreated"`
	// InstructionsPurged counts instructions the janitor dropped after
	// their retention.
	InstructionsPurged int `json:"instructionsPurged"`
	// Evicted counts records (of every kind) dropped because their kind
	// outgrew WithMaxRetained, oldest first.
	Evicted              int            `json:"evicted"`
	InstructionsByStatus map[string]int `json:"instructionsByStatus"`

	CredentialsIssued int `json:"credentialsIssued"`
	// CredentialsPerInstruction maps instructionId to credentials issued.
	CredentialsPerInstruction map[string]int `json:"credentialsPerInstruction"`
	// CredentialsPerTransactionReference maps
	// "instructionId/transactionReferenceId" to credentials issued (at
	// most 1 by construction).
	CredentialsPerTransactionReference map[string]int `json:"credentialsPerTransactionReference"`

	Authorizations      []Authorization `json:"authorizations"`
	AuthorizationsTotal int             `json:"authorizationsTotal"`
	ApprovalsTotal      int             `json:"approvalsTotal"`
	// ApprovalsPerCredential maps dynamicDataId to approvals (at most 1
	// unless something charged twice).
	ApprovalsPerCredential map[string]int `json:"approvalsPerCredential"`

	ConfirmationsTotal int `json:"confirmationsTotal"`
	// ConfirmationsPerInstruction maps instructionId to confirmation
	// calls received (repeats included).
	ConfirmationsPerInstruction map[string]int `json:"confirmationsPerInstruction"`

	// FaultsInjected maps a FaultType to how many times it was injected.
	FaultsInjected map[string]int `json:"faultsInjected"`
	// Auth is the Auth iFrame's activity.
	Auth AuthStats `json:"auth"`
}

// Inspect returns a snapshot of the sandbox's state.
func (s *Sandbox) Inspect() Snapshot {
	now := s.now()
	snap := Snapshot{
		Time:                               now,
		TokensByStatus:                     map[string]int{},
		OTPsSentByMethod:                   map[string]int{},
		InstructionsByStatus:               map[string]int{},
		CredentialsPerInstruction:          map[string]int{},
		CredentialsPerTransactionReference: map[string]int{},
		ApprovalsPerCredential:             map[string]int{},
		ConfirmationsPerInstruction:        map[string]int{},
	}
	st := s.st
	st.mu.Lock()
	c := st.counters
	snap.EnrollmentsCreated, snap.TokensCreated = c.enrollments, c.tokens
	for m, n := range c.otpsSent {
		snap.OTPsSentByMethod[m] = n
		snap.OTPsSent += n
	}
	snap.OTPValidationsOK, snap.OTPValidationsKO = c.otpOK, c.otpFailed
	snap.InstructionsCreated, snap.InstructionsPurged, snap.CredentialsIssued = c.instructions, c.purgedInstruction, c.credentials
	snap.Evicted = c.evicted
	snap.AuthorizationsTotal, snap.ApprovalsTotal, snap.ConfirmationsTotal = c.authorizations, c.approvals, c.confirmations
	for _, t := range st.tokens {
		snap.TokensByStatus[string(t.status)]++
	}
	for id, in := range st.instructions {
		snap.InstructionsByStatus[in.effectiveStatus(now)]++
		snap.CredentialsPerInstruction[id] = len(in.creds)
		for ref, cr := range in.creds {
			snap.CredentialsPerTransactionReference[id+"/"+ref]++
			if cr.approvals > 0 {
				snap.ApprovalsPerCredential[cr.ddID] = cr.approvals
			}
		}
		if in.confirmN > 0 {
			snap.ConfirmationsPerInstruction[id] = in.confirmN
		}
	}
	snap.Authorizations = make([]Authorization, len(st.auths))
	for i, a := range st.auths {
		snap.Authorizations[i] = *a
	}
	st.mu.Unlock()
	sort.SliceStable(snap.Authorizations, func(i, j int) bool { return snap.Authorizations[i].Time.Before(snap.Authorizations[j].Time) })
	snap.FaultsInjected = s.faults.counts()
	snap.Auth = s.auth.Stats()
	return snap
}

// ChargesFor returns how many approved merchant authorizations the
// transaction reference has: 1 after a successful purchase, never more.
func (s *Sandbox) ChargesFor(transactionReferenceID string) int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	n := 0
	for _, a := range s.st.authsByRef[transactionReferenceID] {
		if a.Status == "APPROVED" {
			n++
		}
	}
	return n
}

// CredentialsFor returns how many credentials were issued for an
// instruction (0 for an unknown or purged one).
func (s *Sandbox) CredentialsFor(instructionID string) int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if in, ok := s.st.instructions[instructionID]; ok {
		return len(in.creds)
	}
	return 0
}

// OTPsSent returns how many OTPs were sent since start.
func (s *Sandbox) OTPsSent() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	n := 0
	for _, v := range s.st.counters.otpsSent {
		n += v
	}
	return n
}

// TokenPAN returns the token PAN of a provisioned token, as the merchant
// would see it in a signedPayload; ok is false for an unknown token.
func (s *Sandbox) TokenPAN(tokenID string) (pan string, ok bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, ok := s.st.tokens[tokenID]
	if !ok {
		return "", false
	}
	return t.pan, true
}
