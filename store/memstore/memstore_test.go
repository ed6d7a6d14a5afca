package memstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func newStore(tb testing.TB, clock store.Clock) store.Store {
	s, err := memstore.New(memstore.WithClock(clock))
	require.NoError(tb, err)
	return s
}

func BenchmarkTransactionInsert(b *testing.B) { storetest.BenchTransactionInsert(b, newStore) }

func BenchmarkTransactionCAS(b *testing.B) { storetest.BenchTransactionCAS(b, newStore) }

func TestWithClockNil(t *testing.T) {
	t.Parallel()
	_, err := memstore.New(memstore.WithClock(nil))
	require.Error(t, err)
}

func BenchmarkPurchaseRecords(b *testing.B) {
	b.Run("split", func(b *testing.B) { storetest.BenchPurchaseRecords(b, newStore, false, nil) })
	b.Run("together", func(b *testing.B) { storetest.BenchPurchaseRecords(b, newStore, true, nil) })
}
