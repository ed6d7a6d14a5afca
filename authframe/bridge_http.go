package authframe

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Bridge's HTTP face, relative to where it is mounted:
//
//	GET  page?channel=ID  the cardholder's page (HTML)
//	GET  bridge.js        its script
//	GET  bridge.css       its style
//	GET  poll             long-poll: the next command for the page (200), or 204
//	POST event            an event of the iFrame, for the Go operation waiting
//
// poll and event name the channel in the X-VPP-Channel header; an unknown
// or expired channel gets 403. poll also sends X-VPP-After, the seq of the
// last command the page ran, which a relayed Bridge needs (UseRelay).

//go:embed static/bridge.html static/bridge.js static/bridge.css
var bridgeFS embed.FS

var bridgePage = template.Must(template.ParseFS(bridgeFS, "static/bridge.html"))

// headerChannel carries the channel of poll and event. A custom header
// also makes every cross-site attempt a CORS preflight, which fails.
const headerChannel = "X-VPP-Channel"

// maxEventBytes bounds an event body: one message and its envelope.
const maxEventBytes = maxMessageBytes + 1024

var bridgeStatic = map[string]string{
	"/bridge.js":  "text/javascript; charset=utf-8",
	"/bridge.css": "text/css; charset=utf-8",
}

// ServeHTTP serves the page, its assets, poll and event.
func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "strict-origin")
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	switch path {
	case "/page":
		if !methodOK(w, r, http.MethodGet) {
			return
		}
		b.servePage(w, r)
	case "/bridge.js", "/bridge.css":
		if !methodOK(w, r, http.MethodGet) {
			return
		}
		body, err := bridgeFS.ReadFile("static" + path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", bridgeStatic[path])
		_, _ = w.Write(body)
	case "/poll":
		// GET only: a HEAD would take a command and drop it.
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b.servePoll(w, r)
	case "/event":
		if !methodOK(w, r, http.MethodPost) {
			return
		}
		b.serveEvent(w, r)
	default:
		http.NotFound(w, r)
	}
}

func methodOK(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", m)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// pageCSP allows the page's own script, style and fetches, and frames of
// the Auth origin only; nobody may frame the page.
func (b *Bridge) pageCSP() string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
		"frame-src " + b.authOrigin + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

type pageData struct {
	Channel    string
	FrameURL   string
	AuthOrigin string
}

func (b *Bridge) servePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("channel")
	if relay := b.relayOf(); relay != nil {
		if !relayChannel(id) {
			http.Error(w, "unknown or expired channel", http.StatusForbidden)
			return
		}
		if _, _, err := relay.Command(r.Context(), id, math.MaxUint64); err != nil {
			relayError(w, err)
			return
		}
	} else if b.lookup(id) == nil {
		http.Error(w, "unknown or expired channel", http.StatusForbidden)
		return
	}
	var buf bytes.Buffer
	if err := bridgePage.Execute(&buf, pageData{Channel: id, FrameURL: b.frameURL.Reveal(), AuthOrigin: b.authOrigin}); err != nil {
		http.Error(w, "authframe: rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", b.pageCSP())
	h.Set("Permissions-Policy", `publickey-credentials-create=(self "`+b.authOrigin+`"), publickey-credentials-get=(self "`+b.authOrigin+`")`)
	// Keep window.opener for the popup we open; isolate from others.
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// channelOf authenticates a poll or event: the channel header, and no
// cross-site fetch metadata.
func (b *Bridge) channelOf(w http.ResponseWriter, r *http.Request) *channel {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "cross-site request", http.StatusForbidden)
		return nil
	}
	ch := b.lookup(r.Header.Get(headerChannel))
	if ch == nil {
		http.Error(w, "unknown or expired channel", http.StatusForbidden)
		return nil
	}
	return ch
}

// pollAnswer is what a poll returns: a command and its seq.
type pollAnswer struct {
	Seq     uint64          `json:"seq"`
	Popup   bool            `json:"popup,omitempty"`
	Message json.RawMessage `json:"message"`
}

func (b *Bridge) servePoll(w http.ResponseWriter, r *http.Request) {
	if relay := b.relayOf(); relay != nil {
		b.serveRelayPoll(w, r, relay)
		return
	}
	ch := b.channelOf(w, r)
	if ch == nil {
		return
	}
	timer := time.NewTimer(b.pollWait)
	defer timer.Stop()
	for {
		if c, ok := ch.pop(); ok {
			msg := c.Message
			if msg == nil {
				msg, _ = json.Marshal(map[string]string{"type": c.Type})
			}
			// The answer may hold a command's secrets; it is written once
			// and kept nowhere.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(pollAnswer{Seq: c.Seq, Popup: c.Popup, Message: msg})
			return
		}
		select {
		case <-ch.notify:
		case <-timer.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		case <-ch.shutCh:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-b.done:
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
}

// eventEnvelope is the body of POST event.
type eventEnvelope struct {
	Seq     uint64          `json:"seq"`
	Message json.RawMessage `json:"message"`
}

func (b *Bridge) serveEvent(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	relay := b.relayOf()
	var (
		ch *channel
		id string
	)
	if relay != nil {
		var ok bool
		if id, ok = relayChannelOf(w, r); !ok {
			return
		}
	} else if ch = b.channelOf(w, r); ch == nil {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "event unreadable", http.StatusBadRequest)
		return
	}
	var env eventEnvelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Message) == 0 {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	m, err := ParseMessage(env.Message)
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if relay != nil {
		// The event continues the journey here, on whichever replica the
		// page reached.
		if err := relay.Event(r.Context(), id, env.Seq, m); err != nil {
			relayError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ch.deliver(env.Seq, m)
	w.WriteHeader(http.StatusNoContent)
}

// relayOf returns the Bridge's relay, if it has one.
func (b *Bridge) relayOf() Relay {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.relay
}

// relayChannel bounds a relay's channel id: visible ASCII, no more than 200
// bytes; the relay judges the rest.
func relayChannel(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// relayChannelOf authenticates a poll or event in relay mode: the channel
// header, and no cross-site fetch metadata.
func relayChannelOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "cross-site request", http.StatusForbidden)
		return "", false
	}
	id := r.Header.Get(headerChannel)
	if !relayChannel(id) {
		http.Error(w, "unknown or expired channel", http.StatusForbidden)
		return "", false
	}
	return id, true
}

// relayError answers a relay's failure: 403 for an unknown channel, 503
// otherwise (the store unreachable, say: the page retries).
func relayError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrUnknownChannel) {
		http.Error(w, "unknown or expired channel", http.StatusForbidden)
		return
	}
	http.Error(w, "try again", http.StatusServiceUnavailable)
}

// relayPollEvery is how often a held poll asks the relay for a command.
const relayPollEvery = 200 * time.Millisecond

// serveRelayPoll holds a poll until the relay has a command above the seq
// the page last ran (header X-VPP-After), or the poll wait ends.
func (b *Bridge) serveRelayPoll(w http.ResponseWriter, r *http.Request, relay Relay) {
	id, ok := relayChannelOf(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseUint(r.Header.Get(headerAfter), 10, 64)
	timer := time.NewTimer(b.pollWait)
	defer timer.Stop()
	tick := time.NewTicker(relayPollEvery)
	defer tick.Stop()
	for {
		cmd, ok, err := relay.Command(r.Context(), id, after)
		if err != nil {
			relayError(w, err)
			return
		}
		if ok {
			wire, err := cmd.Message.Wire()
			if err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(pollAnswer{Seq: cmd.Seq, Popup: cmd.Popup, Message: wire})
			return
		}
		select {
		case <-tick.C:
		case <-timer.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		case <-b.done:
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
}

// headerAfter carries the seq of the last command the page ran, so a relay
// knows which command is new to it.
const headerAfter = "X-VPP-After"
