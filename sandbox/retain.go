package sandbox

import (
	"slices"
	"time"

	"github.com/vicgo/visa"
)

// DefaultMaxRetained is the default of WithMaxRetained: at most this many
// records of each kind (enrollments, tokens, instructions, merchant
// authorizations, iFrame sessions, passkeys) are kept once they are no
// longer needed by a live journey. Retained state costs about 7 KiB per
// purchase, so the default keeps a long-running sandbox's heap under
// 64 MiB however long it serves (docs/benchmarks.md, "sandbox retained
// heap").
const DefaultMaxRetained = 4096

// evictSlack is how far below the cap an eviction pass goes, so that a
// pass (a sort of the candidates) runs once per cap/8 new records rather
// than on every one.
func evictSlack(limit int) int { return max(limit/8, 1) }

// liveInstruction reports whether a journey may still need in: it can
// still issue credentials, or one of its credentials was issued and not
// yet confirmed (the merchant may still charge it, or the agent still has
// to confirm a charge, or resume after a crash through the merchant's
// status endpoint). Such an instruction is only dropped by the time-based
// janitor, after its retention.
func liveInstruction(in *instruction, now time.Time) bool {
	if in.status == statusActive && now.Before(in.expires) {
		return true
	}
	for _, c := range in.creds {
		// Unconfirmed, and either still chargeable or already charged.
		if in.confirms[c.txRef] == nil && (now.Before(c.expires) || len(c.auths) > 0) {
			return true
		}
	}
	return false
}

// liveToken reports whether a journey may still need t apart from its
// instructions: a one-time passcode is outstanding, or the token was
// provisioned less than the retention ago and not yet activated.
func (st *state) liveToken(t *token, now time.Time) bool {
	if t.status == visa.TokenInactive && now.Before(t.changed.Add(st.retention)) {
		return true
	}
	b := t.binding
	return b != nil && b.otp != nil && now.Before(b.otp.expires)
}

// evictByCount drops the oldest state no live journey needs until each
// kind is back under st.maxRetained (less a slack). Called with st.mu
// held after the time-based purge.
func (st *state) evictByCount(now time.Time) {
	limit := st.maxRetained
	if limit <= 0 {
		return
	}
	if len(st.enrollments) <= limit && len(st.instructions) <= limit &&
		len(st.tokens) <= limit && len(st.auths) <= limit {
		return
	}
	target := limit - evictSlack(limit)

	if len(st.enrollments) > limit {
		type cand struct {
			id string
			at time.Time
		}
		var cs []cand
		for id, e := range st.enrollments {
			if e.used || !now.Before(e.expires) {
				cs = append(cs, cand{id, e.created})
			}
		}
		slices.SortFunc(cs, func(a, b cand) int { return a.at.Compare(b.at) })
		for _, c := range cs[:min(len(cs), len(st.enrollments)-target)] {
			delete(st.enrollments, c.id)
			st.counters.evicted++
		}
	}

	// Instructions, oldest first; a token with a live instruction is live.
	liveTokens := map[string]bool{}
	lastUse := map[string]time.Time{}
	var ins []*instruction
	for _, in := range st.instructions {
		if in.created.After(lastUse[in.tokenID]) {
			lastUse[in.tokenID] = in.created
		}
		if liveInstruction(in, now) {
			liveTokens[in.tokenID] = true
			continue
		}
		ins = append(ins, in)
	}
	dropped := map[string]bool{}
	if len(st.instructions) > limit {
		slices.SortFunc(ins, func(a, b *instruction) int { return a.created.Compare(b.created) })
		for _, in := range ins[:min(len(ins), len(st.instructions)-target)] {
			delete(st.instructions, in.id)
			dropped[in.id] = true
			st.counters.evicted++
		}
		for _, t := range st.tokens {
			kept := t.creds[:0]
			for _, c := range t.creds {
				if !dropped[c.instructionID] {
					kept = append(kept, c)
				}
			}
			clear(t.creds[len(kept):])
			t.creds = kept
		}
	}

	if len(st.tokens) > limit {
		type cand struct {
			t  *token
			at time.Time
		}
		var cs []cand
		for _, t := range st.tokens {
			if liveTokens[t.id] || st.liveToken(t, now) {
				continue
			}
			at := t.changed
			if u := lastUse[t.id]; u.After(at) {
				at = u
			}
			cs = append(cs, cand{t, at})
		}
		slices.SortFunc(cs, func(a, b cand) int { return a.at.Compare(b.at) })
		for _, c := range cs[:min(len(cs), len(st.tokens)-target)] {
			delete(st.tokens, c.t.id)
			if st.tokensByPAN[c.t.pan] == c.t {
				delete(st.tokensByPAN, c.t.pan)
			}
			st.counters.evicted++
		}
	}

	// Authorizations are in time order: keep those of live instructions
	// (an agent resumes through them), drop the oldest others.
	if len(st.auths) > limit {
		excess := len(st.auths) - target
		kept := st.auths[:0]
		for _, a := range st.auths {
			if excess > 0 && !st.authLive(a, now) {
				excess--
				st.dropAuthRef(a)
				st.counters.evicted++
				continue
			}
			kept = append(kept, a)
		}
		clear(st.auths[len(kept):])
		st.auths = kept
	}
}

// authLive reports whether a's instruction is still live.
func (st *state) authLive(a *Authorization, now time.Time) bool {
	if a.InstructionID == "" {
		return false
	}
	in, ok := st.instructions[a.InstructionID]
	return ok && liveInstruction(in, now)
}

// dropAuthRef removes a from the index by transaction reference.
func (st *state) dropAuthRef(a *Authorization) {
	list := st.authsByRef[a.TransactionReferenceID]
	kept := list[:0]
	for _, x := range list {
		if x != a {
			kept = append(kept, x)
		}
	}
	if len(kept) == 0 {
		delete(st.authsByRef, a.TransactionReferenceID)
		return
	}
	clear(list[len(kept):])
	st.authsByRef[a.TransactionReferenceID] = kept
}

// evictLocked is evictByCount for the Auth iFrame half: finished or
// expired sessions oldest first, then passkeys not used within the
// retention, least recently used first, with their software authenticator
// once no passkey and no live session names it. Redeemed fidoBlob ids are
// never evicted (they go when the blob expires), so a replay is always
// refused. Called with a.mu held.
func (a *authState) evictLocked(now time.Time) {
	limit := a.d.maxRetained
	if limit <= 0 || (len(a.requests) <= limit && len(a.passkeys) <= limit) {
		return
	}
	target := limit - evictSlack(limit)
	liveDevices := map[string]bool{}
	if len(a.requests) > limit {
		var cs []*iframeSession
		for _, s := range a.requests {
			if s.consumed || s.closed || a.expiredLocked(s, now) {
				cs = append(cs, s)
			} else if s.deviceID != "" {
				liveDevices[s.deviceID] = true
			}
		}
		slices.SortFunc(cs, func(x, y *iframeSession) int { return x.readyAt.Compare(y.readyAt) })
		for _, s := range cs[:min(len(cs), len(a.requests)-target)] {
			delete(a.requests, s.requestID)
			if s.secureToken != "" {
				delete(a.tokens, s.secureToken)
			}
		}
	} else {
		for _, s := range a.requests {
			if !s.consumed && !s.closed && s.deviceID != "" && !a.expiredLocked(s, now) {
				liveDevices[s.deviceID] = true
			}
		}
	}
	if len(a.passkeys) <= limit {
		return
	}
	type cand struct {
		key slotKey
		at  time.Time
	}
	var cs []cand
	for k, p := range a.passkeys {
		if !now.Before(p.usedAt.Add(a.d.retention)) {
			cs = append(cs, cand{k, p.usedAt})
		}
	}
	slices.SortFunc(cs, func(x, y cand) int { return x.at.Compare(y.at) })
	gone := map[string]bool{}
	for _, c := range cs[:min(len(cs), len(a.passkeys)-target)] {
		delete(a.passkeys, c.key)
		gone[c.key.deviceID] = true
	}
	for k := range a.passkeys {
		delete(gone, k.deviceID)
	}
	for d := range gone {
		if !liveDevices[d] {
			delete(a.devices, d)
		}
	}
}
