// Package memstore is the in-memory store.Store: the reference
// implementation, safe for concurrent use, for tests, examples and
// single-process agents that may forget everything on restart.
//
// One mutex guards four maps. Every compare-and-swap happens under the write
// lock, so of many goroutines making the same move exactly one wins. Records
// are copied in and out (a SealedBlob included), so a caller's later changes
// never reach the store. Listings take a snapshot under the read lock and
// yield without holding it, so the loop body may call the Store.
//
//	s, err := memstore.New()                      // or memstore.New(memstore.WithClock(fake))
//	err = s.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com"})
//
// It passes store/storetest.Run, like every Store.
package memstore
