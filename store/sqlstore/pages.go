package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"
)

// cursor is the position after the last row yielded: keyset pagination on
// (created_at, key), the listing order.
type cursor struct {
	createdAt time.Time
	key       string
}

// where appends the "after the cursor" condition to a query that already has
// a WHERE clause, as a row comparison the (created_at, key) indexes serve in
// either direction; a nil cursor (the first page) adds nothing.
func (c *cursor) where(s *Store, q string, args []any, keyCol string, desc bool) (string, []any) {
	return c.whereLed(s, q, args, "", nil, keyCol, desc)
}

// whereLed is where for a listing filtered on lead = leadVal (a user, a
// token): the row comparison starts with that column, which changes nothing
// (it is one value) but lets only the (lead, created_at, key) index serve
// it, so that no plan, a generic plan of a prepared statement above all,
// walks the time index of all rows filtering for this lead value. An empty
// lead is where; so is SQLite, whose planner (no generic plans) serves the
// short form from the (lead, created_at, key) index, but searches the long
// one by the lead alone.
func (c *cursor) whereLed(s *Store, q string, args []any, lead string, leadVal any, keyCol string, desc bool) (string, []any) {
	if c == nil {
		return q, args
	}
	op := ">"
	if desc {
		op = "<"
	}
	if lead == "" || s.dialect == SQLite { // SQLite plans the short form well, and not the long one
		args = append(args, s.timeArg(c.createdAt), c.key)
		return q + fmt.Sprintf(" AND (created_at, %s) %s ($%d, $%d)", keyCol, op, len(args)-1, len(args)), args
	}
	args = append(args, leadVal, s.timeArg(c.createdAt), c.key)
	return q + fmt.Sprintf(" AND (%s, created_at, %s) %s ($%d, $%d, $%d)", lead, keyCol, op,
		len(args)-2, len(args)-1, len(args)), args
}

type pageQuery[T any] struct {
	check func() error                                   // argument validation
	start *cursor                                        // resume after this row; nil = from the first
	total int                                            // overall cap; 0 = none
	query func(after *cursor, limit int) (string, []any) // one page's SQL
	scan  func(*sql.Rows) (T, cursor, error)
}

// pages yields a listing page by page. Each page is read and its rows closed
// before any of it is yielded, so the consumer may break at any point, or
// call the Store from inside the loop, without holding a connection.
func pages[T any](ctx context.Context, s *Store, op string, pq pageQuery[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if err := pq.check(); err != nil {
			yield(zero, err)
			return
		}
		after := pq.start
		sent := 0
		for {
			if err := s.begin(ctx, op); err != nil {
				yield(zero, err)
				return
			}
			limit := s.pageSize
			if pq.total > 0 && pq.total-sent < limit {
				limit = pq.total - sent
			}
			items, last, err := readPage(ctx, s, pq, after, limit)
			if err != nil {
				yield(zero, wrap(op, err))
				return
			}
			for _, it := range items {
				if err := ctx.Err(); err != nil {
					yield(zero, wrap(op, err))
					return
				}
				if !yield(it, nil) {
					return
				}
				sent++
			}
			if len(items) < limit || (pq.total > 0 && sent >= pq.total) {
				return
			}
			after = &last
		}
	}
}

func readPage[T any](ctx context.Context, s *Store, pq pageQuery[T], after *cursor, limit int) ([]T, cursor, error) {
	q, args := pq.query(after, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, cursor{}, err
	}
	defer rows.Close()
	var (
		out  []T
		last cursor
	)
	for rows.Next() {
		it, c, err := pq.scan(rows)
		if err != nil {
			return nil, cursor{}, err
		}
		out, last = append(out, it), c
	}
	return out, last, rows.Err()
}
