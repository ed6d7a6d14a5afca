package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error a Store returns for one of these conditions wraps
// the sentinel, with context (operation, record id) around it, so callers branch
// with errors.Is. Errors name ids and fields, never a record's values.
var (
	// ErrNotFound reports that the record asked for (or one it refers to,
	// such as a card's user) does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports that a write lost to the stored state: a duplicate
	// id, a compare-and-swap whose expected status no longer holds, a
	// transition the state machine refuses, or a record of a final
	// transaction that is frozen.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid reports a record or argument that fails validation. The
	// error is a *ValidationError naming the field; nothing was written.
	ErrInvalid = errors.New("store: invalid")
	// ErrClosed reports a call on a Store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrDuplicateKey reports that a record with the same idempotency key
	// already exists for that user. It also matches ErrConflict.
	ErrDuplicateKey error = duplicateKeyError{}
)

type duplicateKeyError struct{}

func (duplicateKeyError) Error() string        { return "store: idempotency key already used" }
func (duplicateKeyError) Is(target error) bool { return target == ErrConflict }

// ValidationError says which field of a record or argument was rejected and
// why. It matches ErrInvalid with errors.Is. It never holds the rejected value:
// a field meant for an id may have been handed a secret by mistake.
type ValidationError struct {
	// Record is the kind of record or argument ("card", "transaction", ...).
	Record string
	// Field is the Go name of the rejected field ("Last4", "Currency", ...).
	Field string
	// Reason says what is wrong, in a few words ("must be 4 digits").
	Reason string
}

// Error implements error: "store: invalid card.Last4: must be 4 digits".
func (e *ValidationError) Error() string {
	return fmt.Sprintf("store: invalid %s.%s: %s", e.Record, e.Field, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(record, field, reason string) error {
	return &ValidationError{Record: record, Field: field, Reason: reason}
}
