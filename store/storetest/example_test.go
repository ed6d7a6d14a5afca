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
