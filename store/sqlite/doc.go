// Package sqlite opens the SQL store (package sqlstore) on SQLite, through
// modernc.org/sqlite: pure Go, no cgo. It is the embedded default for a
// single agent process, or a few sharing one file.
//
//	st, err := sqlite.Open(ctx, "/var/lib/agent/vicgo.db") // or ":memory:"
//
// Importing this package links the SQLite driver and nothing of PostgreSQL;
// store/postgres is its counterpart for fleets.
package sqlite
