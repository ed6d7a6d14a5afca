package sandbox

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/tap"
)

// Authorization is one merchant authorization the sandbox decided
// (docs/wire.md §9).
type Authorization struct {
	TransactionReferenceID   string    `json:"transactionReferenceId"`
	InstructionID            string    `json:"instructionId,omitempty"`
	DynamicDataID            string    `json:"dynamicDataId,omitempty"`
	Status                   string    `json:"status"`
	ResponseCode             string    `json:"responseCode"`
	DeclineReason            string    `json:"declineReason,omitempty"`
	AuthorizationCode        string    `json:"authorizationCode,omitempty"`
	RetrievalReferenceNumber string    `json:"retrievalReferenceNumber"`
	SystemTraceAuditNumber   string    `json:"systemTraceAuditNumber"`
	Amount                   string    `json:"amount"`
	Currency                 string    `json:"currency"`
	MerchantName             string    `json:"merchantName"`
	Time                     time.Time `json:"time"`
}

type merchantRequest struct {
	MerchantName           string     `json:"merchantName"`
	MerchantCountryCode    string     `json:"merchantCountryCode"`
	MerchantURL            string     `json:"merchantUrl"`
	CardNumber             string     `json:"cardNumber"`
	ExpirationMonth        flexString `json:"expirationMonth"`
	ExpirationYear         flexString `json:"expirationYear"`
	CVV2                   flexString `json:"cvv2"`
	TransactionAmount      *amountObj `json:"transactionAmount"`
	TransactionReferenceID string     `json:"transactionReferenceId"`
}

// Decline reasons of the merchant authorizer.
var declineReasons = map[string]string{
	"14": "INVALID_CARD_NUMBER",
	"54": "EXPIRED_CARD",
	"N7": "CVV2_MISMATCH",
	"05": "DO_NOT_HONOR",
	"13": "INVALID_AMOUNT",
	"51": "INSUFFICIENT_FUNDS",
}

// handleMerchantAuthorize serves POST /sandbox/v1/merchant/authorizations
// (§9): no X-Pay, no MLE.
func (s *Sandbox) handleMerchantAuthorize(w http.ResponseWriter, r *http.Request) {
	if !s.merchantTAPVerified(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req merchantRequest
	if m := decode(body, &req); m != "" {
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", m)
		return
	}
	if m := required("merchantName", req.MerchantName, "cardNumber", req.CardNumber,
		"expirationMonth", string(req.ExpirationMonth), "expirationYear", string(req.ExpirationYear),
		"cvv2", string(req.CVV2), "transactionReferenceId", req.TransactionReferenceID); m != "" {
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", m)
		return
	}
	amt, e := req.TransactionAmount.parse("transactionAmount")
	if e != nil {
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", e.msg)
		return
	}
	now := s.now()
	a := s.authorize(&req, amt, now)
	out := map[string]any{
		"status":                   a.Status,
		"responseCode":             a.ResponseCode,
		"retrievalReferenceNumber": a.RetrievalReferenceNumber,
		"systemTraceAuditNumber":   a.SystemTraceAuditNumber,
		"transactionTimestamp":     strconv.FormatInt(now.Unix(), 10),
		"transactionReferenceId":   a.TransactionReferenceID,
	}
	if a.AuthorizationCode != "" {
		out["authorizationCode"] = a.AuthorizationCode
	}
	if a.DeclineReason != "" {
		out["declineReason"] = a.DeclineReason
	}
	writeJSON(w, http.StatusOK, out)
}

// authorize applies the rules of §9 in order and records the result.
func (s *Sandbox) authorize(req *merchantRequest, amt visa.Amount, now time.Time) *Authorization {
	a := &Authorization{
		TransactionReferenceID: req.TransactionReferenceID, Amount: amt.Value(), Currency: amt.Currency().Alpha,
		MerchantName: req.MerchantName, Time: now,
		RetrievalReferenceNumber: randDigits(12), SystemTraceAuditNumber: randDigits(6),
	}
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.purge(now, s.opts.retention)
	code, cr := s.decideLocked(req, amt, now)
	if cr != nil {
		a.InstructionID, a.DynamicDataID = cr.instructionID, cr.ddID
		cr.auths = append(cr.auths, a)
	}
	a.ResponseCode = code
	if code == "00" {
		a.Status = "APPROVED"
		a.AuthorizationCode = strings.ToUpper(newID("")[:6])
		cr.used = true
		cr.approvals++
		st.counters.approvals++
	} else {
		a.Status = "DECLINED"
		a.DeclineReason = declineReasons[code]
	}
	st.auths = append(st.auths, a)
	st.authsByRef[a.TransactionReferenceID] = append(st.authsByRef[a.TransactionReferenceID], a)
	st.counters.authorizations++
	return a
}

// decideLocked returns the response code and the credential it concerns.
func (s *Sandbox) decideLocked(req *merchantRequest, amt visa.Amount, now time.Time) (string, *credential) {
	t, ok := s.st.tokensByPAN[strings.ReplaceAll(req.CardNumber, " ", "")]
	if !ok {
		return "14", nil
	}
	exp, m := parseExpiry(string(req.ExpirationMonth), string(req.ExpirationYear))
	if m != "" || !exp.same(t.exp) {
		return "54", nil
	}
	// Among the token's credentials with this cvv2, prefer the one issued
	// for this transactionReferenceId, then an unused live one.
	var cr *credential
	cvv := string(req.CVV2)
	for _, c := range t.creds {
		if !eq(c.value, cvv) {
			continue
		}
		switch {
		case cr == nil:
			cr = c
		case c.txRef == req.TransactionReferenceID && cr.txRef != req.TransactionReferenceID:
			cr = c
		case cr.txRef != req.TransactionReferenceID && cr.used && !c.used:
			cr = c
		}
	}
	switch {
	case cr == nil:
		return "N7", nil
	case cr.used:
		return "05", cr
	case !now.Before(cr.expires):
		return "54", cr
	}
	if c, same := amt.Cmp(cr.amount); !same || c > 0 {
		return "13", cr
	}
	if t.behaviour == behaveInsufficientFunds {
		return "51", cr
	}
	return "00", cr
}

// handleMerchantStatus serves GET /sandbox/v1/merchant/authorizations/{transactionReferenceId},
// a sandbox extension: the recorded result for a transaction reference
// (the approval if there was one, else the latest decline), so an agent
// that crashed after authorizing can resume without charging twice.
func (s *Sandbox) handleMerchantStatus(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("transactionReferenceId")
	s.st.mu.Lock()
	list := s.st.authsByRef[ref]
	var pick *Authorization
	for _, a := range list {
		if a.Status == "APPROVED" {
			pick = a
			break
		}
		pick = a
	}
	var out Authorization
	if pick != nil {
		out = *pick
	}
	n := len(list)
	s.st.mu.Unlock()
	if pick == nil {
		writeGatewayError(w, http.StatusNotFound, "NOT_FOUND", "no authorization for this transactionReferenceId")
		return
	}
	resp := map[string]any{
		"status": out.Status, "responseCode": out.ResponseCode,
		"retrievalReferenceNumber": out.RetrievalReferenceNumber, "systemTraceAuditNumber": out.SystemTraceAuditNumber,
		"transactionTimestamp": strconv.FormatInt(out.Time.Unix(), 10), "transactionReferenceId": out.TransactionReferenceID,
		"attempts": n,
	}
	if out.AuthorizationCode != "" {
		resp["authorizationCode"] = out.AuthorizationCode
	}
	if out.DeclineReason != "" {
		resp["declineReason"] = out.DeclineReason
	}
	writeJSON(w, http.StatusOK, resp)
}

// merchantTAPVerified applies WithMerchantTAP: without the option every
// charge passes; with it, a charge must carry a valid TAP signature tagged
// agent-payer-auth, else it is answered here and false is returned.
func (s *Sandbox) merchantTAPVerified(w http.ResponseWriter, r *http.Request) bool {
	v := s.opts.merchantTAP
	if v == nil {
		return true
	}
	if _, err := v.Verify(r, tap.TagPayer); err != nil {
		code := "SIGNATURE_INVALID"
		var reason *tap.Reason
		if errors.As(err, &reason) {
			code = strings.ToUpper(reason.Code())
		}
		writeGatewayError(w, tap.Status(err), code, err.Error())
		return false
	}
	return true
}
