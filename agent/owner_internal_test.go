package agent

import (
	"testing"

	"github.com/vicgo/visa/internal/check"
)

// Lease owners never look like a card number, which the store refuses:
// with an owner name ending in digits, the random hex suffix of a run made
// one now and then (found by the fleet test, test/fleet, as "recording the
// journey: store: invalid journey.LeaseOwner: looks like a card number").
func TestOwnersNeverLookLikeCardNumbers(t *testing.T) {
	t.Parallel()
	owners := []string{"replica-12345", "shop-2024-7", "vm-abcdefgh"}
	for _, host := range []string{"vm", "ip-10-0-1-234", "node-123456789012", "4111 1111 1111 1111", ""} {
		o := ownerFor(host)
		if check.HasCardNumber(o) {
			t.Errorf("the owner %q of host %q looks like a card number", o, host)
		}
		owners = append(owners, o)
	}
	for _, owner := range owners {
		a := &Agent{owner: owner}
		for range 20000 {
			if o := a.runOwner(); check.HasCardNumber(o) {
				t.Fatalf("the run owner %q looks like a card number", o)
			}
		}
	}
}
