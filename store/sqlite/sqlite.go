package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"

	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"

	"github.com/vicgo/visa/store/sqlstore"
)

// Open opens (creating if needed) the SQLite database at path, or a private
// in-memory database when path is ":memory:", and applies the migrations.
// Files use WAL, a 5 s busy timeout and immediate transactions, so several
// processes may share one file.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: Open: empty path")
	}
	if path == ":memory:" {
		// The memdb VFS gives one database to every connection that names
		// it, unlike ":memory:", which gives each connection its own.
		var b [12]byte
		_, _ = rand.Read(b[:])
		return sqlstore.Open(ctx, "sqlite", "file:/vicgo-"+hex.EncodeToString(b[:])+"?vfs=memdb", opts...)
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath()}
	return sqlstore.Open(ctx, "sqlite", u.String()+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)", opts...)
}
