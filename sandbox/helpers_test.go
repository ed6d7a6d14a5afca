package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// wire is a raw HTTP client built in the tests: it signs X-Pay, wraps MLE
// and encrypts fields with the jwe and xpay primitives, never with an SDK
// client.
type wire struct {
	t      testing.TB
	sb     *Sandbox
	hc     *http.Client
	mleEnc *jwe.MLEEncrypter
	mleDec *jwe.MLEDecrypter
	field  *jwe.FieldCipher
	// now signs X-Pay and MLE iat; defaults to the sandbox clock.
	now func() time.Time
}

type reply struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

func newWire(t testing.TB, sb *Sandbox, enc string) *wire {
	t.Helper()
	pub, err := jwe.ParsePublicKeyPEM(sb.MLEServerCertPEM())
	require.NoError(t, err)
	me, err := jwe.NewMLEEncrypter(pub, MLEKeyID, enc)
	require.NoError(t, err)
	priv, err := jwe.ParsePrivateKeyPEM(sb.MLEClientPrivateKeyPEM())
	require.NoError(t, err)
	md, err := jwe.NewMLEDecrypter(priv)
	require.NoError(t, err)
	fc, err := jwe.NewFieldCipher(EncAPIKey, EncSharedSecret)
	require.NoError(t, err)
	w := &wire{t: t, sb: sb, hc: sb.HTTPClient(), mleEnc: me, mleDec: md, field: fc, now: sb.Clock().Now}
	t.Cleanup(w.hc.CloseIdleConnections)
	return w
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	if b, ok := v.([]byte); ok {
		return b
	}
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// send issues a request and decodes a JSON object reply.
func (w *wire) send(method, path, query string, body []byte, hdr map[string]string) reply {
	w.t.Helper()
	r, err := w.try(method, path, query, body, hdr)
	require.NoError(w.t, err)
	return r
}

// try is send that returns transport and body read errors.
func (w *wire) try(method, path, query string, body []byte, hdr map[string]string) (reply, error) {
	u := w.sb.BaseURL() + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: raw, header: resp.Header}
	if err != nil {
		return r, err
	}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r, nil
}

func (w *wire) sign(secret, path, query string, body []byte) string {
	return xpay.Sign(secret, w.now().Unix(), xpay.ResourcePath(path), query, body)
}

// vts sends a signed VTS call; query extras follow the api key.
func (w *wire) vts(method, path string, body any, extraQuery ...string) reply {
	w.t.Helper()
	q := "apikey=" + VTSAPIKey
	for _, e := range extraQuery {
		q += "&" + e
	}
	b := mustJSON(w.t, body)
	return w.send(method, path, q, b, map[string]string{"x-pay-token": w.sign(VTSSharedSecret, path, q, b)})
}

// vicRaw sends a signed VIC call with an already built body.
func (w *wire) vicRaw(method, path string, wrapped []byte, hdr map[string]string) reply {
	w.t.Helper()
	q := "apikey=" + VICAPIKey
	h := map[string]string{"x-pay-token": w.sign(VICSharedSecret, path, q, wrapped), "keyId": MLEKeyID}
	for k, v := range hdr {
		h[k] = v
	}
	return w.send(method, path, q, wrapped, h)
}

// vic sends a signed, MLE-wrapped VIC call and decrypts the reply.
func (w *wire) vic(method, path string, body any) reply {
	w.t.Helper()
	compact, err := w.mleEnc.Encrypt(mustJSON(w.t, body), w.now())
	require.NoError(w.t, err)
	r := w.vicRaw(method, path, jwe.MarshalEnvelope(compact), nil)
	return w.open(r)
}

// open decrypts an MLE reply in place (gateway errors stay plain).
func (w *wire) open(r reply) reply {
	w.t.Helper()
	if compact, ok := jwe.ParseEnvelope(r.raw); ok {
		pt, _, err := w.mleDec.Decrypt(compact)
		require.NoError(w.t, err)
		r.raw, r.body = pt, nil
		require.NoError(w.t, json.Unmarshal(pt, &r.body))
	}
	return r
}

func (w *wire) encField(v any) string {
	w.t.Helper()
	s, err := w.field.Encrypt(mustJSON(w.t, v))
	require.NoError(w.t, err)
	return s
}

// iframe sends a JSON-mode iFrame request.
func (w *wire) iframe(method string, body any, hdr map[string]string) reply {
	w.t.Helper()
	return w.send(method, "/vts-auth/authenticate", "apikey="+VTSAPIKey+"&clientAppID="+ClientAppID, mustJSON(w.t, body), hdr)
}

// session runs AUTH_READY + CREATE_AUTH_SESSION for device.
func (w *wire) session(device string) (requestID, secureToken string) {
	w.t.Helper()
	r := w.iframe(http.MethodGet, nil, nil)
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	requestID = r.body["requestID"].(string)
	r = w.iframe(http.MethodPost, map[string]any{"type": "CREATE_AUTH_SESSION", "requestID": requestID, "version": "1", "client": map[string]any{"id": device}}, nil)
	require.Equal(w.t, "AUTH_SESSION_CREATED", r.body["type"], string(r.raw))
	return requestID, r.body["sessionContext"].(map[string]any)["secureToken"].(string)
}

// ceremony runs AUTHENTICATE with an authentication context.
func (w *wire) ceremony(requestID string, ctx any) (blob, identifier string) {
	w.t.Helper()
	r := w.iframe(http.MethodPost, map[string]any{"type": "AUTHENTICATE", "requestID": requestID, "version": "1", "authenticationContext": ctx}, nil)
	require.Equal(w.t, "AUTH_COMPLETE", r.body["type"], string(r.raw))
	ad := r.body["assuranceData"].(map[string]any)
	return ad["fidoBlob"].(string), ad["identifier"].(string)
}

var deviceSeq struct {
	sync.Mutex
	n int
}

func newDevice() string {
	deviceSeq.Lock()
	defer deviceSeq.Unlock()
	deviceSeq.n++
	s := "dev" + strconv.Itoa(deviceSeq.n) + strings.Repeat("x", 24)
	return s[:24]
}

const testEmail = "alice@example.com"

func futureExpiry(w *wire) (string, string) {
	return "12", strconv.Itoa(w.now().Year() + 3)
}

func instrument(pan, month, year string) map[string]any {
	return map[string]any{"accountNumber": pan, "name": "Alice Doe", "expirationDate": map[string]any{"month": month, "year": year}, "cvv2": "123"}
}

func enrollBody(w *wire, pan string) map[string]any {
	m, y := futureExpiry(w)
	return map[string]any{
		"locale": "en_US", "clientAppID": ClientAppID, "clientWalletAccountID": ClientWalletAccountID,
		"panSource": "MANUALLYENTERED", "consumerEntryMode": "KEYENTERED",
		"encPaymentInstrument": w.encField(instrument(pan, m, y)),
	}
}

func provisionBody(w *wire) map[string]any {
	m, y := futureExpiry(w)
	return map[string]any{
		"clientAppID": ClientAppID, "clientWalletAccountID": ClientWalletAccountID,
		"clientWalletAccountEmailAddress":     testEmail,
		"clientWalletAccountEmailAddressHash": jwe.EmailHash(HashSecret, testEmail),
		"presentationType":                    []string{"AI_AGENT"}, "protectionType": "CLOUD", "accountType": "WALLET",
		"encRiskDataInfo": w.encField([]map[string]string{
			{"name": "paymentInstrument.expirationDate.month", "value": m},
			{"name": "paymentInstrument.expirationDate.year", "value": y},
		}),
	}
}

// provision enrolls pan and provisions a token; it returns the token id.
func (w *wire) provision(pan string) string {
	w.t.Helper()
	r := w.vts(http.MethodPost, "/vts/panEnrollments", enrollBody(w, pan))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	en := r.body["vPanEnrollmentID"].(string)
	r = w.vts(http.MethodPost, "/vts/panEnrollments/"+en+"/provisionedTokens", provisionBody(w))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	return r.body["vProvisionedTokenID"].(string)
}

func browserData() map[string]any {
	return map[string]any{"browserJavaEnabled": false, "browserLanguage": "en-US", "browserColorDepth": 24,
		"browserScreenHeight": 1080, "browserScreenWidth": 1920, "browserTimeZone": "300",
		"userAgent": "Mozilla/5.0 (X11; Linux x86_64)", "browserHeader": "text/html", "ipAddress": "203.0.113.7"}
}

func attestBody(w *wire, secureToken, typ, amount, merchant string) map[string]any {
	reason := "PAYMENT"
	pref := map[string]any{"selectedPopupForAuthenticate": false}
	if typ == "REGISTER" {
		reason = "DEVICE_BINDING"
		pref = map[string]any{"selectedPopupForRegister": false}
	}
	return map[string]any{
		"clientReferenceID": "CR-flow", "clientAppID": ClientAppID, "type": typ, "reasonCode": reason,
		"sessionContext": map[string]any{"secureToken": secureToken}, "browserData": browserData(),
		"dynamicData": map[string]any{"authenticationAmount": amount, "currencyCode": "840",
			"merchantIdentifier": map[string]any{"externalClientId": check.Base64URL("visaagent"),
				"applicationUrl": check.Base64URL("https://agent.example.com"), "merchantName": check.Base64URL(merchant)}},
		"encAuthenticationData":              w.encField(map[string]any{"consumerInfo": map[string]any{"emailAddress": testEmail}}),
		"authenticationPreferencesRequested": pref,
	}
}

func bindingBody(w *wire, secureToken, ref string) map[string]any {
	return map[string]any{
		"clientReferenceID": ref, "clientAppID": ClientAppID, "intent": "FIDO", "platformType": "WEB",
		"browserData": browserData(), "sessionContext": map[string]any{"secureToken": secureToken},
		"clientWalletAccountEmailAddressHash": jwe.EmailHash(HashSecret, testEmail),
		"encBillingInfo":                      w.encField(map[string]any{"email": testEmail}),
	}
}

func (w *wire) epoch() string { return strconv.FormatInt(w.now().Unix(), 10) }

func stepUpBody(w *wire, ref, id string) map[string]any {
	return map[string]any{"clientReferenceId": ref, "stepUpRequestID": id, "date": w.epoch(), "clientAppID": ClientAppID}
}

func otpBody(w *wire, ref, otp string) map[string]any {
	return map[string]any{"clientReferenceId": ref, "otpValue": otp, "date": w.epoch(), "clientAppID": ClientAppID}
}

func vicClientObj() map[string]any {
	return map[string]any{"externalClientId": ExternalClientID, "externalAppId": ClientAppID}
}

func appInstanceObj(device string) map[string]any {
	return map[string]any{"userAgent": "Mozilla/5.0 (X11)", "applicationName": "Example Agent", "countryCode": "US",
		"ipAddress": "203.0.113.7", "clientDeviceId": device,
		"deviceData": map[string]any{"type": "Desktop", "brand": "Apple"}}
}

func assuranceObj(w *wire, kind, blob, identifier string) []map[string]any {
	field := "fidoAssertionData"
	if kind == BlobAttestation {
		field = "fidoAttestationData"
	}
	return []map[string]any{{
		"verificationType": "DEVICE", "verificationEntity": "10", "verificationEvents": []string{"01", "02"},
		"verificationMethod": "23", "verificationResults": "01", "verificationTimestamp": w.epoch(),
		"methodResults": map[string]any{"dfpSessionId": "ALLOW_ME", "identifier": identifier, field: map[string]any{"code": blob}},
	}}
}

func enrollCardBody(w *wire, tokenID, device string, asr []map[string]any) map[string]any {
	b := map[string]any{
		"clientReferenceId": "CR-enroll", "client": vicClientObj(),
		"consumer": map[string]any{"consumerId": "consumer-1", "countryCode": "US", "languageCode": "en",
			"consumerIdentity": map[string]any{"identityType": "EMAIL_ADDRESS", "identityValue": testEmail}},
		"appInstance": appInstanceObj(device),
		"enrollmentReferenceData": map[string]any{"enrollmentReferenceId": tokenID,
			"enrollmentReferenceType": "TOKEN_REFERENCE_ID", "enrollmentReferenceProvider": "VTS"},
	}
	if asr != nil {
		b["assuranceData"] = asr
	}
	return b
}

// onboard runs the whole onboarding of a card on a new device and returns
// the token id and the device.
func (w *wire) onboard(pan string) (tokenID, device string) {
	w.t.Helper()
	tokenID, device = w.provision(pan), newDevice()
	reqID, st := w.session(device)
	r := w.vts(http.MethodPost, "/vts/provisionedTokens/"+tokenID+"/attestation/options", attestBody(w, st, "AUTHENTICATE", "0.00", "Example Agent"))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	require.Equal(w.t, "REGISTER", r.body["authenticationContext"].(map[string]any)["action"])
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tokenID+"/deviceBinding", bindingBody(w, st, "CR-flow"), "reasonCode=DEVICE_BINDING")
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	if r.body["status"] == "CHALLENGE" {
		id := r.body["stepUpRequest"].([]any)[0].(map[string]any)["identifier"].(string)
		r = w.vts(http.MethodPut, "/vts/provisionedTokens/"+tokenID+"/stepUpOptions/method", stepUpBody(w, "CR-flow", id))
		require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tokenID+"/stepUpOptions/validateOTP", otpBody(w, "CR-flow", GoldenOTP))
		require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	}
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tokenID+"/attestation/options", attestBody(w, st, "REGISTER", "0.00", "Example Agent"))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	blob, ident := w.ceremony(reqID, r.body["authenticationContext"])
	r = w.vic(http.MethodPost, "/vacp/v1/cards", enrollCardBody(w, tokenID, device, assuranceObj(w, BlobAttestation, blob, ident)))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	require.Equal(w.t, "ACTIVE", r.body["status"])
	return tokenID, device
}

// assertion authenticates a purchase of amount USD at merchant.
func (w *wire) assertion(tokenID, device, amount, merchant string) (blob, identifier string) {
	w.t.Helper()
	reqID, st := w.session(device)
	r := w.vts(http.MethodPost, "/vts/provisionedTokens/"+tokenID+"/attestation/options", attestBody(w, st, "AUTHENTICATE", amount, merchant))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	require.Equal(w.t, "AUTHENTICATE", r.body["authenticationContext"].(map[string]any)["action"])
	return w.ceremony(reqID, r.body["authenticationContext"])
}

func instructionBody(w *wire, tokenID, device, blob, ident, threshold string, extra map[string]any) map[string]any {
	m := map[string]any{"mandateId": "M-1", "description": "Headphones",
		"declineThreshold":   map[string]any{"amount": threshold, "currencyCode": "USD"},
		"effectiveUntilTime": strconv.FormatInt(w.now().Add(time.Hour).Unix(), 10), "preferredMerchantName": "Best Buy"}
	for k, v := range extra {
		m[k] = v
	}
	return map[string]any{
		"clientReferenceId": "CR-buy", "client": vicClientObj(), "appInstance": appInstanceObj(device),
		"consumerId": "consumer-1", "tokenId": tokenID, "assuranceData": assuranceObj(w, BlobAssertion, blob, ident),
		"mandates": []map[string]any{m}, "consumerPrompt": "buy headphones",
	}
}

// instruct creates an instruction for amount and returns its id.
func (w *wire) instruct(tokenID, device, amount string) string {
	w.t.Helper()
	blob, ident := w.assertion(tokenID, device, amount, "Best Buy")
	r := w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tokenID, device, blob, ident, amount, nil))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	return r.body["instructionId"].(string)
}

func credentialsBody(tokenID, txRef, amount string) map[string]any {
	return map[string]any{"clientReferenceId": "CR-buy", "client": vicClientObj(), "tokenId": tokenID,
		"transactionData": []map[string]any{{"transactionType": "PURCHASE", "transactionReferenceId": txRef,
			"transactionAmount": map[string]any{"transactionAmount": amount, "transactionCurrencyCode": "USD"},
			"merchantName":      "Best Buy", "merchantCountryCode": "US", "merchantUrl": "https://www.bestbuy.com"}}}
}

// credentials retrieves a credential and returns the decoded claims.
func (w *wire) credentials(insID, tokenID, txRef, amount string) SignedPayloadClaims {
	w.t.Helper()
	r := w.vic(http.MethodPost, "/vacp/v1/instructions/"+insID+"/credentials", credentialsBody(tokenID, txRef, amount))
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	var claims SignedPayloadClaims
	require.NoError(w.t, w.sb.signer.verify(r.body["signedPayload"].(string), &claims))
	return claims
}

func merchantBody(dd DynamicData, amount string) map[string]any {
	return map[string]any{"merchantName": "Best Buy", "merchantCountryCode": "US", "cardNumber": dd.PaymentToken,
		"expirationMonth": dd.TokenExpirationMonth, "expirationYear": dd.TokenExpirationYear, "cvv2": dd.DynamicDataValue,
		"transactionAmount":      map[string]any{"transactionAmount": amount, "transactionCurrencyCode": "USD"},
		"transactionReferenceId": dd.TransactionReferenceID}
}

func (w *wire) merchant(body map[string]any) reply {
	w.t.Helper()
	return w.send(http.MethodPost, "/sandbox/v1/merchant/authorizations", "", mustJSON(w.t, body), nil)
}

func confirmBody(insID, txRef, ddID, status, code, amount string, ts string) map[string]any {
	return map[string]any{"clientReferenceId": "CR-buy", "client": vicClientObj(), "instructionId": insID,
		"confirmationData": []map[string]any{{"transactionReferenceId": txRef, "paymentConfirmationData": map[string]any{
			"dynamicDataId": ddID, "transactionType": "PURCHASE", "transactionStatus": status, "transactionTimestamp": ts,
			"responseCode": code, "transactionAmount": map[string]any{"transactionAmount": amount, "transactionCurrencyCode": "USD"}},
			"orderData": map[string]any{"orderId": "ORD-1", "orderStatus": "COMPLETE"}}}}
}

// otherRSAKey is a key the sandbox does not know (wrong MLE key tests).
var otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})
