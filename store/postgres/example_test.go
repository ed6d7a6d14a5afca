package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

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

// A replica that serves up to 100 concurrent journeys keeps as many
// connections idle as it may open, so bursts reuse them.
func ExampleWithMaxOpenConns() {
	dsn := os.Getenv("VISA_TEST_POSTGRES_DSN")
	if dsn == "" {
		return // no database in this environment
	}
	st, err := postgres.Open(context.Background(), dsn,
		postgres.WithMaxOpenConns(50), postgres.WithMaxIdleConns(50),
		postgres.WithConnMaxLifetime(time.Hour), postgres.WithConnMaxIdleTime(10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	fmt.Println("pool of", st.Stats().MaxOpenConnections)
}
