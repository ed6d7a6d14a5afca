package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
)

// ActionPasskey means the cardholder completes a passkey ceremony on the
// Bridge page at NextAction.PasskeyURL (steps 9 and 12 of the journey). The page
// answers by itself, through any replica: the caller only shows the URL and
// waits (GetJourney) for the journey to move on.
const ActionPasskey Action = "PASSKEY"

// WithBridge makes b the Auth iFrame of the agent and serves b's pages from
// the journeys in the Store: the cardholder's browser may poll one replica
// and post its answers to another, and a journey waiting for a passkey is a
// stored record, not a goroutine. Mount b on every replica, at the same
// path. A journey that needs the passkey then waits with ActionPasskey and
// the page's URL; the page's events continue it wherever they arrive. The
// secureToken of the session, and the fidoBlob of the ceremony, are used in
// the request that receives them and never stored.
func WithBridge(b *authframe.Bridge) Option {
	return func(o *options) error {
		if b == nil {
			return visa.NewInputError("Bridge", "is nil")
		}
		o.frame, o.bridge = b, b
		return nil
	}
}

// frameConv is a journey's conversation with an Auth iFrame through a
// relayed Bridge: the command its page runs next and what the journey
// learned from the page's events. It is kept in the journey's state and
// holds nothing secret (the command is a protocol message without a
// secureToken; the session's secureToken and the ceremony's fidoBlob are
// used when they arrive and dropped).
type frameConv struct {
	// Token is the channel's capability: the page URL carries the journey
	// id and this random token.
	Token string `json:"token,omitempty"`
	// Seq numbers the page's commands; the page's events name the one they
	// answer.
	Seq     uint64          `json:"seq,omitempty"`
	Command json.RawMessage `json:"command,omitempty"`
	Popup   bool            `json:"popup,omitempty"`
	// Phase is where the conversation stands: "open" (a session is being
	// opened), "session" (open), "assert" (a ceremony runs), "done".
	Phase     string                 `json:"phase,omitempty"`
	RequestID string                 `json:"requestId,omitempty"`
	DFP       string                 `json:"dfp,omitempty"`
	Popups    authframe.PopupSupport `json:"popups"`
}

// errWaitPasskey ends a run that waits for the cardholder's page.
var errWaitPasskey = errors.New("agent: waiting for the passkey page")

// relayed reports whether journeys talk to the iFrame through the relay.
func (a *Agent) relayed() bool { return a.bridge != nil }

func (fc *frameConv) push(cmd authframe.RelayCommand, phase string) error {
	wire, err := cmd.Message.Wire()
	if err != nil {
		return err
	}
	if fc.Token == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		fc.Token = base64.RawURLEncoding.EncodeToString(b[:])
	}
	fc.Seq++
	fc.Command, fc.Popup, fc.Phase = wire, cmd.Popup, phase
	return nil
}

// frameEvent is the page's event an answer carries for the current
// command, or nil.
func (fc *frameConv) event(ans *Answer) *authframe.Message {
	if ans == nil || ans.frame == nil || ans.frameSeq != fc.Seq {
		return nil
	}
	return ans.frame
}

// openSession opens an Auth iFrame session for dev: at once with a Frame
// that waits in this process, or, relayed, by sending the page a command
// and waiting (errWaitPasskey) for the event that answers it.
func (a *Agent) openSession(ctx context.Context, fc *frameConv, dev Device, ans *Answer, st Step, txID string) (*authframe.Session, error) {
	req := authframe.OpenRequest{ClientDeviceID: dev.ClientDeviceID, BrowserData: dev.BrowserData, Channel: dev.Channel}
	if !a.relayed() {
		var s *authframe.Session
		err := a.step(ctx, st, txID, func() (string, error) {
			var err error
			s, err = a.frame.Open(ctx, req)
			return "session open", err
		})
		return s, err
	}
	m := fc.event(ans)
	if fc.Phase != "open" || m == nil {
		if fc.Phase != "open" {
			cmd, err := a.bridge.OpenCommand(req)
			if err != nil {
				return nil, err
			}
			if err := fc.push(cmd, "open"); err != nil {
				return nil, err
			}
		}
		return nil, errWaitPasskey
	}
	if m.Type == authframe.TypeAuthReady {
		return nil, errWaitPasskey // the session's answer follows
	}
	var s *authframe.Session
	err := a.step(ctx, st, txID, func() (string, error) {
		var err error
		s, err = authframe.SessionFromEvent(m, m.RequestID, req)
		return "session open", err
	})
	if err != nil {
		return nil, err
	}
	fc.Phase, fc.RequestID, fc.DFP, fc.Popups = "session", s.RequestID, s.DFPSessionID, s.Popup
	return s, nil
}

// ceremony runs the passkey ceremony ac asks for: at once with a Frame
// that waits in this process, or, relayed, by sending the page AUTHENTICATE
// and waiting for its AUTH_COMPLETE.
func (a *Agent) ceremony(ctx context.Context, fc *frameConv, s *authframe.Session, ac visa.AuthenticationContext, ans *Answer, st Step, txID string) (fido.Assurance, error) {
	if !a.relayed() {
		var as fido.Assurance
		err := a.step(ctx, st, txID, func() (string, error) {
			var err error
			as, err = a.frame.Authenticate(ctx, s, ac)
			return "assurance received", err
		})
		return as, err
	}
	m := fc.event(ans)
	if fc.Phase != "assert" {
		popup := fc.Popups.RequiresPopupForAuthenticate
		if ac.Action == visa.ActionRegister {
			popup = fc.Popups.RequiresPopupForRegister
		}
		cmd, err := authframe.AuthenticateCommand(fc.RequestID, ac, popup)
		if err != nil {
			return fido.Assurance{}, err
		}
		if err := fc.push(cmd, "assert"); err != nil {
			return fido.Assurance{}, err
		}
		return fido.Assurance{}, errWaitPasskey
	}
	if m == nil || m.Type == authframe.TypeAuthReady || m.Type == authframe.TypeAuthSessionCreated {
		return fido.Assurance{}, errWaitPasskey
	}
	var as fido.Assurance
	err := a.step(ctx, st, txID, func() (string, error) {
		var err error
		as, err = authframe.AssuranceFromEvent(m, fc.RequestID)
		return "assurance received", err
	})
	// Either way the page closes the session.
	if cerr := fc.push(authframe.CloseCommand(fc.RequestID), "done"); cerr != nil && err == nil {
		err = cerr
	}
	return as, err
}

// sessionOf is the session a relayed conversation opened, as the journey's
// later steps need it (the device fingerprint session for VIC).
func (fc *frameConv) session() *authframe.Session {
	return &authframe.Session{RequestID: fc.RequestID, DFPSessionID: fc.DFP, Popup: fc.Popups}
}

// passkeyURL is the page of a journey's conversation.
func (a *Agent) passkeyURL(journeyID string, fc *frameConv) string {
	return a.bridge.PageURL(journeyID + "." + fc.Token)
}

// bridgeRelay serves the agent's Bridge pages from the journeys in the
// Store (authframe.Relay).
type bridgeRelay struct{ a *Agent }

// conv loads the conversation of a channel "journeyID.token".
func (r bridgeRelay) conv(ctx context.Context, channel string) (store.Journey, frameConv, error) {
	id, token, ok := strings.Cut(channel, ".")
	if !ok || id == "" || token == "" {
		return store.Journey{}, frameConv{}, authframe.ErrUnknownChannel
	}
	j, err := r.a.store.GetJourney(ctx, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return store.Journey{}, frameConv{}, authframe.ErrUnknownChannel
	}
	if err != nil {
		return store.Journey{}, frameConv{}, err
	}
	var holder struct {
		Frame frameConv `json:"frame"`
	}
	if json.Unmarshal(j.State, &holder) != nil || holder.Frame.Token == "" ||
		subtle.ConstantTimeCompare([]byte(holder.Frame.Token), []byte(token)) != 1 {
		return store.Journey{}, frameConv{}, authframe.ErrUnknownChannel
	}
	return j, holder.Frame, nil
}

// Command implements authframe.Relay.
func (r bridgeRelay) Command(ctx context.Context, channel string, after uint64) (authframe.RelayCommand, bool, error) {
	j, fc, err := r.conv(ctx, channel)
	if err != nil {
		return authframe.RelayCommand{}, false, err
	}
	if j.Status.Final() && fc.Phase != "done" || fc.Seq <= after || len(fc.Command) == 0 {
		return authframe.RelayCommand{}, false, nil
	}
	m, err := authframe.ParseMessage(fc.Command)
	if err != nil {
		return authframe.RelayCommand{}, false, err
	}
	return authframe.RelayCommand{Seq: fc.Seq, Popup: fc.Popup, Message: m}, true, nil
}

// Event implements authframe.Relay: the event continues the journey here.
// A journey busy with the page's previous event is waited for, briefly, so
// that no event is lost.
func (r bridgeRelay) Event(ctx context.Context, channel string, seq uint64, m *authframe.Message) error {
	j, fc, err := r.conv(ctx, channel)
	if err != nil {
		return err
	}
	if seq != fc.Seq || j.Status != store.JourneyWaiting || Action(j.NextAction) != ActionPasskey {
		return nil // an answer to a command the journey no longer waits for
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := r.a.Continue(ctx, j.ID, Answer{frame: m, frameSeq: seq})
		switch {
		case errors.Is(err, ErrJourneyBusy) && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		case err == nil, errors.Is(err, ErrJourneyOver), errors.Is(err, ErrUnexpectedAnswer),
			errors.Is(err, ErrJourneyExpired), errors.Is(err, ErrJourneyBusy):
			return nil
		}
		// The journey recorded its own failure; the page has nothing to do.
		r.a.logger.InfoContext(ctx, "agent: the page's event ended the journey", "journey", j.ID, "error", err.Error())
		return nil
	}
}

var _ authframe.Relay = bridgeRelay{}

// checkFrameAnswer refuses an answer to a PASSKEY wait that does not come
// from the page.
func checkFrameAnswer(ans Answer) error {
	if ans.frame == nil {
		return fmt.Errorf("%w: it waits for the passkey, which the cardholder's page answers", ErrUnexpectedAnswer)
	}
	return nil
}
