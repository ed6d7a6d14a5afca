package sandbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMerchantAuthorizer(t *testing.T) {
	t.Parallel()
	sb, clk, w := manual(t)
	tok, device := w.onboard(CardHappy)
	issue := func(amount, ref string) DynamicData {
		ins := w.instruct(tok, device, amount)
		if ref == "" {
			ref = ins
		}
		return w.credentials(ins, tok, ref, amount).DynamicData[0]
	}
	status := func(ref string) reply {
		return w.send(http.MethodGet, "/sandbox/v1/merchant/authorizations/"+ref, "", nil, nil)
	}

	dd := issue("40.00", "")
	assert.Equal(t, http.StatusNotFound, status(dd.TransactionReferenceID).status)
	cases := []struct {
		name string
		mod  func(map[string]any)
		code string
	}{
		{"unknown card", func(b map[string]any) { b["cardNumber"] = "4895370000000000" }, "14"},
		{"expiry mismatch", func(b map[string]any) { b["expirationYear"] = "2099" }, "54"},
		{"no such cvv2", func(b map[string]any) { b["cvv2"] = otherCVV(dd.DynamicDataValue) }, "N7"},
		{"amount above the credential", func(b map[string]any) {
			b["transactionAmount"] = map[string]any{"transactionAmount": "40.01", "transactionCurrencyCode": "USD"}
		}, "13"},
		{"currency differs", func(b map[string]any) {
			b["transactionAmount"] = map[string]any{"transactionAmount": "40.00", "transactionCurrencyCode": "EUR"}
		}, "13"},
	}
	for _, tc := range cases {
		b := merchantBody(dd, "40.00")
		tc.mod(b)
		r := w.merchant(b)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "DECLINED", r.body["status"], tc.name)
		assert.Equal(t, tc.code, r.body["responseCode"], tc.name)
		assert.NotEmpty(t, r.body["declineReason"], tc.name)
	}
	r := w.merchant(merchantBody(dd, "35.00"))
	assert.Equal(t, "APPROVED", r.body["status"], "a lower amount is fine")
	assert.Equal(t, "00", r.body["responseCode"])
	assert.Len(t, r.body["authorizationCode"], 6)
	assert.Len(t, r.body["retrievalReferenceNumber"], 12)
	assert.Len(t, r.body["systemTraceAuditNumber"], 6)
	assert.NotContains(t, r.body, "declineReason", "no decline reason on approval")
	r = w.merchant(merchantBody(dd, "35.00"))
	assert.Equal(t, "05", r.body["responseCode"], "replay")
	assert.Equal(t, 1, sb.ChargesFor(dd.TransactionReferenceID), "charged once")

	st := status(dd.TransactionReferenceID)
	require.Equal(t, http.StatusOK, st.status)
	assert.Equal(t, "APPROVED", st.body["status"], "the approval is reported, not the later replay")
	assert.EqualValues(t, 7, st.body["attempts"])

	dd2 := issue("10.00", "T-exp")
	clk.Advance(15*time.Minute + time.Second)
	r = w.merchant(merchantBody(dd2, "10.00"))
	assert.Equal(t, "54", r.body["responseCode"], "credential past dynamicDataExpiration")
	assert.Equal(t, "DECLINED", status("T-exp").body["status"])

	snap := sb.Inspect()
	assert.Equal(t, 1, snap.ApprovalsTotal)
	assert.Equal(t, 1, snap.ApprovalsPerCredential[dd.DynamicDataID])
	assert.Len(t, snap.Authorizations, 8)
	assert.Equal(t, dd.TransactionReferenceID, snap.Authorizations[5].TransactionReferenceID)
	assert.Equal(t, "00", snap.Authorizations[5].ResponseCode)
	assert.NotEmpty(t, snap.Authorizations[5].InstructionID)

	for _, f := range []string{"cardNumber", "cvv2", "transactionReferenceId", "expirationMonth", "merchantName"} {
		b := merchantBody(dd, "1.00")
		delete(b, f)
		r = w.merchant(b)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, f+" is required", r.body["responseStatus"].(map[string]any)["message"])
	}
	r = w.send(http.MethodPost, "/sandbox/v1/merchant/authorizations", "", []byte(`{"cardNumber":`), nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
}

func otherCVV(v string) string {
	if v == "999" {
		return "998"
	}
	return "999"
}

func TestInsufficientFundsCardReachesCredentials(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), "A128GCM")
	tok, device := w.onboard(CardInsufficientFunds)
	ins := w.instruct(tok, device, "3.00")
	dd := w.credentials(ins, tok, ins, "3.00").DynamicData[0]
	r := w.merchant(merchantBody(dd, "3.00"))
	assert.Equal(t, "DECLINED", r.body["status"])
	assert.Equal(t, "51", r.body["responseCode"])
	assert.Equal(t, 0, w.sb.ChargesFor(ins))
}
