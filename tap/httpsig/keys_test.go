package httpsig_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap/httpsig"
)

// TestHMACVerifyPooled: the verifying key's pooled keyed HMAC states give
// crypto/hmac's answer for every message, whatever was checked before on
// the same state (a refused signature, a longer message), also
// concurrently.
func TestHMACVerifyPooled(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("s", 40))
	k, err := httpsig.NewHMACVerifyingKey(secret)
	require.NoError(t, err)
	mac := func(msg []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(msg)
		return m.Sum(nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				msg := []byte(fmt.Sprintf("%d-%d-%s", g, i, strings.Repeat("m", i)))
				good := mac(msg)
				bad := append([]byte(nil), good...)
				bad[i%len(bad)] ^= 1
				if err := k.Verify(msg, bad); err == nil {
					t.Errorf("altered MAC accepted for %q", msg)
				}
				if err := k.Verify(msg, good[:len(good)-1]); err == nil {
					t.Errorf("short MAC accepted for %q", msg)
				}
				if err := k.Verify(msg, good); err != nil {
					t.Errorf("right MAC refused for %q: %v", msg, err)
				}
				if err := k.Verify(msg[:len(msg)-1], good); err == nil {
					t.Errorf("MAC of %q accepted for a shorter message", msg)
				}
			}
		})
	}
	wg.Wait()
}
