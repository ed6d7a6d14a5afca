package agenttest

import (
	"slices"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/internal/hooks"
)

// Boundary names a point of a purchase where WithInterrupt can simulate a
// crash: after the status of a step is recorded, or after its side effect
// and before the status that follows it is.
type Boundary string

// Purchase boundaries, in journey order.
const (
	AfterPending             Boundary = "after-pending"
	AfterAssertion           Boundary = "after-assertion"
	AfterAuthenticated       Boundary = "after-authenticated"
	AfterInstructionCreated  Boundary = "after-instruction-created"
	AfterInstructed          Boundary = "after-instructed"
	AfterCredentialsRequest  Boundary = "after-credentials-requested"
	AfterCredentialsReceived Boundary = "after-credentials-received"
	AfterCredentialsIssued   Boundary = "after-credentials-issued"
	AfterAuthorizing         Boundary = "after-authorizing"
	AfterCharge              Boundary = "after-charge"
	AfterAuthorized          Boundary = "after-authorized"
	AfterConfirmed           Boundary = "after-confirmed"
	// AfterDeclineConfirmed is on the decline path only: the decline was
	// confirmed to VIC and the record does not say so yet.
	AfterDeclineConfirmed Boundary = "after-decline-confirmed"
)

// Boundaries lists every purchase boundary in order, as the agent's
// purchase table declares them.
func Boundaries() []Boundary {
	var out []Boundary
	for _, b := range hooks.Boundaries() {
		out = append(out, Boundary(b))
	}
	return out
}

// IsBoundary reports whether b is one of Boundaries.
func IsBoundary(b Boundary) bool { return slices.Contains(Boundaries(), b) }

// WithInterrupt installs a hook asked at every crash boundary of a
// journey; when it returns true the journey stops right there, exactly as
// if the process had died: nothing is cleaned up, its lease is left to
// lapse, and the call returns agent.ErrInterrupted. Add-card journeys ask it
// too, with boundaries named "add-card:after-<step>".
func WithInterrupt(f func(Boundary) bool) agent.Option {
	return hooks.Interrupt(func(b string) bool { return f(Boundary(b)) }).(agent.Option)
}
