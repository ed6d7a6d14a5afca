package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/jwe"
)

var epoch = time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)

// manual starts a sandbox on a manual clock.
func manual(t *testing.T, opts ...Option) (*Sandbox, *ManualClock, *wire) {
	t.Helper()
	clk := NewManualClock(epoch)
	sb := Start(t, append([]Option{WithClock(clk), WithPlainHTTP()}, opts...)...)
	return sb, clk, newWire(t, sb, jwe.EncA128GCM)
}

func TestEnrollPAN(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	m, y := futureExpiry(w)
	cases := []struct {
		name   string
		pi     map[string]any
		reason string
		msg    string
	}{
		{"happy", instrument(CardHappy, m, y), "", ""},
		{"int month and year", map[string]any{"accountNumber": CardHappy, "expirationDate": map[string]any{"month": 12, "year": 2031}, "cvv2": "123"}, "", ""},
		{"not Luhn", instrument("4111111111111112", m, y), "invalidParameter", "Luhn"},
		{"not Visa", instrument("5555555555554444", m, y), "invalidParameter", "Visa"},
		{"not digits", instrument("4111-1111", m, y), "invalidParameter", "accountNumber"},
		{"expired test card", instrument(CardExpired, m, y), "cardExpired", ""},
		{"expiry in the past", instrument(CardHappy, "01", "2020"), "cardExpired", ""},
		{"bad month", instrument(CardHappy, "13", y), "invalidParameter", "month"},
		{"bad cvv2", map[string]any{"accountNumber": CardHappy, "expirationDate": map[string]any{"month": m, "year": y}, "cvv2": "12"}, "invalidParameter", "cvv2"},
		{"missing accountNumber", map[string]any{"expirationDate": map[string]any{"month": m, "year": y}, "cvv2": "123"}, "invalidParameter", "accountNumber is required"},
		{"missing expirationDate", map[string]any{"accountNumber": CardHappy, "cvv2": "123"}, "invalidParameter", "expirationDate is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := enrollBody(w, CardHappy)
			body["encPaymentInstrument"] = w.encField(tc.pi)
			r := w.vts(http.MethodPost, "/vts/panEnrollments", body)
			if tc.reason == "" {
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				assert.True(t, strings.HasPrefix(r.body["vPanEnrollmentID"].(string), "ENR-"))
				pi := r.body["paymentInstrument"].(map[string]any)
				assert.Equal(t, "1111", pi["last4"])
				assert.Equal(t, "digitalCardArt", r.body["cardMetaData"].(map[string]any)["cardData"].([]any)[0].(map[string]any)["contentType"])
				assert.NotContains(t, string(r.raw), CardHappy, "never echo the PAN")
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
			assert.Equal(t, tc.reason, vtsReason(r), string(r.raw))
			assert.Contains(t, vtsMessage(r), tc.msg)
			assert.NotContains(t, string(r.raw), CardHappy)
		})
	}
	t.Run("missing fields are named", func(t *testing.T) {
		t.Parallel()
		for _, f := range []string{"locale", "clientAppID", "clientWalletAccountID", "panSource", "consumerEntryMode", "encPaymentInstrument"} {
			body := enrollBody(w, CardHappy)
			delete(body, f)
			r := w.vts(http.MethodPost, "/vts/panEnrollments", body)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "invalidParameter", vtsReason(r))
			assert.Equal(t, f+" is required", vtsMessage(r))
		}
	})
	t.Run("unknown clientAppID", func(t *testing.T) {
		t.Parallel()
		body := enrollBody(w, CardHappy)
		body["clientAppID"] = "OTHER"
		r := w.vts(http.MethodPost, "/vts/panEnrollments", body)
		assert.Equal(t, "invalidParameter", vtsReason(r))
	})
	t.Run("field JWE with another kid", func(t *testing.T) {
		t.Parallel()
		other, err := jwe.NewFieldCipher("OTHERKEY", EncSharedSecret)
		require.NoError(t, err)
		enc, err := other.Encrypt(mustJSON(t, instrument(CardHappy, m, y)))
		require.NoError(t, err)
		body := enrollBody(w, CardHappy)
		body["encPaymentInstrument"] = enc
		r := w.vts(http.MethodPost, "/vts/panEnrollments", body)
		assert.Equal(t, "invalidEncryptedData", vtsReason(r))
	})
	t.Run("field JWE with another secret", func(t *testing.T) {
		t.Parallel()
		other, err := jwe.NewFieldCipher(EncAPIKey, "other-secret")
		require.NoError(t, err)
		enc, err := other.Encrypt(mustJSON(t, instrument(CardHappy, m, y)))
		require.NoError(t, err)
		body := enrollBody(w, CardHappy)
		body["encPaymentInstrument"] = enc
		r := w.vts(http.MethodPost, "/vts/panEnrollments", body)
		assert.Equal(t, "invalidEncryptedData", vtsReason(r))
	})
}

func TestEnrollmentLookupAndCardArt(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	r := w.vts(http.MethodPost, "/vts/panEnrollments", enrollBody(w, CardHappy))
	require.Equal(t, http.StatusOK, r.status)
	id := r.body["vPanEnrollmentID"].(string)
	r = w.vts(http.MethodGet, "/vts/panEnrollments/"+id, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	guid := r.body["cardMetaData"].(map[string]any)["cardData"].([]any)[0].(map[string]any)["guid"].(string)
	r = w.vts(http.MethodGet, "/vts/cps/getContent/"+guid, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	content := r.body["content"].([]any)[0].(map[string]any)
	assert.Equal(t, "image/png", content["mimeType"])
	assert.NotEmpty(t, content["encodedData"])
	r = w.vts(http.MethodGet, "/vts/cps/getContent/nope", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	r = w.vts(http.MethodGet, "/vts/panEnrollments/ENR-nope", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "enrollmentNotFound", vtsReason(r))
}

func TestProvisioning(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	enroll := func(pan string) string {
		r := w.vts(http.MethodPost, "/vts/panEnrollments", enrollBody(w, pan))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		return r.body["vPanEnrollmentID"].(string)
	}
	provision := func(en string, mod func(map[string]any)) reply {
		b := provisionBody(w)
		if mod != nil {
			mod(b)
		}
		return w.vts(http.MethodPost, "/vts/panEnrollments/"+en+"/provisionedTokens", b)
	}
	t.Run("happy", func(t *testing.T) {
		t.Parallel()
		r := provision(enroll(CardHappy), nil)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		info := r.body["tokenInfo"].(map[string]any)
		assert.Equal(t, "INACTIVE", info["tokenStatus"])
		assert.NotEmpty(t, r.body["tokenReferenceID"])
		pan, ok := w.sb.TokenPAN(r.body["vProvisionedTokenID"].(string))
		require.True(t, ok)
		assert.True(t, strings.HasPrefix(pan, "489537"))
		assert.Len(t, pan, 16)
		assert.True(t, check.Luhn(pan))
		assert.NotEqual(t, CardHappy, pan)
		assert.Equal(t, pan[12:], info["last4"], "tokenInfo.last4 is the token's")
		assert.Equal(t, "1111", r.body["paymentInstrument"].(map[string]any)["last4"])
	})
	t.Run("enrollment is single use", func(t *testing.T) {
		t.Parallel()
		en := enroll(CardHappy)
		require.Equal(t, http.StatusOK, provision(en, nil).status)
		r := provision(en, nil)
		assert.Equal(t, http.StatusConflict, r.status)
		assert.Equal(t, "enrollmentAlreadyUsed", vtsReason(r))
	})
	t.Run("unknown enrollment", func(t *testing.T) {
		t.Parallel()
		r := provision("ENR-nope", nil)
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "enrollmentNotFound", vtsReason(r))
	})
	t.Run("declined test card", func(t *testing.T) {
		t.Parallel()
		r := provision(enroll(CardProvisioningDeclined), nil)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, "provisioningDeclined", vtsReason(r))
	})
	cases := []struct {
		name   string
		mod    func(map[string]any)
		reason string
		msg    string
	}{
		{"hash mismatch", func(b map[string]any) {
			b["clientWalletAccountEmailAddressHash"] = jwe.EmailHash(HashSecret, "Alice@example.com")
		}, "invalidParameter", "Hash"},
		{"risk expiry mismatch", func(b map[string]any) {
			b["encRiskDataInfo"] = w.encField([]map[string]any{{"name": "paymentInstrument.expirationDate.month", "value": "11"}, {"name": "paymentInstrument.expirationDate.year", "value": "2099"}})
		}, "invalidParameter", "expiry"},
		{"risk data undecryptable", func(b map[string]any) { b["encRiskDataInfo"] = "a.b.c.d.e" }, "invalidEncryptedData", ""},
		{"bad presentationType", func(b map[string]any) { b["presentationType"] = []string{"POS"} }, "invalidParameter", "presentationType"},
		{"missing presentationType", func(b map[string]any) { delete(b, "presentationType") }, "invalidParameter", "presentationType is required"},
		{"missing email", func(b map[string]any) { delete(b, "clientWalletAccountEmailAddress") }, "invalidParameter", "clientWalletAccountEmailAddress is required"},
		{"missing risk data", func(b map[string]any) { delete(b, "encRiskDataInfo") }, "invalidParameter", "encRiskDataInfo is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			en := enroll(CardHappy)
			r := provision(en, tc.mod)
			assert.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
			assert.Equal(t, tc.reason, vtsReason(r), string(r.raw))
			assert.Contains(t, vtsMessage(r), tc.msg)
			// Bad input changes nothing: the enrollment is still usable.
			assert.Equal(t, http.StatusOK, provision(en, nil).status)
		})
	}
	t.Run("S1 forms: ECOM and {data:[...]} risk data", func(t *testing.T) {
		t.Parallel()
		m, y := futureExpiry(w)
		r := provision(enroll(CardHappy), func(b map[string]any) {
			b["presentationType"] = []string{"ECOM"}
			b["encRiskDataInfo"] = w.encField(map[string]any{"data": []map[string]any{
				{"name": "paymentInstrument.expirationDate.month", "value": m},
				{"name": "paymentInstrument.expirationDate.year", "value": y}}})
		})
		assert.Equal(t, http.StatusOK, r.status, string(r.raw))
	})
}

func TestProvisionOneStep(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	body := func(pan string) map[string]any {
		b := provisionBody(w)
		delete(b, "encRiskDataInfo")
		for k, v := range enrollBody(w, pan) {
			b[k] = v
		}
		return b
	}
	r := w.vts(http.MethodPost, "/vts/provisionedTokens", body(CardHappy))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "INACTIVE", r.body["tokenInfo"].(map[string]any)["tokenStatus"])
	r = w.vts(http.MethodPost, "/vts/provisionedTokens", body(CardProvisioningDeclined))
	assert.Equal(t, "provisioningDeclined", vtsReason(r))
	r = w.vts(http.MethodPost, "/vts/provisionedTokens", body(CardExpired))
	assert.Equal(t, "cardExpired", vtsReason(r))
	r = w.vts(http.MethodPost, "/vts/provisionedTokens", body("4111111111111112"))
	assert.Equal(t, "invalidParameter", vtsReason(r))
	b := body(CardHappy)
	delete(b, "locale")
	r = w.vts(http.MethodPost, "/vts/provisionedTokens", b)
	assert.Equal(t, "locale is required", vtsMessage(r))
}

func TestEnrollmentExpires(t *testing.T) {
	t.Parallel()
	_, clk, w := manual(t)
	r := w.vts(http.MethodPost, "/vts/panEnrollments", enrollBody(w, CardHappy))
	require.Equal(t, http.StatusOK, r.status)
	en := r.body["vPanEnrollmentID"].(string)
	clk.Advance(5*time.Minute + time.Second)
	r = w.vts(http.MethodPost, "/vts/panEnrollments/"+en+"/provisionedTokens", provisionBody(w))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "enrollmentExpired", vtsReason(r))
	r = w.vts(http.MethodGet, "/vts/panEnrollments/"+en, nil)
	assert.Equal(t, "enrollmentExpired", vtsReason(r))
}

func tokenStatus(t *testing.T, w *wire, id string) string {
	t.Helper()
	r := w.vts(http.MethodGet, "/vts/provisionedTokens/"+id, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	return r.body["tokenInfo"].(map[string]any)["tokenStatus"].(string)
}

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	reason := map[string]any{"updateReason": map[string]any{"reasonCode": "CUSTOMER_CONFIRMED"}}
	put := func(action string) reply {
		return w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/"+action, reason)
	}
	assert.Equal(t, "ACTIVE", tokenStatus(t, w, tok))
	r := put("resume")
	assert.Equal(t, "invalidTokenState", vtsReason(r))
	r = put("suspend")
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "{}", string(r.raw))
	assert.Equal(t, "SUSPENDED", tokenStatus(t, w, tok))
	assert.Equal(t, "invalidTokenState", vtsReason(put("suspend")))

	// A suspended token: tokenSuspended on VTS, TOKEN_NOT_ACTIVE on VIC.
	_, st := w.session(device)
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", attestBody(w, st, "AUTHENTICATE", "10.00", "Best Buy"))
	assert.Equal(t, "tokenSuspended", vtsReason(r))
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/deviceBinding", bindingBody(w, st, "CR-1"))
	assert.Equal(t, "tokenSuspended", vtsReason(r))
	r = w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, device, "blob", "ID-1", "10.00", nil))
	assert.Equal(t, "TOKEN_NOT_ACTIVE", gatewayCode(r))

	require.Equal(t, http.StatusOK, put("resume").status)
	assert.Equal(t, "ACTIVE", tokenStatus(t, w, tok))

	r = w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/delete", map[string]any{})
	assert.Equal(t, "updateReason.reasonCode is required", vtsMessage(r))
	require.Equal(t, http.StatusOK, put("delete").status)
	assert.Equal(t, "DELETED", tokenStatus(t, w, tok))
	assert.Equal(t, "tokenDeleted", vtsReason(put("delete")))
	assert.Equal(t, "tokenDeleted", vtsReason(put("resume")))
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", attestBody(w, st, "AUTHENTICATE", "10.00", "Best Buy"))
	assert.Equal(t, "tokenDeleted", vtsReason(r))
	r = w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, device, "blob", "ID-1", "10.00", nil))
	assert.Equal(t, "TOKEN_NOT_ACTIVE", gatewayCode(r))
	assert.False(t, w.sb.auth.HasPasskey(tok, device), "delete forgets the passkey")
	r = w.vts(http.MethodGet, "/vts/provisionedTokens/TOK-nope", nil)
	assert.Equal(t, "notFound", vtsReason(r))
}

// bind provisions a token and runs device binding on a new session.
func (w *wire) bind(pan, ref string) (tok, device, requestID, secureToken string, r reply) {
	w.t.Helper()
	tok, device = w.provision(pan), newDevice()
	requestID, secureToken = w.session(device)
	r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/deviceBinding", bindingBody(w, secureToken, ref), "reasonCode=DEVICE_BINDING")
	require.Equal(w.t, http.StatusOK, r.status, string(r.raw))
	return
}

func stepUpIDs(r reply) []string {
	var ids []string
	for _, e := range r.body["stepUpRequest"].([]any) {
		ids = append(ids, e.(map[string]any)["identifier"].(string))
	}
	return ids
}

func TestDeviceBinding(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	t.Run("challenge with masked SMS and email", func(t *testing.T) {
		t.Parallel()
		_, _, _, _, r := w.bind(CardHappy, "CR-1")
		assert.Equal(t, "CHALLENGE", r.body["status"])
		list := r.body["stepUpRequest"].([]any)
		require.Len(t, list, 2)
		assert.Equal(t, "OTPSMS", list[0].(map[string]any)["method"])
		assert.Equal(t, "OTPEMAIL", list[1].(map[string]any)["method"])
		assert.Equal(t, "a***e@example.com", list[1].(map[string]any)["value"])
		assert.Contains(t, list[0].(map[string]any)["value"], "***")
	})
	t.Run("approved test card activates at once", func(t *testing.T) {
		t.Parallel()
		tok, device, _, st, r := w.bind(CardNoStepUp, "CR-1")
		assert.Equal(t, "APPROVED", r.body["status"])
		assert.NotContains(t, r.body, "stepUpRequest")
		assert.Equal(t, "ACTIVE", tokenStatus(t, w, tok))
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", attestBody(w, st, "REGISTER", "0.00", "Agent"))
		assert.Equal(t, http.StatusOK, r.status, "straight to REGISTER: %s", r.raw)
		_ = device
	})
	tok := w.provision(CardHappy)
	_, st := w.session(newDevice())
	cases := []struct {
		name   string
		mod    func(map[string]any)
		query  []string
		reason string
	}{
		{"reasonCode absent", nil, nil, ""},
		{"reasonCode PROVISIONING", nil, []string{"reasonCode=PROVISIONING"}, ""},
		{"reasonCode unknown", nil, []string{"reasonCode=OTHER"}, "invalidParameter"},
		{"hash mismatch", func(b map[string]any) { b["encBillingInfo"] = w.encField(map[string]any{"email": "bob@example.com"}) }, nil, "invalidParameter"},
		{"unknown secureToken", func(b map[string]any) { b["sessionContext"] = map[string]any{"secureToken": "nope"} }, nil, "sessionInvalid"},
		{"missing intent", func(b map[string]any) { delete(b, "intent") }, nil, "invalidParameter"},
		{"both casings differ", func(b map[string]any) { b["clientReferenceId"] = "CR-other" }, nil, "invalidParameter"},
		{"both casings agree", func(b map[string]any) { b["clientReferenceId"] = b["clientReferenceID"] }, nil, ""},
		{"lower-case casing only", func(b map[string]any) {
			b["clientReferenceId"] = b["clientReferenceID"]
			delete(b, "clientReferenceID")
		}, nil, ""},
		{"S1 wrapped device risk data", func(b map[string]any) {
			b["encDeviceRiskDataInfo"] = w.encField(map[string]any{"data": []map[string]any{{"name": "x", "value": "y"}}})
		}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bindingBody(w, st, "CR-1")
			if tc.mod != nil {
				tc.mod(b)
			}
			r := w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/deviceBinding", b, tc.query...)
			if tc.reason == "" {
				assert.Equal(t, http.StatusOK, r.status, string(r.raw))
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
			assert.Equal(t, tc.reason, vtsReason(r), string(r.raw))
		})
	}
	r := w.vts(http.MethodPost, "/vts/provisionedTokens/TOK-nope/deviceBinding", bindingBody(w, st, "CR-1"))
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestStepUpAndOTP(t *testing.T) {
	t.Parallel()
	sb, clk, w := manual(t)
	method := func(tok, ref, id string) reply {
		return w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/stepUpOptions/method", stepUpBody(w, ref, id))
	}
	validate := func(tok, ref, otp string) reply {
		return w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/stepUpOptions/validateOTP", otpBody(w, ref, otp))
	}

	t.Run("happy path", func(t *testing.T) {
		tok, _, _, _, r := w.bind(CardHappy, "CR-1")
		ids := stepUpIDs(r)
		before := sb.OTPsSent()
		r = method(tok, "CR-1", ids[1])
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.EqualValues(t, 3, r.body["maxOTPRequestsAllowed"])
		assert.EqualValues(t, 3, r.body["maxOTPVerificationAllowed"])
		assert.EqualValues(t, clk.Now().Add(5*time.Minute).Unix(), r.body["codeExpiration"])
		assert.Equal(t, before+1, sb.OTPsSent())
		assert.Equal(t, "INACTIVE", tokenStatus(t, w, tok))
		r = validate(tok, "CR-1", GoldenOTP)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "{}", string(r.raw))
		assert.Equal(t, "ACTIVE", tokenStatus(t, w, tok))
		assert.Equal(t, "noActiveChallenge", vtsReason(validate(tok, "CR-1", GoldenOTP)), "the challenge is consumed")
	})
	t.Run("integer date and S1 casing", func(t *testing.T) {
		tok, _, _, _, r := w.bind(CardHappy, "CR-1")
		b := stepUpBody(w, "CR-1", stepUpIDs(r)[0])
		b["date"], _ = strconv.Atoi(w.epoch())
		r = w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/stepUpOptions/method", b)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		b = otpBody(w, "CR-1", GoldenOTP)
		b["clientReferenceID"] = b["clientReferenceId"]
		delete(b, "clientReferenceId")
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/stepUpOptions/validateOTP", b)
		assert.Equal(t, http.StatusOK, r.status, string(r.raw))
	})
	t.Run("at most 3 OTP requests; a new binding resets", func(t *testing.T) {
		tok, _, _, st, r := w.bind(CardHappy, "CR-1")
		id := stepUpIDs(r)[0]
		for range 3 {
			require.Equal(t, http.StatusOK, method(tok, "CR-1", id).status)
		}
		r = method(tok, "CR-1", id)
		assert.Equal(t, "otpRequestsExceeded", vtsReason(r))
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/deviceBinding", bindingBody(w, st, "CR-1"))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "stepUpRequestNotFound", vtsReason(method(tok, "CR-1", id)), "old identifiers are gone")
		assert.Equal(t, http.StatusOK, method(tok, "CR-1", stepUpIDs(r)[0]).status)
	})
	t.Run("3 wrong codes lock until a new OTP", func(t *testing.T) {
		tok, _, _, _, r := w.bind(CardHappy, "CR-1")
		id := stepUpIDs(r)[0]
		require.Equal(t, http.StatusOK, method(tok, "CR-1", id).status)
		for i := range 3 {
			r = validate(tok, "CR-1", "000000")
			assert.Equal(t, "invalidOtp", vtsReason(r), "attempt %d", i+1)
		}
		assert.Equal(t, "otpAttemptsExceeded", vtsReason(validate(tok, "CR-1", GoldenOTP)))
		assert.Equal(t, "INACTIVE", tokenStatus(t, w, tok))
		require.Equal(t, http.StatusOK, method(tok, "CR-1", id).status)
		assert.Equal(t, http.StatusOK, validate(tok, "CR-1", GoldenOTP).status)
	})
	t.Run("expired code", func(t *testing.T) {
		tok, _, _, _, r := w.bind(CardHappy, "CR-1")
		require.Equal(t, http.StatusOK, method(tok, "CR-1", stepUpIDs(r)[0]).status)
		clk.Advance(5*time.Minute + time.Second)
		assert.Equal(t, "otpExpired", vtsReason(validate(tok, "CR-1", GoldenOTP)))
	})
	t.Run("out of order and mismatches", func(t *testing.T) {
		tok := w.provision(CardHappy)
		assert.Equal(t, "noActiveChallenge", vtsReason(validate(tok, "CR-1", GoldenOTP)))
		assert.Equal(t, "stepUpRequestNotFound", vtsReason(method(tok, "CR-1", "SU-nope")))
		tok, _, _, _, r := w.bind(CardHappy, "CR-1")
		assert.Equal(t, "clientReferenceMismatch", vtsReason(method(tok, "CR-2", stepUpIDs(r)[0])))
		require.Equal(t, http.StatusOK, method(tok, "CR-1", stepUpIDs(r)[0]).status)
		assert.Equal(t, "clientReferenceMismatch", vtsReason(validate(tok, "CR-2", GoldenOTP)))
		b := otpBody(w, "CR-1", GoldenOTP)
		delete(b, "otpValue")
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/stepUpOptions/validateOTP", b)
		assert.Equal(t, "otpValue is required", vtsMessage(r))
		b = stepUpBody(w, "CR-1", "x")
		b["date"] = "yesterday"
		r = w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/stepUpOptions/method", b)
		assert.Equal(t, "invalidParameter", vtsReason(r))
	})
	snap := sb.Inspect()
	assert.GreaterOrEqual(t, snap.OTPValidationsKO, 5)
	assert.GreaterOrEqual(t, snap.OTPValidationsOK, 3)
	assert.Positive(t, snap.OTPsSentByMethod["OTPSMS"])
	assert.Positive(t, snap.OTPsSentByMethod["OTPEMAIL"])
}

func TestAttestationOptions(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	attest := func(tok string, b map[string]any) reply {
		return w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", b)
	}
	t.Run("inactive token: probe REGISTER, purchase refused, REGISTER needs step-up", func(t *testing.T) {
		t.Parallel()
		tok := w.provision(CardHappy)
		_, st := w.session(newDevice())
		r := attest(tok, attestBody(w, st, "AUTHENTICATE", "0.00", "Agent"))
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		ctx := r.body["authenticationContext"].(map[string]any)
		assert.Equal(t, "REGISTER", ctx["action"])
		for _, k := range []string{"identifier", "payload", "endpoint"} {
			assert.NotEmpty(t, ctx[k], k)
		}
		assert.Equal(t, "REGISTER", attest(tok, attestBody(w, st, "AUTHENTICATE", "0", "Agent")).body["authenticationContext"].(map[string]any)["action"], `S2 sends "0"`)
		assert.Equal(t, "invalidTokenState", vtsReason(attest(tok, attestBody(w, st, "AUTHENTICATE", "10.00", "Agent"))))
		assert.Equal(t, "stepUpRequired", vtsReason(attest(tok, attestBody(w, st, "REGISTER", "0.00", "Agent"))))
	})
	t.Run("step-up is per device", func(t *testing.T) {
		t.Parallel()
		tok, _, _, st, r := w.bind(CardHappy, "CR-1")
		require.Equal(t, http.StatusOK, w.vts(http.MethodPut, "/vts/provisionedTokens/"+tok+"/stepUpOptions/method", stepUpBody(w, "CR-1", stepUpIDs(r)[0])).status)
		require.Equal(t, http.StatusOK, w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/stepUpOptions/validateOTP", otpBody(w, "CR-1", GoldenOTP)).status)
		assert.Equal(t, http.StatusOK, attest(tok, attestBody(w, st, "REGISTER", "0.00", "Agent")).status)
		_, other := w.session(newDevice())
		assert.Equal(t, "stepUpRequired", vtsReason(attest(tok, attestBody(w, other, "REGISTER", "0.00", "Agent"))))
		assert.Equal(t, "REGISTER", attest(tok, attestBody(w, other, "AUTHENTICATE", "5.00", "Best Buy")).body["authenticationContext"].(map[string]any)["action"],
			"ACTIVE token, no passkey on this device")
	})
	t.Run("after registration: AUTHENTICATE on that device only", func(t *testing.T) {
		t.Parallel()
		tok, device := w.onboard(CardHappy)
		_, st := w.session(device)
		ctx := attest(tok, attestBody(w, st, "AUTHENTICATE", "129.99", "Best Buy")).body["authenticationContext"].(map[string]any)
		assert.Equal(t, "AUTHENTICATE", ctx["action"])
		// The payload is a JWT signed with the JWKS key, carrying a WebAuthn
		// challenge bound to the amount and the merchant (§8.3).
		var claims map[string]any
		require.NoError(t, w.sb.signer.verify(ctx["payload"].(string), &claims))
		assert.Equal(t, "129.99", claims["amount"])
		assert.Equal(t, "840", claims["currencyCode"])
		assert.Equal(t, "Best Buy", claims["merchantName"])
		assert.Equal(t, tok, claims["vProvisionedTokenID"])
		assert.NotEmpty(t, claims["challenge"])
		assert.Equal(t, ctx["identifier"], claims["identifier"])
		_, other := w.session(newDevice())
		assert.Equal(t, "REGISTER", attest(tok, attestBody(w, other, "AUTHENTICATE", "0.00", "Agent")).body["authenticationContext"].(map[string]any)["action"])
	})
	t.Run("secureToken consumed by a ceremony", func(t *testing.T) {
		t.Parallel()
		tok, device := w.onboard(CardHappy)
		reqID, st := w.session(device)
		r := attest(tok, attestBody(w, st, "AUTHENTICATE", "1.00", "Best Buy"))
		w.ceremony(reqID, r.body["authenticationContext"])
		assert.Equal(t, "sessionInvalid", vtsReason(attest(tok, attestBody(w, st, "AUTHENTICATE", "1.00", "Best Buy"))))
	})
	tok := w.provision(CardHappy)
	_, st := w.session(newDevice())
	dyn := func(b map[string]any) map[string]any { return b["dynamicData"].(map[string]any) }
	mi := func(b map[string]any) map[string]any { return dyn(b)["merchantIdentifier"].(map[string]any) }
	cases := []struct {
		name string
		mod  func(map[string]any)
		ok   bool
		msg  string
	}{
		{"padded base64url accepted", func(b map[string]any) { mi(b)["merchantName"] = "QmVzdCBCdXk=" }, true, ""},
		{"bad base64url", func(b map[string]any) { mi(b)["merchantName"] = "not base64!" }, false, "merchantName"},
		{"missing merchantName", func(b map[string]any) { delete(mi(b), "merchantName") }, false, "dynamicData.merchantIdentifier.merchantName is required"},
		{"missing clientReferenceID", func(b map[string]any) { delete(b, "clientReferenceID") }, false, "clientReferenceID is required"},
		{"casings differ", func(b map[string]any) { b["clientReferenceId"] = "CR-other" }, false, "differ"},
		{"type/reason mismatch", func(b map[string]any) { b["reasonCode"] = "DEVICE_BINDING" }, false, "reasonCode"},
		{"alpha currency", func(b map[string]any) { dyn(b)["currencyCode"] = "USD" }, false, "currencyCode"},
		{"bad amount", func(b map[string]any) { dyn(b)["authenticationAmount"] = "1.234" }, false, "authenticationAmount"},
		{"missing browserData", func(b map[string]any) { delete(b, "browserData") }, false, "browserData is required"},
		{"missing email", func(b map[string]any) {
			b["encAuthenticationData"] = w.encField(map[string]any{"consumerInfo": map[string]any{}})
		}, false, "emailAddress"},
		{"base64url user agent", func(b map[string]any) {
			b["browserData"].(map[string]any)["userAgent"] = check.Base64URL("Mozilla/5.0 (X11)")
		}, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := attestBody(w, st, "AUTHENTICATE", "0.00", "Best Buy")
			tc.mod(b)
			r := attest(tok, b)
			if tc.ok {
				assert.Equal(t, http.StatusOK, r.status, string(r.raw))
				return
			}
			assert.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
			assert.Equal(t, "invalidParameter", vtsReason(r))
			assert.Contains(t, vtsMessage(r), tc.msg)
		})
	}
	assert.Equal(t, "sessionInvalid", vtsReason(attest(tok, attestBody(w, "nope", "AUTHENTICATE", "0.00", "Agent"))))
	assert.Equal(t, http.StatusNotFound, attest("TOK-nope", attestBody(w, st, "AUTHENTICATE", "0.00", "Agent")).status)
}
