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
//
// Files are durable across a power loss: synchronous=FULL, so every commit
// syncs the write-ahead log to the disk before it returns (one fsync per
// write, a fraction of a millisecond on an SSD). A status the agent records
// before an effect (AUTHORIZING before the merchant is asked) is then on
// disk before the effect happens, whatever stops the machine. Under
// synchronous=NORMAL, a crash of the process loses nothing either, but a
// power loss or an operating-system crash may roll back the last commits: a
// purchase could read CREDENTIALS_ISSUED although the merchant was asked.
// To make that trade knowingly, open the file with sqlstore.Open and a DSN
// of your own ("file:/path?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)").
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
	return sqlstore.Open(ctx, "sqlite", u.String()+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)", opts...)
}
