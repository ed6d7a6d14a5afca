package tap

import (
	"context"
	"errors"
	"sync"
	"time"
)

// NonceStore remembers the nonces of verified signatures until they expire,
// so a replayed signature is refused. An implementation must make Use
// atomic: of two concurrent calls with the same key, one succeeds.
type NonceStore interface {
	// Use records key as used until expires. It returns an error wrapping
	// ErrReplay when key is recorded and has not expired, and any other
	// error when the store cannot tell.
	Use(ctx context.Context, key string, expires time.Time) error
}

// ErrStoreFull is the error of a MemoryNonceStore holding its maximum of
// live nonces; the verifier answers it as ErrNonceStore (503).
var ErrStoreFull = errors.New("tap: nonce store full")

// DefaultMaxNonces bounds a MemoryNonceStore.
const DefaultMaxNonces = 1 << 20

// MemoryNonceStore is a NonceStore in memory, for one process. Expired
// nonces are swept as new ones arrive, so it needs no goroutine; it holds at
// most a maximum of live nonces and refuses more with ErrStoreFull rather
// than grow without bound. Use tapsql for a fleet of replicas.
type MemoryNonceStore struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	now       func() time.Time
	max       int
	nextSweep int
}

// NewMemoryNonceStore returns an empty store on clock now (time.Now when
// nil) holding at most max live nonces (DefaultMaxNonces when max <= 0).
func NewMemoryNonceStore(now func() time.Time, max int) *MemoryNonceStore {
	if now == nil {
		now = time.Now
	}
	if max <= 0 {
		max = DefaultMaxNonces
	}
	return &MemoryNonceStore{seen: map[string]time.Time{}, now: now, max: max, nextSweep: 1024}
}

// Use implements NonceStore.
func (m *MemoryNonceStore) Use(_ context.Context, key string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if exp, ok := m.seen[key]; ok && now.Before(exp) {
		return ErrReplay
	}
	if len(m.seen) >= m.nextSweep || len(m.seen) >= m.max {
		m.sweep(now)
	}
	if len(m.seen) >= m.max {
		return ErrStoreFull
	}
	m.seen[key] = expires
	return nil
}

// sweep drops expired nonces; the next sweep comes when the map has
// doubled, so the cost per Use stays constant.
func (m *MemoryNonceStore) sweep(now time.Time) {
	for k, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, k)
		}
	}
	m.nextSweep = max(1024, 2*len(m.seen))
}

// Len returns how many nonces the store holds, expired ones not yet swept
// included.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}
