package postgres

import (
	"context"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the database/sql driver "pgx"

	"github.com/vicgo/visa/store/sqlstore"
)

// Open connects to PostgreSQL (a pgx DSN or URL, such as
// "postgres://user:pass@host:5432/db?sslmode=verify-full") and applies the
// migrations under an advisory lock, so replicas starting together are safe.
func Open(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, "pgx", dsn, opts...)
}
