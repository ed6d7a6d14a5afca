package sandbox

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/vicgo/visa"
)

type attestationRequest struct {
	ClientReferenceID      string            `json:"clientReferenceID"`
	ClientReferenceIDLower string            `json:"clientReferenceId"`
	ClientAppID            string            `json:"clientAppID"`
	Type                   string            `json:"type"`
	ReasonCode             string            `json:"reasonCode"`
	SessionContext         *sessionContext   `json:"sessionContext"`
	BrowserData            *visa.BrowserData `json:"browserData"`
	DynamicData            *struct {
		AuthenticationAmount flexString `json:"authenticationAmount"`
		CurrencyCode         flexString `json:"currencyCode"`
		MerchantIdentifier   *struct {
			ExternalClientID string `json:"externalClientId"`
			ApplicationURL   string `json:"applicationUrl"`
			MerchantName     string `json:"merchantName"`
		} `json:"merchantIdentifier"`
	} `json:"dynamicData"`
	EncAuthenticationData              string `json:"encAuthenticationData"`
	AuthenticationPreferencesRequested *struct {
		SelectedPopupForRegister     bool `json:"selectedPopupForRegister"`
		SelectedPopupForAuthenticate bool `json:"selectedPopupForAuthenticate"`
	} `json:"authenticationPreferencesRequested"`
}

// b64Field decodes a base64url value with or without padding (§2.5).
func b64Field(name, v string) (string, *apiErr) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil || !utf8.Valid(b) {
		return "", invalidParam("%s must be base64url of UTF-8 text", name)
	}
	return string(b), nil
}

// attestationOptions serves POST /vts/provisionedTokens/{id}/attestation/options (§5.3).
func (s *Sandbox) attestationOptions(c *call) (any, *apiErr) {
	var req attestationRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	if _, m := refID(req.ClientReferenceID, req.ClientReferenceIDLower); m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("clientAppID", req.ClientAppID, "type", req.Type, "reasonCode", req.ReasonCode,
		"encAuthenticationData", req.EncAuthenticationData); m != "" {
		return nil, invalidParam("%s", m)
	}
	switch {
	case req.SessionContext == nil || req.SessionContext.SecureToken == "":
		return nil, invalidParam("sessionContext.secureToken is required")
	case req.BrowserData == nil:
		return nil, invalidParam("browserData is required")
	case req.DynamicData == nil:
		return nil, invalidParam("dynamicData is required")
	case req.DynamicData.MerchantIdentifier == nil:
		return nil, invalidParam("dynamicData.merchantIdentifier is required")
	case req.AuthenticationPreferencesRequested == nil:
		return nil, invalidParam("authenticationPreferencesRequested is required")
	}
	if e := checkApp(req.ClientAppID, ""); e != nil {
		return nil, e
	}
	dd := req.DynamicData
	mi := dd.MerchantIdentifier
	if m := required("dynamicData.authenticationAmount", string(dd.AuthenticationAmount),
		"dynamicData.currencyCode", string(dd.CurrencyCode),
		"dynamicData.merchantIdentifier.externalClientId", mi.ExternalClientID,
		"dynamicData.merchantIdentifier.applicationUrl", mi.ApplicationURL,
		"dynamicData.merchantIdentifier.merchantName", mi.MerchantName); m != "" {
		return nil, invalidParam("%s", m)
	}
	typ, reason := visa.Action(req.Type), visa.ReasonCode(req.ReasonCode)
	switch {
	case typ == visa.ActionAuthenticate && reason == visa.ReasonPayment:
	case typ == visa.ActionRegister && reason == visa.ReasonDeviceBinding:
	default:
		return nil, invalidParam("type/reasonCode must be AUTHENTICATE/PAYMENT or REGISTER/DEVICE_BINDING")
	}
	cur := string(dd.CurrencyCode)
	if len(cur) != 3 || !allDigits(cur) {
		return nil, invalidParam("dynamicData.currencyCode must be an ISO 4217 numeric code")
	}
	amount, err := visa.ParseAmount(string(dd.AuthenticationAmount), cur)
	if err != nil {
		return nil, invalidParam("dynamicData.authenticationAmount must be a decimal amount in currency %s", cur)
	}
	if _, e := b64Field("dynamicData.merchantIdentifier.externalClientId", mi.ExternalClientID); e != nil {
		return nil, e
	}
	if _, e := b64Field("dynamicData.merchantIdentifier.applicationUrl", mi.ApplicationURL); e != nil {
		return nil, e
	}
	merchant, e := b64Field("dynamicData.merchantIdentifier.merchantName", mi.MerchantName)
	if e != nil {
		return nil, e
	}
	var authData struct {
		ConsumerInfo struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"consumerInfo"`
	}
	if e := s.decryptField("encAuthenticationData", req.EncAuthenticationData, &authData); e != nil {
		return nil, e
	}
	if authData.ConsumerInfo.EmailAddress == "" {
		return nil, invalidParam("encAuthenticationData.consumerInfo.emailAddress is required")
	}

	id := c.r.PathValue("id")
	s.st.mu.Lock()
	t, e := s.tokenLocked(id, false, false)
	var status visa.TokenStatus
	if e == nil {
		status = t.status
	}
	s.st.mu.Unlock()
	if e != nil {
		return nil, e
	}
	sess, e := s.session(req.SessionContext)
	if e != nil {
		return nil, e
	}
	var action visa.Action
	if typ == visa.ActionRegister {
		s.st.mu.Lock()
		ok := t.status == visa.TokenActive && t.stepUp[sess.DeviceID]
		s.st.mu.Unlock()
		if !ok {
			return nil, badRequest("stepUpRequired", "REGISTER needs an ACTIVE token and a completed step-up on this device")
		}
		action = visa.ActionRegister
	} else {
		switch {
		case status == visa.TokenInactive && amount.Minor() != 0:
			return nil, badRequest("invalidTokenState", "the token is INACTIVE: only the onboarding probe (amount 0) is allowed")
		case status == visa.TokenInactive:
			action = visa.ActionRegister
		case s.auth.HasPasskey(id, sess.DeviceID):
			action = visa.ActionAuthenticate
		default:
			action = visa.ActionRegister
		}
	}
	prefs := req.AuthenticationPreferencesRequested
	spec := ChallengeSpec{
		TokenID:         id,
		Action:          action,
		Amount:          amount.Value(),
		CurrencyNumeric: cur,
		MerchantName:    merchant,
		UserEmail:       authData.ConsumerInfo.EmailAddress,
		PopupRequested:  prefs.SelectedPopupForRegister || prefs.SelectedPopupForAuthenticate,
	}
	ctx, err := s.auth.IssueChallenge(req.SessionContext.SecureToken, spec)
	if err != nil {
		if errors.Is(err, errSessionInvalid) {
			return nil, badRequest("sessionInvalid", "the secureToken is unknown, expired or consumed")
		}
		return nil, badRequest("invalidParameter", "cannot issue a challenge: %s", firstLine(err.Error()))
	}
	return map[string]any{"authenticationContext": ctx}, nil
}
