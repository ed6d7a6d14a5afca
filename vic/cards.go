package vic

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
)

// Consumer identifies the shopper to VIC (docs/wire.md §6.2).
type Consumer struct {
	// ConsumerID is the integrator's stable user id, e.g. a UUID.
	ConsumerID string
	// Email is the consumer identity (identityType EMAIL_ADDRESS).
	Email string
	// CountryCode (ISO 3166 alpha-2) and LanguageCode (ISO 639-1).
	CountryCode  string
	LanguageCode string
	// NationalIdentifier, IdentityProvider and IdentityProviderURL are
	// optional.
	NationalIdentifier  string
	IdentityProvider    string
	IdentityProviderURL string
}

// Consent records one consent the consumer gave.
type Consent struct {
	ID             string
	Type           string // e.g. "PERSONALIZATION"
	Source         string // e.g. "CLIENT"
	AcceptedAt     time.Time
	EffectiveUntil time.Time // zero = open-ended
}

// EnrollCardRequest enrolls a provisioned token in VIC with the passkey
// assurance of the add-card flow.
type EnrollCardRequest struct {
	// ClientReferenceID is the flow's reference; empty means a new one.
	ClientReferenceID string
	Consumer          Consumer
	AppInstance       visa.AppInstance
	// TokenID is the vProvisionedTokenID.
	TokenID string
	// Assurance is what the iFrame returned for the passkey ceremony.
	Assurance fido.Assurance
	// Ceremony is fido.Register after a REGISTER ceremony (the default),
	// or fido.Authenticate when the onboarding probe found a passkey.
	Ceremony fido.Ceremony
	// DFPSessionID is the iFrame session's dfpSessionID.
	DFPSessionID string
	Consents     []Consent
}

// EnrollCardResponse is the VIC answer to a card enrollment.
type EnrollCardResponse struct {
	visa.ResponseMeta
	ClientReferenceID string
	// Status is StatusActive on success.
	Status Status
	// PendingEvents is empty on success (a pending answer is a
	// *PendingError).
	PendingEvents []PendingEvent
}

// EnrollCard calls POST /vacp/v1/cards (after Step 9): it enrolls the
// token in VIC, redeeming the passkey's fidoBlob. It is not retried after
// the request may have reached Visa, since the blob is single use.
func (c *Client) EnrollCard(ctx context.Context, req EnrollCardRequest) (*EnrollCardResponse, error) {
	const op = "vic.EnrollCard"
	body, err := c.enrollBody(req)
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPost, Path: "/vacp/v1/cards", Body: body}, &out)
	if err != nil {
		return nil, err
	}
	if err := out.answer(op, "status"); err != nil {
		return nil, fail(op, meta, err)
	}
	return &EnrollCardResponse{ResponseMeta: meta, ClientReferenceID: out.ClientReferenceID, Status: out.Status, PendingEvents: out.PendingEvents}, nil
}

func (c *Client) enrollBody(req EnrollCardRequest) (*wireEnrollCard, error) {
	if req.Ceremony == "" {
		req.Ceremony = fido.Register
	}
	if err := firstErr(
		checkID("TokenID", req.TokenID),
		req.Consumer.validate(),
		req.AppInstance.Validate(),
	); err != nil {
		return nil, err
	}
	crid, err := clientReferenceID(req.ClientReferenceID)
	if err != nil {
		return nil, err
	}
	ad, err := assurance(req.Assurance, req.Ceremony, req.DFPSessionID, c.now())
	if err != nil {
		return nil, err
	}
	body := &wireEnrollCard{
		ClientReferenceID: crid,
		Client:            c.client,
		Consumer: wireConsumer{
			ConsumerID: req.Consumer.ConsumerID, NationalIdentifier: req.Consumer.NationalIdentifier,
			CountryCode: req.Consumer.CountryCode, LanguageCode: req.Consumer.LanguageCode,
			ConsumerIdentity: wireIdentity{
				IdentityType: "EMAIL_ADDRESS", IdentityValue: req.Consumer.Email,
				IdentityProvider: req.Consumer.IdentityProvider, IdentityProviderURL: req.Consumer.IdentityProviderURL,
			},
		},
		AppInstance: req.AppInstance,
		EnrollmentReferenceData: wireEnrollmentRef{
			EnrollmentReferenceID: req.TokenID, EnrollmentReferenceType: "TOKEN_REFERENCE_ID", EnrollmentReferenceProvider: "VTS",
		},
		AssuranceData: ad,
	}
	if len(req.Consents) > 0 {
		body.ConsentData = make([]wireConsent, 0, len(req.Consents))
	}
	for i, cs := range req.Consents {
		f := elem("Consents", i)
		if err := firstErr(f.id("ID", cs.ID), f.id("Type", cs.Type), f.id("Source", cs.Source)); err != nil {
			return nil, err
		}
		if cs.AcceptedAt.IsZero() {
			return nil, f.input("AcceptedAt", "is required")
		}
		w := wireConsent{ID: cs.ID, Type: cs.Type, Source: cs.Source, AcceptedTime: epoch(cs.AcceptedAt)}
		if !cs.EffectiveUntil.IsZero() {
			w.EffectiveUntil = epoch(cs.EffectiveUntil)
		}
		body.ConsentData = append(body.ConsentData, w)
	}
	return body, nil
}

func (cs Consumer) validate() error {
	return firstErr(
		rule("Consumer.ConsumerID", check.ID(cs.ConsumerID, check.MaxID)),
		rule("Consumer.Email", check.Email(cs.Email)),
		rule("Consumer.CountryCode", check.Country(cs.CountryCode)),
		rule("Consumer.LanguageCode", check.Language(cs.LanguageCode)),
		checkText("Consumer.NationalIdentifier", cs.NationalIdentifier, false, 64),
		checkText("Consumer.IdentityProvider", cs.IdentityProvider, false, 256),
		optionalURL("Consumer.IdentityProviderURL", cs.IdentityProviderURL),
	)
}

// optionalURL checks a URL when one is given.
func optionalURL(field, s string) error {
	if s == "" {
		return nil
	}
	return rule(field, check.URL(s, check.MaxURL))
}

// assurance builds the one-element assuranceData array in wire form.
func assurance(a fido.Assurance, c fido.Ceremony, dfp string, at time.Time) ([]any, error) {
	if err := rule("DFPSessionID", check.ID(dfp, check.MaxID)); err != nil {
		return nil, err
	}
	d, err := fido.NewAssuranceData(a, c, dfp, at)
	if err != nil {
		// fido's reasons name the field, never the blob.
		return nil, &visa.InputError{Field: "Assurance", Reason: strings.TrimPrefix(err.Error(), "fido: ")}
	}
	w, err := d.WireValue()
	if err != nil {
		return nil, err
	}
	return []any{w}, nil
}
