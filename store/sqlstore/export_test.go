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
