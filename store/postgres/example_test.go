package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/vicgo/visa/store/postgres"
	"github.com/vicgo/visa/store/sqlstore"
)

// Replicas of an agent share one PostgreSQL database; the migrations run
// under an advisory lock, so replicas may start together.
func ExampleOpen() {
	dsn := os.Getenv("VISA_TEST_POSTGRES_DSN")
	if dsn == "" {
		return // no database in this environment
	}
	st, err := postgres.Open(context.Background(), dsn, sqlstore.WithPageSize(500))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}
