package mcpserver

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
)

// Handles stand for what must never leave the server: an Auth iFrame
// session (its secureToken) and a passkey assurance (its fidoBlob). A tool
// returns an opaque handle; a later tool call passes it back and the
// server looks the real thing up, in memory only, for DefaultHandleTTL at
// most.

// sessionEntry is an Auth iFrame session behind a sessionHandle.
type sessionEntry struct {
	session  *authframe.Session
	tokenID  string
	deviceID string
	// ac is the authentication context of the last attestation options
	// call on this session: authenticate-passkey hands it to the iFrame.
	ac *visa.AuthenticationContext
}

// assuranceEntry is a passkey assurance behind an assuranceHandle.
type assuranceEntry struct {
	assurance fido.Assurance
	ceremony  fido.Ceremony
	dfp       string
	tokenID   string
	deviceID  string
}

type handle struct {
	expires time.Time
	// owner is the authenticated user the handle belongs to ("" without
	// authentication): another caller is told it is unknown.
	owner     string
	session   *sessionEntry
	assurance *assuranceEntry
}

type handleSet struct {
	mu  sync.Mutex
	m   map[string]*handle
	now func() time.Time
}

func newHandleSet(now func() time.Time) *handleSet {
	return &handleSet{m: map[string]*handle{}, now: now}
}

// maxHandles bounds the handles held at once.
const maxHandles = 10000

func (hs *handleSet) put(prefix string, h *handle, ttl time.Duration) (string, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	now := hs.now()
	for id, e := range hs.m {
		if !now.Before(e.expires) {
			delete(hs.m, id)
		}
	}
	if len(hs.m) >= maxHandles {
		return "", false
	}
	id := prefix + rand.Text()
	h.expires = now.Add(ttl)
	hs.m[id] = h
	return id, true
}

// bind records that key belongs to owner, for ttl (an instruction this
// server created).
func (hs *handleSet) bind(key, owner string, ttl time.Duration) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.m) >= maxHandles {
		return
	}
	hs.m[key] = &handle{owner: owner, expires: hs.now().Add(ttl)}
}

func (hs *handleSet) get(id string) *handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.m[id]
	if h == nil {
		return nil
	}
	if !hs.now().Before(h.expires) {
		delete(hs.m, id)
		return nil
	}
	return h
}

// take returns the handle and forgets it: assurances are single use.
func (hs *handleSet) take(id string) *handle {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := hs.m[id]
	delete(hs.m, id)
	if h == nil || !hs.now().Before(h.expires) {
		return nil
	}
	return h
}

func (hs *handleSet) drop(id string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.m, id)
}

func (hs *handleSet) len() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return len(hs.m)
}

func (hs *handleSet) clear() {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	clear(hs.m)
}
