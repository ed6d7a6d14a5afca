package sandbox

import (
	"net/url"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

// OTP limits (docs/wire.md §11.2).
const (
	MaxOTPRequests      = 3
	MaxOTPVerifications = 3
)

type sessionContext struct {
	SecureToken string `json:"secureToken"`
}

type deviceBindingRequest struct {
	ClientReferenceID                   string            `json:"clientReferenceID"`
	ClientReferenceIDLower              string            `json:"clientReferenceId"`
	ClientAppID                         string            `json:"clientAppID"`
	Intent                              string            `json:"intent"`
	PlatformType                        string            `json:"platformType"`
	BrowserData                         *visa.BrowserData `json:"browserData"`
	SessionContext                      *sessionContext   `json:"sessionContext"`
	ClientWalletAccountEmailAddressHash string            `json:"clientWalletAccountEmailAddressHash"`
	EncBillingInfo                      string            `json:"encBillingInfo"`
	EncDeviceRiskDataInfo               string            `json:"encDeviceRiskDataInfo"`
}

// session resolves a secureToken through the Auth half.
func (s *Sandbox) session(sc *sessionContext) (AuthSession, *apiErr) {
	if sc == nil || sc.SecureToken == "" {
		return AuthSession{}, invalidParam("sessionContext.secureToken is required")
	}
	sess, err := s.auth.Session(sc.SecureToken)
	if err != nil {
		return AuthSession{}, badRequest("sessionInvalid", "the secureToken is unknown, expired or consumed")
	}
	return sess, nil
}

// deviceBinding serves POST /vts/provisionedTokens/{id}/deviceBinding (§5.4).
func (s *Sandbox) deviceBinding(c *call) (any, *apiErr) {
	q, _ := url.ParseQuery(c.r.URL.RawQuery)
	switch q.Get("reasonCode") {
	case "", string(visa.ReasonDeviceBinding), string(visa.ReasonProvisioning):
	default:
		return nil, invalidParam("reasonCode must be DEVICE_BINDING or PROVISIONING")
	}
	var req deviceBindingRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	ref, m := refID(req.ClientReferenceID, req.ClientReferenceIDLower)
	if m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("clientAppID", req.ClientAppID, "intent", req.Intent, "platformType", req.PlatformType,
		"clientWalletAccountEmailAddressHash", req.ClientWalletAccountEmailAddressHash,
		"encBillingInfo", req.EncBillingInfo); m != "" {
		return nil, invalidParam("%s", m)
	}
	if req.BrowserData == nil {
		return nil, invalidParam("browserData is required")
	}
	if e := checkApp(req.ClientAppID, ""); e != nil {
		return nil, e
	}
	if req.Intent != "FIDO" {
		return nil, invalidParam("intent must be FIDO")
	}
	var billing struct {
		Email string `json:"email"`
	}
	if e := s.decryptField("encBillingInfo", req.EncBillingInfo, &billing); e != nil {
		return nil, e
	}
	if billing.Email == "" {
		return nil, invalidParam("encBillingInfo.email is required")
	}
	if jwe.EmailHash(HashSecret, billing.Email) != req.ClientWalletAccountEmailAddressHash {
		return nil, invalidParam("clientWalletAccountEmailAddressHash does not match encBillingInfo.email")
	}
	if req.EncDeviceRiskDataInfo != "" {
		if _, e := s.riskData("encDeviceRiskDataInfo", req.EncDeviceRiskDataInfo); e != nil {
			return nil, e
		}
	}
	id := c.r.PathValue("id")
	s.st.mu.Lock()
	_, e := s.tokenLocked(id, false, false)
	s.st.mu.Unlock()
	if e != nil {
		return nil, e
	}
	sess, e := s.session(req.SessionContext)
	if e != nil {
		return nil, e
	}

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.tokenLocked(id, false, false)
	if e != nil {
		return nil, e
	}
	if t.behaviour == behaveNoStepUp {
		if t.status == visa.TokenInactive {
			t.status, t.changed = visa.TokenActive, c.now
		}
		t.stepUp[sess.DeviceID] = true
		t.binding = nil
		return map[string]any{"status": "APPROVED"}, nil
	}
	t.binding = &binding{
		clientRef: ref,
		device:    sess.DeviceID,
		entries: []stepUpEntry{
			{Method: "OTPSMS", Value: "(***) ***-0123", Identifier: newID("SU-")},
			{Method: "OTPEMAIL", Value: maskEmail(billing.Email), Identifier: newID("SU-")},
		},
	}
	return map[string]any{"status": "CHALLENGE", "stepUpRequest": t.binding.entries}, nil
}

type stepUpMethodRequest struct {
	ClientReferenceID      string     `json:"clientReferenceID"`
	ClientReferenceIDLower string     `json:"clientReferenceId"`
	StepUpRequestID        string     `json:"stepUpRequestID"`
	Date                   flexString `json:"date"`
	ClientAppID            string     `json:"clientAppID"`
}

// stepUpMethod serves PUT /vts/provisionedTokens/{id}/stepUpOptions/method (§5.5).
func (s *Sandbox) stepUpMethod(c *call) (any, *apiErr) {
	var req stepUpMethodRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	ref, m := refID(req.ClientReferenceID, req.ClientReferenceIDLower)
	if m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("stepUpRequestID", req.StepUpRequestID, "date", string(req.Date), "clientAppID", req.ClientAppID); m != "" {
		return nil, invalidParam("%s", m)
	}
	if _, ok := epochSeconds(string(req.Date)); !ok {
		return nil, invalidParam("date must be epoch seconds")
	}
	if e := checkApp(req.ClientAppID, ""); e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.tokenLocked(c.r.PathValue("id"), false, false)
	if e != nil {
		return nil, e
	}
	b := t.binding
	var entry *stepUpEntry
	if b != nil {
		for i := range b.entries {
			if b.entries[i].Identifier == req.StepUpRequestID {
				entry = &b.entries[i]
			}
		}
	}
	switch {
	case entry == nil:
		return nil, badRequest("stepUpRequestNotFound", "no such stepUpRequestID for this token")
	case b.clientRef != ref:
		return nil, badRequest("clientReferenceMismatch", "clientReferenceId differs from the deviceBinding call")
	case b.otpRequests >= MaxOTPRequests:
		return nil, badRequest("otpRequestsExceeded", "at most %d OTP requests per device binding", MaxOTPRequests)
	}
	b.otpRequests++
	b.otp = &otpState{method: entry.Method, issued: c.now, expires: c.now.Add(s.life.OTP)}
	s.st.counters.otpsSent[entry.Method]++
	return map[string]any{
		"maxOTPRequestsAllowed":     MaxOTPRequests,
		"maxOTPVerificationAllowed": MaxOTPVerifications,
		"codeExpiration":            b.otp.expires.Unix(),
	}, nil
}

type validateOTPRequest struct {
	ClientReferenceID      string     `json:"clientReferenceID"`
	ClientReferenceIDLower string     `json:"clientReferenceId"`
	OTPValue               flexString `json:"otpValue"`
	Date                   flexString `json:"date"`
	ClientAppID            string     `json:"clientAppID"`
}

// validateOTP serves POST /vts/provisionedTokens/{id}/stepUpOptions/validateOTP (§5.6).
func (s *Sandbox) validateOTP(c *call) (any, *apiErr) {
	var req validateOTPRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	ref, m := refID(req.ClientReferenceID, req.ClientReferenceIDLower)
	if m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("otpValue", string(req.OTPValue), "date", string(req.Date), "clientAppID", req.ClientAppID); m != "" {
		return nil, invalidParam("%s", m)
	}
	if _, ok := epochSeconds(string(req.Date)); !ok {
		return nil, invalidParam("date must be epoch seconds")
	}
	if e := checkApp(req.ClientAppID, ""); e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.tokenLocked(c.r.PathValue("id"), false, false)
	if e != nil {
		return nil, e
	}
	b := t.binding
	switch {
	case b == nil || b.otp == nil:
		return nil, badRequest("noActiveChallenge", "no OTP was requested for this token")
	case b.clientRef != ref:
		return nil, badRequest("clientReferenceMismatch", "clientReferenceId differs from the deviceBinding call")
	case b.otp.wrong >= MaxOTPVerifications:
		s.st.counters.otpFailed++
		return nil, badRequest("otpAttemptsExceeded", "too many wrong codes; request a new OTP")
	case !c.now.Before(b.otp.expires):
		s.st.counters.otpFailed++
		return nil, badRequest("otpExpired", "the OTP has expired; request a new one")
	case !eq(string(req.OTPValue), GoldenOTP):
		b.otp.wrong++
		s.st.counters.otpFailed++
		return nil, badRequest("invalidOtp", "the OTP is wrong (%d of %d attempts used)", b.otp.wrong, MaxOTPVerifications)
	}
	if t.status == visa.TokenInactive {
		t.status, t.changed = visa.TokenActive, c.now
	}
	t.stepUp[b.device] = true
	t.binding = nil
	s.st.counters.otpOK++
	return nil, nil
}
