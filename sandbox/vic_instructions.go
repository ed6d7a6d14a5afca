package sandbox

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vicgo/visa"
)

type mandateReq struct {
	MandateID        string `json:"mandateId"`
	Description      string `json:"description"`
	DeclineThreshold *struct {
		Amount       flexString `json:"amount"`
		CurrencyCode string     `json:"currencyCode"`
	} `json:"declineThreshold"`
	EffectiveUntilTime    flexString `json:"effectiveUntilTime"`
	PreferredMerchantName string     `json:"preferredMerchantName"`
	MerchantCategory      string     `json:"merchantCategory"`
	MerchantCategoryCode  string     `json:"merchantCategoryCode"`
	Quantity              flexString `json:"quantity"`
	RecurringFrequency    string     `json:"recurringFrequency"`
}

type instructionRequest struct {
	ClientReferenceID      string          `json:"clientReferenceId"`
	ClientReferenceIDUpper string          `json:"clientReferenceID"`
	Client                 *vicClient      `json:"client"`
	AppInstance            *appInstance    `json:"appInstance"`
	ConsumerID             string          `json:"consumerId"`
	TokenID                string          `json:"tokenId"`
	InstructionID          string          `json:"instructionId"`
	AssuranceData          []assuranceItem `json:"assuranceData"`
	Mandates               []mandateReq    `json:"mandates"`
	ConsumerPrompt         string          `json:"consumerPrompt"`
	CompressedPrompt       string          `json:"compressedPrompt"`
	IsRecurring            bool            `json:"isRecurring"`
	Frequency              string          `json:"frequency"`
}

// checkMandates validates mandates[] and returns them parsed.
func checkMandates(list []mandateReq, now time.Time) ([]*mandate, *apiErr) {
	if len(list) == 0 {
		return nil, vicInvalid("mandates is required")
	}
	out := make([]*mandate, 0, len(list))
	var cur string
	for i, m := range list {
		p := "mandates[" + strconv.Itoa(i) + "]."
		if msg := required(p+"mandateId", m.MandateID, p+"description", m.Description,
			p+"effectiveUntilTime", string(m.EffectiveUntilTime)); msg != "" {
			return nil, vicInvalid("%s", msg)
		}
		if m.DeclineThreshold == nil {
			return nil, vicInvalid("%sdeclineThreshold is required", p)
		}
		if msg := required(p+"declineThreshold.amount", string(m.DeclineThreshold.Amount),
			p+"declineThreshold.currencyCode", m.DeclineThreshold.CurrencyCode); msg != "" {
			return nil, vicInvalid("%s", msg)
		}
		th, err := visa.ParseAmount(string(m.DeclineThreshold.Amount), m.DeclineThreshold.CurrencyCode)
		if err != nil {
			return nil, vicInvalid("%sdeclineThreshold is not a valid amount in a known currency", p)
		}
		if cur != "" && th.Currency().Alpha != cur {
			return nil, vicInvalid("%sdeclineThreshold.currencyCode differs from the other mandates", p)
		}
		cur = th.Currency().Alpha
		until, ok := epochSeconds(string(m.EffectiveUntilTime))
		if !ok {
			return nil, vicInvalid("%seffectiveUntilTime must be epoch seconds (at most 12 digits)", p)
		}
		if !until.After(now) {
			return nil, vicInvalid("%seffectiveUntilTime is in the past", p)
		}
		qty := 1
		if q := string(m.Quantity); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 || n > 1000 {
				return nil, vicInvalid("%squantity must be an integer from 1 to 1000", p)
			}
			qty = n
		}
		out = append(out, &mandate{
			id: m.MandateID, description: m.Description, threshold: th, effUntil: until,
			quantity: qty,
		})
	}
	return out, nil
}

// checkInstructionRequest validates a create or update body and returns
// the mandates and the assertion.
func checkInstructionRequest(req *instructionRequest, now time.Time) (string, []*mandate, [3]string, *apiErr) {
	var fido [3]string
	ref, e := vicRef(req.ClientReferenceID, req.ClientReferenceIDUpper)
	if e != nil {
		return "", nil, fido, e
	}
	if e := checkClient(req.Client); e != nil {
		return "", nil, fido, e
	}
	if e := checkAppInstance(req.AppInstance); e != nil {
		return "", nil, fido, e
	}
	if m := required("consumerId", req.ConsumerID, "tokenId", req.TokenID); m != "" {
		return "", nil, fido, vicInvalid("%s", m)
	}
	if len(req.AssuranceData) == 0 {
		return "", nil, fido, vicInvalid("assuranceData is required")
	}
	if e := checkAssurance(req.AssuranceData); e != nil {
		return "", nil, fido, e
	}
	blob, kind, identifier := firstFido(req.AssuranceData)
	if blob == "" || kind != BlobAssertion {
		return "", nil, fido, vicInvalid("assuranceData[0].methodResults.fidoAssertionData.code is required")
	}
	mandates, e := checkMandates(req.Mandates, now)
	if e != nil {
		return "", nil, fido, e
	}
	fido = [3]string{blob, kind, identifier}
	return ref, mandates, fido, nil
}

// checkAuthenticated applies AMOUNT_EXCEEDS_AUTHENTICATION.
func checkAuthenticated(claims BlobClaims, mandates []*mandate) *apiErr {
	authAmt, err := visa.ParseAmount(claims.Amount, claims.CurrencyNumeric)
	if err != nil {
		return vicErr(http.StatusBadRequest, "ASSURANCE_INVALID", "the assertion carries no usable amount")
	}
	for i, m := range mandates {
		c, same := m.threshold.Cmp(authAmt)
		if !same || c > 0 {
			return vicErr(http.StatusBadRequest, "AMOUNT_EXCEEDS_AUTHENTICATION",
				"mandates[%d].declineThreshold %s exceeds the authenticated amount %s", i, m.threshold, authAmt)
		}
	}
	return nil
}

// createInstruction serves POST /vacp/v1/instructions (§6.3).
func (s *Sandbox) createInstruction(c *call) (any, *apiErr) {
	var req instructionRequest
	if m := decode(c.body, &req); m != "" {
		return nil, vicInvalid("%s", m)
	}
	ref, mandates, fido, e := checkInstructionRequest(&req, c.now)
	if e != nil {
		return nil, e
	}
	if e := s.checkTokenEnrolled(req.TokenID); e != nil {
		return nil, e
	}
	claims, e := s.redeem(fido[0], fido[2], req.TokenID, BlobAssertion)
	if e != nil {
		return nil, e
	}
	if e := s.checkSteppedUp(req.TokenID, claims.DeviceID); e != nil {
		return nil, e
	}
	if e := checkAuthenticated(claims, mandates); e != nil {
		return nil, e
	}
	in := &instruction{
		id: newID("INS-"), tokenID: req.TokenID, clientRef: ref, consumerID: req.ConsumerID,
		prompt: req.ConsumerPrompt, mandates: mandates, status: statusActive, created: c.now,
		expires: s.instructionExpiry(c.now, mandates), creds: map[string]*credential{}, confirms: map[string]*confirmation{},
	}
	if in.prompt == "" {
		in.prompt = req.CompressedPrompt
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.purge(c.now, s.opts.retention)
	if _, e := s.vicTokenLocked(req.TokenID); e != nil {
		return nil, e
	}
	s.st.instructions[in.id] = in
	s.st.counters.instructions++
	return map[string]any{"clientReferenceId": ref, "instructionId": in.id, "status": statusActive, "pendingEvents": []string{}}, nil
}

// checkTokenEnrolled applies the token rules of §6.3.
func (s *Sandbox) checkTokenEnrolled(id string) *apiErr {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, ok := s.st.tokens[id]
	switch {
	case !ok:
		return vicErr(http.StatusNotFound, "TOKEN_NOT_FOUND", "no such token")
	case t.status == visa.TokenDeleted || t.status == visa.TokenSuspended:
		return vicErr(http.StatusBadRequest, "TOKEN_NOT_ACTIVE", "the token is %s", t.status)
	case t.status != visa.TokenActive || !t.enrolled:
		return vicErr(http.StatusBadRequest, "TOKEN_NOT_ENROLLED", "the token is not enrolled in VIC")
	}
	return nil
}

// instructionExpiry is min(now + lifetime, every effectiveUntilTime).
func (s *Sandbox) instructionExpiry(now time.Time, mandates []*mandate) time.Time {
	exp := now.Add(s.life.Instruction)
	for _, m := range mandates {
		if m.effUntil.Before(exp) {
			exp = m.effUntil
		}
	}
	return exp
}

// instructionLocked finds an instruction; st.mu is held.
func (s *Sandbox) instructionLocked(id string, now time.Time, mustBeActive bool) (*instruction, *apiErr) {
	in, ok := s.st.instructions[id]
	if !ok {
		return nil, vicErr(http.StatusNotFound, "INSTRUCTION_NOT_FOUND", "no such instruction")
	}
	if mustBeActive {
		if st := in.effectiveStatus(now); st != statusActive {
			return nil, vicErr(http.StatusBadRequest, "INSTRUCTION_NOT_ACTIVE", "the instruction is %s", st)
		}
	}
	return in, nil
}

// updateInstruction serves PUT /vacp/v1/instructions/{id} (§6.4).
func (s *Sandbox) updateInstruction(c *call) (any, *apiErr) {
	var req instructionRequest
	if m := decode(c.body, &req); m != "" {
		return nil, vicInvalid("%s", m)
	}
	id := c.r.PathValue("id")
	if req.InstructionID != "" && req.InstructionID != id {
		return nil, vicInvalid("instructionId does not match the path")
	}
	ref, mandates, fido, e := checkInstructionRequest(&req, c.now)
	if e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	in, e := s.instructionLocked(id, c.now, true)
	if e == nil && in.tokenID != req.TokenID {
		e = vicInvalid("tokenId does not match the instruction")
	}
	s.st.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if e := s.checkTokenEnrolled(req.TokenID); e != nil {
		return nil, e
	}
	claims, e := s.redeem(fido[0], fido[2], req.TokenID, BlobAssertion)
	if e != nil {
		return nil, e
	}
	if e := s.checkSteppedUp(req.TokenID, claims.DeviceID); e != nil {
		return nil, e
	}
	if e := checkAuthenticated(claims, mandates); e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if in, e = s.instructionLocked(id, c.now, true); e != nil {
		return nil, e
	}
	in.mandates, in.clientRef = mandates, ref
	in.expires = s.instructionExpiry(c.now, mandates)
	if req.ConsumerPrompt != "" || req.CompressedPrompt != "" {
		in.prompt = req.ConsumerPrompt + req.CompressedPrompt
	}
	return map[string]any{"clientReferenceId": ref, "instructionId": id, "status": statusActive, "pendingEvents": []string{}}, nil
}

type cancelRequest struct {
	ClientReferenceID      string          `json:"clientReferenceId"`
	ClientReferenceIDUpper string          `json:"clientReferenceID"`
	Client                 *vicClient      `json:"client"`
	AppInstance            *appInstance    `json:"appInstance"`
	AssuranceData          []assuranceItem `json:"assuranceData"`
	InstructionID          string          `json:"instructionId"`
}

// cancelInstruction serves PUT /vacp/v1/instructions/{id}/cancel (§6.4).
// Cancelling lowers risk, so the assuranceData is checked for shape but no
// fidoBlob is redeemed.
func (s *Sandbox) cancelInstruction(c *call) (any, *apiErr) {
	var req cancelRequest
	if m := decode(c.body, &req); m != "" {
		return nil, vicInvalid("%s", m)
	}
	id := c.r.PathValue("id")
	ref, e := vicRef(req.ClientReferenceID, req.ClientReferenceIDUpper)
	if e != nil {
		return nil, e
	}
	if e := checkOptionalClient(req.Client); e != nil {
		return nil, e
	}
	if e := checkAppInstance(req.AppInstance); e != nil {
		return nil, e
	}
	if e := checkAssurance(req.AssuranceData); e != nil {
		return nil, e
	}
	if req.InstructionID != "" && req.InstructionID != id {
		return nil, vicInvalid("instructionId does not match the path")
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	in, e := s.instructionLocked(id, c.now, true)
	if e != nil {
		return nil, e
	}
	in.status = statusCancelled
	return map[string]any{"clientReferenceId": ref, "instructionId": id, "status": statusCancelled, "pendingEvents": []string{}}, nil
}
