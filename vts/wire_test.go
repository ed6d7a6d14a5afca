package vts

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/jwe"
)

// The tests of this file pin the exact wire of every method against an
// httptest server: method, escaped path, query in order, headers, JSON
// member names and casing, value types (strings where Visa wants
// strings), and that PAN, CVV2 and email travel only inside enc* members.

// checkCommon asserts what every VTS request carries.
func checkCommon(t *testing.T, r captured, method, path, query string) {
	t.Helper()
	assert.Equal(t, method, r.Method)
	assert.Equal(t, path, r.Path)
	assert.Equal(t, query, r.RawQuery)
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.NotEmpty(t, r.Header.Get("X-Request-Id"))
	assert.True(t, strings.HasPrefix(r.Header.Get("X-Pay-Token"), "xv2:"))
	assert.Empty(t, r.Header.Get("keyId"), "VTS sends no MLE keyId")
	verifySignature(t, r)
	if len(r.Body) > 0 {
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	}
}

// decrypt opens the enc* member key of m into v and checks the JWE
// header of docs/wire.md §2.3.
func decrypt(t *testing.T, m map[string]any, key string, v any) {
	t.Helper()
	s, ok := m[key].(string)
	require.True(t, ok, "%s must be a string", key)
	require.Len(t, strings.Split(s, "."), 5, "%s must be a compact JWE", key)
	h, err := jwe.ParseHeader(s)
	require.NoError(t, err)
	assert.Equal(t, "A256GCMKW", h.Alg)
	assert.Equal(t, "A256GCM", h.Enc)
	assert.Equal(t, testEncAPIKey, h.KeyID)
	require.NoError(t, testCipher(t).DecryptJSON(s, v))
}

// assertNoClear checks that none of secrets appears in the body once the
// enc* members (and the allowed members) are removed.
func assertNoClear(t *testing.T, body []byte, allowed []string, secrets ...string) {
	t.Helper()
	m := bodyMap(t, body)
	for k := range m {
		if strings.HasPrefix(k, "enc") {
			delete(m, k)
		}
	}
	for _, k := range allowed {
		delete(m, k)
	}
	rest, err := json.Marshal(m)
	require.NoError(t, err)
	// The shared scanner: a short secret (the CVV2) counts only as a whole
	// JSON string, not as digits inside a longer value.
	sec := testutil.NewSecrets()
	for _, s := range secrets {
		sec.Add("clear value", s)
	}
	sec.Check(t, "the body outside enc* members", string(rest), testutil.JSON)
}

func testCard(t *testing.T) Card {
	return Card{
		PAN: mustPAN(t, testPAN), CVV2: mustCVV2(t, testCVV2),
		ExpirationDate: ExpirationDate{Month: 12, Year: 2029}, Name: "Alice Doe",
		BillingAddress: &BillingAddress{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"},
	}
}

func TestEnrollPANWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"vPanEnrollmentID":"ENR-1","paymentInstrument":{"last4":"1111","expirationDate":{"month":12,"year":"2029"}},
		"cardMetaData":{"cardData":[{"contentType":"digitalCardArt","guid":"G-1"},{"contentType":"other","guid":"G-2"}]}}`)
	out, err := c.EnrollPAN(context.Background(), EnrollPANRequest{Card: testCard(t)}, WithHeader("X-Trace", "t1"))
	require.NoError(t, err)

	r := f.last(t)
	checkCommon(t, r, "POST", "/vts/panEnrollments", "apikey="+testAPIKey)
	assert.Equal(t, "t1", r.Header.Get("X-Trace"))
	m := bodyMap(t, r.Body)
	assert.ElementsMatch(t, []string{"locale", "clientAppID", "clientWalletAccountID", "panSource", "consumerEntryMode", "encPaymentInstrument"}, keys(m))
	assert.Equal(t, "en_US", m["locale"])
	assert.Equal(t, testAppID, m["clientAppID"])
	assert.Equal(t, testWalletID, m["clientWalletAccountID"])
	assert.Equal(t, "MANUALLYENTERED", m["panSource"])
	assert.Equal(t, "KEYENTERED", m["consumerEntryMode"])
	var pi map[string]any
	decrypt(t, m, "encPaymentInstrument", &pi)
	assert.Equal(t, map[string]any{
		"accountNumber": testPAN, "name": "Alice Doe", "cvv2": testCVV2,
		"expirationDate": map[string]any{"month": "12", "year": "2029"},
		"billingAddress": map[string]any{"line1": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "62701", "country": "US"},
	}, pi)
	assertNoClear(t, r.Body, nil, testPAN, testCVV2, "Alice Doe")

	assert.Equal(t, "ENR-1", out.VPanEnrollmentID)
	assert.Equal(t, PaymentInstrument{Last4: "1111", ExpirationDate: ExpirationDate{12, 2029}}, out.PaymentInstrument)
	assert.Equal(t, []CardData{{ContentType: "digitalCardArt", GUID: "G-1"}}, out.CardMetaData.CardArt())
	assert.Equal(t, "corr-1", out.CorrelationID)
}

func TestEnrollPANMinimalCardAndOverrides(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"vPanEnrollmentID":"ENR-1"}`)
	card := Card{PAN: mustPAN(t, testPAN), ExpirationDate: ExpirationDate{Month: 3, Year: 2031}}
	_, err := c.EnrollPAN(context.Background(), EnrollPANRequest{Card: card, Locale: "fr_FR", PANSource: "ONFILE", ConsumerEntryMode: "UNKNOWN"})
	require.NoError(t, err)
	m := bodyMap(t, f.last(t).Body)
	assert.Equal(t, "fr_FR", m["locale"])
	assert.Equal(t, "ONFILE", m["panSource"])
	assert.Equal(t, "UNKNOWN", m["consumerEntryMode"])
	var pi map[string]any
	decrypt(t, m, "encPaymentInstrument", &pi)
	assert.Equal(t, map[string]any{"accountNumber": testPAN, "expirationDate": map[string]any{"month": "03", "year": "2031"}}, pi,
		"optional members are omitted, month is two digits")
}

const tokenReply = `{"vProvisionedTokenID":"TOK-1","tokenReferenceID":"DNITHE1","tokenInfo":{"tokenStatus":"INACTIVE","last4":"8717",
	"expirationDate":{"month":"12","year":"2029"}},"paymentInstrument":{"last4":"1111","expirationDate":{"month":"12","year":"2029"}},
	"cardMetaData":{"cardData":[{"contentType":"digitalCardArt","guid":"G-1"}]}}`

func TestProvisionTokenWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, tokenReply)
	out, err := c.ProvisionToken(context.Background(), ProvisionTokenRequest{
		VPanEnrollmentID: "ENR 1/x", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029},
		RiskData: []RiskDataItem{{Name: "deviceInfo.ipAddress", Value: "203.0.113.7"}},
	})
	require.Error(t, err, "a path parameter with / is refused")
	assert.Nil(t, out)
	assert.Zero(t, f.hits())

	_, err = c.ProvisionToken(context.Background(), ProvisionTokenRequest{
		VPanEnrollmentID: "ENR 1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029},
	})
	require.ErrorIs(t, err, visa.ErrInvalidInput, "an id with a space is refused (internal/check)")
	assert.Zero(t, f.hits())

	out, err = c.ProvisionToken(context.Background(), ProvisionTokenRequest{
		VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029},
		RiskData: []RiskDataItem{{Name: "deviceInfo.ipAddress", Value: "203.0.113.7"}},
	})
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "POST", "/vts/panEnrollments/ENR-1/provisionedTokens", "apikey="+testAPIKey)
	m := bodyMap(t, r.Body)
	assert.ElementsMatch(t, []string{"clientAppID", "clientWalletAccountID", "clientWalletAccountEmailAddress",
		"clientWalletAccountEmailAddressHash", "presentationType", "protectionType", "accountType", "encRiskDataInfo"}, keys(m))
	assert.Equal(t, testEmail, m["clientWalletAccountEmailAddress"], "§5.2 takes the email in clear")
	assert.Equal(t, "kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y", m["clientWalletAccountEmailAddressHash"], "§2.4 vector")
	assert.Equal(t, []any{"AI_AGENT"}, m["presentationType"])
	assert.Equal(t, "CLOUD", m["protectionType"])
	assert.Equal(t, "WALLET", m["accountType"])
	var risk any
	decrypt(t, m, "encRiskDataInfo", &risk)
	assert.Equal(t, []any{
		map[string]any{"name": "paymentInstrument.expirationDate.month", "value": "12"},
		map[string]any{"name": "paymentInstrument.expirationDate.year", "value": "2029"},
		map[string]any{"name": "deviceInfo.ipAddress", "value": "203.0.113.7"},
	}, risk, "a raw array, not {data:[...]}")
	assertNoClear(t, r.Body, []string{"clientWalletAccountEmailAddress"}, testEmail, "203.0.113.7")

	assert.Equal(t, "TOK-1", out.VProvisionedTokenID)
	assert.Equal(t, "DNITHE1", out.TokenReferenceID)
	assert.Equal(t, TokenInfo{TokenStatus: visa.TokenInactive, Last4: "8717", ExpirationDate: ExpirationDate{12, 2029}}, out.TokenInfo)
	assert.Equal(t, "1111", out.PaymentInstrument.Last4)
	assert.Len(t, out.CardMetaData.CardArt(), 1)
}

func TestProvisionTokenPresentationOverride(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, tokenReply)
	_, err := c.ProvisionToken(context.Background(), ProvisionTokenRequest{
		VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029},
		PresentationType: []string{PresentationECOM}, ProtectionType: "SOFTWARE", AccountType: "BANK",
	})
	require.NoError(t, err)
	m := bodyMap(t, f.last(t).Body)
	assert.Equal(t, []any{"ECOM"}, m["presentationType"])
	assert.Equal(t, "SOFTWARE", m["protectionType"])
	assert.Equal(t, "BANK", m["accountType"])
}

func TestProvisionTokenWithPANWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, tokenReply)
	out, err := c.ProvisionTokenWithPAN(context.Background(), ProvisionTokenWithPANRequest{Card: testCard(t), Email: testEmail})
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "POST", "/vts/provisionedTokens", "apikey="+testAPIKey)
	m := bodyMap(t, r.Body)
	assert.ElementsMatch(t, []string{"locale", "panSource", "consumerEntryMode", "presentationType", "protectionType", "clientAppID",
		"clientWalletAccountID", "clientWalletAccountEmailAddress", "clientWalletAccountEmailAddressHash", "encPaymentInstrument"}, keys(m))
	assert.Equal(t, []any{"AI_AGENT"}, m["presentationType"])
	assert.Equal(t, "kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y", m["clientWalletAccountEmailAddressHash"])
	var pi map[string]any
	decrypt(t, m, "encPaymentInstrument", &pi)
	assert.Equal(t, testPAN, pi["accountNumber"])
	assert.Equal(t, testCVV2, pi["cvv2"])
	assertNoClear(t, r.Body, []string{"clientWalletAccountEmailAddress"}, testPAN, testCVV2, testEmail)
	assert.Equal(t, "TOK-1", out.VProvisionedTokenID)
}

func TestGetTokenWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"vProvisionedTokenID":"TOK-1","tokenInfo":{"tokenStatus":"ACTIVE","last4":"8717","expirationDate":{"month":"12","year":"2029"}}}`)
	out, err := c.GetToken(context.Background(), GetTokenRequest{VProvisionedTokenID: "TOK-1"})
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "GET", "/vts/provisionedTokens/TOK-1", "apikey="+testAPIKey)
	assert.Empty(t, r.Body)
	assert.Equal(t, "TOK-1", out.VProvisionedTokenID)
	assert.Equal(t, TokenInfo{TokenStatus: visa.TokenActive, Last4: "8717", ExpirationDate: ExpirationDate{12, 2029}}, out.TokenInfo)
}

func TestLifecycleWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		call func(*Client) error
		path string
		body string
	}{
		{"delete", nil, func(c *Client) error {
			_, err := c.DeleteToken(context.Background(), DeleteTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, "/vts/provisionedTokens/TOK-1/delete", `{"updateReason":{"reasonCode":"CUSTOMER_CONFIRMED"}}`},
		{"delete with reason", nil, func(c *Client) error {
			_, err := c.DeleteToken(context.Background(), DeleteTokenRequest{VProvisionedTokenID: "TOK-1", ReasonCode: "FRAUD"})
			return err
		}, "/vts/provisionedTokens/TOK-1/delete", `{"updateReason":{"reasonCode":"FRAUD"}}`},
		{"suspend", nil, func(c *Client) error {
			_, err := c.SuspendToken(context.Background(), SuspendTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, "/vts/provisionedTokens/TOK-1/suspend", `{"updateReason":{"reasonCode":"CUSTOMER_CONFIRMED"}}`},
		{"resume", nil, func(c *Client) error {
			_, err := c.ResumeToken(context.Background(), ResumeTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, "/vts/provisionedTokens/TOK-1/resume", `{"updateReason":{"reasonCode":"CUSTOMER_CONFIRMED"}}`},
		{"suspend, configured path", []Option{WithLifecyclePaths("/vts/v2/tokens/{}/lock", "/vts/v2/tokens/{}/unlock")}, func(c *Client) error {
			_, err := c.SuspendToken(context.Background(), SuspendTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, "/vts/v2/tokens/TOK-1/lock", `{"updateReason":{"reasonCode":"CUSTOMER_CONFIRMED"}}`},
		{"resume, configured path", []Option{WithLifecyclePaths("/vts/v2/tokens/{}/lock", "/vts/v2/tokens/{}/unlock")}, func(c *Client) error {
			_, err := c.ResumeToken(context.Background(), ResumeTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, "/vts/v2/tokens/TOK-1/unlock", `{"updateReason":{"reasonCode":"CUSTOMER_CONFIRMED"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := setup(t, 200, `{}`, tt.opts...)
			require.NoError(t, tt.call(c))
			r := f.last(t)
			checkCommon(t, r, "PUT", tt.path, "apikey="+testAPIKey)
			assert.JSONEq(t, tt.body, string(r.Body))
		})
	}
}

func TestGetPANEnrollmentWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"cardMetaData":{"cardData":[{"contentType":"digitalCardArt","guid":"G-1"}]}}`)
	out, err := c.GetPANEnrollment(context.Background(), GetPANEnrollmentRequest{VPanEnrollmentID: "ENR-1"})
	require.NoError(t, err)
	checkCommon(t, f.last(t), "GET", "/vts/panEnrollments/ENR-1", "apikey="+testAPIKey)
	assert.Equal(t, []CardData{{ContentType: ContentTypeCardArt, GUID: "G-1"}}, out.CardMetaData.CardData)
}

func TestGetContentWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"content":[{"mimeType":"image/png","encodedData":"iVBORw0KGgo="}]}`)
	out, err := c.GetContent(context.Background(), GetContentRequest{GUID: "G-1"})
	require.NoError(t, err)
	checkCommon(t, f.last(t), "GET", "/vts/cps/getContent/G-1", "apikey="+testAPIKey)
	require.Len(t, out.Content, 1)
	assert.Equal(t, "image/png", out.Content[0].MimeType)
	data, err := out.Content[0].Data()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, data)

	_, err = Content{EncodedData: "not base64!"}.Data()
	assert.ErrorIs(t, err, visa.ErrMalformedResponse)
	url, err := Content{EncodedData: "-_8"}.Data()
	require.NoError(t, err)
	assert.Equal(t, []byte{0xfb, 0xff}, url)
}

const attestationReply = `{"authenticationContext":{"action":"REGISTER","identifier":"ID-7Qm","payload":"eyJhbGciOiJSUzI1NiJ9.e30.sig",
	"endpoint":"http://localhost:8099/vts-auth/fido","platformType":"WEB","authenticationPreferencesEnabled":{"responseMode":"IFRAME","responseType":"FIDO_BLOB"}}}`

func attestationRequest() AttestationOptionsRequest {
	return AttestationOptionsRequest{
		VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc", Type: visa.ActionRegister,
		SessionContext: visa.SessionContext{SecureToken: visa.NewSecret(testSTok)},
		BrowserData:    testBrowser(), MerchantIdentifier: testMerchant(), Email: testEmail,
	}
}

func TestAttestationOptionsRegisterWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, attestationReply)
	out, err := c.AttestationOptions(context.Background(), attestationRequest())
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "POST", "/vts/provisionedTokens/TOK-1/attestation/options", "apikey="+testAPIKey)
	m := bodyMap(t, r.Body)
	assert.ElementsMatch(t, []string{"clientReferenceID", "clientAppID", "type", "reasonCode", "sessionContext", "browserData",
		"dynamicData", "encAuthenticationData", "authenticationPreferencesRequested"}, keys(m))
	assert.Equal(t, "CR-abc", m["clientReferenceID"], "upper-case ID on attestation options")
	assert.Equal(t, testAppID, m["clientAppID"])
	assert.Equal(t, "REGISTER", m["type"])
	assert.Equal(t, "DEVICE_BINDING", m["reasonCode"])
	assert.Equal(t, map[string]any{"secureToken": testSTok}, m["sessionContext"])
	assert.Equal(t, map[string]any{
		"authenticationAmount": "0.00", "currencyCode": "840",
		"merchantIdentifier": map[string]any{"externalClientId": "dmlzYWFnZW50", "applicationUrl": "aHR0cHM6Ly9hZ2VudC5leGFtcGxlLmNvbQ", "merchantName": "QmVzdCBCdXk"},
	}, m["dynamicData"])
	assert.Equal(t, map[string]any{"selectedPopupForRegister": false}, m["authenticationPreferencesRequested"])
	bd := m["browserData"].(map[string]any)
	assert.Equal(t, "TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk", bd["userAgent"], "§2.6 vector")
	assert.Equal(t, "false", bd["browserJavaEnabled"])
	assert.Equal(t, "203.0.113.7", bd["ipAddress"])
	assert.Equal(t, "en-US", bd["browserLanguage"])
	var ad map[string]any
	decrypt(t, m, "encAuthenticationData", &ad)
	assert.Equal(t, map[string]any{"consumerInfo": map[string]any{"emailAddress": testEmail}}, ad)
	assertNoClear(t, r.Body, nil, testEmail)

	want := visa.AuthenticationContext{Action: visa.ActionRegister, Identifier: "ID-7Qm", Payload: "eyJhbGciOiJSUzI1NiJ9.e30.sig",
		Endpoint: "http://localhost:8099/vts-auth/fido", PlatformType: "WEB",
		AuthenticationPreferencesEnabled: &visa.AuthenticationPreferences{ResponseMode: "IFRAME", ResponseType: "FIDO_BLOB"}}
	assert.Equal(t, want, out.AuthenticationContext)
}

func TestAttestationOptionsPaymentWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		amount       visa.Amount
		popup        bool
		wantAmount   string
		wantCurrency string
	}{
		{"probe", visa.Amount{}, false, "0.00", "840"},
		{"purchase USD", visa.MustParseAmount("129.99", "USD"), true, "129.99", "840"},
		{"purchase EUR", visa.MustParseAmount("5", "EUR"), false, "5.00", "978"},
		{"purchase JPY", visa.MustParseAmount("710", "JPY"), false, "710", "392"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := setup(t, 200, attestationReply)
			req := attestationRequest()
			req.Type, req.Amount, req.PopupRequested = visa.ActionAuthenticate, tt.amount, tt.popup
			_, err := c.AttestationOptions(context.Background(), req)
			require.NoError(t, err)
			m := bodyMap(t, f.last(t).Body)
			assert.Equal(t, "AUTHENTICATE", m["type"])
			assert.Equal(t, "PAYMENT", m["reasonCode"])
			dd := m["dynamicData"].(map[string]any)
			assert.Equal(t, tt.wantAmount, dd["authenticationAmount"])
			assert.Equal(t, tt.wantCurrency, dd["currencyCode"])
			assert.Equal(t, map[string]any{"selectedPopupForAuthenticate": tt.popup}, m["authenticationPreferencesRequested"])
		})
	}
}

const challengeReply = `{"status":"CHALLENGE","stepUpRequest":[{"method":"OTPSMS","value":"(***) ***-0123","identifier":"SU-1a2b3c"},
	{"method":"OTPEMAIL","value":"a***e@example.com","identifier":"SU-4d5e6f"}]}`

func bindingRequest() DeviceBindingRequest {
	return DeviceBindingRequest{
		VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc",
		SessionContext: visa.SessionContext{SecureToken: visa.NewSecret(testSTok)},
		BrowserData:    testBrowser(), Email: testEmail, ExpirationDate: ExpirationDate{12, 2029},
	}
}

func TestDeviceBindingWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, challengeReply)
	out, err := c.DeviceBinding(context.Background(), bindingRequest())
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "POST", "/vts/provisionedTokens/TOK-1/deviceBinding", "apikey="+testAPIKey+"&reasonCode=DEVICE_BINDING")
	m := bodyMap(t, r.Body)
	assert.ElementsMatch(t, []string{"clientReferenceID", "clientAppID", "intent", "platformType", "browserData", "sessionContext",
		"clientWalletAccountEmailAddressHash", "encBillingInfo", "encDeviceRiskDataInfo"}, keys(m))
	assert.Equal(t, "CR-abc", m["clientReferenceID"])
	assert.Equal(t, "FIDO", m["intent"])
	assert.Equal(t, "WEB", m["platformType"])
	assert.Equal(t, map[string]any{"secureToken": testSTok}, m["sessionContext"])
	assert.Equal(t, "kj-o9hBezk1nZZkJh6gjwEbsTpTfBO5nfrtYjuVn37Y", m["clientWalletAccountEmailAddressHash"])
	assert.Equal(t, "TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk", m["browserData"].(map[string]any)["userAgent"])
	var billing map[string]any
	decrypt(t, m, "encBillingInfo", &billing)
	assert.Equal(t, map[string]any{"email": testEmail}, billing)
	var risk any
	decrypt(t, m, "encDeviceRiskDataInfo", &risk)
	assert.Equal(t, []any{
		map[string]any{"name": "paymentInstrument.expirationDate.month", "value": "12"},
		map[string]any{"name": "paymentInstrument.expirationDate.year", "value": "2029"},
	}, risk)
	assertNoClear(t, r.Body, nil, testEmail)

	assert.Equal(t, BindingChallenge, out.Status)
	assert.Equal(t, []StepUpRequest{
		{Method: MethodOTPSMS, Value: "(***) ***-0123", Identifier: "SU-1a2b3c"},
		{Method: MethodOTPEmail, Value: "a***e@example.com", Identifier: "SU-4d5e6f"},
	}, out.StepUpRequest)
}

func TestDeviceBindingApprovedWithoutRiskData(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"status":"APPROVED"}`)
	req := bindingRequest()
	req.ExpirationDate = ExpirationDate{}
	req.ReasonCode = visa.ReasonProvisioning
	out, err := c.DeviceBinding(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, BindingApproved, out.Status)
	assert.Empty(t, out.StepUpRequest)
	r := f.last(t)
	assert.Equal(t, "apikey="+testAPIKey+"&reasonCode=PROVISIONING", r.RawQuery)
	assert.NotContains(t, bodyMap(t, r.Body), "encDeviceRiskDataInfo")
}

func TestSelectStepUpMethodWire(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{"maxOTPRequestsAllowed":3,"maxOTPVerificationAllowed":"3","codeExpiration":1767225900}`, WithClock(func() time.Time { return fixedNow }))
	out, err := c.SelectStepUpMethod(context.Background(), SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc", StepUpRequestID: "SU-1a2b3c"})
	require.NoError(t, err)
	r := f.last(t)
	checkCommon(t, r, "PUT", "/vts/provisionedTokens/TOK-1/stepUpOptions/method", "apikey="+testAPIKey)
	m := bodyMap(t, r.Body)
	assert.Equal(t, map[string]any{"clientReferenceId": "CR-abc", "stepUpRequestID": "SU-1a2b3c", "date": "1767225600", "clientAppID": testAppID}, m,
		"lower-case d; date is a string of epoch seconds")
	assert.Equal(t, 3, out.MaxOTPRequestsAllowed)
	assert.Equal(t, 3, out.MaxOTPVerificationAllowed)
	assert.True(t, out.CodeExpiration.Equal(time.Unix(1767225900, 0)), out.CodeExpiration)
}

func TestCodeExpirationForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		want  time.Time
	}{
		{"epoch seconds", `1767225900`, time.Unix(1767225900, 0)},
		{"epoch seconds as string", `"1767225900"`, time.Unix(1767225900, 0)},
		{"minutes", `5`, fixedNow.Add(5 * time.Minute)},
		{"minutes as string", `"5"`, fixedNow.Add(5 * time.Minute)},
		{"epoch milliseconds", `1767225900000`, time.Unix(1767225900, 0)},
		{"epoch seconds as a float", `1767225900.0`, time.Unix(1767225900, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, 200, `{"maxOTPRequestsAllowed":3,"maxOTPVerificationAllowed":3,"codeExpiration":`+tt.reply+`}`,
				WithClock(func() time.Time { return fixedNow }))
			out, err := c.SelectStepUpMethod(context.Background(), SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc", StepUpRequestID: "SU-1"})
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(out.CodeExpiration), "got %v want %v", out.CodeExpiration, tt.want)
		})
	}
}

func TestValidateOTPWire(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{``, `{}`, ` {} `} {
		t.Run("reply "+reply, func(t *testing.T) {
			t.Parallel()
			c, f := setup(t, 200, reply)
			out, err := c.ValidateOTP(context.Background(), ValidateOTPRequest{
				VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc", OTP: mustOTP(t, testOTP), Date: fixedNow,
			})
			require.NoError(t, err, "an empty 200 body is success")
			assert.Equal(t, "corr-1", out.CorrelationID)
			r := f.last(t)
			checkCommon(t, r, "POST", "/vts/provisionedTokens/TOK-1/stepUpOptions/validateOTP", "apikey="+testAPIKey)
			assert.Equal(t, map[string]any{"clientReferenceId": "CR-abc", "otpValue": testOTP, "date": "1767225600", "clientAppID": testAppID}, bodyMap(t, r.Body))
		})
	}
}

func TestClientReferenceIDOption(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{}`)
	ref := WithClientReferenceID("CR-flow")
	req := ValidateOTPRequest{VProvisionedTokenID: "TOK-1", OTP: mustOTP(t, testOTP)}
	_, err := c.ValidateOTP(context.Background(), req, ref)
	require.NoError(t, err)
	assert.Equal(t, "CR-flow", bodyMap(t, f.last(t).Body)["clientReferenceId"])

	req.ClientReferenceID = "CR-flow"
	_, err = c.ValidateOTP(context.Background(), req, ref)
	require.NoError(t, err, "the same id twice is fine")

	req.ClientReferenceID = "CR-other"
	_, err = c.ValidateOTP(context.Background(), req, ref)
	var ie *visa.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "ClientReferenceID", ie.Field)
	assert.Equal(t, 2, f.hits())
}

// TestRetryPolicyPerMethod: reads are retried on 503, writes are not
// (they may have reached Visa).
func TestRetryPolicyPerMethod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func(*Client) error
		attempts int
	}{
		{"GetToken", func(c *Client) error {
			_, err := c.GetToken(ctx, GetTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, 3},
		{"GetPANEnrollment", func(c *Client) error {
			_, err := c.GetPANEnrollment(ctx, GetPANEnrollmentRequest{VPanEnrollmentID: "ENR-1"})
			return err
		}, 3},
		{"GetContent", func(c *Client) error {
			_, err := c.GetContent(ctx, GetContentRequest{GUID: "G-1"})
			return err
		}, 3},
		{"ProvisionToken", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, ProvisionTokenRequest{VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}})
			return err
		}, 1},
		{"ValidateOTP", func(c *Client) error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-1", OTP: mustOTP(t, testOTP)})
			return err
		}, 1},
		{"DeleteToken", func(c *Client) error {
			_, err := c.DeleteToken(ctx, DeleteTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, 503, `{"errorResponse":{"status":503,"reason":"unavailable","message":"try later"}}`)
			cfg := testConfig(f.srv.URL, nil)
			cfg.Retry = visa.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
			c, err := New(cfg)
			require.NoError(t, err)
			err = tt.call(c)
			assert.ErrorIs(t, err, visa.ErrServerUnavailable)
			assert.Equal(t, tt.attempts, f.hits())
		})
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, 200, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetToken(ctx, GetTokenRequest{VProvisionedTokenID: "TOK-1"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), testAPIKey)
}
