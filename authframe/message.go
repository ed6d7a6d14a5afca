package authframe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
)

// Message types of the Auth iFrame protocol (docs/wire.md §7.1).
const (
	TypeAuthReady          = "AUTH_READY"
	TypeCreateAuthSession  = "CREATE_AUTH_SESSION"
	TypeAuthSessionCreated = "AUTH_SESSION_CREATED"
	TypeAuthenticate       = "AUTHENTICATE"
	TypeAuthComplete       = "AUTH_COMPLETE"
	TypeCloseAuthSession   = "CLOSE_AUTH_SESSION"
	TypeAuthSessionClosed  = "AUTH_SESSION_CLOSED"
	TypeAuthNotSupported   = "AUTH_NOT_SUPPORTED"
	TypeAuthNotPerformed   = "AUTH_NOT_PERFORMED"
	TypeAuthCancelled      = "AUTH_CANCELLED"
	TypeAuthFailed         = "AUTH_FAILED"

	// TypeResult and TypeAuthSuccess are aliases of AUTH_COMPLETE seen in
	// Visa's TypeScript sample.
	TypeResult      = "RESULT"
	TypeAuthSuccess = "AUTH_SUCCESS"
)

// ProtocolVersion is the "version" of every command.
const ProtocolVersion = "1"

// ResultComplete is the "result" of a successful event.
const ResultComplete = "COMPLETE"

// maxMessageBytes bounds a message before it is parsed.
const maxMessageBytes = 64 << 10

// ClientInfo is the "client" of CREATE_AUTH_SESSION.
type ClientInfo struct {
	// ID is the clientDeviceId: 24 characters, stable per device.
	ID string `json:"id"`
}

// PopupSupport is authenticationPreferencesSupported of
// AUTH_SESSION_CREATED.
type PopupSupport struct {
	RequiresPopupForRegister     bool `json:"requiresPopupForRegister"`
	RequiresPopupForAuthenticate bool `json:"requiresPopupForAuthenticate"`
}

// AssuranceData is the assuranceData of AUTH_COMPLETE.
type AssuranceData struct {
	FidoBlob   fido.Blob `json:"fidoBlob"`
	RPID       string    `json:"rpID"`
	Identifier string    `json:"identifier"`
}

// Message is one message of the protocol, in either direction. Only the
// members of its type are set. Its secrets (the secureToken, the
// fidoBlob) print and marshal redacted; Wire gives the clear form that
// goes to the iFrame.
type Message struct {
	Type                               string                      `json:"type"`
	RequestID                          string                      `json:"requestID,omitempty"`
	Version                            string                      `json:"version,omitempty"`
	Result                             string                      `json:"result,omitempty"`
	Client                             *ClientInfo                 `json:"client,omitempty"`
	SessionContext                     *visa.SessionContext        `json:"sessionContext,omitempty"`
	DFPSessionID                       string                      `json:"dfpSessionID,omitempty"`
	BrowserData                        *visa.BrowserData           `json:"browserData,omitempty"`
	AuthenticationPreferencesSupported *PopupSupport               `json:"authenticationPreferencesSupported,omitempty"`
	AuthenticationContext              *visa.AuthenticationContext `json:"authenticationContext,omitempty"`
	ContentType                        string                      `json:"contentType,omitempty"`
	AssuranceData                      *AssuranceData              `json:"assuranceData,omitempty"`
	Error                              string                      `json:"error,omitempty"`
}

// ErrMalformedMessage is matched by every ParseMessage failure.
var ErrMalformedMessage = errors.New("authframe: malformed message")

// ParseMessage decodes a message that arrived as a JSON object or as a
// JSON string holding one (postMessage carries both, docs/wire.md §7.1).
// The secureToken and fidoBlob are decoded into their redacting types.
func ParseMessage(data []byte) (*Message, error) {
	if len(data) > maxMessageBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedMessage, maxMessageBytes)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("%w: bad JSON string", ErrMalformedMessage)
		}
		data = []byte(s)
	}
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformedMessage)
	}
	if w.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformedMessage)
	}
	return w.message()
}

// IsComplete reports whether m is the success event of a ceremony
// (AUTH_COMPLETE or one of its aliases).
func (m *Message) IsComplete() bool {
	switch m.Type {
	case TypeAuthComplete, TypeResult, TypeAuthSuccess:
		return true
	}
	return false
}

// Wire returns the JSON that goes to the iFrame, with the secureToken in
// clear. Build it just before sending; never log it.
func (m *Message) Wire() ([]byte, error) {
	w := wireMessage{
		Type: m.Type, RequestID: m.RequestID, Version: m.Version, Result: m.Result, Client: m.Client,
		DFPSessionID: m.DFPSessionID, BrowserData: m.BrowserData,
		AuthenticationPreferencesSupported: m.AuthenticationPreferencesSupported,
		AuthenticationContext:              m.AuthenticationContext, ContentType: m.ContentType, Error: m.Error,
	}
	if m.SessionContext != nil {
		w.SessionContext = &wireSessionContext{SecureToken: m.SessionContext.SecureToken.Reveal()}
	}
	if a := m.AssuranceData; a != nil {
		w.AssuranceData = &wireAssurance{FidoBlob: a.FidoBlob.Reveal(), RPID: a.RPID, Identifier: a.Identifier}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type wireSessionContext struct {
	SecureToken string `json:"secureToken"`
}

type wireAssurance struct {
	FidoBlob   string `json:"fidoBlob"`
	RPID       string `json:"rpID"`
	Identifier string `json:"identifier"`
}

type wireMessage struct {
	Type                               string                      `json:"type"`
	RequestID                          string                      `json:"requestID,omitempty"`
	Version                            string                      `json:"version,omitempty"`
	Result                             string                      `json:"result,omitempty"`
	Client                             *ClientInfo                 `json:"client,omitempty"`
	SessionContext                     *wireSessionContext         `json:"sessionContext,omitempty"`
	DFPSessionID                       string                      `json:"dfpSessionID,omitempty"`
	BrowserData                        *visa.BrowserData           `json:"browserData,omitempty"`
	AuthenticationPreferencesSupported *PopupSupport               `json:"authenticationPreferencesSupported,omitempty"`
	AuthenticationContext              *visa.AuthenticationContext `json:"authenticationContext,omitempty"`
	ContentType                        string                      `json:"contentType,omitempty"`
	AssuranceData                      *wireAssurance              `json:"assuranceData,omitempty"`
	Error                              string                      `json:"error,omitempty"`
}

func (w *wireMessage) message() (*Message, error) {
	m := &Message{
		Type: w.Type, RequestID: w.RequestID, Version: w.Version, Result: w.Result, Client: w.Client,
		DFPSessionID: w.DFPSessionID, BrowserData: w.BrowserData,
		AuthenticationPreferencesSupported: w.AuthenticationPreferencesSupported,
		AuthenticationContext:              w.AuthenticationContext, ContentType: w.ContentType, Error: w.Error,
	}
	if w.SessionContext != nil {
		m.SessionContext = &visa.SessionContext{SecureToken: visa.NewSecret(w.SessionContext.SecureToken)}
	}
	if a := w.AssuranceData; a != nil {
		var blob fido.Blob
		if a.FidoBlob != "" {
			b, err := fido.NewBlob(a.FidoBlob)
			if err != nil {
				return nil, fmt.Errorf("%w: assuranceData.fidoBlob is not a blob", ErrMalformedMessage)
			}
			blob = b
		}
		m.AssuranceData = &AssuranceData{FidoBlob: blob, RPID: a.RPID, Identifier: a.Identifier}
	}
	return m, nil
}
