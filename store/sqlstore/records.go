package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"

	"github.com/vicgo/visa/store"
)

// PutUser implements store.Store.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	const op = "put user"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	now := s.timeArg(s.stamp())
	_, err := s.db.ExecContext(ctx, `INSERT INTO users (id, email, country, language, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (id) DO UPDATE SET email = excluded.email, country = excluded.country,
			language = excluded.language, updated_at = excluded.updated_at`,
		u.ID, u.Email, u.Country, u.Language, now)
	return wrap(op, err)
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	if err := store.CheckID("ID", id); err != nil {
		return store.User{}, err
	}
	const op = "get user"
	if err := s.begin(ctx, op); err != nil {
		return store.User{}, err
	}
	var u store.User
	err := s.db.QueryRowContext(ctx, `SELECT id, email, country, language, created_at, updated_at
		FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Email, &u.Country, &u.Language, dbTime{&u.CreatedAt}, dbTime{&u.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("sqlstore: user %s: %w", id, store.ErrNotFound)
	}
	return u, wrap(op, err)
}

const cardCols = `token_id, user_id, token_reference_id, last4, expiry_month, expiry_year,
	card_art_url, token_status, vic_enrollment, created_at, updated_at`

func scanCard(row interface{ Scan(...any) error }) (store.Card, error) {
	var c store.Card
	err := row.Scan(&c.TokenID, &c.UserID, &c.TokenReferenceID, &c.Last4, &c.ExpiryMonth, &c.ExpiryYear,
		&c.CardArtURL, &c.TokenStatus, &c.VICEnrollment, dbTime{&c.CreatedAt}, dbTime{&c.UpdatedAt})
	return c, err
}

// PutCard implements store.Store. One statement: the upsert's WHERE keeps a
// card with its owner, and the foreign key requires the user.
func (s *Store) PutCard(ctx context.Context, c store.Card) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.VICEnrollment == "" {
		c.VICEnrollment = store.VICNone
	}
	const op = "put card"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	now := s.timeArg(s.stamp())
	res, err := s.db.ExecContext(ctx, `INSERT INTO cards (`+cardCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (token_id) DO UPDATE SET token_reference_id = excluded.token_reference_id,
			last4 = excluded.last4, expiry_month = excluded.expiry_month, expiry_year = excluded.expiry_year,
			card_art_url = excluded.card_art_url, token_status = excluded.token_status,
			vic_enrollment = excluded.vic_enrollment, updated_at = excluded.updated_at
		WHERE cards.user_id = excluded.user_id`,
		c.TokenID, c.UserID, c.TokenReferenceID, c.Last4, c.ExpiryMonth, c.ExpiryYear,
		c.CardArtURL, c.TokenStatus, c.VICEnrollment, now)
	if isForeignKey(err) {
		return fmt.Errorf("sqlstore: put card %s: user %s: %w", c.TokenID, c.UserID, store.ErrNotFound)
	}
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: put card %s: belongs to another user: %w", c.TokenID, store.ErrConflict)
	}
	return nil
}

// GetCard implements store.Store.
func (s *Store) GetCard(ctx context.Context, tokenID string) (store.Card, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Card{}, err
	}
	const op = "get card"
	if err := s.begin(ctx, op); err != nil {
		return store.Card{}, err
	}
	c, err := scanCard(s.db.QueryRowContext(ctx, `SELECT `+cardCols+` FROM cards WHERE token_id = $1`, tokenID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Card{}, fmt.Errorf("sqlstore: card %s: %w", tokenID, store.ErrNotFound)
	}
	return c, wrap(op, err)
}

// ListCards implements store.Store.
func (s *Store) ListCards(ctx context.Context, userID string) iter.Seq2[store.Card, error] {
	return pages(ctx, s, "list cards", pageQuery[store.Card]{
		check: func() error {
			if userID == "" {
				return nil // every user's cards
			}
			return store.CheckID("UserID", userID)
		},
		query: func(after *cursor, limit int) (string, []any) {
			q, args := `SELECT `+cardCols+` FROM cards WHERE user_id = $1`, []any{userID}
			if userID == "" {
				q, args = `SELECT `+cardCols+` FROM cards WHERE 1 = 1`, nil
			}
			q, args = after.where(s, q, args, "token_id", false)
			return q + ` ORDER BY created_at, token_id LIMIT ` + fmt.Sprint(limit), args
		},
		scan: func(r *sql.Rows) (store.Card, cursor, error) {
			c, err := scanCard(r)
			return c, cursor{c.CreatedAt, c.TokenID}, err
		},
	})
}

// UpdateCardStatus implements store.Store: UPDATE ... WHERE token_status = from.
func (s *Store) UpdateCardStatus(ctx context.Context, tokenID string, from, to store.TokenStatus) (store.Card, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Card{}, err
	}
	if !from.Valid() || !to.Valid() {
		return store.Card{}, &store.ValidationError{Record: "card", Field: "TokenStatus", Reason: "unknown token status"}
	}
	if !store.CanTransitionToken(from, to) {
		return store.Card{}, fmt.Errorf("sqlstore: card %s: %s → %s is not a transition: %w", tokenID, from, to, store.ErrConflict)
	}
	const op = "update card status"
	if err := s.begin(ctx, op); err != nil {
		return store.Card{}, err
	}
	c, err := scanCard(s.db.QueryRowContext(ctx, `UPDATE cards SET token_status = $1, updated_at = $2
		WHERE token_id = $3 AND token_status = $4 RETURNING `+cardCols,
		to, s.timeArg(s.stamp()), tokenID, from))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Card{}, wrap(op, err)
	}
	var cur store.TokenStatus
	err = s.db.QueryRowContext(ctx, `SELECT token_status FROM cards WHERE token_id = $1`, tokenID).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Card{}, fmt.Errorf("sqlstore: card %s: %w", tokenID, store.ErrNotFound)
	case err != nil:
		return store.Card{}, wrap(op, err)
	}
	return store.Card{}, fmt.Errorf("sqlstore: card %s: status is %s, not %s: %w", tokenID, cur, from, store.ErrConflict)
}

// DeleteCard implements store.Store; its passkeys go by ON DELETE CASCADE.
func (s *Store) DeleteCard(ctx context.Context, tokenID string) error {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return err
	}
	const op = "delete card"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM cards WHERE token_id = $1`, tokenID)
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: card %s: %w", tokenID, store.ErrNotFound)
	}
	return nil
}

const passkeyCols = `token_id, device_id, user_id, identifier, sealed_blob, rp_id, created_at`

func scanPasskey(row interface{ Scan(...any) error }) (store.Passkey, error) {
	var p store.Passkey
	var blob []byte
	err := row.Scan(&p.TokenID, &p.DeviceID, &p.UserID, &p.Identifier, &blob, &p.RPID, dbTime{&p.CreatedAt})
	p.SealedBlob = blob
	return p, err
}

// PutPasskey implements store.Store. The foreign key (token_id, user_id) →
// cards requires the card and its owner in the same statement.
func (s *Store) PutPasskey(ctx context.Context, p store.Passkey) error {
	if err := p.Validate(); err != nil {
		return err
	}
	const op = "put passkey"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (token_id, device_id) DO UPDATE SET user_id = excluded.user_id,
			identifier = excluded.identifier, sealed_blob = excluded.sealed_blob,
			rp_id = excluded.rp_id, created_at = excluded.created_at`,
		p.TokenID, p.DeviceID, p.UserID, p.Identifier, []byte(p.SealedBlob), p.RPID, s.timeArg(s.stamp()))
	if !isForeignKey(err) {
		return wrap(op, err)
	}
	// Which reference failed: no card, or a card of another user?
	var owner string
	err = s.db.QueryRowContext(ctx, `SELECT user_id FROM cards WHERE token_id = $1`, p.TokenID).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: put passkey: card %s: %w", p.TokenID, store.ErrNotFound)
	case err != nil:
		return wrap(op, err)
	}
	return fmt.Errorf("sqlstore: put passkey: card %s belongs to another user: %w", p.TokenID, store.ErrConflict)
}

// GetPasskey implements store.Store.
func (s *Store) GetPasskey(ctx context.Context, tokenID, deviceID string) (store.Passkey, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return store.Passkey{}, err
	}
	if err := store.CheckID("DeviceID", deviceID); err != nil {
		return store.Passkey{}, err
	}
	const op = "get passkey"
	if err := s.begin(ctx, op); err != nil {
		return store.Passkey{}, err
	}
	p, err := scanPasskey(s.db.QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys
		WHERE token_id = $1 AND device_id = $2`, tokenID, deviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Passkey{}, fmt.Errorf("sqlstore: passkey of token %s on device %s: %w", tokenID, deviceID, store.ErrNotFound)
	}
	return p, wrap(op, err)
}

// ListPasskeys implements store.Store.
func (s *Store) ListPasskeys(ctx context.Context, tokenID string) iter.Seq2[store.Passkey, error] {
	return pages(ctx, s, "list passkeys", pageQuery[store.Passkey]{
		check: func() error { return store.CheckID("TokenID", tokenID) },
		query: func(after *cursor, limit int) (string, []any) {
			q, args := `SELECT `+passkeyCols+` FROM passkeys WHERE token_id = $1`, []any{tokenID}
			q, args = after.where(s, q, args, "device_id", false)
			return q + ` ORDER BY created_at, device_id LIMIT ` + fmt.Sprint(limit), args
		},
		scan: func(r *sql.Rows) (store.Passkey, cursor, error) {
			p, err := scanPasskey(r)
			return p, cursor{p.CreatedAt, p.DeviceID}, err
		},
	})
}

// DeletePasskeys implements store.Store.
func (s *Store) DeletePasskeys(ctx context.Context, tokenID string) (int, error) {
	if err := store.CheckID("TokenID", tokenID); err != nil {
		return 0, err
	}
	const op = "delete passkeys"
	if err := s.begin(ctx, op); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM passkeys WHERE token_id = $1`, tokenID)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap(op, err)
}
