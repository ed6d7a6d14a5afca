package sandbox

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
)

// iFrame events (docs/wire.md §7.1). The same bodies travel as JSON mode
// responses and as postMessage data of the browser page.
const (
	evAuthReady          = "AUTH_READY"
	evSessionCreated     = "AUTH_SESSION_CREATED"
	evAuthComplete       = "AUTH_COMPLETE"
	evSessionClosed      = "AUTH_SESSION_CLOSED"
	evAuthFailed         = "AUTH_FAILED"
	evAuthCancelled      = "AUTH_CANCELLED"
	evAuthNotSupported   = "AUTH_NOT_SUPPORTED"
	evAuthNotPerformed   = "AUTH_NOT_PERFORMED"
	protocolVersion      = "1"
	resultComplete       = "COMPLETE"
	contentTypeFIDOBlob  = "FIDO_BLOB"
	synthesizedUserAgent = "Mozilla/5.0 (X11; Linux x86_64) VisaSandbox/1.0"
)

// authEvent is an iFrame → parent message.
type authEvent struct {
	Type                               string                `json:"type"`
	Result                             string                `json:"result,omitempty"`
	RequestID                          string                `json:"requestID"`
	Version                            string                `json:"version,omitempty"`
	ContentType                        string                `json:"contentType,omitempty"`
	SessionContext                     *wireSessionContext   `json:"sessionContext,omitempty"`
	DFPSessionID                       string                `json:"dfpSessionID,omitempty"`
	BrowserData                        *visa.BrowserData     `json:"browserData,omitempty"`
	AuthenticationPreferencesSupported *preferencesSupported `json:"authenticationPreferencesSupported,omitempty"`
	AssuranceData                      *wireAssuranceData    `json:"assuranceData,omitempty"`
	Error                              string                `json:"error,omitempty"`
}

// wireSessionContext carries the secureToken in clear: this is the wire.
type wireSessionContext struct {
	SecureToken string `json:"secureToken"`
}

type preferencesSupported struct {
	RequiresPopupForRegister     bool `json:"requiresPopupForRegister"`
	RequiresPopupForAuthenticate bool `json:"requiresPopupForAuthenticate"`
}

type wireAssuranceData struct {
	FidoBlob   string `json:"fidoBlob"`
	RPID       string `json:"rpID"`
	Identifier string `json:"identifier"`
}

func failure(typ, requestID, code string) authEvent {
	return authEvent{Type: typ, RequestID: requestID, Version: protocolVersion, Error: code}
}

// outcomeEvents maps the X-Sandbox-Auth-Outcome hook (and the browser
// page's failure reports) to events.
var outcomeEvents = map[string]authEvent{
	"CANCELLED":     {Type: evAuthCancelled, Error: codeUserCancelled},
	"FAILED":        {Type: evAuthFailed, Error: codeCeremonyFailed},
	"NOT_SUPPORTED": {Type: evAuthNotSupported, Error: codeNotSupported},
	"NOT_PERFORMED": {Type: evAuthNotPerformed, Error: codeNotPerformed},
}

// createSession handles CREATE_AUTH_SESSION. browserData may be nil (the
// sandbox then synthesizes one); remoteIP fills a missing ipAddress.
func (a *authState) createSession(requestID, deviceID string, bd *visa.BrowserData, remoteIP string) authEvent {
	if check.ClientDeviceID(deviceID) != "" {
		return failure(evAuthFailed, requestID, codeInvalidClientID)
	}
	var data visa.BrowserData
	if bd != nil {
		data = bd.Normalize()
	} else {
		data = visa.BrowserData{
			BrowserJavaEnabled:       "false",
			BrowserJavascriptEnabled: "true",
			BrowserLanguage:          "en-US",
			BrowserColorDepth:        "24",
			BrowserScreenHeight:      "1080",
			BrowserScreenWidth:       "1920",
			BrowserTimeZone:          "0",
			UserAgent:                synthesizedUserAgent,
			BrowserHeader:            "application/json",
		}.Normalize()
	}
	if data.IPAddress == "" {
		data.IPAddress = remoteIP
	}

	now := a.d.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.requests[requestID]
	switch {
	case !ok:
		return failure(evAuthFailed, requestID, codeUnknownRequestID)
	case s.consumed || s.closed:
		return failure(evAuthFailed, requestID, codeSessionConsumed)
	case a.expiredLocked(s, now):
		return failure(evAuthFailed, requestID, codeSessionExpired)
	case s.created && s.deviceID != deviceID:
		// One requestID, one session, one device.
		return failure(evAuthFailed, requestID, codeSessionConsumed)
	case !s.created:
		s.created = true
		s.createdAt = now
		s.deviceID = deviceID
		s.secureToken = randomID("", 32)
		s.dfpSessionID = randomID("DFP-", 16)
		s.browserData = data
		a.tokens[s.secureToken] = s
		a.stats.Sessions++
	}
	// A repeated CREATE_AUTH_SESSION for the same device (a retry) gets
	// the same session.
	return a.sessionCreatedLocked(s)
}

func (a *authState) sessionCreatedLocked(s *iframeSession) authEvent {
	bd := s.browserData
	return authEvent{
		Type:           evSessionCreated,
		Result:         resultComplete,
		RequestID:      s.requestID,
		Version:        protocolVersion,
		SessionContext: &wireSessionContext{SecureToken: s.secureToken},
		DFPSessionID:   s.dfpSessionID,
		BrowserData:    &bd,
		AuthenticationPreferencesSupported: &preferencesSupported{
			RequiresPopupForRegister:     false,
			RequiresPopupForAuthenticate: false,
		},
	}
}

// closeSession handles CLOSE_AUTH_SESSION: the requestID and its
// secureToken are unusable afterwards. Closing twice is fine.
func (a *authState) closeSession(requestID string) authEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.requests[requestID]
	if !ok {
		return failure(evAuthFailed, requestID, codeUnknownRequestID)
	}
	s.closed = true
	s.pending = nil
	return authEvent{Type: evSessionClosed, RequestID: requestID, Version: protocolVersion}
}

// sessionCheckLocked validates a session for a ceremony command and
// returns the failure code, or "".
func (a *authState) sessionCheckLocked(s *iframeSession, ok bool, now time.Time) string {
	switch {
	case !ok || !s.created:
		return codeUnknownRequestID
	case s.consumed || s.closed:
		return codeSessionConsumed
	case a.expiredLocked(s, now):
		return codeSessionExpired
	}
	return ""
}

// challengeFor checks an AUTHENTICATE command's authenticationContext
// against the session's outstanding challenge: the payload must be the
// one handed out last, unexpired, and verify (signature and claims). The
// session is not consumed.
func (a *authState) challengeFor(requestID string, ac *visa.AuthenticationContext) (*iframeSession, *challenge, string) {
	now := a.d.now()
	a.mu.Lock()
	s, ok := a.requests[requestID]
	if code := a.sessionCheckLocked(s, ok, now); code != "" {
		a.mu.Unlock()
		return nil, nil, code
	}
	c := s.challenge
	a.mu.Unlock()

	switch {
	case ac == nil || c == nil || ac.Payload != c.payload:
		return nil, nil, codeChallengeMismatch
	case ac.Identifier != "" && ac.Identifier != c.identifier:
		return nil, nil, codeChallengeMismatch
	case ac.Action != "" && ac.Action != c.action:
		return nil, nil, codeChallengeMismatch
	case !now.Before(c.expiresAt):
		return nil, nil, codeChallengeExpired
	}
	var claims payloadClaims
	if err := a.d.verify(ac.Payload, &claims); err != nil {
		return nil, nil, codeChallengeMismatch
	}
	if claims.JTI != c.jti || claims.Challenge != base64.RawURLEncoding.EncodeToString(c.raw) || claims.TokenID != c.tokenID {
		return nil, nil, codeChallengeMismatch
	}
	return s, c, ""
}

// consume marks the session's secureToken used by a ceremony on c. It
// fails when another command got there first or the challenge changed.
func (a *authState) consume(s *iframeSession, c *challenge) string {
	now := a.d.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if code := a.sessionCheckLocked(s, true, now); code != "" {
		return code
	}
	if s.challenge != c {
		return codeChallengeMismatch
	}
	s.consumed = true
	s.pending = nil
	return ""
}

// hookOutcome ends a consumed session's ceremony with a test-hook or
// browser-reported outcome.
func (a *authState) hookOutcome(requestID, outcome string) authEvent {
	ev := outcomeEvents[outcome]
	ev.RequestID, ev.Version = requestID, protocolVersion
	a.mu.Lock()
	a.stats.Failures++
	a.mu.Unlock()
	return ev
}

// failCeremony records a failed ceremony and returns its event.
func (a *authState) failCeremony(requestID, code string) authEvent {
	a.mu.Lock()
	a.stats.Failures++
	a.mu.Unlock()
	return failure(evAuthFailed, requestID, code)
}

// device returns the software authenticator playing deviceID.
func (a *authState) device(deviceID string) (*fido.Authenticator, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := a.devices[deviceID]; d != nil {
		return d, nil
	}
	d, err := fido.NewAuthenticator()
	if err != nil {
		return nil, err
	}
	a.devices[deviceID] = d
	return d, nil
}

func (a *authState) slot(c *challenge, deviceID string) *passkey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.passkeys[slotKey{c.tokenID, deviceID}]
}

// authenticateJSON handles AUTHENTICATE in JSON mode: the sandbox plays
// the user's device with the session's software authenticator. outcome is
// the X-Sandbox-Auth-Outcome hook ("" for none).
func (a *authState) authenticateJSON(requestID string, ac *visa.AuthenticationContext, outcome string) authEvent {
	s, c, code := a.challengeFor(requestID, ac)
	if code != "" {
		return a.rejected(requestID, code)
	}
	if code := a.consume(s, c); code != "" {
		return a.rejected(requestID, code)
	}
	if outcome != "" {
		return a.hookOutcome(requestID, outcome)
	}
	ev, err := a.runSoftwareCeremony(s, c)
	if err != nil {
		return a.failCeremony(requestID, codeCeremonyFailed)
	}
	return ev
}

// rejected is the event of a command refused before its ceremony ran; it
// counts as a failure but leaves the session as it was.
func (a *authState) rejected(requestID, code string) authEvent {
	a.mu.Lock()
	a.stats.Failures++
	a.mu.Unlock()
	return failure(evAuthFailed, requestID, code)
}

func (a *authState) runSoftwareCeremony(s *iframeSession, c *challenge) (authEvent, error) {
	dev, err := a.device(s.deviceID)
	if err != nil {
		return authEvent{}, err
	}
	origin, err := a.origin()
	if err != nil {
		return authEvent{}, err
	}
	frame := ceremonyFrame{}
	wa, err := a.relyingParty(frame)
	if err != nil {
		return authEvent{}, err
	}
	pk := a.slot(c, s.deviceID)
	opts, sd, err := beginCeremony(wa, c, pk)
	if err != nil {
		return authEvent{}, err
	}
	client := fido.ClientOrigin{Origin: origin}
	var resp []byte
	if c.action == visa.ActionRegister {
		resp, err = dev.Register(opts, client)
	} else {
		resp, err = dev.Authenticate(opts, client)
	}
	if err != nil {
		return authEvent{}, err
	}
	return a.finish(s, c, pk, wa, sd, resp)
}

// finish verifies a ceremony response, stores the passkey (REGISTER) or
// its new signature counter (AUTHENTICATE), and mints the fidoBlob.
func (a *authState) finish(s *iframeSession, c *challenge, pk *passkey, wa *webauthn.WebAuthn, sd webauthn.SessionData, resp []byte) (authEvent, error) {
	cred, err := finishCeremony(wa, c, pk, sd, resp)
	if err != nil {
		return authEvent{}, err
	}
	rpID, _, err := a.rp()
	if err != nil {
		return authEvent{}, err
	}
	now := a.d.now()
	key := slotKey{c.tokenID, s.deviceID}
	kind := BlobAssertion
	a.mu.Lock()
	if c.action == visa.ActionRegister {
		kind = BlobAttestation
		a.passkeys[key] = &passkey{identifier: c.identifier, userID: c.userID, userName: c.userName, cred: *cred, createdAt: now, usedAt: now}
		a.stats.Registrations++
	} else {
		cur := a.passkeys[key]
		if cur == nil || cur.identifier != pk.identifier { // forgotten or replaced while the ceremony ran
			a.mu.Unlock()
			return authEvent{}, errors.New("sandbox: passkey changed during the ceremony")
		}
		// Concurrent purchases on one passkey may finish out of order:
		// keep the highest signature counter seen.
		updated := *cur
		updated.usedAt = now
		if cred.Authenticator.SignCount > cur.cred.Authenticator.SignCount {
			updated.cred = *cred
		}
		a.passkeys[key] = &updated
		a.stats.Assertions++
	}
	bd := s.browserData
	token := s.secureToken
	a.mu.Unlock()

	blob, err := a.mintBlob(kind, c, s.deviceID, base64.RawURLEncoding.EncodeToString(c.raw), now)
	if err != nil {
		return authEvent{}, fmt.Errorf("sandbox: mint fidoBlob: %w", err)
	}
	return authEvent{
		Type:           evAuthComplete,
		Result:         resultComplete,
		RequestID:      s.requestID,
		Version:        protocolVersion,
		ContentType:    contentTypeFIDOBlob,
		SessionContext: &wireSessionContext{SecureToken: token},
		BrowserData:    &bd,
		AssuranceData:  &wireAssuranceData{FidoBlob: blob, RPID: rpID, Identifier: c.identifier},
	}, nil
}
