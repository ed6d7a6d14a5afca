package fido

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// Assurance is what an Auth iFrame passkey ceremony returns: the
// AUTH_COMPLETE message's assuranceData object (docs/wire.md §7.1). It decodes
// straight from that JSON; the Blob it holds never prints.
type Assurance struct {
	// FidoBlob is Visa's opaque proof of the ceremony (fidoBlob).
	FidoBlob Blob `json:"fidoBlob"`
	// Identifier is the passkey identifier Visa assigned (e.g. "ID-7Qm...").
	Identifier string `json:"identifier"`
	// RPID is the WebAuthn relying party id the iFrame used (e.g. "localhost").
	RPID string `json:"rpID"`
}

// Validate reports whether a carries the parts VIC needs: a blob and an
// identifier. The RP id is informational and may be empty.
func (a Assurance) Validate() error {
	if a.FidoBlob.IsZero() {
		return ErrBlobEmpty
	}
	if a.Identifier == "" {
		return ErrIdentifierEmpty
	}
	return nil
}

// Ceremony is the passkey ceremony that produced an Assurance, as named in the
// attestation options action and the iFrame AUTHENTICATE command.
type Ceremony string

const (
	// Register is a passkey creation (navigator.credentials.create); its blob
	// goes into methodResults.fidoAttestationData.code (card enrollment).
	Register Ceremony = "REGISTER"
	// Authenticate is a passkey assertion (navigator.credentials.get); its blob
	// goes into methodResults.fidoAssertionData.code (instructions, or
	// enrollment when the attestation options asked for AUTHENTICATE).
	Authenticate Ceremony = "AUTHENTICATE"
)

// ParseCeremony returns the Ceremony named s ("REGISTER" or "AUTHENTICATE",
// exactly as on the wire), or an error wrapping ErrUnknownCeremony.
func ParseCeremony(s string) (Ceremony, error) {
	c := Ceremony(s)
	if !c.Valid() {
		return "", fmt.Errorf("%w %q", ErrUnknownCeremony, s)
	}
	return c, nil
}

// Valid reports whether c is Register or Authenticate.
func (c Ceremony) Valid() bool { return c == Register || c == Authenticate }

// String returns the wire name.
func (c Ceremony) String() string { return string(c) }

// Wire constants of a FIDO assuranceData element (docs/wire.md §6.1).
const (
	// VerificationTypeDevice is verificationType for a device (passkey) check.
	VerificationTypeDevice = "DEVICE"
	// VerificationEntityVisa is verificationEntity "10", the value Visa's samples send.
	VerificationEntityVisa = "10"
	// VerificationMethodFIDO is verificationMethod "23", a FIDO passkey.
	VerificationMethodFIDO = "23"
	// VerificationResultPassed is verificationResults "01", success.
	VerificationResultPassed = "01"
)

// VerificationEvents returns the verificationEvents the SDK sends with FIDO
// data, ["01","02"] (docs/wire.md §11.4). A fresh slice on every call.
func VerificationEvents() []string { return []string{"01", "02"} }

// AssuranceData is one element of VIC's assuranceData[] (docs/wire.md §6.1),
// built by NewAssuranceData. It holds the Blob, so printing it, logging it or
// marshalling it with encoding/json shows only the mask; WireJSON gives the
// bytes that go on the wire. It also decodes from wire JSON (the sandbox's view).
type AssuranceData struct {
	// VerificationType is "DEVICE".
	VerificationType string `json:"verificationType"`
	// VerificationEntity is "10".
	VerificationEntity string `json:"verificationEntity"`
	// VerificationEvents is ["01","02"] when FIDO data is present.
	VerificationEvents []string `json:"verificationEvents"`
	// VerificationMethod is "23", FIDO passkey.
	VerificationMethod string `json:"verificationMethod"`
	// VerificationResults is "01", success.
	VerificationResults string `json:"verificationResults"`
	// VerificationTimestamp is the ceremony time in epoch seconds (at most 12 digits).
	VerificationTimestamp string `json:"verificationTimestamp"`
	// MethodResults carries the session, the passkey identifier and the blob.
	MethodResults MethodResults `json:"methodResults"`
	// AdditionalData is optional free text; NewAssuranceData leaves it empty.
	AdditionalData string `json:"additionalData,omitempty"`
}

// MethodResults is assuranceData[].methodResults. Exactly one of
// FidoAttestationData (REGISTER) and FidoAssertionData (AUTHENTICATE) is set.
type MethodResults struct {
	// DfpSessionID is the iFrame's dfpSessionID; on this wire it is spelled
	// dfpSessionId (Id, not ID).
	DfpSessionID string `json:"dfpSessionId"`
	// Identifier is AUTH_COMPLETE assuranceData.identifier.
	Identifier string `json:"identifier"`
	// FidoAttestationData carries the blob of a REGISTER ceremony.
	FidoAttestationData *FidoData `json:"fidoAttestationData,omitempty"`
	// FidoAssertionData carries the blob of an AUTHENTICATE ceremony.
	FidoAssertionData *FidoData `json:"fidoAssertionData,omitempty"`
}

// FidoData carries the fidoBlob as its code.
type FidoData struct {
	// Code is the fidoBlob; it prints and marshals masked.
	Code Blob `json:"code"`
}

// NewAssuranceData builds the VIC assuranceData element for the ceremony c
// that produced a: verificationType DEVICE, entity "10", events ["01","02"],
// method "23" (FIDO passkey), result "01", timestamp at (epoch seconds), and
// methodResults with dfpSessionId, identifier and the blob under
// fidoAttestationData (Register) or fidoAssertionData (Authenticate).
//
// Errors wrap ErrBlobEmpty, ErrIdentifierEmpty, ErrUnknownCeremony,
// ErrDFPSessionIDEmpty or ErrInvalidTimestamp.
func NewAssuranceData(a Assurance, c Ceremony, dfpSessionID string, at time.Time) (AssuranceData, error) {
	if err := a.Validate(); err != nil {
		return AssuranceData{}, err
	}
	if !c.Valid() {
		return AssuranceData{}, fmt.Errorf("%w %q", ErrUnknownCeremony, string(c))
	}
	if dfpSessionID == "" {
		return AssuranceData{}, ErrDFPSessionIDEmpty
	}
	sec := at.Unix()
	if at.IsZero() || sec <= 0 || sec > 999_999_999_999 {
		return AssuranceData{}, ErrInvalidTimestamp
	}
	d := AssuranceData{
		VerificationType:      VerificationTypeDevice,
		VerificationEntity:    VerificationEntityVisa,
		VerificationEvents:    VerificationEvents(),
		VerificationMethod:    VerificationMethodFIDO,
		VerificationResults:   VerificationResultPassed,
		VerificationTimestamp: strconv.FormatInt(sec, 10),
		MethodResults: MethodResults{
			DfpSessionID: dfpSessionID,
			Identifier:   a.Identifier,
		},
	}
	fd := &FidoData{Code: a.FidoBlob}
	if c == Register {
		d.MethodResults.FidoAttestationData = fd
	} else {
		d.MethodResults.FidoAssertionData = fd
	}
	return d, nil
}

// Code returns the blob d carries and the ceremony it came from, or the zero
// Blob and "" when d carries none (or, malformed, both).
func (d AssuranceData) Code() (Blob, Ceremony) {
	att, asr := d.MethodResults.FidoAttestationData, d.MethodResults.FidoAssertionData
	switch {
	case att != nil && asr == nil:
		return att.Code, Register
	case asr != nil && att == nil:
		return asr.Code, Authenticate
	}
	return Blob{}, ""
}

// wire mirrors of AssuranceData with the blob as a plain string.
type wireFidoData struct {
	Code string `json:"code"`
}

type wireMethodResults struct {
	DfpSessionID        string        `json:"dfpSessionId"`
	Identifier          string        `json:"identifier"`
	FidoAttestationData *wireFidoData `json:"fidoAttestationData,omitempty"`
	FidoAssertionData   *wireFidoData `json:"fidoAssertionData,omitempty"`
}

type wireAssuranceData struct {
	VerificationType      string            `json:"verificationType"`
	VerificationEntity    string            `json:"verificationEntity"`
	VerificationEvents    []string          `json:"verificationEvents"`
	VerificationMethod    string            `json:"verificationMethod"`
	VerificationResults   string            `json:"verificationResults"`
	VerificationTimestamp string            `json:"verificationTimestamp"`
	MethodResults         wireMethodResults `json:"methodResults"`
	AdditionalData        string            `json:"additionalData,omitempty"`
}

func wireFido(f *FidoData) *wireFidoData {
	if f == nil {
		return nil
	}
	return &wireFidoData{Code: f.Code.Reveal()}
}

// WireValue returns the exact wire form of d as a value for encoding/json
// to write inside a larger request body, in the same pass as the rest of it
// (WireJSON's bytes held as a json.RawMessage are scanned a second time by
// the outer encoder). Encoded with HTML escaping off, as the SDK's transport
// does, it gives WireJSON's bytes. It holds the clear fidoBlob: build it just
// before sending, never log it, store it or put it into an error; fmt and
// log/slog show it without the blob (encoding/json is how it is sent, so
// json.Marshal does not). It fails with ErrBlobEmpty if d carries no blob.
func (d AssuranceData) WireValue() (any, error) {
	if b, _ := d.Code(); b.IsZero() {
		return nil, ErrBlobEmpty
	}
	return &wireAssuranceData{
		VerificationType:      d.VerificationType,
		VerificationEntity:    d.VerificationEntity,
		VerificationEvents:    d.VerificationEvents,
		VerificationMethod:    d.VerificationMethod,
		VerificationResults:   d.VerificationResults,
		VerificationTimestamp: d.VerificationTimestamp,
		MethodResults: wireMethodResults{
			DfpSessionID:        d.MethodResults.DfpSessionID,
			Identifier:          d.MethodResults.Identifier,
			FidoAttestationData: wireFido(d.MethodResults.FidoAttestationData),
			FidoAssertionData:   wireFido(d.MethodResults.FidoAssertionData),
		},
		AdditionalData: d.AdditionalData,
	}, nil
}

// wireMask is what fmt and log/slog show of a wire form.
const wireMask = "fido.AssuranceData(wire form, blob not printed)"

// Format prints the wire form without its blob, whatever the verb.
func (w *wireAssuranceData) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, wireMask) }

// LogValue keeps the blob out of log/slog, whose JSON handler would
// otherwise encode the wire form as it is.
func (w *wireAssuranceData) LogValue() slog.Value { return slog.StringValue(wireMask) }

// WireJSON returns the exact wire JSON of d, with the clear fidoBlob in
// methodResults.fido*Data.code. With WireValue it is the only place this
// package reveals a blob into JSON: build it just before sending and never
// log it, store it or put it into an error. It fails with ErrBlobEmpty if d
// carries no blob.
func (d AssuranceData) WireJSON() ([]byte, error) {
	w, err := d.WireValue()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("fido: encode assuranceData: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
