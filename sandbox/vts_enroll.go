package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

// VTS error helpers.
func invalidParam(format string, args ...any) *apiErr {
	return errf(http.StatusBadRequest, "invalidParameter", format, args...)
}

func badRequest(reason, format string, args ...any) *apiErr {
	return errf(http.StatusBadRequest, reason, format, args...)
}

// paymentInstrument is the plaintext of encPaymentInstrument.
type paymentInstrument struct {
	AccountNumber  string `json:"accountNumber"`
	Name           string `json:"name"`
	ExpirationDate *struct {
		Month flexString `json:"month"`
		Year  flexString `json:"year"`
	} `json:"expirationDate"`
	CVV2 flexString `json:"cvv2"`
}

type enrollRequest struct {
	Locale                string `json:"locale"`
	ClientAppID           string `json:"clientAppID"`
	ClientWalletAccountID string `json:"clientWalletAccountID"`
	PanSource             string `json:"panSource"`
	ConsumerEntryMode     string `json:"consumerEntryMode"`
	EncPaymentInstrument  string `json:"encPaymentInstrument"`
}

// checkAppIDs checks clientAppID and clientWalletAccountID values.
func checkApp(appID, walletID string) *apiErr {
	if appID != "" && appID != ClientAppID {
		return invalidParam("clientAppID is not known")
	}
	if walletID != "" && walletID != ClientWalletAccountID {
		return invalidParam("clientWalletAccountID is not known")
	}
	return nil
}

// decryptField decrypts a VTS field JWE into v.
func (s *Sandbox) decryptField(name, compact string, v any) *apiErr {
	pt, err := s.field.Decrypt(compact)
	if err != nil {
		return badRequest("invalidEncryptedData", "%s cannot be decrypted", name)
	}
	if err := json.Unmarshal(pt, v); err != nil {
		return badRequest("invalidEncryptedData", "%s does not hold the expected JSON", name)
	}
	return nil
}

// card is a checked payment instrument.
type card struct {
	pan  string
	exp  expiry
	name string
}

// checkInstrument decrypts and validates encPaymentInstrument (§5.1).
func (s *Sandbox) checkInstrument(c *call, enc string) (card, *apiErr) {
	var pi paymentInstrument
	if e := s.decryptField("encPaymentInstrument", enc, &pi); e != nil {
		return card{}, e
	}
	if pi.ExpirationDate == nil {
		return card{}, invalidParam("encPaymentInstrument.expirationDate is required")
	}
	if m := required("encPaymentInstrument.accountNumber", pi.AccountNumber,
		"encPaymentInstrument.expirationDate.month", string(pi.ExpirationDate.Month),
		"encPaymentInstrument.expirationDate.year", string(pi.ExpirationDate.Year),
		"encPaymentInstrument.cvv2", string(pi.CVV2)); m != "" {
		return card{}, invalidParam("%s", m)
	}
	pan := strings.ReplaceAll(pi.AccountNumber, " ", "")
	if m := checkPAN(pan); m != "" {
		return card{}, invalidParam("encPaymentInstrument.%s", m)
	}
	if cvv := string(pi.CVV2); len(cvv) != 3 || !allDigits(cvv) {
		return card{}, invalidParam("encPaymentInstrument.cvv2 must be 3 digits")
	}
	exp, m := parseExpiry(string(pi.ExpirationDate.Month), string(pi.ExpirationDate.Year))
	if m != "" {
		return card{}, invalidParam("encPaymentInstrument.%s", m)
	}
	if pan == CardExpired || exp.past(c.now) {
		return card{}, badRequest("cardExpired", "the card has expired")
	}
	return card{pan: pan, exp: exp, name: pi.Name}, nil
}

// enrollPAN serves POST /vts/panEnrollments (§5.1).
func (s *Sandbox) enrollPAN(c *call) (any, *apiErr) {
	var req enrollRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("locale", req.Locale, "clientAppID", req.ClientAppID,
		"clientWalletAccountID", req.ClientWalletAccountID, "panSource", req.PanSource,
		"consumerEntryMode", req.ConsumerEntryMode, "encPaymentInstrument", req.EncPaymentInstrument); m != "" {
		return nil, invalidParam("%s", m)
	}
	if e := checkApp(req.ClientAppID, req.ClientWalletAccountID); e != nil {
		return nil, e
	}
	cd, e := s.checkInstrument(c, req.EncPaymentInstrument)
	if e != nil {
		return nil, e
	}
	en := &enrollment{
		id: newID("ENR-"), pan: cd.pan, last4: cd.pan[len(cd.pan)-4:], exp: cd.exp,
		behaviour: behaviourOf(cd.pan), created: c.now, expires: c.now.Add(s.life.Enrollment),
	}
	st := s.st
	st.mu.Lock()
	st.purge(c.now, s.opts.retention)
	st.enrollments[en.id] = en
	st.counters.enrollments++
	st.mu.Unlock()
	return map[string]any{
		"vPanEnrollmentID":  en.id,
		"paymentInstrument": map[string]any{"last4": en.last4, "expirationDate": en.exp},
		"cardMetaData":      cardMetaData(),
	}, nil
}

// getEnrollment serves GET /vts/panEnrollments/{id}.
func (s *Sandbox) getEnrollment(c *call) (any, *apiErr) {
	id := c.r.PathValue("id")
	s.st.mu.Lock()
	en, ok := s.st.enrollments[id]
	expired := ok && !c.now.Before(en.expires)
	s.st.mu.Unlock()
	switch {
	case !ok:
		return nil, errf(http.StatusNotFound, "enrollmentNotFound", "no such vPanEnrollmentID")
	case expired:
		return nil, badRequest("enrollmentExpired", "the enrollment has expired")
	}
	return map[string]any{"vPanEnrollmentID": id, "cardMetaData": cardMetaData()}, nil
}

// getContent serves GET /vts/cps/getContent/{guid} (card art).
func (s *Sandbox) getContent(c *call) (any, *apiErr) {
	if c.r.PathValue("guid") != cardArtGUID {
		return nil, errf(http.StatusNotFound, "notFound", "no content with this guid")
	}
	return map[string]any{"content": []map[string]string{{"mimeType": "image/png", "encodedData": cardArtPNG}}}, nil
}

type provisionRequest struct {
	ClientAppID                         string   `json:"clientAppID"`
	ClientWalletAccountID               string   `json:"clientWalletAccountID"`
	ClientWalletAccountEmailAddress     string   `json:"clientWalletAccountEmailAddress"`
	ClientWalletAccountEmailAddressHash string   `json:"clientWalletAccountEmailAddressHash"`
	PresentationType                    []string `json:"presentationType"`
	ProtectionType                      string   `json:"protectionType"`
	AccountType                         string   `json:"accountType"`
	EncRiskDataInfo                     string   `json:"encRiskDataInfo"`
	// one-step form
	Locale               string `json:"locale"`
	PanSource            string `json:"panSource"`
	ConsumerEntryMode    string `json:"consumerEntryMode"`
	EncPaymentInstrument string `json:"encPaymentInstrument"`
}

// checkProvisionFields checks the fields both provisioning forms share.
func checkProvisionFields(req *provisionRequest) *apiErr {
	if m := required("clientAppID", req.ClientAppID, "clientWalletAccountID", req.ClientWalletAccountID,
		"clientWalletAccountEmailAddress", req.ClientWalletAccountEmailAddress,
		"clientWalletAccountEmailAddressHash", req.ClientWalletAccountEmailAddressHash); m != "" {
		return invalidParam("%s", m)
	}
	if len(req.PresentationType) == 0 {
		return invalidParam("presentationType is required")
	}
	for _, p := range req.PresentationType {
		if p != "AI_AGENT" && p != "ECOM" {
			return invalidParam("presentationType %q is not supported (AI_AGENT or ECOM)", p)
		}
	}
	if e := checkApp(req.ClientAppID, req.ClientWalletAccountID); e != nil {
		return e
	}
	if jwe.EmailHash(HashSecret, req.ClientWalletAccountEmailAddress) != req.ClientWalletAccountEmailAddressHash {
		return invalidParam("clientWalletAccountEmailAddressHash does not match clientWalletAccountEmailAddress")
	}
	return nil
}

// nameValue is one entry of encRiskDataInfo / encDeviceRiskDataInfo.
type nameValue struct {
	Name  string     `json:"name"`
	Value flexString `json:"value"`
}

// riskData decrypts a risk data array: a raw array or {"data":[...]}.
func (s *Sandbox) riskData(name, compact string) ([]nameValue, *apiErr) {
	pt, err := s.field.Decrypt(compact)
	if err != nil {
		return nil, badRequest("invalidEncryptedData", "%s cannot be decrypted", name)
	}
	var list []nameValue
	if err := json.Unmarshal(pt, &list); err == nil {
		return list, nil
	}
	var wrapped map[string]json.RawMessage
	if err := json.Unmarshal(pt, &wrapped); err == nil && len(wrapped) == 1 {
		if raw, ok := wrapped["data"]; ok && json.Unmarshal(raw, &list) == nil {
			return list, nil
		}
	}
	return nil, badRequest("invalidEncryptedData", "%s must hold an array of {name,value}", name)
}

// checkRiskExpiry checks that encRiskDataInfo names the card's expiry.
func (s *Sandbox) checkRiskExpiry(compact string, want expiry) *apiErr {
	list, e := s.riskData("encRiskDataInfo", compact)
	if e != nil {
		return e
	}
	var month, year string
	for _, nv := range list {
		switch nv.Name {
		case "paymentInstrument.expirationDate.month":
			month = string(nv.Value)
		case "paymentInstrument.expirationDate.year":
			year = string(nv.Value)
		}
	}
	if m := required("encRiskDataInfo paymentInstrument.expirationDate.month", month,
		"encRiskDataInfo paymentInstrument.expirationDate.year", year); m != "" {
		return invalidParam("%s", m)
	}
	got, m := parseExpiry(month, year)
	if m != "" {
		return invalidParam("encRiskDataInfo %s", m)
	}
	if !got.same(want) {
		return invalidParam("encRiskDataInfo expiry does not match the enrolled card")
	}
	return nil
}

// provisionFromEnrollment serves POST /vts/panEnrollments/{id}/provisionedTokens (§5.2).
func (s *Sandbox) provisionFromEnrollment(c *call) (any, *apiErr) {
	var req provisionRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	if e := checkProvisionFields(&req); e != nil {
		return nil, e
	}
	if m := required("protectionType", req.ProtectionType, "accountType", req.AccountType,
		"encRiskDataInfo", req.EncRiskDataInfo); m != "" {
		return nil, invalidParam("%s", m)
	}
	id := c.r.PathValue("id")
	st := s.st
	st.mu.Lock()
	en, ok := st.enrollments[id]
	var (
		cd      card
		used    bool
		expires time.Time
		beh     cardBehaviour
	)
	if ok {
		cd, used, expires, beh = card{pan: en.pan, exp: en.exp}, en.used, en.expires, en.behaviour
	}
	st.mu.Unlock()
	switch {
	case !ok:
		return nil, errf(http.StatusNotFound, "enrollmentNotFound", "no such vPanEnrollmentID")
	case used:
		return nil, errf(http.StatusConflict, "enrollmentAlreadyUsed", "the enrollment was already provisioned")
	case !c.now.Before(expires):
		return nil, badRequest("enrollmentExpired", "the enrollment has expired")
	}
	if e := s.checkRiskExpiry(req.EncRiskDataInfo, cd.exp); e != nil {
		return nil, e
	}
	if beh == behaveDeclineProvisioning {
		return nil, badRequest("provisioningDeclined", "the issuer declined provisioning")
	}
	st.mu.Lock()
	if en.used { // lost a race with another provisioning call
		st.mu.Unlock()
		return nil, errf(http.StatusConflict, "enrollmentAlreadyUsed", "the enrollment was already provisioned")
	}
	en.used = true
	t := s.newTokenLocked(c, cd, req.ClientWalletAccountEmailAddress)
	en.pan = ""
	resp := tokenResponse(t, true)
	st.mu.Unlock()
	return resp, nil
}

// provisionOneStep serves POST /vts/provisionedTokens (S1's one-step form).
func (s *Sandbox) provisionOneStep(c *call) (any, *apiErr) {
	var req provisionRequest
	if m := decode(c.body, &req); m != "" {
		return nil, invalidParam("%s", m)
	}
	if m := required("locale", req.Locale, "panSource", req.PanSource,
		"consumerEntryMode", req.ConsumerEntryMode, "encPaymentInstrument", req.EncPaymentInstrument); m != "" {
		return nil, invalidParam("%s", m)
	}
	if e := checkProvisionFields(&req); e != nil {
		return nil, e
	}
	if m := required("protectionType", req.ProtectionType); m != "" {
		return nil, invalidParam("%s", m)
	}
	cd, e := s.checkInstrument(c, req.EncPaymentInstrument)
	if e != nil {
		return nil, e
	}
	if behaviourOf(cd.pan) == behaveDeclineProvisioning {
		return nil, badRequest("provisioningDeclined", "the issuer declined provisioning")
	}
	s.st.mu.Lock()
	s.st.purge(c.now, s.opts.retention)
	s.st.counters.enrollments++
	t := s.newTokenLocked(c, cd, req.ClientWalletAccountEmailAddress)
	resp := tokenResponse(t, true)
	s.st.mu.Unlock()
	return resp, nil
}

// newTokenLocked creates an INACTIVE token; st.mu is held.
func (s *Sandbox) newTokenLocked(c *call, cd card, email string) *token {
	pan := newTokenPAN(cd.pan)
	for s.st.tokensByPAN[pan] != nil {
		pan = newTokenPAN(cd.pan)
	}
	t := &token{
		id: newID("TOK-"), refID: newID("TRF-"), pan: pan, last4: pan[len(pan)-4:], exp: cd.exp,
		cardLast4: cd.pan[len(cd.pan)-4:], cardExp: cd.exp, behaviour: behaviourOf(cd.pan),
		status: visa.TokenInactive, email: email, stepUp: map[string]bool{}, created: c.now, changed: c.now,
	}
	s.st.tokens[t.id] = t
	s.st.tokensByPAN[pan] = t
	s.st.counters.tokens++
	return t
}

// tokenResponse renders a token; st.mu is held.
func tokenResponse(t *token, withCard bool) map[string]any {
	out := map[string]any{
		"vProvisionedTokenID": t.id,
		"tokenReferenceID":    t.refID,
		"tokenInfo": map[string]any{
			"tokenStatus": string(t.status), "last4": t.last4, "expirationDate": t.exp,
		},
	}
	if withCard {
		out["paymentInstrument"] = map[string]any{"last4": t.cardLast4, "expirationDate": t.cardExp}
		out["cardMetaData"] = cardMetaData()
	}
	return out
}
