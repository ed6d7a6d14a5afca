package store

import "time"

// JourneyKind says which journey a Journey record runs.
type JourneyKind string

// Journey kinds.
const (
	// JourneyAddCard adds a card (journey steps 1 to 9).
	JourneyAddCard JourneyKind = "ADD_CARD"
	// JourneyPurchase buys with a card (journey steps 10 to 16); its
	// Transaction has the journey's ID.
	JourneyPurchase JourneyKind = "PURCHASE"
)

// Valid reports whether k is a known kind.
func (k JourneyKind) Valid() bool { return k == JourneyAddCard || k == JourneyPurchase }

// JourneyStatus is where a journey stands as a piece of work: running on a
// replica, waiting for a human, or over.
type JourneyStatus string

// Journey statuses.
const (
	// JourneyRunning: a replica is working on it and holds its lease, or,
	// when the lease has lapsed or nobody holds it, the journey needs
	// recovery by the reconciler.
	JourneyRunning JourneyStatus = "RUNNING"
	// JourneyWaiting: suspended at a human step (NextAction says which);
	// no process holds it, and any replica may continue it.
	JourneyWaiting JourneyStatus = "WAITING"
	// JourneySucceeded (final): the card was added, or the purchase ended
	// with the merchant's answer (its Transaction says which).
	JourneySucceeded JourneyStatus = "SUCCEEDED"
	// JourneyFailed (final): an error ended it; FailureCode says which.
	JourneyFailed JourneyStatus = "FAILED"
	// JourneyCancelled (final): the caller or the cardholder gave up.
	JourneyCancelled JourneyStatus = "CANCELLED"
	// JourneyExpired (final): the human did not answer in time.
	JourneyExpired JourneyStatus = "EXPIRED"
)

// Valid reports whether s is a known journey status.
func (s JourneyStatus) Valid() bool {
	switch s {
	case JourneyRunning, JourneyWaiting, JourneySucceeded, JourneyFailed, JourneyCancelled, JourneyExpired:
		return true
	}
	return false
}

// Final reports whether s ends the journey. A final journey never changes
// again.
func (s JourneyStatus) Final() bool {
	switch s {
	case JourneySucceeded, JourneyFailed, JourneyCancelled, JourneyExpired:
		return true
	}
	return false
}

// MaxJourneyState bounds Journey.State, in bytes.
const MaxJourneyState = 64 << 10

// Journey is one add-card or purchase journey as a piece of work: which
// step it stands at, whether it waits for a human and for what, which
// replica works on it (the lease), and until when it may wait. It is what
// lets a journey outlive the process that started it: any replica sharing
// the Store continues it. It never holds a PAN, CVV2, OTP or a clear
// secureToken or fidoBlob: State holds the agent's non-secret state and,
// where a secret must outlive a request, only its sealed form.
type Journey struct {
	// ID identifies the journey; a purchase's Transaction has the same ID.
	ID string
	// Kind is ADD_CARD or PURCHASE.
	Kind JourneyKind
	// UserID is whose journey it is. It is not a reference: an add-card
	// journey exists before its user is stored.
	UserID string
	// IdempotencyKey is the caller's key; optional. A user has at most one
	// journey of a kind per key (CreateJourney says ErrDuplicateKey).
	IdempotencyKey string
	// RequestHash fingerprints the request that started the journey, so a
	// key reused with another request is told apart; optional.
	RequestHash string
	// Status is RUNNING, WAITING or final.
	Status JourneyStatus
	// Step names the step of the agent's table the journey stands at.
	Step string
	// NextAction names what the human must do while WAITING (the agent's
	// vocabulary, e.g. "ENTER_OTP"); empty otherwise.
	NextAction string
	// State is the agent's state of the journey, at most MaxJourneyState
	// bytes; the Store does not interpret it.
	State []byte
	// ResultID is the added card's token id or the purchase's transaction id.
	ResultID string
	// FailureCode and FailureReason say why a journey failed, was cancelled
	// or expired (FailureReason: UTF-8 text without control characters or
	// card numbers, at most MaxTextLen bytes).
	FailureCode, FailureReason string
	// LeaseOwner names the replica working on the journey; empty when none.
	LeaseOwner string
	// LeaseExpiresAt is when the lease lapses unless renewed; another
	// replica may claim the journey from then on.
	LeaseExpiresAt time.Time
	// ExpiresAt is when a waiting journey is abandoned; zero for none.
	ExpiresAt time.Time
	// Version counts the journey's updates and changes of owner; it is the
	// compare-and-swap token of UpdateJourney. Set by the Store.
	Version int64
	// CreatedAt, UpdatedAt and CompletedAt are set by the Store
	// (CompletedAt when Status becomes final).
	CreatedAt, UpdatedAt, CompletedAt time.Time
}

// Leased reports whether another owner than owner holds a live lease on j
// at now.
func (j Journey) Leased(owner string, now time.Time) bool {
	return j.LeaseOwner != "" && j.LeaseOwner != owner && j.LeaseExpiresAt.After(now)
}

// JourneyFilter selects journeys for ListJourneys. Zero fields do not filter.
type JourneyFilter struct {
	// UserID and Kind keep only that user's journeys, or that kind.
	UserID string
	Kind   JourneyKind
	// NonFinalOnly keeps only RUNNING and WAITING journeys (the
	// reconciler's work list).
	NonFinalOnly bool
	// Limit caps how many are returned; 0 means no cap.
	Limit int
}

// Match reports whether j passes the filter (for implementations that
// filter in Go).
func (f JourneyFilter) Match(j Journey) bool {
	return (f.UserID == "" || j.UserID == f.UserID) && (f.Kind == "" || j.Kind == f.Kind) &&
		(!f.NonFinalOnly || !j.Status.Final())
}
