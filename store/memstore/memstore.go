package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/vicgo/visa/store"
)

// Option configures a Store. An Option may fail, and New reports it.
type Option func(*Store) error

// WithClock sets the clock the Store stamps records with (default time.Now).
func WithClock(c store.Clock) Option {
	return func(s *Store) error {
		if c == nil {
			return errors.New("memstore: WithClock: nil clock")
		}
		s.now = c
		return nil
	}
}

// Store is the in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	now store.Clock

	mu       sync.RWMutex
	closed   bool
	users    map[string]store.User
	cards    map[string]store.Card
	passkeys map[string]map[string]store.Passkey // tokenID → deviceID → passkey
	txs      map[string]store.Transaction
	txKeys   map[[2]string]string // (userID, idempotency key) → transaction id
	journeys map[string]store.Journey
	jKeys    map[[3]string]string // (userID, kind, idempotency key) → journey id
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New(opts ...Option) (*Store, error) {
	s := &Store{
		now:      time.Now,
		users:    map[string]store.User{},
		cards:    map[string]store.Card{},
		passkeys: map[string]map[string]store.Passkey{},
		txs:      map[string]store.Transaction{},
		txKeys:   map[[2]string]string{},
		journeys: map[string]store.Journey{},
		jKeys:    map[[3]string]string{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) stamp() time.Time { return store.Stamp(s.now()) }

// begin checks ctx and closure, then takes the write lock; the caller unlocks.
func (s *Store) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("memstore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

func (s *Store) beginRead(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("memstore: %s: %w", op, store.ErrClosed)
	}
	return nil
}

func notFound(kind, id string) error {
	return fmt.Errorf("memstore: %s %s: %w", kind, id, store.ErrNotFound)
}

// PutUser implements store.Store.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := s.begin(ctx, "put user"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	now := s.stamp()
	u.CreatedAt, u.UpdatedAt = now, now
	if old, ok := s.users[u.ID]; ok {
		u.CreatedAt = old.CreatedAt
	}
	s.users[u.ID] = u
	return nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.User{}, err
	}
	if err := s.beginRead(ctx, "get user"); err != nil {
		return store.User{}, err
	}
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, notFound("user", id)
	}
	return u, nil
}

// PutCard implements store.Store.
func (s *Store) PutCard(ctx context.Context, c store.Card) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.VICEnrollment == "" {
		c.VICEnrollment = store.VICNone
	}
	if err := s.begin(ctx, "put card"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.users[c.UserID]; !ok {
		return fmt.Errorf("memstore: put card %s: user %s: %w", c.TokenID, c.UserID, store.ErrNotFound)
	}
	now := s.stamp()
	c.CreatedAt, c.UpdatedAt = now, now
	if old, ok := s.cards[c.TokenID]; ok {
		if old.UserID != c.UserID {
			return fmt.Errorf("memstore: put card %s: belongs to another user: %w", c.TokenID, store.ErrConflict)
		}
		c.CreatedAt = old.CreatedAt
	}
	s.cards[c.TokenID] = c
	return nil
}

// GetCard implements store.Store.
func (s *Store) GetCard(ctx context.Context, tokenID string) (store.Card, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Card{}, err
	}
	if err := s.beginRead(ctx, "get card"); err != nil {
		return store.Card{}, err
	}
	defer s.mu.RUnlock()
	c, ok := s.cards[tokenID]
	if !ok {
		return store.Card{}, notFound("card", tokenID)
	}
	return c, nil
}

// ListCards implements store.Store.
func (s *Store) ListCards(ctx context.Context, userID string) iter.Seq2[store.Card, error] {
	return list(ctx, s, "list cards", func() ([]store.Card, error) {
		if userID != "" {
			if err := store.CheckID("UserID", userID); err != nil {
				return nil, err
			}
		}
		var out []store.Card
		for _, c := range s.cards {
			if userID == "" || c.UserID == userID {
				out = append(out, c)
			}
		}
		slices.SortFunc(out, func(a, b store.Card) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.TokenID, b.TokenID))
		})
		return out, nil
	})
}

// UpdateCardStatus implements store.Store.
func (s *Store) UpdateCardStatus(ctx context.Context, tokenID string, from, to store.TokenStatus) (store.Card, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Card{}, err
	}
	if !from.Valid() || !to.Valid() {
		return store.Card{}, &store.ValidationError{Record: "card", Field: "TokenStatus", Reason: "unknown token status"}
	}
	if !store.CanTransitionToken(from, to) {
		return store.Card{}, fmt.Errorf("memstore: card %s: %s → %s is not a transition: %w", tokenID, from, to, store.ErrConflict)
	}
	if err := s.begin(ctx, "update card status"); err != nil {
		return store.Card{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.cards[tokenID]
	if !ok {
		return store.Card{}, notFound("card", tokenID)
	}
	if c.TokenStatus != from {
		return store.Card{}, fmt.Errorf("memstore: card %s: status is %s, not %s: %w", tokenID, c.TokenStatus, from, store.ErrConflict)
	}
	c.TokenStatus, c.UpdatedAt = to, s.stamp()
	s.cards[tokenID] = c
	return c, nil
}

// DeleteCard implements store.Store.
func (s *Store) DeleteCard(ctx context.Context, tokenID string) error {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return err
	}
	if err := s.begin(ctx, "delete card"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.cards[tokenID]; !ok {
		return notFound("card", tokenID)
	}
	delete(s.cards, tokenID)
	delete(s.passkeys, tokenID)
	return nil
}

// PutPasskey implements store.Store.
func (s *Store) PutPasskey(ctx context.Context, p store.Passkey) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.SealedBlob = slices.Clone(p.SealedBlob)
	if err := s.begin(ctx, "put passkey"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c, ok := s.cards[p.TokenID]
	if !ok {
		return fmt.Errorf("memstore: put passkey: card %s: %w", p.TokenID, store.ErrNotFound)
	}
	if c.UserID != p.UserID {
		return fmt.Errorf("memstore: put passkey: card %s belongs to another user: %w", p.TokenID, store.ErrConflict)
	}
	p.CreatedAt = s.stamp()
	m := s.passkeys[p.TokenID]
	if m == nil {
		m = map[string]store.Passkey{}
		s.passkeys[p.TokenID] = m
	}
	m[p.DeviceID] = p
	return nil
}

// GetPasskey implements store.Store.
func (s *Store) GetPasskey(ctx context.Context, tokenID, deviceID string) (store.Passkey, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Passkey{}, err
	}
	if err := store.CheckID("DeviceID", deviceID); err != nil {
		return store.Passkey{}, err
	}
	if err := s.beginRead(ctx, "get passkey"); err != nil {
		return store.Passkey{}, err
	}
	defer s.mu.RUnlock()
	p, ok := s.passkeys[tokenID][deviceID]
	if !ok {
		return store.Passkey{}, fmt.Errorf("memstore: passkey of token %s on device %s: %w", tokenID, deviceID, store.ErrNotFound)
	}
	p.SealedBlob = slices.Clone(p.SealedBlob)
	return p, nil
}

// ListPasskeys implements store.Store.
func (s *Store) ListPasskeys(ctx context.Context, tokenID string) iter.Seq2[store.Passkey, error] {
	return list(ctx, s, "list passkeys", func() ([]store.Passkey, error) {
		if err := store.CheckID("TokenID", tokenID); err != nil {
			return nil, err
		}
		var out []store.Passkey
		for _, p := range s.passkeys[tokenID] {
			p.SealedBlob = slices.Clone(p.SealedBlob)
			out = append(out, p)
		}
		slices.SortFunc(out, func(a, b store.Passkey) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.DeviceID, b.DeviceID))
		})
		return out, nil
	})
}

// DeletePasskeys implements store.Store.
func (s *Store) DeletePasskeys(ctx context.Context, tokenID string) (int, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return 0, err
	}
	if err := s.begin(ctx, "delete passkeys"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := len(s.passkeys[tokenID])
	delete(s.passkeys, tokenID)
	return n, nil
}

// CreateTransaction implements store.Store.
func (s *Store) CreateTransaction(ctx context.Context, t store.Transaction) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := s.begin(ctx, "create transaction"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.transactionFree(t); err != nil {
		return err
	}
	s.insertTransaction(t)
	return nil
}

// transactionFree says why t cannot be created (its ID or its key taken,
// its user missing), or nil. s.mu is held.
func (s *Store) transactionFree(t store.Transaction) error {
	if _, ok := s.txs[t.ID]; ok {
		return fmt.Errorf("memstore: create transaction %s: already exists: %w", t.ID, store.ErrConflict)
	}
	if _, ok := s.users[t.UserID]; !ok {
		return fmt.Errorf("memstore: create transaction %s: user %s: %w", t.ID, t.UserID, store.ErrNotFound)
	}
	if t.IdempotencyKey != "" {
		if _, ok := s.txKeys[[2]string{t.UserID, t.IdempotencyKey}]; ok {
			return fmt.Errorf("memstore: create transaction %s: %w", t.ID, store.ErrDuplicateKey)
		}
	}
	return nil
}

// insertTransaction stores t, which transactionFree accepted. s.mu is held.
func (s *Store) insertTransaction(t store.Transaction) {
	if t.IdempotencyKey != "" {
		s.txKeys[[2]string{t.UserID, t.IdempotencyKey}] = t.ID
	}
	now := s.stamp()
	t.CreatedAt, t.UpdatedAt, t.CompletedAt, t.ConfirmedAt = now, now, time.Time{}, time.Time{}
	if t.Status.Final() {
		t.CompletedAt = now
	}
	s.txs[t.ID] = t
}

// GetTransactionByKey implements store.Store.
func (s *Store) GetTransactionByKey(ctx context.Context, userID, key string) (store.Transaction, error) {
	if err := store.CheckID("UserID", userID); err != nil {
		return store.Transaction{}, err
	}
	if err := store.CheckID("IdempotencyKey", key); err != nil {
		return store.Transaction{}, err
	}
	if err := s.beginRead(ctx, "get transaction by key"); err != nil {
		return store.Transaction{}, err
	}
	defer s.mu.RUnlock()
	id, ok := s.txKeys[[2]string{userID, key}]
	if !ok {
		return store.Transaction{}, fmt.Errorf("memstore: transaction of user %s with that key: %w", userID, store.ErrNotFound)
	}
	return s.txs[id], nil
}

// GetTransaction implements store.Store.
func (s *Store) GetTransaction(ctx context.Context, id string) (store.Transaction, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.Transaction{}, err
	}
	if err := s.beginRead(ctx, "get transaction"); err != nil {
		return store.Transaction{}, err
	}
	defer s.mu.RUnlock()
	t, ok := s.txs[id]
	if !ok {
		return store.Transaction{}, notFound("transaction", id)
	}
	return t, nil
}

// TransitionTransaction implements store.Store.
func (s *Store) TransitionTransaction(ctx context.Context, id string, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, error) {
	if err := store.CheckTransition(id, from, to, upd); err != nil {
		return store.Transaction{}, err
	}
	if err := s.begin(ctx, "transition transaction"); err != nil {
		return store.Transaction{}, err
	}
	defer s.mu.Unlock()
	return s.transition(id, from, to, upd)
}

// transition is TransitionTransaction's move. s.mu is held.
func (s *Store) transition(id string, from, to store.TxStatus, upd store.TxUpdate) (store.Transaction, error) {
	t, ok := s.txs[id]
	switch {
	case !ok:
		return store.Transaction{}, notFound("transaction", id)
	case t.Status != from:
		return store.Transaction{}, fmt.Errorf("memstore: transaction %s: status is %s, not %s: %w", id, t.Status, from, store.ErrConflict)
	case upd.Confirmed && !t.ConfirmedAt.IsZero():
		return store.Transaction{}, fmt.Errorf("memstore: transaction %s: already confirmed: %w", id, store.ErrConflict)
	}
	now := s.stamp()
	upd.Apply(&t)
	if upd.Confirmed {
		t.ConfirmedAt = now
	}
	if to.Final() && !from.Final() {
		t.CompletedAt = now
	}
	t.Status, t.UpdatedAt = to, now
	s.txs[id] = t
	return t, nil
}

// ListTransactions implements store.Store.
func (s *Store) ListTransactions(ctx context.Context, f store.TxFilter) iter.Seq2[store.Transaction, error] {
	return list(ctx, s, "list transactions", func() ([]store.Transaction, error) {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		after, _ := f.After() // Validate checked it
		var out []store.Transaction
		for _, t := range s.txs {
			if f.Match(t) && (after == nil || !after.Before(f.Order, t.CreatedAt, t.ID)) {
				out = append(out, t)
			}
		}
		slices.SortFunc(out, func(a, b store.Transaction) int {
			c := cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
			if f.Order == store.NewestFirst {
				return -c
			}
			return c
		})
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[:f.Limit]
		}
		return out, nil
	})
}

// Close implements store.Store. It drops every record; closing twice is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.users, s.cards, s.passkeys, s.txs, s.txKeys, s.journeys, s.jKeys = nil, nil, nil, nil, nil, nil, nil
	return nil
}

// list snapshots under the read lock, then yields without holding it, so the
// consumer may call the Store from inside the loop.
func list[T any](ctx context.Context, s *Store, op string, snapshot func() ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if err := s.beginRead(ctx, op); err != nil {
			yield(zero, err)
			return
		}
		items, err := snapshot()
		s.mu.RUnlock()
		if err != nil {
			yield(zero, err)
			return
		}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				yield(zero, fmt.Errorf("memstore: %s: %w", op, err))
				return
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}
