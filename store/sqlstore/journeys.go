package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/vicgo/visa/store"
)

const journeyCols = `id, kind, user_id, idempotency_key, request_hash, status, step, next_action, state,
	result_id, failure_code, failure_reason, lease_owner, lease_expires_at, expires_at, version,
	created_at, updated_at, completed_at`

func scanJourney(row interface{ Scan(...any) error }) (store.Journey, error) {
	var j store.Journey
	err := row.Scan(journeyDest(&j)...)
	if len(j.State) == 0 {
		j.State = nil
	}
	return j, err
}

// journeyDest are the scan destinations of journeyCols in j.
func journeyDest(j *store.Journey) []any {
	return []any{&j.ID, &j.Kind, &j.UserID, &j.IdempotencyKey, &j.RequestHash, &j.Status, &j.Step,
		&j.NextAction, &j.State, &j.ResultID, &j.FailureCode, &j.FailureReason, &j.LeaseOwner,
		dbTime{&j.LeaseExpiresAt}, dbTime{&j.ExpiresAt}, &j.Version, dbTime{&j.CreatedAt},
		dbTime{&j.UpdatedAt}, dbTime{&j.CompletedAt}}
}

// liveJourney is the SQL condition of a journey that may still change, as
// the partial index journeys_live (migration 0003) spells it.
const liveJourney = `status IN ('RUNNING', 'WAITING')`

// CreateJourney implements store.Store: one INSERT ... ON CONFLICT DO
// NOTHING (on the id and on the user's key for the kind), so of racing
// creators exactly one inserts.
func (s *Store) CreateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	if err := j.Validate(); err != nil {
		return store.Journey{}, err
	}
	const op = "create journey"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	out, err := scanJourney(s.db.QueryRowContext(ctx, insertJourney, s.journeyArgs(j, s.stamp())...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Journey{}, s.createConflict(ctx, op, "journeys", j.ID)
	}
	if err != nil {
		return store.Journey{}, wrap(op, err)
	}
	return out, nil
}

// insertJourney is CreateJourney's statement, with the arguments
// journeyArgs gives.
const insertJourney = `INSERT INTO journeys (` + journeyCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16, $17)
		ON CONFLICT DO NOTHING RETURNING ` + journeyCols

// journeyArgs are the arguments of insertJourney for j, created at now.
func (s *Store) journeyArgs(j store.Journey, now time.Time) []any {
	var completed any
	if j.Status.Final() {
		completed = s.timeArg(now)
	}
	return []any{j.ID, j.Kind, j.UserID, j.IdempotencyKey, j.RequestHash, j.Status, j.Step, j.NextAction, blob(j.State),
		j.ResultID, j.FailureCode, j.FailureReason, j.LeaseOwner, s.timeArg(store.Stamp(j.LeaseExpiresAt)),
		s.timeArg(store.Stamp(j.ExpiresAt)), s.timeArg(now), completed}
}

// GetJourney implements store.Store.
func (s *Store) GetJourney(ctx context.Context, id string) (store.Journey, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.Journey{}, err
	}
	const op = "get journey"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	j, err := scanJourney(s.db.QueryRowContext(ctx, `SELECT `+journeyCols+` FROM journeys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Journey{}, fmt.Errorf("sqlstore: journey %s: %w", id, store.ErrNotFound)
	}
	return j, wrap(op, err)
}

// GetJourneyByKey implements store.Store.
func (s *Store) GetJourneyByKey(ctx context.Context, userID string, kind store.JourneyKind, key string) (store.Journey, error) {
	if err := store.CheckID("UserID", userID); err != nil {
		return store.Journey{}, err
	}
	if err := store.CheckID("IdempotencyKey", key); err != nil {
		return store.Journey{}, err
	}
	const op = "get journey by key"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	j, err := scanJourney(s.db.QueryRowContext(ctx, `SELECT `+journeyCols+` FROM journeys
		WHERE user_id = $1 AND kind = $2 AND idempotency_key = $3
		AND idempotency_key <> ''`, userID, kind, key)) // the partial unique index's condition, spelt out so it is used
	if errors.Is(err, sql.ErrNoRows) {
		return store.Journey{}, fmt.Errorf("sqlstore: %s journey of user %s with that key: %w", kind, userID, store.ErrNotFound)
	}
	return j, wrap(op, err)
}

// UpdateJourney implements store.Store with one conditional UPDATE (WHERE
// id = ? AND version = ? AND the journey is not final) ... RETURNING.
func (s *Store) UpdateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	if err := j.Validate(); err != nil {
		return store.Journey{}, err
	}
	const op = "update journey"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	out, err := scanJourney(s.db.QueryRowContext(ctx, updateJourney, s.updateJourneyArgs(j, s.timeArg(s.stamp()))...))
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Journey{}, wrap(op, err)
	}
	return store.Journey{}, s.versionConflict(ctx, op, j)
}

// versionConflict says why UpdateJourney's compare-and-swap of j matched
// nothing.
func (s *Store) versionConflict(ctx context.Context, op string, j store.Journey) error {
	return s.journeyConflict(ctx, op, j.ID, func(cur store.Journey) string {
		return fmt.Sprintf("version is %d, not %d", cur.Version, j.Version)
	})
}

// updateJourney is UpdateJourney's conditional UPDATE ... RETURNING, with
// the arguments updateJourneyArgs gives; the condition comes last.
const updateJourney = `UPDATE journeys SET status = $1, step = $2,
		next_action = $3, state = $4, result_id = $5, failure_code = $6, failure_reason = $7, lease_owner = $8,
		lease_expires_at = $9, expires_at = $10, version = version + 1, updated_at = $11, completed_at = $12
		WHERE id = $13 AND version = $14 AND ` + liveJourney + ` RETURNING ` + journeyCols

// updateJourneyArgs are the arguments of updateJourney for j, at now (a
// timeArg).
func (s *Store) updateJourneyArgs(j store.Journey, now any) []any {
	var completed any
	if j.Status.Final() {
		completed = now
	}
	return []any{j.Status, j.Step, j.NextAction, blob(j.State), j.ResultID, j.FailureCode, j.FailureReason, j.LeaseOwner,
		s.timeArg(store.Stamp(j.LeaseExpiresAt)), s.timeArg(store.Stamp(j.ExpiresAt)), now, completed, j.ID, j.Version}
}

// ClaimJourney implements store.Store with one conditional UPDATE: the lease
// is taken when free, lapsed or already the caller's. A change of owner grows
// the version; a renewal does not.
func (s *Store) ClaimJourney(ctx context.Context, id, owner string, until time.Time) (store.Journey, error) {
	if err := store.CheckClaim(id, owner, until); err != nil {
		return store.Journey{}, err
	}
	const op = "claim journey"
	if err := s.begin(ctx, op); err != nil {
		return store.Journey{}, err
	}
	now := s.timeArg(s.stamp())
	out, err := scanJourney(s.db.QueryRowContext(ctx, `UPDATE journeys SET
		version = CASE WHEN lease_owner = $1 THEN version ELSE version + 1 END,
		updated_at = CASE WHEN lease_owner = $1 THEN updated_at ELSE $3 END,
		lease_owner = $1, lease_expires_at = $2
		WHERE id = $4 AND `+liveJourney+` AND (lease_owner = '' OR lease_owner = $1 OR lease_expires_at <= $3)
		RETURNING `+journeyCols, owner, s.timeArg(store.Stamp(until)), now, id))
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Journey{}, wrap(op, err)
	}
	return store.Journey{}, s.journeyConflict(ctx, op, id, func(store.Journey) string {
		return "leased by another owner"
	})
}

// journeyConflict says why a conditional journey update matched nothing.
func (s *Store) journeyConflict(ctx context.Context, op, id string, why func(store.Journey) string) error {
	cur, err := s.GetJourney(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return err
	case err != nil:
		return wrap(op, err)
	case cur.Status.Final():
		return fmt.Errorf("sqlstore: journey %s: %s is final: %w", id, cur.Status, store.ErrConflict)
	}
	return fmt.Errorf("sqlstore: journey %s: %s: %w", id, why(cur), store.ErrConflict)
}

// ListJourneys implements store.Store.
func (s *Store) ListJourneys(ctx context.Context, f store.JourneyFilter) iter.Seq2[store.Journey, error] {
	return pages(ctx, s, "list journeys", pageQuery[store.Journey]{
		check: f.Validate,
		total: f.Limit,
		query: func(after *cursor, limit int) (string, []any) {
			var conds []string
			var args []any
			arg := func(v any) string {
				args = append(args, v)
				return fmt.Sprintf("$%d", len(args))
			}
			if f.UserID != "" {
				conds = append(conds, "user_id = "+arg(f.UserID))
			}
			if f.Kind != "" {
				conds = append(conds, "kind = "+arg(f.Kind))
			}
			if f.NonFinalOnly {
				conds = append(conds, liveJourney)
			}
			from := ` FROM journeys`
			if s.dialect == SQLite && f.NonFinalOnly && f.UserID == "" {
				from += ` INDEXED BY journeys_live` // as txIndexHint says
			}
			q := `SELECT ` + journeyCols + from + ` WHERE ` + strings.Join(append(conds, "1 = 1"), " AND ")
			if f.UserID != "" {
				q, args = after.whereLed(s, q, args, "user_id", f.UserID, "id", false)
			} else {
				q, args = after.where(s, q, args, "id", false)
			}
			return q + ` ORDER BY created_at, id LIMIT ` + fmt.Sprint(limit), args
		},
		scan: func(r *sql.Rows) (store.Journey, cursor, error) {
			j, err := scanJourney(r)
			return j, cursor{j.CreatedAt, j.ID}, err
		},
	})
}

// blob is b as a NOT NULL column value: never nil.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
