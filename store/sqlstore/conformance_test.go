package sqlstore_test

import (
	"testing"

	"github.com/vicgo/visa/store/storetest"
)

func TestConformanceSQLiteMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newSQLiteMemory)
}

func TestConformanceSQLiteFile(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newSQLiteFile)
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	storetest.Run(t, newPostgres)
}
