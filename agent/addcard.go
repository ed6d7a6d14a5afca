package agent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// Device is the cardholder's device as the journey needs it.
type Device struct {
	// ClientDeviceID is the device's stable 24-character id; it must equal
	// AppInstance.ClientDeviceID.
	ClientDeviceID string
	// AppInstance describes the agent application on this device.
	AppInstance visa.AppInstance
	// BrowserData, when collected from the cardholder's browser, goes to
	// the iFrame; otherwise the iFrame supplies it.
	BrowserData *visa.BrowserData
	// Channel is the authframe.Bridge channel of the cardholder's page.
	Channel string
}

func (d Device) validate() error {
	if !visa.ValidClientDeviceID(d.ClientDeviceID) {
		return visa.NewInputError("Device.ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	}
	if d.AppInstance.ClientDeviceID == "" {
		d.AppInstance.ClientDeviceID = d.ClientDeviceID
	}
	if d.AppInstance.ClientDeviceID != d.ClientDeviceID {
		return visa.NewInputError("Device.AppInstance.ClientDeviceID", "must equal Device.ClientDeviceID")
	}
	return d.AppInstance.Validate()
}

func (d Device) appInstance() visa.AppInstance {
	ai := d.AppInstance
	if ai.ClientDeviceID == "" {
		ai.ClientDeviceID = d.ClientDeviceID
	}
	return ai
}

// AddCardRequest adds a card for a user on a device (Phases 2 and 3).
type AddCardRequest struct {
	// User is created or updated: ID, Email, Country, Language.
	User store.User
	// Card is the card the cardholder typed; it goes only to VTS,
	// encrypted, and is never stored.
	Card   vts.Card
	Device Device
	// Cardholder answers the step-up (OTP) questions.
	Cardholder Cardholder
	Consents   []vic.Consent
}

// AddCardResult is the stored card.
type AddCardResult struct {
	Card store.Card
	// Ceremony is fido.Register when a passkey was created, or
	// fido.Authenticate when the device already had one.
	Ceremony fido.Ceremony
	// StepUp is the step-up method used ("OTPSMS", "OTPEMAIL"), or
	// "APPROVED" when Visa asked for none.
	StepUp string
}

// AddCard tokenizes the card, binds the token to the device with a
// passkey, enrolls it in VIC and stores the token and the sealed passkey
// (never the PAN or CVV2). Journey steps 1 to 9 (docs/journey.md):
//
//	1 EnrollPAN → 2 ProvisionToken → 3 iFrame session → 4 attestation probe
//	→ 5 device binding → 6, 7 OTP step-up (Cardholder) → token ACTIVE
//	→ 8 attestation REGISTER → 9 passkey ceremony → VIC card enrollment.
//
// If it fails after the token was provisioned, it deletes the token at
// VTS and the card record, so nothing half-added remains.
func (a *Agent) AddCard(ctx context.Context, req AddCardRequest) (*AddCardResult, error) {
	if err := a.checkAddCard(req); err != nil {
		return nil, err
	}
	f := &addFlow{a: a, req: req, crid: visa.NewClientReferenceID()}
	res, err := f.run(ctx)
	if err != nil && f.tokenID != "" {
		f.cleanup(context.WithoutCancel(ctx))
	}
	return res, err
}

func (a *Agent) checkAddCard(req AddCardRequest) error {
	if err := checkUser(req.User); err != nil {
		return err
	}
	if err := req.Device.validate(); err != nil {
		return err
	}
	if req.Cardholder == nil {
		return visa.NewInputError("Cardholder", "is required")
	}
	if req.Card.PAN.IsZero() {
		return visa.NewInputError("Card.PAN", "is required")
	}
	if req.Card.CVV2.IsZero() {
		return visa.NewInputError("Card.CVV2", "is required")
	}
	e := req.Card.ExpirationDate
	if e.Month < 1 || e.Month > 12 || e.Year < 2000 || e.Year > 2200 {
		return visa.NewInputError("Card.ExpirationDate", "must be a month 1-12 and a four-digit year")
	}
	if end := time.Date(e.Year, time.Month(e.Month)+1, 1, 0, 0, 0, 0, time.UTC); !end.After(a.now()) {
		return visa.NewInputError("Card.ExpirationDate", "is in the past")
	}
	return nil
}

func checkUser(u store.User) error {
	switch {
	case len(u.Country) != 2:
		return visa.NewInputError("User.Country", "must be an ISO 3166 alpha-2 code")
	case len(u.Language) < 2 || len(u.Language) > 8:
		return visa.NewInputError("User.Language", "must be a language code such as en")
	}
	// The store's own rules, checked before anything is sent.
	return asInputError("User", u.Validate())
}

// asInputError turns a store validation failure into the SDK's input
// error (errors.Is(err, visa.ErrInvalidInput)), keeping the store's too.
func asInputError(prefix string, err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w (%w)", visa.NewInputError(prefix+"."+ve.Field, ve.Reason), store.ErrInvalid)
	}
	return err
}

// addFlow is one AddCard in progress.
type addFlow struct {
	a       *Agent
	req     AddCardRequest
	crid    string
	tokenID string
	session *authframe.Session
}

func (f *addFlow) run(ctx context.Context) (*AddCardResult, error) {
	a, req := f.a, f.req
	var enr *vts.EnrollPANResponse
	if err := a.step(ctx, StepEnrollPAN, "", func() (string, error) {
		var err error
		enr, err = a.vts.EnrollPAN(ctx, vts.EnrollPANRequest{Card: req.Card})
		return "enrolled ****" + lastOf(enr), err
	}); err != nil {
		return nil, err
	}
	var tok *vts.ProvisionTokenResponse
	if err := a.step(ctx, StepProvisionToken, "", func() (string, error) {
		var err error
		tok, err = a.vts.ProvisionToken(ctx, vts.ProvisionTokenRequest{
			VPanEnrollmentID: enr.VPanEnrollmentID, Email: req.User.Email, ExpirationDate: req.Card.ExpirationDate,
		})
		if err != nil {
			return "", err
		}
		return string(tok.TokenInfo.TokenStatus), nil
	}); err != nil {
		return nil, err
	}
	f.tokenID = tok.VProvisionedTokenID
	card, err := f.persistToken(ctx, tok, enr)
	if err != nil {
		return nil, err
	}

	if err := a.step(ctx, StepOpenSession, "", func() (string, error) {
		var err error
		f.session, err = a.frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: req.Device.ClientDeviceID,
			BrowserData: req.Device.BrowserData, Channel: req.Device.Channel})
		return "session open", err
	}); err != nil {
		return nil, err
	}
	defer f.closeSession(ctx)

	var probe *vts.AttestationOptionsResponse
	if err := a.step(ctx, StepProbe, "", func() (string, error) {
		var err error
		probe, err = a.vts.AttestationOptions(ctx, f.options(visa.ActionAuthenticate))
		if err != nil {
			return "", err
		}
		return string(probe.AuthenticationContext.Action), nil
	}); err != nil {
		return nil, err
	}

	res := &AddCardResult{Ceremony: fido.Register}
	ac := probe.AuthenticationContext
	if ac.Action == visa.ActionAuthenticate {
		// This device already holds a passkey for the token: use it.
		res.Ceremony = fido.Authenticate
	} else {
		stepUp, err := f.bind(ctx)
		if err != nil {
			return nil, err
		}
		res.StepUp = stepUp
		if card, err = f.activate(ctx, card); err != nil {
			return nil, err
		}
		var reg *vts.AttestationOptionsResponse
		if err := a.step(ctx, StepRegisterOptions, "", func() (string, error) {
			reg, err = a.vts.AttestationOptions(ctx, f.options(visa.ActionRegister))
			if err != nil {
				return "", err
			}
			return string(reg.AuthenticationContext.Action), nil
		}); err != nil {
			return nil, err
		}
		ac = reg.AuthenticationContext
	}

	var as fido.Assurance
	stepName := StepRegisterPasskey
	if res.Ceremony == fido.Authenticate {
		stepName = Step{9, "passkey ceremony (existing passkey)"}
	}
	if err := a.step(ctx, stepName, "", func() (string, error) {
		var err error
		as, err = a.frame.Authenticate(ctx, f.session, ac)
		return "assurance received", err
	}); err != nil {
		return nil, err
	}

	if err := a.step(ctx, StepEnrollCard, "", func() (string, error) {
		r, err := a.vic.EnrollCard(ctx, vic.EnrollCardRequest{
			ClientReferenceID: f.crid, TokenID: f.tokenID, Assurance: as, Ceremony: res.Ceremony,
			DFPSessionID: f.session.DFPSessionID, AppInstance: req.Device.appInstance(), Consents: req.Consents,
			Consumer: vic.Consumer{ConsumerID: req.User.ID, Email: req.User.Email, CountryCode: req.User.Country, LanguageCode: req.User.Language},
		})
		if err != nil {
			return "", err
		}
		if r.Status != vic.StatusActive {
			return r.Status, fmt.Errorf("agent: VIC enrollment answered %q: %w", r.Status, visa.ErrMalformedResponse)
		}
		return r.Status, nil
	}); err != nil {
		return nil, err
	}
	if err := f.persistPasskey(ctx, as); err != nil {
		return nil, err
	}
	card.VICEnrollment = store.VICEnrolled
	if err := a.store.PutCard(ctx, card); err != nil {
		return nil, fmt.Errorf("agent: storing the card: %w", err)
	}
	stored, err := a.store.GetCard(ctx, card.TokenID)
	if err != nil {
		return nil, fmt.Errorf("agent: reading the card back: %w", err)
	}
	res.Card = stored
	return res, nil
}

func lastOf(r *vts.EnrollPANResponse) string {
	if r == nil {
		return ""
	}
	return r.PaymentInstrument.Last4
}

// options builds an attestation options request of the onboarding.
func (f *addFlow) options(action visa.Action) vts.AttestationOptionsRequest {
	return vts.AttestationOptionsRequest{
		VProvisionedTokenID: f.tokenID, ClientReferenceID: f.crid, Type: action,
		SessionContext: f.session.SessionContext, BrowserData: f.session.BrowserData,
		MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: f.a.externalClientID, ApplicationURL: f.a.appURL, MerchantName: f.a.appName},
		Email:              f.req.User.Email,
	}
}

// persistToken stores the user and the new, not yet usable, card.
func (f *addFlow) persistToken(ctx context.Context, tok *vts.ProvisionTokenResponse, enr *vts.EnrollPANResponse) (store.Card, error) {
	a := f.a
	if err := a.store.PutUser(ctx, f.req.User); err != nil {
		return store.Card{}, fmt.Errorf("agent: storing the user: %w", err)
	}
	card := store.Card{
		TokenID: tok.VProvisionedTokenID, UserID: f.req.User.ID, TokenReferenceID: tok.TokenReferenceID,
		Last4: tok.TokenInfo.Last4, ExpiryMonth: tok.TokenInfo.ExpirationDate.Month, ExpiryYear: tok.TokenInfo.ExpirationDate.Year,
		TokenStatus: store.TokenStatus(tok.TokenInfo.TokenStatus), VICEnrollment: store.VICNone,
	}
	if !card.TokenStatus.Valid() {
		card.TokenStatus = store.TokenInactive
	}
	meta := tok.CardMetaData
	if len(meta.CardArt()) == 0 {
		meta = enr.CardMetaData
	}
	if art := meta.CardArt(); len(art) > 0 {
		card.CardArtURL = a.cardArtURL(art[0].GUID)
	}
	if err := a.store.PutCard(ctx, card); err != nil {
		return store.Card{}, fmt.Errorf("agent: storing the card: %w", err)
	}
	return card, nil
}

// bind runs device binding and, when Visa challenges, the OTP step-up.
func (f *addFlow) bind(ctx context.Context) (string, error) {
	a := f.a
	var db *vts.DeviceBindingResponse
	if err := a.step(ctx, StepDeviceBinding, "", func() (string, error) {
		var err error
		db, err = a.vts.DeviceBinding(ctx, vts.DeviceBindingRequest{
			VProvisionedTokenID: f.tokenID, ClientReferenceID: f.crid, SessionContext: f.session.SessionContext,
			BrowserData: f.session.BrowserData, Email: f.req.User.Email, ExpirationDate: f.req.Card.ExpirationDate,
		})
		if err != nil {
			return "", err
		}
		return string(db.Status), nil
	}); err != nil {
		return "", err
	}
	if db.Status == vts.BindingApproved {
		return string(vts.BindingApproved), nil
	}
	if db.Status != vts.BindingChallenge || len(db.StepUpRequest) == 0 {
		return "", fmt.Errorf("agent: device binding answered %q: %w", db.Status, visa.ErrMalformedResponse)
	}
	return f.stepUp(ctx, db.StepUpRequest)
}

// stepUp sends and validates the OTP with the Cardholder, asking for new
// codes within Visa's limits.
func (f *addFlow) stepUp(ctx context.Context, offered []vts.StepUpRequest) (string, error) {
	a, ch := f.a, f.req.Cardholder
	choice, err := ch.ChooseStepUp(ctx, offered)
	if err != nil {
		return "", fmt.Errorf("agent: choosing a step-up method: %w", err)
	}
	var sent *vts.SelectStepUpMethodResponse
	requests := 0
	send := func() error {
		return a.step(ctx, StepSelectStepUp, "", func() (string, error) {
			var err error
			sent, err = a.vts.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{
				VProvisionedTokenID: f.tokenID, ClientReferenceID: f.crid, StepUpRequestID: choice.Identifier,
			})
			if err != nil {
				return "", err
			}
			requests++
			return "code sent by " + choice.Method, nil
		})
	}
	if err := send(); err != nil {
		return "", err
	}
	maxRequests, maxTries := limit(sent.MaxOTPRequestsAllowed), limit(sent.MaxOTPVerificationAllowed)
	attempt, tries := 0, 0
	var last error
	for {
		if tries >= maxTries {
			// This code is spent: a new one is needed, if any is left.
			if requests >= maxRequests {
				return "", fmt.Errorf("agent: OTP: %w", visa.ErrOTPLimitExceeded)
			}
			if err := send(); err != nil {
				return "", err
			}
			tries = 0
		}
		otp, err := ch.EnterOTP(ctx, OTPPrompt{Method: choice.Method, Destination: choice.Value, Attempt: attempt,
			ExpiresAt: sent.CodeExpiration, LastError: last})
		if errors.Is(err, ErrResendOTP) {
			tries = maxTries
			continue
		}
		if err != nil {
			return "", fmt.Errorf("agent: entering the OTP: %w", err)
		}
		attempt++
		tries++
		err = a.step(ctx, StepValidateOTP, "", func() (string, error) {
			_, err := a.vts.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: f.tokenID, ClientReferenceID: f.crid, OTP: otp})
			if err != nil {
				return "", err
			}
			return "code accepted", nil
		})
		switch {
		case err == nil:
			return choice.Method, nil
		case errors.Is(err, visa.ErrOTPInvalid):
			last = err
		case errors.Is(err, visa.ErrOTPExpired), errors.Is(err, visa.ErrOTPLimitExceeded):
			last, tries = err, maxTries
		default:
			return "", err
		}
	}
}

func limit(n int) int {
	if n <= 0 {
		return 3
	}
	return n
}

// activate checks that step-up made the token ACTIVE and records it.
func (f *addFlow) activate(ctx context.Context, card store.Card) (store.Card, error) {
	a := f.a
	var info *vts.GetTokenResponse
	if err := a.step(ctx, Step{7, "token status"}, "", func() (string, error) {
		var err error
		info, err = a.vts.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: f.tokenID})
		if err != nil {
			return "", err
		}
		return string(info.TokenInfo.TokenStatus), nil
	}); err != nil {
		return card, err
	}
	if info.TokenInfo.TokenStatus != visa.TokenActive {
		return card, fmt.Errorf("%w (status %s)", ErrTokenNotActive, info.TokenInfo.TokenStatus)
	}
	if card.TokenStatus == store.TokenActive {
		return card, nil
	}
	updated, err := a.store.UpdateCardStatus(ctx, card.TokenID, card.TokenStatus, store.TokenActive)
	if err != nil {
		return card, fmt.Errorf("agent: recording the active token: %w", err)
	}
	return updated, nil
}

func (f *addFlow) persistPasskey(ctx context.Context, as fido.Assurance) error {
	a := f.a
	sealed, err := a.sealer.Seal(as.FidoBlob, fido.Binding{UserID: f.req.User.ID, TokenID: f.tokenID, DeviceID: f.req.Device.ClientDeviceID})
	if err != nil {
		return fmt.Errorf("agent: sealing the passkey: %w", err)
	}
	err = a.store.PutPasskey(ctx, store.Passkey{
		UserID: f.req.User.ID, TokenID: f.tokenID, DeviceID: f.req.Device.ClientDeviceID,
		Identifier: as.Identifier, SealedBlob: sealed, RPID: as.RPID,
	})
	if err != nil {
		return fmt.Errorf("agent: storing the passkey: %w", err)
	}
	return nil
}

func (f *addFlow) closeSession(ctx context.Context) {
	if f.session == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = f.a.frame.Close(ctx, f.session) // best effort: the session expires anyway
}

// cleanup deletes a half-added card: the token at VTS and its records.
func (f *addFlow) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	f.a.removeToken(ctx, f.tokenID)
}

// removeToken deletes a token at VTS (a token already gone is fine) and
// every record of it.
func (a *Agent) removeToken(ctx context.Context, tokenID string) error {
	if _, err := a.vts.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: tokenID}); err != nil &&
		!errors.Is(err, visa.ErrNotFound) && !errors.Is(err, visa.ErrTokenInactive) {
		a.logger.WarnContext(ctx, "agent: deleting the token failed", "error", err.Error())
		return err
	}
	if _, err := a.store.DeletePasskeys(ctx, tokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := a.store.DeleteCard(ctx, tokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (a *Agent) cardArtURL(guid string) string {
	if guid == "" {
		return ""
	}
	return a.vtsBase + "/vts/cps/getContent/" + url.PathEscape(guid)
}
