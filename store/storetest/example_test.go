package storetest_test

import (
	"testing"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/storetest"
)

// A conformance test for a Store: here memstore's, in your package your own.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		storetest.Run(t, func(tb testing.TB, clock store.Clock) store.Store {
			s, err := memstore.New(memstore.WithClock(clock))
			if err != nil {
				tb.Fatal(err)
			}
			return s
		})
	}
}

func ExampleBenchTransactionCAS() {
	_ = func(b *testing.B) { // func BenchmarkTransactionCAS(b *testing.B)
		storetest.BenchTransactionCAS(b, func(tb testing.TB, clock store.Clock) store.Store {
			s, err := memstore.New(memstore.WithClock(clock))
			if err != nil {
				tb.Fatal(err)
			}
			return s
		})
	}
}

// Two Stores over one database race each other: here two SQLite Stores on
// one file would be opened by the factory; with memstore, which cannot
// share, both are one Store.
func ExampleRunShared() {
	_ = func(t *testing.T) { // func TestShared(t *testing.T)
		storetest.RunShared(t, func(tb testing.TB, clock store.Clock) (store.Store, store.Store) {
			s, err := memstore.New(memstore.WithClock(clock))
			if err != nil {
				tb.Fatal(err)
			}
			return s, s
		})
	}
}
