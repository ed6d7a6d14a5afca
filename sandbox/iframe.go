package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/vicgo/visa"
)

// HTTP face of the Auth iFrame: {base}/vts-auth/...
//
//	GET  /vts-auth/authenticate   Accept: application/json → AUTH_READY; else the HTML page
//	POST /vts-auth/authenticate   JSON mode commands (CREATE_AUTH_SESSION, AUTHENTICATE, CLOSE_AUTH_SESSION)
//	POST /vts-auth/fido/options   the page: WebAuthn options for the outstanding challenge
//	POST /vts-auth/fido/finish    the page: credential.toJSON() (or a failure) → the final event
//	GET  /vts-auth/static/{file}  the page's script and style
//	anything else under /vts-auth/ (including the opaque endpoint /vts-auth/fido) → 404 NOT_FOUND
//
// Every route but static needs the iFrame's or the VTS api key (apikey or
// apiKey) and the client app id (clientAppID or externalAppId) in the query
// string (docs/wire.md §7.2).

// Header of the JSON mode test hook (docs/wire.md §7.3, §11.7).
const headerAuthOutcome = "X-Sandbox-Auth-Outcome"

// Gateway error codes the iFrame answers with (docs/wire.md §10.1).
const (
	gwAPIKeyMissing  = "APIKEY_MISSING"
	gwAPIKeyUnknown  = "APIKEY_UNKNOWN"
	gwAppIDUnknown   = "APP_ID_UNKNOWN"
	gwInvalidRequest = "INVALID_REQUEST"
)

// maxCommandBytes bounds a command body (a credential response is ~1 KB).
const maxCommandBytes = 64 << 10

// Routes registers the iFrame endpoints on mux.
func (a *authState) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /vts-auth/authenticate", a.handleGet)
	mux.HandleFunc("POST /vts-auth/authenticate", a.handleCommand)
	mux.HandleFunc("POST /vts-auth/fido/options", a.handleOptions)
	mux.HandleFunc("POST /vts-auth/fido/finish", a.handleFinish)
	mux.HandleFunc("GET /vts-auth/static/{file}", a.handleStatic)
	mux.HandleFunc("/vts-auth/", func(w http.ResponseWriter, r *http.Request) {
		a.d.writeGatewayError(w, http.StatusNotFound, "NOT_FOUND", "no such iFrame endpoint")
	})
}

// credentialsOK checks the api key and app id of the query string and
// writes the gateway error when they fail.
func (a *authState) credentialsOK(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	key := q.Get("apikey")
	if key == "" {
		key = q.Get("apiKey")
	}
	app := q.Get("clientAppID")
	if app == "" {
		app = q.Get("externalAppId")
	}
	switch {
	case key == "":
		a.d.writeGatewayError(w, http.StatusUnauthorized, gwAPIKeyMissing, "the apikey query parameter is required")
	case !a.d.apiKeyOK(key):
		a.d.writeGatewayError(w, http.StatusUnauthorized, gwAPIKeyUnknown, "unknown api key")
	case app == "" || !a.d.appIDOK(app):
		a.d.writeGatewayError(w, http.StatusForbidden, gwAppIDUnknown, "unknown or missing clientAppID")
	default:
		return true
	}
	return false
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "application/json")
}

func writeEvent(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a bounded JSON body into dst, writing 400 on failure.
func (a *authState) decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommandBytes))
	if err != nil {
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, "request body too large or unreadable")
		return false
	}
	if err := json.Unmarshal(body, dst); err != nil {
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, "request body is not valid JSON for this command")
		return false
	}
	return true
}

// handleGet serves AUTH_READY (JSON mode) or the browser page.
func (a *authState) handleGet(w http.ResponseWriter, r *http.Request) {
	if !a.credentialsOK(w, r) {
		return
	}
	id := a.newRequestID()
	if wantsJSON(r) {
		writeEvent(w, authEvent{Type: evAuthReady, RequestID: id, Version: protocolVersion})
		return
	}
	a.servePage(w, r, id)
}

// authCommand is a parent → iFrame message (docs/wire.md §7.1, §7.3).
type authCommand struct {
	Type                  string                      `json:"type"`
	RequestID             string                      `json:"requestID"`
	Version               string                      `json:"version"`
	Client                *authClient                 `json:"client"`
	BrowserData           *visa.BrowserData           `json:"browserData"`
	AuthenticationContext *visa.AuthenticationContext `json:"authenticationContext"`
}

// authClient is the client member of CREATE_AUTH_SESSION.
type authClient struct {
	ID string `json:"id"` // clientDeviceId
}

// handleCommand runs a JSON mode command.
func (a *authState) handleCommand(w http.ResponseWriter, r *http.Request) {
	if !a.credentialsOK(w, r) {
		return
	}
	var cmd authCommand
	if !a.decodeBody(w, r, &cmd) {
		return
	}
	outcome := r.Header.Get(headerAuthOutcome)
	if _, ok := outcomeEvents[outcome]; outcome != "" && !ok {
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, headerAuthOutcome+" must be CANCELLED, FAILED, NOT_SUPPORTED or NOT_PERFORMED")
		return
	}
	switch cmd.Type {
	case "CREATE_AUTH_SESSION":
		device := ""
		if cmd.Client != nil {
			device = cmd.Client.ID
		}
		writeEvent(w, a.createSession(cmd.RequestID, device, cmd.BrowserData, remoteIP(r)))
	case "AUTHENTICATE":
		writeEvent(w, a.authenticateJSON(cmd.RequestID, cmd.AuthenticationContext, outcome))
	case "CLOSE_AUTH_SESSION":
		writeEvent(w, a.closeSession(cmd.RequestID))
	default:
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, "type must be CREATE_AUTH_SESSION, AUTHENTICATE or CLOSE_AUTH_SESSION")
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// defaultOriginRe is the allowlist when authDeps.allowedOrigins is empty.
var defaultOriginRe = regexp.MustCompile(`^http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?$`)

// originAllowed reports whether origin may drive the browser page.
func (a *authState) originAllowed(origin string) bool {
	if len(a.d.allowedOrigins) > 0 {
		return slices.Contains(a.d.allowedOrigins, origin)
	}
	return defaultOriginRe.MatchString(origin)
}

// browserCeremony is a ceremony whose options went to the browser page.
type browserCeremony struct {
	challenge *challenge
	passkey   *passkey
	frame     ceremonyFrame
	session   webauthn.SessionData
}

// optionsRequest is the page's POST /vts-auth/fido/options body.
type optionsRequest struct {
	RequestID             string                      `json:"requestID"`
	AuthenticationContext *visa.AuthenticationContext `json:"authenticationContext"`
	// TopOrigin is the parent page's origin; CrossOrigin is true when the
	// page runs in an iframe (false for a popup).
	TopOrigin   string `json:"topOrigin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

// optionsResponse carries the WebAuthn options, or an event when the
// command cannot run.
type optionsResponse struct {
	Action    visa.Action     `json:"action,omitempty"`
	PublicKey json.RawMessage `json:"publicKey,omitempty"`
	Event     *authEvent      `json:"event,omitempty"`
}

// handleOptions builds WebAuthn options for the session's outstanding
// challenge and remembers them for handleFinish. The session is not
// consumed: the user has not acted yet.
func (a *authState) handleOptions(w http.ResponseWriter, r *http.Request) {
	if !a.credentialsOK(w, r) {
		return
	}
	var req optionsRequest
	if !a.decodeBody(w, r, &req) {
		return
	}
	if req.CrossOrigin && !a.originAllowed(req.TopOrigin) {
		a.d.writeGatewayError(w, http.StatusForbidden, gwInvalidRequest, "topOrigin is not allowed to embed the iFrame")
		return
	}
	s, c, code := a.challengeFor(req.RequestID, req.AuthenticationContext)
	if code != "" {
		ev := a.rejected(req.RequestID, code)
		writeEvent(w, optionsResponse{Event: &ev})
		return
	}
	frame := ceremonyFrame{crossOrigin: req.CrossOrigin, topOrigin: req.TopOrigin}
	wa, err := a.relyingParty(frame)
	if err == nil {
		pk := a.slot(c, s.deviceID)
		var opts []byte
		var sd webauthn.SessionData
		if opts, sd, err = beginCeremony(wa, c, pk); err == nil {
			a.mu.Lock()
			if s.challenge == c {
				s.pending = &browserCeremony{challenge: c, passkey: pk, frame: frame, session: sd}
			} else {
				err = errors.New("challenge replaced")
			}
			a.mu.Unlock()
			if err == nil {
				writeEvent(w, optionsResponse{Action: c.action, PublicKey: opts})
				return
			}
		}
	}
	ev := a.rejected(req.RequestID, codeChallengeMismatch)
	writeEvent(w, optionsResponse{Event: &ev})
}

// finishRequest is the page's POST /vts-auth/fido/finish body: either the
// credential (credential.toJSON()) or the outcome of a failed ceremony.
type finishRequest struct {
	RequestID  string          `json:"requestID"`
	Credential json.RawMessage `json:"credential"`
	// Outcome is CANCELLED (NotAllowedError), NOT_SUPPORTED, NOT_PERFORMED
	// or FAILED when the browser ceremony did not produce a credential.
	Outcome string `json:"outcome"`
}

// handleFinish ends the browser ceremony: the secureToken is consumed and
// the response is the event the page posts to its parent.
func (a *authState) handleFinish(w http.ResponseWriter, r *http.Request) {
	if !a.credentialsOK(w, r) {
		return
	}
	var req finishRequest
	if !a.decodeBody(w, r, &req) {
		return
	}
	if _, ok := outcomeEvents[req.Outcome]; req.Outcome != "" && !ok {
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, "outcome must be CANCELLED, FAILED, NOT_SUPPORTED or NOT_PERFORMED")
		return
	}
	if req.Outcome == "" && len(req.Credential) == 0 {
		a.d.writeGatewayError(w, http.StatusBadRequest, gwInvalidRequest, "credential or outcome is required")
		return
	}
	now := a.d.now()
	a.mu.Lock()
	s, ok := a.requests[req.RequestID]
	code := a.sessionCheckLocked(s, ok, now)
	var p *browserCeremony
	if code == "" {
		p = s.pending
		switch {
		case p == nil || p.challenge != s.challenge:
			code = codeChallengeMismatch
		case !now.Before(p.challenge.expiresAt):
			code = codeChallengeExpired
		default:
			s.consumed = true
			s.pending = nil
		}
	}
	a.mu.Unlock()
	if code != "" {
		writeEvent(w, a.rejected(req.RequestID, code))
		return
	}
	if req.Outcome != "" {
		writeEvent(w, a.hookOutcome(req.RequestID, req.Outcome))
		return
	}
	wa, err := a.relyingParty(p.frame)
	if err == nil {
		var ev authEvent
		if ev, err = a.finish(s, p.challenge, p.passkey, wa, p.session, req.Credential); err == nil {
			writeEvent(w, ev)
			return
		}
	}
	writeEvent(w, a.failCeremony(req.RequestID, codeCeremonyFailed))
}
