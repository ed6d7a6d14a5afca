package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

// tsKit sends VIC requests the way Visa's TypeScript kit does
// (github.com/visa/mcp, packages/api-client/src/mle.ts and
// x-pay-token.ts), built by hand from the standard library: the payload
// string goes into a compact JWE (RSA-OAEP-256, A128GCM, kid, iat in
// milliseconds) under the MLE server key, the JWE into {"encData":...},
// and the x-pay-token is an HMAC-SHA256 over timestamp, resource path
// (without "vacp/"), query and that wrapper. It shares no code with the
// SDK's jwe or xpay packages, so the sandbox is held to the wire, not to
// the SDK.
type tsKit struct {
	w   *wire
	pub *rsa.PublicKey
}

func newTSKit(t *testing.T, w *wire) *tsKit {
	t.Helper()
	pub, err := jwe.ParsePublicKeyPEM(w.sb.MLEServerCertPEM())
	require.NoError(t, err)
	return &tsKit{w: w, pub: pub}
}

var b64 = base64.RawURLEncoding

// encrypt is the kit's encryptPayload over payload bytes as they are.
func (k *tsKit) encrypt(t *testing.T, payload []byte) string {
	t.Helper()
	header := fmt.Sprintf(`{"alg":"RSA-OAEP-256","kid":%q,"enc":"A128GCM","iat":%d}`, MLEKeyID, k.w.now().UnixMilli())
	cek, iv := make([]byte, 16), make([]byte, 12)
	_, _ = rand.Read(cek)
	_, _ = rand.Read(iv)
	ek, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.pub, cek, nil)
	require.NoError(t, err)
	block, err := aes.NewCipher(cek)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	protected := b64.EncodeToString([]byte(header))
	sealed := gcm.Seal(nil, iv, payload, []byte(protected))
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	return strings.Join([]string{protected, b64.EncodeToString(ek), b64.EncodeToString(iv), b64.EncodeToString(ct), b64.EncodeToString(tag)}, ".")
}

// call sends payload to path and decrypts the answer.
func (k *tsKit) call(t *testing.T, method, path string, payload []byte) reply {
	t.Helper()
	wrapped := []byte(`{"encData":"` + k.encrypt(t, payload) + `"}`)
	query := "apikey=" + VICAPIKey
	ts := strconv.FormatInt(k.w.now().Unix(), 10)
	resource := strings.TrimPrefix(strings.TrimPrefix(path, "/"), "vacp/")
	mac := hmac.New(sha256.New, []byte(VICSharedSecret))
	mac.Write([]byte(ts + resource + query + string(wrapped)))
	token := "xv2:" + ts + ":" + hex.EncodeToString(mac.Sum(nil))
	r := k.w.send(method, path, query, wrapped, map[string]string{"x-pay-token": token, "keyId": MLEKeyID})
	return k.w.open(r)
}

// s1Cancel is the body of S1's buildCancelPurchaseInstructionPayload: no
// client, no instructionId, an assurance element without FIDO data.
func s1Cancel(clientRef, device, ts string) string {
	return `{"clientReferenceId":"` + clientRef + `","appInstance":{"userAgent":"Mozilla",` +
		`"applicationName":"Agentic Commerce Application","countryCode":"US","ipAddress":"128.88.99.100",` +
		`"deviceData":{"type":"Mobile","manufacturer":"Apple","brand":"Apple","model":"iPhone 16 Pro Max"},` +
		`"clientDeviceId":"` + device + `"},"assuranceData":[{"verificationType":"DEVICE","verificationEntity":"10",` +
		`"verificationEvents":["01","02"],"verificationMethod":"02","verificationResults":"01","verificationTimestamp":"` + ts + `"}]}`
}

// s1Processor is the processor data of a confirmation.
type s1Processor struct {
	status, responseCode, authCode, rrn, stan, amount, contact string
}

// s1Confirm is the body of S1's buildConfirmTransactionEventsPayload (no
// client, no instructionId), with the processor data given.
func s1Confirm(clientRef, txRef, ts string, p s1Processor) string {
	return `{"clientReferenceId":"` + clientRef + `","confirmationData":[{"transactionReferenceId":"` + txRef + `",` +
		`"paymentConfirmationData":{"transactionType":"PURCHASE","transactionStatus":"` + p.status + `",` +
		`"transactionTimestamp":"` + ts + `","responseCode":"` + p.responseCode + `","authorizationCode":"` + p.authCode + `",` +
		`"retrievalReferenceNumber":"` + p.rrn + `","systemTraceAuditNumber":"` + p.stan + `",` +
		`"transactionAmount":{"transactionAmount":"` + p.amount + `","transactionCurrencyCode":"USD"},"cardEntryMode":"ECOMMERCE"},` +
		`"orderData":{"orderId":"ORDER-1","orderStatus":"COMPLETED","orderDate":"` + ts + `","expectedDeliveryDate":"` + ts + `",` +
		`"transactionAmount":{"transactionAmount":"` + p.amount + `","transactionCurrencyCode":"USD"}},` +
		`"merchantData":{"merchantName":"Best Buy"},"shippingData":{"trackingId":"TRACK-1","carrier":"UPS","shippingMethod":"Standard",` +
		`"shippingAddress":{"line1":"123 Main St","line2":"Apt 1","city":"San Francisco","state":"CA","zip":"94105","countryCode":"US",` +
		`"deliveryContactDetails":{"contactFullName":"` + p.contact + `","contactEmailAddress":"abc@example.com",` +
		`"contactPhoneNumber":{"countryCode":"1","phoneNumber":"6317054545","numberIsVoiceOnly":false},` +
		`"instructions":"Leave the package at the door"}}}}]}`
}

// s1Random is S1's processor data: made-up codes, "710" for the amount.
func s1Random() s1Processor {
	return s1Processor{status: "APPROVED", responseCode: "00", authCode: "AUTH-3f0c2a9e-7d41-4f5e-9a0b-2c1d8e7f6a5b",
		rrn: "RRN-9b8a7c6d5e4f", stan: "STAN-1a2b3c4d5e6f", amount: "710", contact: "Adam Taylor"}
}

func responseMessage(r reply) string {
	rs, _ := r.body["responseStatus"].(map[string]any)
	msg, _ := rs["message"].(string)
	return msg
}

// TestVisaRequestShapes: cancel and confirmation exactly as Visa's
// TypeScript kit sends them (no client object) are accepted.
func TestVisaRequestShapes(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	k := newTSKit(t, w)
	tok, device := w.onboard(CardHappy)

	t.Run("cancel without client", func(t *testing.T) {
		ins := w.instruct(tok, device, "25.00")
		r := k.call(t, http.MethodPut, "/vacp/v1/instructions/"+ins+"/cancel", []byte(s1Cancel("CR-ts-cancel", device, w.epoch())))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "CANCELLED", r.body["status"])
		assert.Equal(t, ins, r.body["instructionId"])
		assert.Equal(t, "CR-ts-cancel", r.body["clientReferenceId"])
		r = k.call(t, http.MethodPut, "/vacp/v1/instructions/"+ins+"/cancel", []byte(s1Cancel("CR-ts-cancel", device, w.epoch())))
		assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r), "a cancelled instruction stays cancelled")
	})
	t.Run("a client object, when sent, is still checked", func(t *testing.T) {
		ins := w.instruct(tok, device, "25.00")
		body := strings.Replace(s1Cancel("CR-ts-cancel", device, w.epoch()), `{"clientReferenceId"`,
			`{"client":{"externalClientId":"NOT-OURS","externalAppId":"`+ClientAppID+`"},"clientReferenceId"`, 1)
		r := k.call(t, http.MethodPut, "/vacp/v1/instructions/"+ins+"/cancel", []byte(body))
		assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
		assert.Equal(t, "client.externalClientId is not known", responseMessage(r))
	})
	t.Run("confirmation without client, charged elsewhere", func(t *testing.T) {
		// S1's sample: a credential the sandbox merchant never saw, made-up
		// processor codes and "710": nothing to compare with, accepted.
		ins := w.instruct(tok, device, "710.00")
		w.credentials(ins, tok, ins, "710.00")
		r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-ts", ins, w.epoch(), s1Random())))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, ins, r.body["instructionId"])
		assert.Equal(t, "CR-ts", r.body["clientReferenceId"])
		assert.Equal(t, 1, w.sb.Inspect().ConfirmationsPerInstruction[ins])
	})
	t.Run("confirmation without client, charged at the sandbox merchant", func(t *testing.T) {
		ins := w.instruct(tok, device, "710.00")
		dd := w.credentials(ins, tok, ins, "710.00").DynamicData[0]
		m := w.merchant(merchantBody(dd, "710.00"))
		require.Equal(t, "APPROVED", m.body["status"], string(m.raw))
		p := s1Processor{status: "APPROVED", responseCode: "00", authCode: m.body["authorizationCode"].(string),
			rrn: m.body["retrievalReferenceNumber"].(string), stan: m.body["systemTraceAuditNumber"].(string),
			amount: "710", contact: "Adam Taylor"} // "710" is the amount "710.00"
		r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-ts", ins, w.epoch(), p)))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, ins, r.body["instructionId"])
	})
}

// TestConfirmationProcessorData: a confirmation that contradicts the
// sandbox merchant's decision is refused, member by member, and changes
// nothing.
func TestConfirmationProcessorData(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	k := newTSKit(t, w)

	approved := func(t *testing.T, tok, device string) (string, s1Processor) {
		ins := w.instruct(tok, device, "42.50")
		dd := w.credentials(ins, tok, ins, "42.50").DynamicData[0]
		m := w.merchant(merchantBody(dd, "42.50"))
		require.Equal(t, "APPROVED", m.body["status"], string(m.raw))
		// A replay is declined (05) but the approval stays the record.
		require.Equal(t, "05", w.merchant(merchantBody(dd, "42.50")).body["responseCode"])
		return ins, s1Processor{status: "APPROVED", responseCode: "00", authCode: m.body["authorizationCode"].(string),
			rrn: m.body["retrievalReferenceNumber"].(string), stan: m.body["systemTraceAuditNumber"].(string),
			amount: "42.50", contact: "Adam Taylor"}
	}
	tok, device := w.onboard(CardHappy)
	for _, tc := range []struct {
		name   string
		change func(*s1Processor)
		member string // "" means accepted
	}{
		{"the merchant's own data", func(*s1Processor) {}, ""},
		{"an equal amount written differently", func(p *s1Processor) { p.amount = "42.5" }, ""},
		{"optional codes left out", func(p *s1Processor) { p.authCode, p.rrn, p.stan, p.responseCode = "", "", "", "" }, ""},
		{"a wrong authorization code", func(p *s1Processor) { p.authCode = "ZZZZZZ" }, "authorizationCode"},
		{"a wrong amount", func(p *s1Processor) { p.amount = "42.49" }, "transactionAmount"},
		{"a wrong retrieval reference number", func(p *s1Processor) { p.rrn = "000000000000" }, "retrievalReferenceNumber"},
		{"a wrong system trace audit number", func(p *s1Processor) { p.stan = "000000" }, "systemTraceAuditNumber"},
		{"a wrong response code", func(p *s1Processor) { p.responseCode = "51" }, "responseCode"},
		{"declined when the merchant approved", func(p *s1Processor) { p.status = "DECLINED" }, "transactionStatus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, p := approved(t, tok, device)
			tc.change(&p)
			r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-pd", ins, w.epoch(), p)))
			if tc.member == "" {
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				assert.Equal(t, 1, w.sb.Inspect().ConfirmationsPerInstruction[ins])
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
			assert.Equal(t, "confirmationData[0].paymentConfirmationData."+tc.member+
				" does not match the merchant's authorization of this transaction", responseMessage(r))
			assert.Zero(t, w.sb.Inspect().ConfirmationsPerInstruction[ins], "a refused confirmation is not recorded")
		})
	}

	t.Run("a decline", func(t *testing.T) {
		tok, device := w.onboard(CardInsufficientFunds)
		ins := w.instruct(tok, device, "8.00")
		dd := w.credentials(ins, tok, ins, "8.00").DynamicData[0]
		m := w.merchant(merchantBody(dd, "8.00"))
		require.Equal(t, "51", m.body["responseCode"])
		decl := s1Processor{status: "DECLINED", responseCode: "51", rrn: m.body["retrievalReferenceNumber"].(string),
			stan: m.body["systemTraceAuditNumber"].(string), amount: "8.00", contact: "Adam Taylor"}
		for _, bad := range []struct {
			change func(*s1Processor)
			member string
		}{
			{func(p *s1Processor) { p.status, p.responseCode = "APPROVED", "00" }, "transactionStatus"},
			{func(p *s1Processor) { p.authCode = "A1B2C3" }, "authorizationCode"}, // a decline has none
			{func(p *s1Processor) { p.responseCode = "05" }, "responseCode"},
		} {
			p := decl
			bad.change(&p)
			r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-pd", ins, w.epoch(), p)))
			assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
			assert.Contains(t, responseMessage(r), bad.member+" does not match")
		}
		r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-pd", ins, w.epoch(), decl)))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, 1, w.sb.Inspect().ConfirmationsPerInstruction[ins])
	})
}

// TestMLEPlaintextMustBeUTF8: the plaintext S1's mle.ts produces for a
// non-ASCII character (one byte per character, Latin-1) is refused with
// INVALID_REQUEST naming the problem; the same JSON in UTF-8 is accepted.
func TestMLEPlaintextMustBeUTF8(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	k := newTSKit(t, w)
	tok, device := w.onboard(CardHappy)
	ins := w.instruct(tok, device, "710.00")
	w.credentials(ins, tok, ins, "710.00")
	p := s1Random()
	p.contact = "Zoë Åkesson"
	body := s1Confirm("CR-utf8", ins, w.epoch(), p)

	latin1 := make([]byte, 0, len(body))
	for _, r := range body {
		latin1 = append(latin1, byte(r)) // what a JavaScript string handed over without an encoding becomes
	}
	r := k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", latin1)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(r), "an application error, inside MLE")
	off := strings.IndexRune(body, 'ë')
	assert.Equal(t, "the decrypted request body is not valid UTF-8 (first bad byte at offset "+strconv.Itoa(off)+
		"): encode the JSON as UTF-8 before encrypting it", responseMessage(r))
	assert.Zero(t, w.sb.Inspect().ConfirmationsPerInstruction[ins], "nothing recorded")

	r = k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(body))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	// U+FFFD itself is valid UTF-8.
	p.contact = "Adam \uFFFD Taylor"
	r = k.call(t, http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", []byte(s1Confirm("CR-utf8", ins, w.epoch(), p)))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
}

func TestCheckUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in  string
		off int // -1: valid
	}{
		{`{"a":"b"}`, -1},
		{"{\"a\":\"\uFFFD é 日本\"}", -1},
		{"\xe9", 0},
		{`{"a":"` + "\xe9" + `"}`, 6},
		{`{"é":"` + "\xc3" + `"}`, 7},
		{`{"a":"` + "\xed\xa0\x80" + `"}`, 6}, // a UTF-16 surrogate
	} {
		e := checkUTF8([]byte(tc.in))
		if tc.off < 0 {
			assert.Nil(t, e, "%q", tc.in)
			continue
		}
		if assert.NotNil(t, e, "%q", tc.in) {
			assert.Equal(t, "INVALID_REQUEST", e.code)
			assert.Equal(t, http.StatusBadRequest, e.status)
			assert.Contains(t, e.msg, "offset "+strconv.Itoa(tc.off)+")", "%q", tc.in)
		}
	}
}

// TestPendingEvents: a pending_events fault makes a VIC endpoint answer
// 202 with pendingEvents (docs/wire.md §6.7) without processing the
// request, so the same request succeeds once the fault is spent.
func TestPendingEvents(t *testing.T) {
	t.Parallel()
	sb := Start(t)
	w := newWire(t, sb, jwe.EncA256GCM)
	tok, device := w.onboard(CardHappy)
	blob, ident := w.assertion(tok, device, "30.00", "Best Buy")
	create := instructionBody(w, tok, device, blob, ident, "30.00", nil)

	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Endpoint: "POST /vacp/v1/instructions", Kind: PendingEvents(), Count: 1}}}))
	r := w.vic(http.MethodPost, "/vacp/v1/instructions", create)
	require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	assert.Equal(t, map[string]any{"clientReferenceId": "CR-buy", "status": "PENDING",
		"pendingEvents": []any{DefaultPendingEvents}}, r.body, "no instructionId: nothing was created")
	assert.Equal(t, 1, sb.Inspect().FaultsInjected[string(FaultPendingEvents)])

	// Nothing was redeemed: the same assertion creates the instruction now.
	r = w.vic(http.MethodPost, "/vacp/v1/instructions", create)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	ins := r.body["instructionId"].(string)
	w.credentials(ins, tok, ins, "30.00")

	// On a path with an instruction, over the admin API, with events named.
	plan := `{"rules":[{"endpoint":"POST /vacp/v1/instructions/{id}/confirmations","kind":{"type":"pending_events","pendingEvents":["ORDER_REVIEW","CARDHOLDER_CONSENT"]},"count":1}]}`
	a := w.send(http.MethodPost, "/sandbox/v1/admin/faults", "", []byte(plan), nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	confirm := confirmBody(ins, ins, "", "APPROVED", "00", "30.00", w.epoch())
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", confirm)
	require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	assert.Equal(t, ins, r.body["instructionId"])
	assert.Equal(t, []any{"ORDER_REVIEW", "CARDHOLDER_CONSENT"}, r.body["pendingEvents"])
	assert.Zero(t, sb.Inspect().ConfirmationsPerInstruction[ins])
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", confirm)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	// Authentication comes first; other products are served normally.
	require.NoError(t, sb.SetFaults(FaultPlan{Rules: []FaultRule{{Kind: PendingEvents()}}}))
	compact, err := w.mleEnc.Encrypt(mustJSON(t, confirm), w.now())
	require.NoError(t, err)
	r = w.vicRaw(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", jwe.MarshalEnvelope(compact), map[string]string{"x-pay-token": "xv2:1:00"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "XPAY_MALFORMED", gatewayCode(r))
	r = w.vts(http.MethodGet, "/vts/provisionedTokens/"+tok, nil)
	assert.Equal(t, http.StatusOK, r.status, string(r.raw))
	sb.ClearFaults()
}

func TestPendingEventsPlanValidation(t *testing.T) {
	t.Parallel()
	for _, p := range []FaultPlan{
		{Rules: []FaultRule{{Kind: FaultKind{Type: FaultStatus500, PendingEvents: []string{"X"}}}}},
		{Rules: []FaultRule{{Kind: PendingEvents("")}}},
		{Rules: []FaultRule{{Kind: PendingEvents(strings.Repeat("E", 65))}}},
	} {
		assert.Error(t, p.validate())
	}
	assert.NoError(t, FaultPlan{Rules: []FaultRule{{Kind: PendingEvents("A", "B")}}}.validate())
	assert.Equal(t, []string{DefaultPendingEvents}, PendingEvents().pendingEvents())
}
