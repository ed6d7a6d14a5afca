package sqlite

import (
	"time"

	"github.com/vicgo/visa/store/sqlstore"
)

// WithMaxOpenConns caps the connections the Store opens at once; see
// sqlstore.WithMaxOpenConns and sqlstore.DefaultPool for the default.
func WithMaxOpenConns(n int) sqlstore.Option { return sqlstore.WithMaxOpenConns(n) }

// WithMaxIdleConns sets how many idle connections the Store keeps; see
// sqlstore.WithMaxIdleConns.
func WithMaxIdleConns(n int) sqlstore.Option { return sqlstore.WithMaxIdleConns(n) }

// WithConnMaxLifetime retires connections after d (negative: never); see
// sqlstore.WithConnMaxLifetime.
func WithConnMaxLifetime(d time.Duration) sqlstore.Option { return sqlstore.WithConnMaxLifetime(d) }

// WithConnMaxIdleTime closes connections idle for d (negative: never); see
// sqlstore.WithConnMaxIdleTime.
func WithConnMaxIdleTime(d time.Duration) sqlstore.Option { return sqlstore.WithConnMaxIdleTime(d) }
