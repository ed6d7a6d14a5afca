package memstore

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/vicgo/visa/store"
)

// CreateJourney implements store.Store.
func (s *Store) CreateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	if err := j.Validate(); err != nil {
		return store.Journey{}, err
	}
	if err := s.begin(ctx, "create journey"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.Unlock()
	if err := s.journeyFree(j); err != nil {
		return store.Journey{}, err
	}
	return s.insertJourney(j), nil
}

// CreatePurchase implements store.PurchaseWriter: under the one lock, both
// records are checked before either is written.
func (s *Store) CreatePurchase(ctx context.Context, j store.Journey, t store.Transaction) (store.Journey, error) {
	if err := store.ValidatePurchase(j, t); err != nil {
		return store.Journey{}, err
	}
	if err := s.begin(ctx, "create purchase"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.Unlock()
	if err := s.journeyFree(j); err != nil {
		return store.Journey{}, err
	}
	if err := s.transactionFree(t); err != nil {
		return store.Journey{}, err
	}
	out := s.insertJourney(j)
	s.insertTransaction(t)
	return out, nil
}

// journeyFree says why j cannot be created (its ID or its key taken), or
// nil. s.mu is held.
func (s *Store) journeyFree(j store.Journey) error {
	if _, ok := s.journeys[j.ID]; ok {
		return fmt.Errorf("memstore: create journey %s: already exists: %w", j.ID, store.ErrConflict)
	}
	if j.IdempotencyKey != "" {
		if _, ok := s.jKeys[[3]string{j.UserID, string(j.Kind), j.IdempotencyKey}]; ok {
			return fmt.Errorf("memstore: create journey %s: %w", j.ID, store.ErrDuplicateKey)
		}
	}
	return nil
}

// insertJourney stores j, which journeyFree accepted, and returns it as
// stored. s.mu is held.
func (s *Store) insertJourney(j store.Journey) store.Journey {
	if j.IdempotencyKey != "" {
		s.jKeys[[3]string{j.UserID, string(j.Kind), j.IdempotencyKey}] = j.ID
	}
	now := s.stamp()
	j.Version, j.CreatedAt, j.UpdatedAt, j.CompletedAt = 1, now, now, time.Time{}
	if j.Status.Final() {
		j.CompletedAt = now
	}
	j = stampJourney(j)
	s.journeys[j.ID] = j
	return cloneJourney(j)
}

// GetJourney implements store.Store.
func (s *Store) GetJourney(ctx context.Context, id string) (store.Journey, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.Journey{}, err
	}
	if err := s.beginRead(ctx, "get journey"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.RUnlock()
	j, ok := s.journeys[id]
	if !ok {
		return store.Journey{}, notFound("journey", id)
	}
	return cloneJourney(j), nil
}

// GetJourneyByKey implements store.Store.
func (s *Store) GetJourneyByKey(ctx context.Context, userID string, kind store.JourneyKind, key string) (store.Journey, error) {
	if err := store.CheckID("UserID", userID); err != nil {
		return store.Journey{}, err
	}
	if err := store.CheckID("IdempotencyKey", key); err != nil {
		return store.Journey{}, err
	}
	if err := s.beginRead(ctx, "get journey by key"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.jKeys[[3]string{userID, string(kind), key}]
	if !ok {
		return store.Journey{}, fmt.Errorf("memstore: %s journey of user %s with that key: %w", kind, userID, store.ErrNotFound)
	}
	return cloneJourney(s.journeys[id]), nil
}

// UpdateJourney implements store.Store.
func (s *Store) UpdateJourney(ctx context.Context, j store.Journey) (store.Journey, error) {
	if err := j.Validate(); err != nil {
		return store.Journey{}, err
	}
	if err := s.begin(ctx, "update journey"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.Unlock()
	return s.updateJourney(j)
}

// updateJourney is UpdateJourney's compare-and-swap. s.mu is held.
func (s *Store) updateJourney(j store.Journey) (store.Journey, error) {
	cur, ok := s.journeys[j.ID]
	switch {
	case !ok:
		return store.Journey{}, notFound("journey", j.ID)
	case cur.Status.Final():
		return store.Journey{}, fmt.Errorf("memstore: journey %s: %s is final: %w", j.ID, cur.Status, store.ErrConflict)
	case cur.Version != j.Version:
		return store.Journey{}, fmt.Errorf("memstore: journey %s: version is %d, not %d: %w", j.ID, cur.Version, j.Version, store.ErrConflict)
	}
	now := s.stamp()
	cur.Status, cur.Step, cur.NextAction, cur.State = j.Status, j.Step, j.NextAction, slices.Clone(j.State)
	cur.ResultID, cur.FailureCode, cur.FailureReason = j.ResultID, j.FailureCode, j.FailureReason
	cur.LeaseOwner, cur.LeaseExpiresAt, cur.ExpiresAt = j.LeaseOwner, j.LeaseExpiresAt, j.ExpiresAt
	cur.Version++
	cur.UpdatedAt = now
	if cur.Status.Final() {
		cur.CompletedAt = now
	}
	cur = stampJourney(cur)
	s.journeys[j.ID] = cur
	return cloneJourney(cur), nil
}

// FinishPurchase implements store.PurchaseWriter: under the one lock, the
// move, then, if it was made, the journey's update.
func (s *Store) FinishPurchase(ctx context.Context, j store.Journey, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, store.Journey, error) {
	if err := j.Validate(); err != nil {
		return store.Transaction{}, store.Journey{}, err
	}
	if err := store.CheckTransition(j.ID, from, to, upd); err != nil {
		return store.Transaction{}, store.Journey{}, err
	}
	if err := s.begin(ctx, "finish purchase"); err != nil {
		return store.Transaction{}, store.Journey{}, err
	}
	defer s.mu.Unlock()
	t, err := s.transition(j.ID, from, to, upd)
	if err != nil {
		return store.Transaction{}, store.Journey{}, err
	}
	out, err := s.updateJourney(j)
	return t, out, err
}

// ClaimJourney implements store.Store.
func (s *Store) ClaimJourney(ctx context.Context, id, owner string, until time.Time) (store.Journey, error) {
	if err := store.CheckClaim(id, owner, until); err != nil {
		return store.Journey{}, err
	}
	if err := s.begin(ctx, "claim journey"); err != nil {
		return store.Journey{}, err
	}
	defer s.mu.Unlock()
	cur, ok := s.journeys[id]
	now := s.stamp()
	switch {
	case !ok:
		return store.Journey{}, notFound("journey", id)
	case cur.Status.Final():
		return store.Journey{}, fmt.Errorf("memstore: journey %s: %s is final: %w", id, cur.Status, store.ErrConflict)
	case cur.Leased(owner, now):
		return store.Journey{}, fmt.Errorf("memstore: journey %s: leased by another owner: %w", id, store.ErrConflict)
	}
	if cur.LeaseOwner != owner {
		cur.Version++
		cur.UpdatedAt = now
	}
	cur.LeaseOwner, cur.LeaseExpiresAt = owner, store.Stamp(until)
	s.journeys[id] = cur
	return cloneJourney(cur), nil
}

// ListJourneys implements store.Store.
func (s *Store) ListJourneys(ctx context.Context, f store.JourneyFilter) iter.Seq2[store.Journey, error] {
	return list(ctx, s, "list journeys", func() ([]store.Journey, error) {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		var out []store.Journey
		for _, j := range s.journeys {
			if f.Match(j) {
				out = append(out, cloneJourney(j))
			}
		}
		slices.SortFunc(out, func(a, b store.Journey) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[:f.Limit]
		}
		return out, nil
	})
}

func stampJourney(j store.Journey) store.Journey {
	if !j.LeaseExpiresAt.IsZero() {
		j.LeaseExpiresAt = store.Stamp(j.LeaseExpiresAt)
	}
	if !j.ExpiresAt.IsZero() {
		j.ExpiresAt = store.Stamp(j.ExpiresAt)
	}
	return j
}

func cloneJourney(j store.Journey) store.Journey {
	j.State = slices.Clone(j.State)
	return j
}
