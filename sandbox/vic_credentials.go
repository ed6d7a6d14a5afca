package sandbox

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vicgo/visa"
)

type transactionData struct {
	TransactionType        string     `json:"transactionType"`
	TransactionReferenceID string     `json:"transactionReferenceId"`
	TransactionAmount      *amountObj `json:"transactionAmount"`
	MerchantName           string     `json:"merchantName"`
	MerchantCountryCode    string     `json:"merchantCountryCode"`
	MerchantURL            string     `json:"merchantUrl"`
	MandateReferenceData   []string   `json:"mandateReferenceData"`
}

type credentialsRequest struct {
	ClientReferenceID      string            `json:"clientReferenceId"`
	ClientReferenceIDUpper string            `json:"clientReferenceID"`
	Client                 *vicClient        `json:"client"`
	TokenID                string            `json:"tokenId"`
	InstructionID          string            `json:"instructionId"`
	TransactionData        []transactionData `json:"transactionData"`
}

// DynamicData is one element of the signedPayload dynamicData claim
// (docs/wire.md §8.1).
type DynamicData struct {
	DynamicDataID          string           `json:"dynamicDataId"`
	DynamicDataValue       string           `json:"dynamicDataValue"`
	DynamicDataExpiration  int64            `json:"dynamicDataExpiration"`
	PaymentToken           string           `json:"paymentToken"`
	TokenExpirationMonth   string           `json:"tokenExpirationMonth"`
	TokenExpirationYear    string           `json:"tokenExpirationYear"`
	Token                  DynamicDataToken `json:"token"`
	TransactionReferenceID string           `json:"transactionReferenceId"`
}

// DynamicDataToken is the nested token form of DynamicData (S2).
type DynamicDataToken struct {
	PaymentToken         string `json:"paymentToken"`
	TokenExpirationMonth string `json:"tokenExpirationMonth"`
	TokenExpirationYear  string `json:"tokenExpirationYear"`
}

// SignedPayloadClaims is the claim set of the credentials signedPayload
// (docs/wire.md §8.1).
type SignedPayloadClaims struct {
	Iss               string        `json:"iss"`
	Aud               string        `json:"aud"`
	Iat               int64         `json:"iat"`
	Exp               int64         `json:"exp"`
	Jti               string        `json:"jti"`
	InstructionID     string        `json:"instructionId"`
	ClientReferenceID string        `json:"clientReferenceId"`
	DynamicData       []DynamicData `json:"dynamicData"`
}

// retrieveCredentials serves POST /vacp/v1/instructions/{id}/credentials (§6.5).
func (s *Sandbox) retrieveCredentials(c *call) (any, *apiErr) {
	var req credentialsRequest
	if m := decode(c.body, &req); m != "" {
		return nil, vicInvalid("%s", m)
	}
	id := c.r.PathValue("id")
	ref, e := vicRef(req.ClientReferenceID, req.ClientReferenceIDUpper)
	if e != nil {
		return nil, e
	}
	if e := checkClient(req.Client); e != nil {
		return nil, e
	}
	if m := required("tokenId", req.TokenID); m != "" {
		return nil, vicInvalid("%s", m)
	}
	if req.InstructionID != "" && req.InstructionID != id {
		return nil, vicInvalid("instructionId does not match the path")
	}
	if len(req.TransactionData) == 0 {
		return nil, vicInvalid("transactionData is required")
	}
	amounts := make([]visa.Amount, len(req.TransactionData))
	seen := map[string]bool{}
	for i := range req.TransactionData {
		td := &req.TransactionData[i]
		p := "transactionData[" + strconv.Itoa(i) + "]."
		if m := required(p+"transactionType", td.TransactionType, p+"transactionReferenceId", td.TransactionReferenceID,
			p+"merchantName", td.MerchantName, p+"merchantCountryCode", td.MerchantCountryCode, p+"merchantUrl", td.MerchantURL); m != "" {
			return nil, vicInvalid("%s", m)
		}
		if td.TransactionType != "PURCHASE" {
			return nil, vicInvalid("%stransactionType must be PURCHASE", p)
		}
		if len(td.TransactionReferenceID) > 64 {
			return nil, vicInvalid("%stransactionReferenceId is longer than 64 characters", p)
		}
		if seen[td.TransactionReferenceID] {
			return nil, vicErr(http.StatusConflict, "DUPLICATE_TRANSACTION_REFERENCE", "%stransactionReferenceId repeats an earlier element", p)
		}
		seen[td.TransactionReferenceID] = true
		amt, e := td.TransactionAmount.parse(p + "transactionAmount")
		if e != nil {
			return nil, e
		}
		amounts[i] = amt
	}

	st := s.st
	st.mu.Lock()
	in, e := s.instructionLocked(id, c.now, true)
	if e != nil {
		st.mu.Unlock()
		return nil, e
	}
	if in.tokenID != req.TokenID {
		st.mu.Unlock()
		return nil, vicInvalid("tokenId does not match the instruction")
	}
	t, e := s.vicTokenLocked(in.tokenID)
	if e != nil {
		st.mu.Unlock()
		return nil, e
	}
	m, e := pickMandate(in, req.TransactionData)
	if e != nil {
		st.mu.Unlock()
		return nil, e
	}
	for i, td := range req.TransactionData {
		if _, dup := in.creds[td.TransactionReferenceID]; dup {
			st.mu.Unlock()
			return nil, vicErr(http.StatusConflict, "DUPLICATE_TRANSACTION_REFERENCE",
				"a credential was already issued for transactionReferenceId of transactionData[%d]", i)
		}
		if cmp, same := amounts[i].Cmp(m.threshold); !same || cmp > 0 {
			st.mu.Unlock()
			return nil, vicErr(http.StatusBadRequest, "AMOUNT_EXCEEDS_MANDATE",
				"transactionData[%d].transactionAmount %s exceeds the mandate's declineThreshold %s", i, amounts[i], m.threshold)
		}
	}
	// Every check passed: issue.
	expires := c.now.Add(s.life.Credential)
	claims := SignedPayloadClaims{
		Iss: Issuer, Aud: req.Client.ExternalClientID, Iat: c.now.Unix(), Exp: expires.Unix(),
		Jti: newID("JTI-"), InstructionID: in.id, ClientReferenceID: ref,
	}
	for i, td := range req.TransactionData {
		cr := &credential{
			ddID: newID("DD-"), value: s.freshCVVLocked(t, c), txRef: td.TransactionReferenceID,
			instructionID: in.id, tokenID: t.id, amount: amounts[i],
			issued: c.now, expires: expires,
		}
		in.creds[cr.txRef] = cr
		in.credOrder = append(in.credOrder, cr.txRef)
		t.creds = append(t.creds, cr)
		st.counters.credentials++
		claims.DynamicData = append(claims.DynamicData, DynamicData{
			DynamicDataID: cr.ddID, DynamicDataValue: cr.value, DynamicDataExpiration: expires.Unix(),
			PaymentToken: t.pan, TokenExpirationMonth: t.exp.Month, TokenExpirationYear: t.exp.Year,
			Token:                  DynamicDataToken{PaymentToken: t.pan, TokenExpirationMonth: t.exp.Month, TokenExpirationYear: t.exp.Year},
			TransactionReferenceID: cr.txRef,
		})
	}
	m.used++
	if remaining(in) == 0 {
		in.status = statusCompleted
	}
	st.mu.Unlock()

	jws, err := s.signer.sign(claims)
	if err != nil {
		return nil, vicErr(http.StatusInternalServerError, "INTERNAL", "cannot sign the payload")
	}
	return map[string]any{
		"clientReferenceId": ref, "instructionId": in.id, "status": statusCompleted,
		"signedPayload": jws, "pendingEvents": []string{},
	}, nil
}

// pickMandate chooses the mandate a credentials call draws on: the one
// named by mandateReferenceData, else the first with quantity left.
func pickMandate(in *instruction, tds []transactionData) (*mandate, *apiErr) {
	for _, td := range tds {
		if len(td.MandateReferenceData) == 0 {
			continue
		}
		ref := td.MandateReferenceData[0]
		for _, m := range in.mandates {
			if m.id == ref {
				if m.used >= m.quantity {
					return nil, vicErr(http.StatusBadRequest, "INSTRUCTION_NOT_ACTIVE", "mandate %s has no credential retrievals left", m.id)
				}
				return m, nil
			}
		}
		return nil, vicInvalid("mandateReferenceData names an unknown mandateId")
	}
	for _, m := range in.mandates {
		if m.used < m.quantity {
			return m, nil
		}
	}
	return nil, vicErr(http.StatusBadRequest, "INSTRUCTION_NOT_ACTIVE", "the instruction has no credential retrievals left")
}

func remaining(in *instruction) int {
	n := 0
	for _, m := range in.mandates {
		n += m.quantity - m.used
	}
	return n
}

// freshCVVLocked returns 3 digits that no live unused credential of the
// token holds, so the merchant can tell credentials apart; st.mu is held.
func (s *Sandbox) freshCVVLocked(t *token, c *call) string {
	for range 50 {
		v := randDigits(3)
		clash := false
		for _, cr := range t.creds {
			if cr.value == v && !cr.used && c.now.Before(cr.expires) {
				clash = true
				break
			}
		}
		if !clash {
			return v
		}
	}
	return randDigits(3)
}

// paymentConfirmation is confirmationData[].paymentConfirmationData.
type paymentConfirmation struct {
	DynamicDataID            string     `json:"dynamicDataId"`
	TransactionType          string     `json:"transactionType"`
	TransactionStatus        string     `json:"transactionStatus"`
	TransactionTimestamp     flexString `json:"transactionTimestamp"`
	ResponseCode             string     `json:"responseCode"`
	AuthorizationCode        string     `json:"authorizationCode"`
	RetrievalReferenceNumber string     `json:"retrievalReferenceNumber"`
	SystemTraceAuditNumber   string     `json:"systemTraceAuditNumber"`
	TransactionAmount        *amountObj `json:"transactionAmount"`
}

// checkAgainst compares the processor data of a confirmation with the
// sandbox merchant's record of the transaction (docs/wire.md §6.6): the
// status and the amount must agree, and so must every code that is
// present. Errors name the member, never its value.
func (pcd *paymentConfirmation) checkAgainst(rec *Authorization, amount visa.Amount, field string) *apiErr {
	mismatch := func(member string) *apiErr {
		return vicInvalid("%s%s does not match the merchant's authorization of this transaction", field, member)
	}
	if pcd.TransactionStatus != rec.Status {
		return mismatch("transactionStatus")
	}
	want, err := visa.ParseAmount(rec.Amount, rec.Currency)
	if c, same := amount.Cmp(want); err != nil || !same || c != 0 {
		return mismatch("transactionAmount")
	}
	for _, m := range []struct{ member, got, want string }{
		{"responseCode", pcd.ResponseCode, rec.ResponseCode},
		{"authorizationCode", pcd.AuthorizationCode, rec.AuthorizationCode},
		{"retrievalReferenceNumber", pcd.RetrievalReferenceNumber, rec.RetrievalReferenceNumber},
		{"systemTraceAuditNumber", pcd.SystemTraceAuditNumber, rec.SystemTraceAuditNumber},
	} {
		if m.got != "" && !eq(m.got, m.want) {
			return mismatch(m.member)
		}
	}
	return nil
}

type confirmationsRequest struct {
	ClientReferenceID      string     `json:"clientReferenceId"`
	ClientReferenceIDUpper string     `json:"clientReferenceID"`
	Client                 *vicClient `json:"client"`
	InstructionID          string     `json:"instructionId"`
	ConfirmationData       []struct {
		TransactionReferenceID  string               `json:"transactionReferenceId"`
		PaymentConfirmationData *paymentConfirmation `json:"paymentConfirmationData"`
		OrderData               *struct {
			OrderID     string `json:"orderId"`
			OrderStatus string `json:"orderStatus"`
		} `json:"orderData"`
	} `json:"confirmationData"`
}

// confirm serves POST /vacp/v1/instructions/{id}/confirmations (§6.6).
// It is idempotent per transactionReferenceId: the last one wins. client
// is optional (Visa's examples send none). When the sandbox merchant
// decided on a credential, the confirmation's processor data must agree
// with that decision.
func (s *Sandbox) confirm(c *call) (any, *apiErr) {
	var req confirmationsRequest
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
	if req.InstructionID != "" && req.InstructionID != id {
		return nil, vicInvalid("instructionId does not match the path")
	}
	if len(req.ConfirmationData) == 0 {
		return nil, vicInvalid("confirmationData is required")
	}
	amounts := make([]visa.Amount, len(req.ConfirmationData))
	for i, cd := range req.ConfirmationData {
		p := "confirmationData[" + strconv.Itoa(i) + "]."
		if cd.TransactionReferenceID == "" {
			return nil, vicInvalid("%stransactionReferenceId is required", p)
		}
		pcd := cd.PaymentConfirmationData
		if pcd == nil {
			return nil, vicInvalid("%spaymentConfirmationData is required", p)
		}
		p += "paymentConfirmationData."
		if m := required(p+"transactionType", pcd.TransactionType, p+"transactionStatus", pcd.TransactionStatus,
			p+"transactionTimestamp", string(pcd.TransactionTimestamp)); m != "" {
			return nil, vicInvalid("%s", m)
		}
		if pcd.TransactionStatus != "APPROVED" && pcd.TransactionStatus != "DECLINED" {
			return nil, vicInvalid("%stransactionStatus must be APPROVED or DECLINED", p)
		}
		if _, ok := epochSeconds(string(pcd.TransactionTimestamp)); !ok {
			return nil, vicInvalid("%stransactionTimestamp must be epoch seconds", p)
		}
		amt, e := pcd.TransactionAmount.parse(p + "transactionAmount")
		if e != nil {
			return nil, e
		}
		amounts[i] = amt
		if od := cd.OrderData; od != nil && od.OrderStatus != "" {
			switch strings.ToUpper(od.OrderStatus) {
			case "COMPLETED", "COMPLETE":
				od.OrderStatus = "COMPLETED"
			}
		}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	in, e := s.instructionLocked(id, c.now, false)
	if e != nil {
		return nil, e
	}
	for i, cd := range req.ConfirmationData {
		cr, ok := in.creds[cd.TransactionReferenceID]
		if !ok {
			return nil, vicErr(http.StatusBadRequest, "UNKNOWN_TRANSACTION_REFERENCE",
				"no credential was issued for confirmationData[%d].transactionReferenceId", i)
		}
		if dd := cd.PaymentConfirmationData.DynamicDataID; dd != "" && dd != cr.ddID {
			return nil, vicInvalid("confirmationData[%d].paymentConfirmationData.dynamicDataId does not match the credential", i)
		}
		if rec := cr.record(); rec != nil {
			field := "confirmationData[" + strconv.Itoa(i) + "].paymentConfirmationData."
			if e := cd.PaymentConfirmationData.checkAgainst(rec, amounts[i], field); e != nil {
				return nil, e
			}
		}
	}
	for _, cd := range req.ConfirmationData {
		prev := in.confirms[cd.TransactionReferenceID]
		n := 1
		if prev != nil {
			n = prev.count + 1
		}
		in.confirms[cd.TransactionReferenceID] = &confirmation{
			status: cd.PaymentConfirmationData.TransactionStatus, responseCode: cd.PaymentConfirmationData.ResponseCode,
			at: c.now, count: n,
		}
		in.confirmN++
		s.st.counters.confirmations++
	}
	return map[string]any{"clientReferenceId": ref, "instructionId": id}, nil
}
