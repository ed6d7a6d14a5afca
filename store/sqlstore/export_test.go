package sqlstore

// SetTrace makes s call f with every statement it runs, for the tests.
// Call it before using s from several goroutines.
func SetTrace(s *Store, f func(query string, args []any)) { s.db.trace = f }

// NonFinalTxCond and UnconfirmedTxCond are the reconciler's list
// conditions, spelt out as the partial indexes spell them.
const (
	NonFinalTxCond    = nonFinalTxCond
	UnconfirmedTxCond = unconfirmedTxCond
)

// CachedStatements is how many prepared statements s keeps.
func CachedStatements(s *Store) int {
	if s.db.stmts == nil {
		return 0
	}
	s.db.stmts.mu.Lock()
	defer s.db.stmts.mu.Unlock()
	return len(s.db.stmts.m)
}
