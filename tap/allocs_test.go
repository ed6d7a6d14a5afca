//go:build !race

// The race detector drops sync.Pool items at random, so these counts hold
// without it only.

package tap_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// TestVerifyAllocs: a TAP verification with the in-memory nonce store
// allocates once: the Identity it returns (the parsed signature lives in a
// pooled block, httpsig.Parser.ParseFunc). Ed25519 and HMAC only: the
// other algorithms allocate inside the standard library.
func TestVerifyAllocs(t *testing.T) {
	ed, _, _ := testKeys(t)
	edKey, err := httpsig.NewSigningKey(httpsig.Ed25519, ed)
	require.NoError(t, err)
	hmacKey, err := httpsig.NewHMACKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	now := time.Unix(1767225600, 0)
	for _, sk := range []*httpsig.SigningKey{edKey, hmacKey} {
		t.Run(string(sk.Algorithm()), func(t *testing.T) {
			const runs = 200
			reqs := make([]*http.Request, runs+1)
			for i := range reqs {
				r := httptest.NewRequest(http.MethodPost, "https://shop.example/checkout/42?step=pay", nil)
				require.NoError(t, httpsig.SignRequest(r, "sig1", httpsig.MustComponents(`"@authority"`, `"@path"`),
					httpsig.Params{Created: now, Expires: now.Add(8 * time.Minute), KeyID: "agent", Alg: sk.Algorithm(),
						Nonce: fmt.Sprintf("nonce-%044d", i), Tag: string(tap.TagPayer)}, sk))
				reqs[i] = r
			}
			v, err := tap.NewVerifier(tap.StaticKeys{"agent": sk.VerifyingKey()}, tap.WithClock(func() time.Time { return now }))
			require.NoError(t, err)
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				if _, err := v.Verify(reqs[i], tap.TagPayer); err != nil {
					t.Fatal(err)
				}
				i++
			})
			require.LessOrEqual(t, allocs, 1.0)
		})
	}
}
