package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlstore"
)

// TestSQLiteStatementCache: a SQLite Store prepares each SQL text once and
// reuses it (repeating calls adds no statement), the statements give the
// same answers as before, and after Close every call is store.ErrClosed
// and nothing is kept.
func TestSQLiteStatementCache(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "cache.db"))
	require.NoError(t, err)
	u := store.User{ID: "user-1", Email: "a@example.com", Country: "US", Language: "en"}
	require.NoError(t, s.PutUser(ctx, u))
	got, err := s.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.Email, got.Email)
	n := sqlstore.CachedStatements(s)
	require.Positive(t, n, "the statements run were prepared")
	for i := range 20 {
		u.Email = "b@example.com"
		if i%2 == 0 {
			u.Email = "c@example.com"
		}
		require.NoError(t, s.PutUser(ctx, u))
		got, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, u.Email, got.Email, "a prepared statement reads the newest row")
	}
	_, err = s.GetUser(ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, n, sqlstore.CachedStatements(s), "the same texts are not prepared again")

	require.NoError(t, s.Close())
	assert.Zero(t, sqlstore.CachedStatements(s), "Close closes the statements")
	_, err = s.GetUser(ctx, u.ID)
	require.ErrorIs(t, err, store.ErrClosed)
}
