// Package tapsql is a tap.NonceStore on SQLite or PostgreSQL, for a fleet
// of merchant replicas that must refuse a signature replayed to any of
// them.
//
// New takes a *sql.DB (the SDK's store database, or any other) and a
// Dialect, and creates its table (nonce_key TEXT PRIMARY KEY, expires_at
// BIGINT) if it does not exist. Use records a nonce with one INSERT ...
// ON CONFLICT statement: a live row with the same key means a replay
// (tap.ErrReplay); an expired one is taken over. Expired rows are deleted
// inline, at most once per purge interval, so the store needs no
// goroutine.
//
//	nonces, err := tapsql.New(ctx, db, tapsql.PostgreSQL)
//	v, err := tap.NewVerifier(keys, tap.WithNonceStore(nonces))
package tapsql
