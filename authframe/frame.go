package authframe

import (
	"context"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
)

// Frame is the Auth iFrame as the server side sees it: open a session
// (journey steps 3 and 10), run one passkey ceremony for an authentication
// context (steps 9 and 12), close it. Direct speaks to the iFrame from the
// server (sandbox JSON mode, headless agents); Bridge relays to a real
// iFrame in the cardholder's browser.
type Frame interface {
	// Open starts a session for a device and returns its single-use
	// secureToken, dfpSessionID and browserData.
	Open(ctx context.Context, req OpenRequest) (*Session, error)
	// Authenticate runs the ceremony the authentication context asks for
	// (REGISTER creates a passkey, AUTHENTICATE uses it) and returns the
	// assurance. It consumes the session's secureToken, whatever the
	// outcome.
	Authenticate(ctx context.Context, s *Session, ac visa.AuthenticationContext) (fido.Assurance, error)
	// Close ends the session.
	Close(ctx context.Context, s *Session) error
}

// OpenRequest says for which device a session is opened.
type OpenRequest struct {
	// ClientDeviceID is the device's stable 24-character id (client.id).
	ClientDeviceID string
	// BrowserData, when known (collected from the cardholder's browser),
	// is sent along; otherwise the iFrame supplies it.
	BrowserData *visa.BrowserData
	// Channel names the Bridge page the session belongs to; Direct
	// ignores it.
	Channel string
}

// Session is an open iFrame session. Its secureToken is single use and is
// never persisted: keep the Session in memory for the one flow it serves.
type Session struct {
	// RequestID ties every command of the session together.
	RequestID string
	// ClientDeviceID is the device the session is for.
	ClientDeviceID string
	// SessionContext holds the secureToken for the VTS calls.
	SessionContext visa.SessionContext
	// DFPSessionID goes into VIC assuranceData (methodResults.dfpSessionId).
	DFPSessionID string
	// BrowserData goes into VTS calls.
	BrowserData visa.BrowserData
	// Popup says whether the iFrame needs a popup window for a ceremony.
	Popup PopupSupport
	// channel is the Bridge channel, empty for Direct.
	channel string
}
