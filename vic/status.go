package vic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/vicgo/visa"
)

// Status is the "status" member of a VIC answer (docs/wire.md §10.2). A
// value this package does not name still decodes, as it is: compare with
// the constants and treat anything else as unknown.
type Status string

// The statuses of docs/wire.md §10.2. A card enrollment answers
// StatusActive; an instruction StatusActive after create and update,
// StatusCancelled after cancel, and is StatusCompleted or StatusExpired
// once used up; a credentials answer is StatusCompleted. StatusPending
// comes only with HTTP 202 (docs/wire.md §6.7), which the client reports
// as a *PendingError, never as a response.
const (
	StatusActive    Status = "ACTIVE"
	StatusCompleted Status = "COMPLETED"
	StatusCancelled Status = "CANCELLED"
	StatusExpired   Status = "EXPIRED"
	StatusPending   Status = "PENDING"
)

// TransactionStatus is the merchant's result of one transaction, sent in
// a confirmation's transactionStatus (docs/wire.md §6.6, §10.2).
type TransactionStatus string

// The transaction statuses of docs/wire.md §10.2.
const (
	TransactionApproved TransactionStatus = "APPROVED"
	TransactionDeclined TransactionStatus = "DECLINED"
)

// PendingEvent is one entry of a VIC answer's pendingEvents
// (docs/wire.md §6.7): something the cardholder has left to do, such as
// "CARDHOLDER_ACTION_PENDING". Visa's event names are not public, so the
// value is opaque: compare it, log it, never parse it. An entry that is
// not a JSON string decodes to its compact JSON text.
type PendingEvent string

// UnmarshalJSON takes a JSON string as is and any other JSON value as its
// compact text.
func (e *PendingEvent) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*e = PendingEvent(s)
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*e = PendingEvent(buf.String())
	return nil
}

// ErrPending matches a *PendingError: VIC accepted the request but has not
// acted on it, because the cardholder has something left to do.
var ErrPending = errors.New("vic: cardholder action pending")

// PendingError is VIC's HTTP 202 answer with status PENDING and
// pendingEvents (docs/wire.md §6.7). It is not a failure: nothing was
// created, changed or redeemed (a passkey assertion in the request is
// still unused), and the same request may be sent again once the
// cardholder has acted. errors.Is(err, ErrPending) finds it.
type PendingError struct {
	// Op is the method that got the answer, e.g. "vic.CreateInstruction".
	Op string
	// ClientReferenceID and InstructionID are the answer's (the
	// instruction id only when the request's path names one).
	ClientReferenceID string
	InstructionID     string
	// Status is StatusPending.
	Status Status
	// Events is what the cardholder has left to do.
	Events []PendingEvent
}

// Error says which call is pending and how many events it waits for; the
// event names are in Events.
func (e *PendingError) Error() string {
	return e.Op + ": cardholder action pending (" + strconv.Itoa(len(e.Events)) + " pending events)"
}

// Is matches ErrPending.
func (e *PendingError) Is(target error) bool { return target == ErrPending }

// MissingMemberError is a VIC answer that lacks a member the wire promises
// (docs/wire.md §6), such as the instructionId of a created instruction.
// It matches visa.ErrMalformedResponse. The request may have been carried
// out: the answer is not to be trusted, not proof that nothing happened.
type MissingMemberError struct {
	// Op is the method that got the answer, e.g. "vic.CreateInstruction".
	Op string
	// Member is the JSON name of the missing member, e.g. "instructionId".
	Member string
}

// Error names the call and the member.
func (e *MissingMemberError) Error() string {
	return e.Op + ": " + visa.ErrMalformedResponse.Error() + ": required member " + e.Member + " is missing"
}

// Unwrap returns visa.ErrMalformedResponse.
func (e *MissingMemberError) Unwrap() error { return visa.ErrMalformedResponse }

// answer turns a decoded VIC answer into an error when it is a pending
// outcome or lacks one of the members named (JSON names of wireStatus).
func (w *wireStatus) answer(op string, required ...string) error {
	if w.Status == StatusPending || (w.Status == "" && len(w.PendingEvents) > 0) {
		return &PendingError{Op: op, ClientReferenceID: w.ClientReferenceID, InstructionID: w.InstructionID,
			Status: StatusPending, Events: w.PendingEvents}
	}
	for _, m := range required {
		var v string
		switch m {
		case "clientReferenceId":
			v = w.ClientReferenceID
		case "instructionId":
			v = w.InstructionID
		case "status":
			v = string(w.Status)
		case "signedPayload":
			v = w.SignedPayload
		}
		if v == "" {
			return &MissingMemberError{Op: op, Member: m}
		}
	}
	return nil
}
