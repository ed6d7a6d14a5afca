// Package storetest is the conformance suite for store.Store. Every
// implementation in this module runs it, and so should yours: a Store that
// passes it behaves like the others where the agent can tell.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB, clock store.Clock) store.Store {
//			s, err := mystore.Open(tb.TempDir(), mystore.WithClock(clock))
//			if err != nil {
//				tb.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Run calls the factory once per subtest (the subtests run in parallel), with
// a clock the Store must stamp records with: it ticks one second per reading,
// in a zone other than UTC, with sub-microsecond digits, so the suite can
// check ordering and normalisation (store.Stamp). Run closes each Store.
//
// What it checks: CRUD and references for every record, not found, validation
// (a bad record is refused with *store.ValidationError, nothing is written,
// and the value is not echoed), the compare-and-swap rules and the state
// machine, 32 goroutines racing one CAS with exactly one winner, listing
// order, filters, limits, early break and writes from inside the loop,
// context cancellation (a done context writes nothing), the sealed fidoBlob
// round trip through fido.Sealer, time stamps, and Close.
//
// BenchTransactionInsert and BenchTransactionCAS measure the two writes on the
// purchase path, for any Store.
package storetest
