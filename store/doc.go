// Package store is the SDK's pluggable persistence: the Store interface, the
// records it keeps, and the transaction state machine it enforces.
//
// # What is kept, and what never is
//
// A payment agent needs to remember four things between calls (docs/wire.md §3,
// "What to persist"): its users; their cards, as VTS tokens with display
// metadata (vProvisionedTokenID, tokenReferenceID, last 4, expiry, card art,
// token status, VIC enrollment); their passkeys, with the registration
// fidoBlob sealed by fido.Sealer; and their transactions. Nothing else. There
// is no field for a PAN, CVV2, OTP, secureToken, clear fidoBlob or payment
// credential, and free-text fields refuse anything shaped like a card number.
//
// # Implementations
//
// store/memstore is the concurrency-safe in-memory reference. store/sqlstore
// runs on database/sql with embedded, versioned migrations: SQLite
// (modernc.org/sqlite, pure Go) as the embedded default, PostgreSQL (pgx) for
// many agent replicas sharing one database. A caller may bring their own:
// store/storetest.Run is the conformance suite every implementation passes.
//
// # Compare-and-swap
//
// Status changes name the status they expect (from → to) and succeed only if
// it still holds, atomically; otherwise ErrConflict. A replayed or concurrent
// step therefore cannot move a transaction twice: of many racers making the
// same move, exactly one wins. The agent records "about to" statuses
// (CREDENTIALS_REQUESTED, AUTHORIZING) before side effects that must not be
// repeated blindly, so Resume after a crash knows what may have happened.
//
// # The transaction state machine (CanTransition)
//
//	PENDING
//	  → AUTHENTICATED            passkey assertion for the amount (steps 10–12)
//	  → INSTRUCTED               VIC purchase instruction (step 13)
//	  → CREDENTIALS_REQUESTED    about to retrieve a credential (step 14)   ←─┐
//	  → CREDENTIALS_ISSUED       credential in hand          → DECLINED      │ retry with a
//	  → AUTHORIZING              about to authorize (15)     → DECLINED    ──┘ fresh credential
//	  → AUTHORIZED               merchant approved; confirmation due (step 16)
//	  → COMPLETED                approved and confirmed
//
//	any non-final status → FAILED | CANCELLED
//
// Forward moves may skip statuses the agent does not record (PENDING →
// INSTRUCTED). COMPLETED, DECLINED, FAILED and CANCELLED are final: nothing
// leaves them. The one change a final transaction still accepts is
// TxUpdate.Confirmed, once, recording that the outcome (a decline, say) was
// confirmed to VIC; it is a field, not a status, so DECLINED stays DECLINED.
//
// # Errors
//
// ErrNotFound, ErrConflict, ErrInvalid (as *ValidationError) and ErrClosed are
// wrapped with the operation and record id, never with record values; branch
// with errors.Is and errors.As.
//
// Listing returns iter.Seq2[T, error]: range over it, stop when you like, and
// check the error of each step.
package store
