package visa

import (
	"strings"
	"sync"
	"testing"
)

// TestSealRoundTrip seals values of every length from 0 to 100 (and a few
// longer than the pooled buffer), opens them, and checks that equal values
// seal to equal handles and different values to different ones.
func TestSealRoundTrip(t *testing.T) {
	lengths := make([]int, 0, 104)
	for n := range 101 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, maxPooledSealBuf-sealedIVSize, maxPooledSealBuf, 4*maxPooledSealBuf+3)
	seen := map[sealed]string{}
	for _, n := range lengths {
		v := value(n)
		p := seal(v)
		if got := p.open(); got != v {
			t.Fatalf("length %d: open(seal(v)) differs from v", n)
		}
		if n == 0 {
			if !p.isZero() {
				t.Fatal(`"" did not seal to the zero sealed`)
			}
			continue
		}
		if p.isZero() {
			t.Fatalf("length %d sealed to the zero sealed", n)
		}
		if q := seal(strings.Clone(v)); q != p || !q.equal(p) {
			t.Fatalf("length %d: equal values sealed to different handles", n)
		}
		if raw := p.h.Value(); len(raw) != sealedIVSize+n || (n >= 8 && strings.Contains(raw, v[:8])) {
			t.Fatalf("length %d: the handle is not iv and ciphertext", n)
		}
		if other, ok := seen[p]; ok {
			t.Fatalf("length %d: same handle as a value of length %d", n, len(other))
		}
		seen[p] = v
		// One byte changed: another handle.
		w := []byte(v)
		w[n-1] ^= 1
		if seal(string(w)) == p {
			t.Fatalf("length %d: values one bit apart sealed to the same handle", n)
		}
	}
}

// value returns n bytes covering every byte value, not only text.
func value(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + n)
	}
	return string(b)
}

// TestSealConcurrent seals and opens from many goroutines at once (the
// pooled states are shared by the process); run it with -race.
func TestSealConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	want := seal("4111111111111111")
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				v := value(i%64 + g)
				if got := seal(v).open(); got != v {
					t.Errorf("goroutine %d: round trip of length %d failed", g, len(v))
					return
				}
				if seal("4111111111111111") != want {
					t.Errorf("goroutine %d: the same value sealed to another handle", g)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestSealAllocs pins what sealing a value already interned costs: the
// string iv ‖ ciphertext handed to unique.Make and crypto/cipher's CTR
// stream; the keyed HMAC and the scratch buffer come from the pool.
func TestSealAllocs(t *testing.T) {
	if raceOn {
		t.Skip("the race detector changes allocations")
	}
	const v = "4111111111111111"
	_ = seal(v)
	if n := testing.AllocsPerRun(200, func() { _ = seal(v) }); n > 2 {
		t.Errorf("seal allocates %v times per call, want at most 2", n)
	}
	p := seal(v)
	if n := testing.AllocsPerRun(200, func() { _ = p.open() }); n > 2 {
		t.Errorf("open allocates %v times per call, want at most 2", n)
	}
}
