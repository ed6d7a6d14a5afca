package authframe

import (
	"context"
	"errors"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
)

// Relay lets a Bridge's pages be served by any replica of a fleet. Without
// one, a channel lives in the memory of the process that created it, and
// the Go operation waiting on it (Open, Authenticate) holds a goroutine on
// that process. With one (UseRelay), the page's commands come from, and
// its events go to, a journey kept in a store every replica shares: the
// page may long-poll one replica and post its events to another, the
// journey waits as a stored record, and the event that answers a command
// continues it on whichever replica receives it. package agent implements
// Relay over its journeys (agent.WithBridge).
type Relay interface {
	// Command returns the command the page of channel should run next:
	// the journey's current command when its sequence number is above
	// after, or ok false when there is none yet. A channel the relay does
	// not know (or no longer knows) is ErrUnknownChannel.
	Command(ctx context.Context, channel string, after uint64) (cmd RelayCommand, ok bool, err error)
	// Event hands an event of the page, answering the command numbered
	// seq, to the journey of channel. An event for a command the journey
	// no longer waits for is ignored (nil). ErrUnknownChannel as Command.
	Event(ctx context.Context, channel string, seq uint64, m *Message) error
}

// RelayCommand is a command for a Bridge page: a protocol message, the
// sequence number the page's events answer, and whether to run it in a
// popup window.
type RelayCommand struct {
	Seq     uint64
	Popup   bool
	Message *Message
}

// ErrUnknownChannel is a Relay's answer for a channel it does not know or
// that expired; the Bridge answers 403 and the page stops.
var ErrUnknownChannel = errors.New("authframe: unknown or expired channel")

// UseRelay makes the Bridge serve its pages through r. Call it once, before
// serving: package agent does (agent.WithBridge). With a relay, channels
// are the relay's (NewChannel is not used), and Open, Authenticate and
// Close, which wait in this process, refuse channels they do not hold.
func (b *Bridge) UseRelay(r Relay) error {
	if r == nil {
		return visa.NewInputError("Relay", "is nil")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.relay != nil {
		return visa.NewInputError("Relay", "is already set")
	}
	b.relay = r
	return nil
}

// Relayed reports whether the Bridge serves its pages through a Relay.
func (b *Bridge) Relayed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.relay != nil
}

// The commands and events of the protocol, for a Relay that runs it step by
// step instead of waiting in Open and Authenticate.

// OpenCommand is the CREATE_AUTH_SESSION command that opens a session for
// req's device (journey steps 3 and 10), with its popup flag.
func (b *Bridge) OpenCommand(req OpenRequest) (RelayCommand, error) {
	if check.ClientDeviceID(req.ClientDeviceID) != "" {
		return RelayCommand{}, visa.NewInputError("ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	}
	cmd := &Message{Type: TypeCreateAuthSession, Version: ProtocolVersion, Client: &ClientInfo{ID: req.ClientDeviceID}}
	if req.BrowserData != nil {
		bd := req.BrowserData.Normalize()
		cmd.BrowserData = &bd
	}
	return RelayCommand{Popup: b.popup == PopupAlways, Message: cmd}, nil
}

// AuthenticateCommand is the AUTHENTICATE command of a ceremony (journey
// steps 9 and 12) in the session of requestID; popup says whether the
// session asked for a popup for it (SessionPopup).
func AuthenticateCommand(requestID string, ac visa.AuthenticationContext, popup bool) (RelayCommand, error) {
	if err := checkAuthenticate(&Session{RequestID: requestID}, ac); err != nil {
		return RelayCommand{}, err
	}
	return RelayCommand{Popup: popup, Message: &Message{Type: TypeAuthenticate, RequestID: requestID,
		Version: ProtocolVersion, AuthenticationContext: &ac}}, nil
}

// CloseCommand is the CLOSE_AUTH_SESSION command of the session of
// requestID.
func CloseCommand(requestID string) RelayCommand {
	return RelayCommand{Message: &Message{Type: TypeCloseAuthSession, RequestID: requestID}}
}

// SessionFromEvent reads the AUTH_SESSION_CREATED event that answers an
// OpenCommand for req, in the session of requestID (from the AUTH_READY
// before it). Any other event is a *FrameError (ErrUserCancelled,
// ErrNotSupported, ...). The Session's secureToken is single use: keep it
// in memory for the one request that uses it.
func SessionFromEvent(m *Message, requestID string, req OpenRequest) (*Session, error) {
	return sessionFrom("open", m, requestID, req)
}

// AssuranceFromEvent reads the AUTH_COMPLETE event that answers an
// AuthenticateCommand; any other event is a *FrameError.
func AssuranceFromEvent(m *Message, requestID string) (fido.Assurance, error) {
	return assuranceFrom("authenticate", m, requestID)
}

// SessionPopup says whether the session asked for a popup for ac's action.
func SessionPopup(s *Session, ac visa.AuthenticationContext) bool { return needsPopup(s, ac) }
