package tap

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
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
//
// It remembers a 64-bit hash of each key (hash/maphash, under a random seed
// of its own) rather than the key. Two different keys with the same hash
// make the second look like a replay: a collision can only refuse a
// request, never accept one, and with a million live nonces it happens to
// about one request in 2^44.
type MemoryNonceStore struct {
	mu        sync.Mutex
	seed      maphash.Seed
	seen      map[uint64]int64 // key hash → expiry, Unix nanoseconds: no pointers for the collector to scan or guard
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
	return &MemoryNonceStore{seed: maphash.MakeSeed(), seen: map[uint64]int64{}, now: now, max: max, nextSweep: 1024}
}

// Use implements NonceStore.
func (m *MemoryNonceStore) Use(_ context.Context, key string, expires time.Time) error {
	var h maphash.Hash
	h.SetSeed(m.seed)
	h.WriteByte(0) // a key given to Use; useNonce's hashes start with 1
	h.WriteString(key)
	return m.use(h.Sum64(), expires)
}

// useNonce records the nonce of keyID from source: what Use(nonceKey(source,
// keyID, nonce)) does, without computing the hex SHA-256 a shared store
// needs.
func (m *MemoryNonceStore) useNonce(source, keyID, nonce string, expires time.Time) error {
	// The bytes hashed: 1, then each part after its length in 8 bytes,
	// built on the stack for the usual sizes (append moves longer ones to
	// the heap) and hashed in one call.
	var buf [256]byte
	b := append(buf[:0], 1)
	for _, s := range [3]string{source, keyID, nonce} {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	return m.use(maphash.Bytes(m.seed, b), expires)
}

func (m *MemoryNonceStore) use(key uint64, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := unixNano(m.now())
	if exp, ok := m.seen[key]; ok && now < exp {
		return ErrReplay
	}
	if len(m.seen) >= m.nextSweep || len(m.seen) >= m.max {
		m.sweep(now)
	}
	if len(m.seen) >= m.max {
		return ErrStoreFull
	}
	m.seen[key] = unixNano(expires)
	return nil
}

// unixNano is t in Unix nanoseconds, clamped to int64's range (UnixNano is
// undefined outside the years 1678–2262), so a far-future expiry never
// wraps into the past and lets a replay through.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// sweep drops expired nonces; the next sweep comes when the map has
// doubled, so the cost per Use stays constant.
func (m *MemoryNonceStore) sweep(now int64) {
	for k, exp := range m.seen {
		if now >= exp {
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
