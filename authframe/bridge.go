package authframe

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
)

// Bridge runs the Auth iFrame in the cardholder's browser, for Go code on
// the server. It is both a Frame and an http.Handler: a service mounts it
// under a prefix of its own site,
//
//	bridge, err := authframe.NewBridge(cfg, authframe.WithPathPrefix("/vpp/"))
//	mux.Handle("/vpp/", http.StripPrefix("/vpp", bridge))
//	defer bridge.Shutdown()
//
// creates a channel for one cardholder and sends them to its page,
//
//	ch, err := bridge.NewChannel()
//	// show the cardholder bridge.PageURL(ch), e.g. /vpp/page?channel=...
//
// and then runs the protocol on that channel while the page is open:
//
//	s, err := bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: dev, Channel: ch})
//	// VTS attestation options with s.SessionContext ...
//	a, err := bridge.Authenticate(ctx, s, ac)
//	err = bridge.Close(ctx, s)
//
// The page (static/bridge.html and bridge.js, embedded in the binary) loads
// the iFrame hidden, with the publickey-credentials-* permissions delegated
// to the Auth origin only, and shows it as a modal for a ceremony. It
// accepts messages only from the iFrame's window on the Auth origin and
// posts only to that origin. When the session says the iFrame needs a
// popup for the ceremony (authenticationPreferencesSupported), or the
// Bridge was built WithPopup(PopupAlways), the page asks the cardholder to
// open it with a click (popup blockers allow no other way) and talks to
// the popup window instead. A fallback popup runs that one ceremony of the
// iframe's session (AUTHENTICATE carries the iframe's requestID) and is
// closed after it; with PopupAlways the whole session lives in the popup.
// The local sandbox never asks for a popup, and its popup page, having its
// own requestID, serves only PopupAlways.
//
// The page holds the iFrame URL, and with it the iFrame's api key: Visa's
// iFrame takes the key in its query string (docs/wire.md §7.2), so the
// cardholder's browser sees it whatever the SDK does. That key is
// Config.VTS.AuthFrameAPIKey (VISA_AUTH_FRAME_API_KEY) when set, else the VTS
// api key; set it to a key Visa scopes to the iFrame, so the VTS api key that
// goes with the shared secret on token calls never reaches a browser. The
// page holds no other credential, and the server never logs the URL.
//
// The page's Referrer-Policy is strict-origin: the iFrame learns the
// page's origin from document.referrer (it answers only allowlisted
// origins) but never the page URL with its channel.
//
// The page fetches commands (long-poll GET poll) and posts the iFrame's
// events (POST event) with the channel in the X-VPP-Channel header; the
// channel is 128 random bits, so one cardholder cannot reach another's
// session, and a request with an unknown channel gets 403. The
// secureToken crosses the Bridge once, in AUTH_SESSION_CREATED, and lives
// only in the Session that Open returns: the Bridge keeps no event after
// the operation that waited for it, and logs nothing.
//
// A fleet serves the page from any replica through a Relay (UseRelay;
// agent.WithBridge installs the agent's journeys as the relay): the
// page's commands are then read from a journey in the shared store, its
// events continue that journey on whichever replica they reach, and no
// operation waits in memory. Channels are then the relay's ("journey id"
// and a random token) and the page also sends the seq of the last command
// it ran (X-VPP-After), so the relay knows which command is new.
//
// Failures are *FrameError values (ErrUserCancelled, ErrNotSupported,
// ErrFailed, ErrSessionExpired, ErrSecureTokenReused, ErrProtocol), or
// ErrTimeout when the page or the cardholder does not answer within the
// Bridge's timeout or the context's deadline. A cancelled context returns
// an error matching context.Canceled. A Bridge is safe for concurrent use;
// each channel runs one operation at a time.
type Bridge struct {
	frameURL    visa.Secret // holds the iFrame's api key: the page shows it, logs never
	authOrigin  string
	prefix      string
	timeout     time.Duration
	pollWait    time.Duration
	channelTTL  time.Duration
	maxChannels int
	popup       PopupPolicy
	now         func() time.Time

	mu       sync.Mutex
	channels map[string]*channel
	done     chan struct{}
	closed   bool
	relay    Relay
}

// PopupPolicy says when the Bridge page uses a popup window instead of the
// iframe.
type PopupPolicy int

const (
	// PopupWhenRequired runs the session in the iframe and moves a
	// ceremony to a popup only when AUTH_SESSION_CREATED says the iFrame
	// requires one for that action (requiresPopupForRegister,
	// requiresPopupForAuthenticate). The default.
	PopupWhenRequired PopupPolicy = iota
	// PopupAlways runs every session in a popup window, for browsers that
	// cannot create a passkey in a cross-origin iframe.
	PopupAlways
)

// ErrBridgeClosed is returned by operations of a closed Bridge, and of a
// channel closed (CloseChannel) while they wait.
var ErrBridgeClosed = errors.New("authframe: bridge closed")

// ErrTooManyChannels is returned by NewChannel when WithMaxChannels
// channels are live.
var ErrTooManyChannels = errors.New("authframe: too many open channels")

// Defaults of a Bridge.
const (
	// DefaultBridgeTimeout bounds each operation: the page must pick the
	// command up and the cardholder finish the ceremony within it.
	DefaultBridgeTimeout = 2 * time.Minute
	// DefaultPollWait is how long a long-poll of the page is held open.
	DefaultPollWait = 25 * time.Second
	// DefaultChannelTTL is how long an idle channel lives.
	DefaultChannelTTL = 30 * time.Minute
	// DefaultMaxChannels bounds the channels open at once.
	DefaultMaxChannels = 10000
)

// BridgeOption configures a Bridge.
type BridgeOption func(*Bridge) error

// WithBridgeTimeout bounds each Open, Authenticate and Close (default
// DefaultBridgeTimeout); the context's deadline applies too.
func WithBridgeTimeout(d time.Duration) BridgeOption {
	return func(b *Bridge) error {
		if d <= 0 {
			return visa.NewInputError("timeout", "must be positive")
		}
		b.timeout = d
		return nil
	}
}

// WithPollWait sets how long the page's long-poll is held before it is
// answered 204 (default DefaultPollWait). Keep it below the idle timeouts
// of proxies in front of the service.
func WithPollWait(d time.Duration) BridgeOption {
	return func(b *Bridge) error {
		if d <= 0 {
			return visa.NewInputError("poll wait", "must be positive")
		}
		b.pollWait = d
		return nil
	}
}

// WithChannelTTL sets how long a channel lives without activity (default
// DefaultChannelTTL).
func WithChannelTTL(d time.Duration) BridgeOption {
	return func(b *Bridge) error {
		if d <= 0 {
			return visa.NewInputError("channel TTL", "must be positive")
		}
		b.channelTTL = d
		return nil
	}
}

// WithMaxChannels bounds the number of live channels (default
// DefaultMaxChannels).
func WithMaxChannels(n int) BridgeOption {
	return func(b *Bridge) error {
		if n <= 0 {
			return visa.NewInputError("max channels", "must be positive")
		}
		b.maxChannels = n
		return nil
	}
}

// WithPathPrefix is the path where the Bridge is mounted, as the browser
// sees it (default "/"); PageURL starts with it.
func WithPathPrefix(p string) BridgeOption {
	return func(b *Bridge) error {
		u, err := url.Parse(p)
		if err != nil || p == "" || p[0] != '/' || u.Path != p {
			return visa.NewInputError("path prefix", "must be an absolute path such as /vpp/")
		}
		if p[len(p)-1] != '/' {
			p += "/"
		}
		b.prefix = p
		return nil
	}
}

// WithPopup sets the popup policy (default PopupWhenRequired).
func WithPopup(p PopupPolicy) BridgeOption {
	return func(b *Bridge) error {
		if p != PopupWhenRequired && p != PopupAlways {
			return visa.NewInputError("popup policy", "must be PopupWhenRequired or PopupAlways")
		}
		b.popup = p
		return nil
	}
}

// WithBridgeClock sets the clock of channel lifetimes (tests).
func WithBridgeClock(now func() time.Time) BridgeOption {
	return func(b *Bridge) error {
		if now == nil {
			return visa.NewInputError("clock", "is nil")
		}
		b.now = now
		return nil
	}
}

// NewBridge returns a Bridge for cfg's Auth base URL, iFrame api key
// (Config.VTS.AuthFrameKey) and client app id; cfg is validated once, by
// cfg.ValidateFor(visa.ProductAuth).
func NewBridge(cfg visa.Config, opts ...BridgeOption) (*Bridge, error) {
	fu, err := FrameURL(cfg)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(fu)
	if err != nil {
		return nil, visa.NewInputError("AuthBaseURL", "is not a valid absolute URL")
	}
	b := &Bridge{
		frameURL: visa.NewSecret(fu), authOrigin: u.Scheme + "://" + u.Host, prefix: "/",
		timeout: DefaultBridgeTimeout, pollWait: DefaultPollWait, channelTTL: DefaultChannelTTL,
		maxChannels: DefaultMaxChannels, now: time.Now,
		channels: map[string]*channel{}, done: make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// AuthOrigin is the origin of the Auth iFrame, the only origin the page
// talks to.
func (b *Bridge) AuthOrigin() string { return b.authOrigin }

// NewChannel creates a channel for one cardholder's page: an unguessable
// id (128 random bits, base64url) to put in the page URL (PageURL) and in
// OpenRequest.Channel. Expired channels are dropped on the way.
func (b *Bridge) NewChannel() (string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", ErrBridgeClosed
	}
	b.sweepLocked()
	if len(b.channels) >= b.maxChannels {
		return "", ErrTooManyChannels
	}
	b.channels[id] = &channel{seen: b.now(), notify: make(chan struct{}, 1), events: make(chan *Message, 8),
		shutCh: make(chan struct{})}
	return id, nil
}

// CloseChannel forgets a channel: its page stops, its operation in
// progress fails. Unknown channels are ignored.
func (b *Bridge) CloseChannel(id string) {
	b.mu.Lock()
	ch := b.channels[id]
	delete(b.channels, id)
	b.mu.Unlock()
	if ch != nil {
		ch.shut()
	}
}

// PageURL is the path of a channel's page: the prefix of WithPathPrefix,
// then page?channel=ID. It holds the channel id: hand it only to that
// cardholder.
func (b *Bridge) PageURL(channelID string) string {
	return b.prefix + "page?channel=" + url.QueryEscape(channelID)
}

// Shutdown stops the Bridge: held long-polls return, operations in
// progress fail with ErrBridgeClosed, and every channel is forgotten. Call
// it before closing the HTTP server, which waits for held requests.
func (b *Bridge) Shutdown() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.done)
	chs := b.channels
	b.channels = map[string]*channel{}
	b.mu.Unlock()
	for _, ch := range chs {
		ch.shut()
	}
}

func (b *Bridge) sweepLocked() {
	now := b.now()
	for id, ch := range b.channels {
		if ch.expired(now, b.channelTTL) {
			delete(b.channels, id)
			ch.shut()
		}
	}
}

// lookup returns a live channel and marks it used.
func (b *Bridge) lookup(id string) *channel {
	if len(id) != 22 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.channels[id]
	if ch == nil {
		return nil
	}
	now := b.now()
	if ch.expired(now, b.channelTTL) {
		delete(b.channels, id)
		ch.shut()
		return nil
	}
	ch.touch(now)
	return ch
}

// channel is one cardholder page and the operation Go runs on it.
type channel struct {
	mu     sync.Mutex
	seen   time.Time
	seq    uint64    // seq of the current (or last) command
	busy   bool      // an operation is in progress
	queue  []command // commands for the page, oldest first
	notify chan struct{}
	events chan *Message // events of the current operation
	gone   bool
	shutCh chan struct{} // closed by shut
}

// command is what a poll answers: one protocol message for the page to
// deliver, numbered so that the page's events can be matched to it.
type command struct {
	Seq     uint64
	Popup   bool
	Message []byte // the wire form; nil for BRIDGE_ABORT
	Type    string
}

func (ch *channel) touch(now time.Time) {
	ch.mu.Lock()
	ch.seen = now
	ch.mu.Unlock()
}

func (ch *channel) expired(now time.Time, ttl time.Duration) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return !ch.busy && now.Sub(ch.seen) > ttl
}

// shut ends the channel: pollers and the waiting operation return.
func (ch *channel) shut() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if !ch.gone {
		ch.gone = true
		close(ch.shutCh)
		ch.queue = nil
	}
}

// begin starts an operation: one at a time per channel. It returns the
// operation's seq.
func (ch *channel) begin(op string) (uint64, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.gone {
		return 0, visa.NewInputError("Channel", "is closed")
	}
	if ch.busy {
		return 0, visa.NewInputError("Channel", "is busy with another "+op)
	}
	ch.busy = true
	ch.seq++
	ch.queue = nil
	drain(ch.events)
	return ch.seq, nil
}

// end finishes the operation. One that Go abandoned (timeout,
// cancellation) leaves an ABORT for the page (hide the modal) in place of
// whatever the page has not fetched; one that the page answered, even
// with a failure, leaves nothing.
func (ch *channel) end(abandoned bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.busy = false
	ch.queue = nil
	drain(ch.events)
	if abandoned && !ch.gone {
		ch.seq++
		ch.queue = append(ch.queue, command{Seq: ch.seq, Type: typeBridgeAbort})
		ch.signalLocked()
	}
}

func drain(c chan *Message) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func (ch *channel) signalLocked() {
	select {
	case ch.notify <- struct{}{}:
	default:
	}
}

// push queues a command for the page.
func (ch *channel) push(c command) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.queue = append(ch.queue, c)
	ch.signalLocked()
}

// pop takes the oldest command, if any.
func (ch *channel) pop() (command, bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.queue) == 0 {
		return command{}, false
	}
	c := ch.queue[0]
	ch.queue = ch.queue[1:]
	return c, true
}

// deliver hands an event of the page to the operation it answers; events
// of another seq, or with no operation waiting, are dropped.
func (ch *channel) deliver(seq uint64, m *Message) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if !ch.busy || seq != ch.seq || ch.gone {
		return false
	}
	select {
	case ch.events <- m:
		return true
	default:
		return false
	}
}

// typeBridgeAbort tells the page to stop showing the ceremony of an
// operation that Go abandoned (timeout, cancellation).
const typeBridgeAbort = "BRIDGE_ABORT"

// channelFor finds the channel of an operation.
func (b *Bridge) channelFor(id string) (*channel, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, ErrBridgeClosed
	}
	if id == "" {
		return nil, visa.NewInputError("Channel", "is required (Bridge.NewChannel)")
	}
	ch := b.lookup(id)
	if ch == nil {
		return nil, visa.NewInputError("Channel", "is not an open channel of this Bridge")
	}
	return ch, nil
}

// run sends cmd on the channel and feeds the events of the page to match
// until it says done, within the Bridge timeout and ctx.
func (b *Bridge) run(ctx context.Context, op string, ch *channel, cmd *Message, popup bool,
	match func(*Message) (bool, error)) error {
	seq, err := ch.begin(op)
	if err != nil {
		return err
	}
	abandoned := true
	defer func() { ch.end(abandoned) }()
	wire, err := cmd.Wire()
	if err != nil {
		return err
	}
	ch.push(command{Seq: seq, Popup: popup, Message: wire, Type: cmd.Type})
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	shut := ch.shutCh
	for {
		select {
		case m := <-ch.events:
			done, err := match(m)
			if done {
				abandoned = false
				return err
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return &cancelError{op: op}
			}
			return &FrameError{Op: op, Event: "no answer", kind: ErrTimeout}
		case <-b.done:
			return ErrBridgeClosed
		case <-shut:
			return ErrBridgeClosed
		}
	}
}

// cancelError is the error of an operation whose context was cancelled.
type cancelError struct{ op string }

func (e *cancelError) Error() string { return "authframe: " + e.op + ": " + context.Canceled.Error() }
func (e *cancelError) Unwrap() error { return context.Canceled }

// Open asks the channel's page to load a fresh iFrame and create a session
// for the device: it waits for AUTH_READY, then AUTH_SESSION_CREATED.
func (b *Bridge) Open(ctx context.Context, req OpenRequest) (*Session, error) {
	if check.ClientDeviceID(req.ClientDeviceID) != "" {
		return nil, visa.NewInputError("ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	}
	ch, err := b.channelFor(req.Channel)
	if err != nil {
		return nil, err
	}
	cmd := &Message{Type: TypeCreateAuthSession, Version: ProtocolVersion, Client: &ClientInfo{ID: req.ClientDeviceID}}
	if req.BrowserData != nil {
		bd := req.BrowserData.Normalize()
		cmd.BrowserData = &bd
	}
	var (
		requestID string
		s         *Session
	)
	err = b.run(ctx, "open", ch, cmd, b.popup == PopupAlways, func(m *Message) (bool, error) {
		switch {
		case requestID == "" && m.Type == TypeAuthReady:
			if m.RequestID == "" {
				return true, &FrameError{Op: "open", Event: m.Type, Code: "no requestID", kind: ErrProtocol}
			}
			requestID = m.RequestID
			return false, nil
		case requestID == "" && m.RequestID == "":
			// A failure the page reports before the iFrame is ready
			// (popup blocked or closed).
			return true, eventError("open", m)
		case requestID == "" || m.RequestID != requestID:
			return false, nil // not this session's
		}
		var err error
		s, err = sessionFrom("open", m, requestID, req)
		return true, err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// needsPopup says whether the iFrame asked for a popup for ac's action.
func needsPopup(s *Session, ac visa.AuthenticationContext) bool {
	if ac.Action == visa.ActionRegister {
		return s.Popup.RequiresPopupForRegister
	}
	return s.Popup.RequiresPopupForAuthenticate
}

// Authenticate sends AUTHENTICATE to the session's iFrame, which the page
// shows for the cardholder, and returns the AUTH_COMPLETE assurance.
func (b *Bridge) Authenticate(ctx context.Context, s *Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	if err := checkAuthenticate(s, ac); err != nil {
		return fido.Assurance{}, err
	}
	ch, err := b.channelFor(s.channel)
	if err != nil {
		return fido.Assurance{}, err
	}
	cmd := &Message{Type: TypeAuthenticate, RequestID: s.RequestID, Version: ProtocolVersion, AuthenticationContext: &ac}
	var a fido.Assurance
	err = b.run(ctx, "authenticate", ch, cmd, needsPopup(s, ac), func(m *Message) (bool, error) {
		if m.RequestID != s.RequestID || m.Type == TypeAuthReady || m.Type == TypeAuthSessionCreated {
			return false, nil
		}
		var err error
		a, err = assuranceFrom("authenticate", m, s.RequestID)
		return true, err
	})
	return a, err
}

// Close sends CLOSE_AUTH_SESSION and waits for AUTH_SESSION_CLOSED; the
// page then removes the iFrame.
func (b *Bridge) Close(ctx context.Context, s *Session) error {
	if s == nil || s.RequestID == "" {
		return visa.NewInputError("Session", "is not an open session")
	}
	ch, err := b.channelFor(s.channel)
	if err != nil {
		return err
	}
	cmd := &Message{Type: TypeCloseAuthSession, RequestID: s.RequestID}
	return b.run(ctx, "close", ch, cmd, false, func(m *Message) (bool, error) {
		if m.RequestID != s.RequestID {
			return false, nil
		}
		if m.Type != TypeAuthSessionClosed {
			return true, eventError("close", m)
		}
		return true, nil
	})
}

var _ Frame = (*Bridge)(nil)

// String names the Bridge by its Auth origin; the iFrame URL, which holds
// the api key, never prints.
func (b *Bridge) String() string { return "authframe.Bridge{auth: " + b.authOrigin + "}" }

// GoString is String, for %#v.
func (b *Bridge) GoString() string { return b.String() }
