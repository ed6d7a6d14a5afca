package sandbox

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vicgo/visa/jwe"
)

func TestEnrollCard(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	enroll := func(body map[string]any) reply { return w.vic(http.MethodPost, "/vacp/v1/cards", body) }

	t.Run("inactive and unknown tokens", func(t *testing.T) {
		t.Parallel()
		tok := w.provision(CardHappy)
		r := enroll(enrollCardBody(w, tok, newDevice(), assuranceObj(w, BlobAttestation, "x", "ID-1")))
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, "TOKEN_NOT_ACTIVE", gatewayCode(r))
		r = enroll(enrollCardBody(w, "TOK-nope", newDevice(), nil))
		assert.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "TOKEN_NOT_FOUND", gatewayCode(r))
	})
	t.Run("blob rules", func(t *testing.T) {
		t.Parallel()
		// Register a passkey, keep the attestation blob, then try it twice.
		tok, _, reqID, st, r := w.bind(CardNoStepUp, "CR-1")
		require.Equal(t, "APPROVED", r.body["status"])
		r = w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", attestBody(w, st, "REGISTER", "0.00", "Agent"))
		require.Equal(t, http.StatusOK, r.status)
		blob, ident := w.ceremony(reqID, r.body["authenticationContext"])
		other := w.provision(CardHappy)
		_ = other

		bad := enrollCardBody(w, tok, newDevice(), assuranceObj(w, BlobAttestation, blob, "ID-wrong"))
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(enroll(bad)), "identifier mismatch")
		bad = enrollCardBody(w, tok, newDevice(), assuranceObj(w, BlobAttestation, "garbage", ident))
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(enroll(bad)))
		asr := assuranceObj(w, BlobAttestation, blob, ident)
		asr[0]["verificationMethod"] = "02"
		r = enroll(enrollCardBody(w, tok, newDevice(), asr))
		assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
		assert.Contains(t, r.body["responseStatus"].(map[string]any)["message"], "23")

		ok := enrollCardBody(w, tok, newDevice(), assuranceObj(w, BlobAttestation, blob, ident))
		r = enroll(ok)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "ACTIVE", r.body["status"])
		assert.Equal(t, "CR-enroll", r.body["clientReferenceId"])
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(enroll(ok)), "a blob is redeemed once")
	})
	t.Run("no assurance needs a registered passkey", func(t *testing.T) {
		t.Parallel()
		tok, device := w.onboard(CardHappy)
		assert.Equal(t, http.StatusOK, enroll(enrollCardBody(w, tok, device, nil)).status, "S2 omits assuranceData")
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(enroll(enrollCardBody(w, tok, newDevice(), nil))))
	})
	t.Run("missing fields are named", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			mod func(map[string]any)
			msg string
		}{
			{func(b map[string]any) { delete(b, "clientReferenceId") }, "clientReferenceId is required"},
			{func(b map[string]any) { delete(b, "client") }, "client is required"},
			{func(b map[string]any) { b["client"] = map[string]any{"externalClientId": ExternalClientID} }, "client.externalAppId is required"},
			{func(b map[string]any) { delete(b["consumer"].(map[string]any), "consumerId") }, "consumer.consumerId is required"},
			{func(b map[string]any) { delete(b["appInstance"].(map[string]any), "clientDeviceId") }, "appInstance.clientDeviceId is required"},
			{func(b map[string]any) { delete(b, "enrollmentReferenceData") }, "enrollmentReferenceData.enrollmentReferenceId is required"},
		} {
			b := enrollCardBody(w, "TOK-x", newDevice(), nil)
			tc.mod(b)
			r := enroll(b)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "INVALID_REQUEST", gatewayCode(r))
			assert.Equal(t, tc.msg, r.body["responseStatus"].(map[string]any)["message"])
		}
	})
}

func TestInstructions(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	create := func(b map[string]any) reply { return w.vic(http.MethodPost, "/vacp/v1/instructions", b) }

	t.Run("not enrolled in VIC", func(t *testing.T) {
		t.Parallel()
		tok2, _, _, _, r := w.bind(CardNoStepUp, "CR-1")
		require.Equal(t, "APPROVED", r.body["status"])
		r = create(instructionBody(w, tok2, newDevice(), "blob", "ID-1", "10.00", nil))
		assert.Equal(t, "TOKEN_NOT_ENROLLED", gatewayCode(r))
		r = create(instructionBody(w, "TOK-nope", newDevice(), "blob", "ID-1", "10.00", nil))
		assert.Equal(t, "TOKEN_NOT_FOUND", gatewayCode(r))
	})
	t.Run("threshold above the authenticated amount", func(t *testing.T) {
		blob, ident := w.assertion(tok, device, "50.00", "Best Buy")
		r := create(instructionBody(w, tok, device, blob, ident, "50.01", nil))
		assert.Equal(t, "AMOUNT_EXCEEDS_AUTHENTICATION", gatewayCode(r))
		blob, ident = w.assertion(tok, device, "50.00", "Best Buy")
		b := instructionBody(w, tok, device, blob, ident, "50.00", nil)
		b["mandates"].([]map[string]any)[0]["declineThreshold"] = map[string]any{"amount": "50.00", "currencyCode": "EUR"}
		assert.Equal(t, "AMOUNT_EXCEEDS_AUTHENTICATION", gatewayCode(create(b)), "currency differs")
		blob, ident = w.assertion(tok, device, "50.00", "Best Buy")
		r = create(instructionBody(w, tok, device, blob, ident, "49.99", nil))
		assert.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "ACTIVE", r.body["status"])
		assert.Equal(t, "CR-buy", r.body["clientReferenceId"])
	})
	t.Run("assertion rules", func(t *testing.T) {
		blob, ident := w.assertion(tok, device, "10.00", "Best Buy")
		b := instructionBody(w, tok, device, blob, ident, "10.00", nil)
		asr := b["assuranceData"].([]map[string]any)
		mr := asr[0]["methodResults"].(map[string]any)
		mr["fidoAttestationData"] = mr["fidoAssertionData"]
		delete(mr, "fidoAssertionData")
		assert.Equal(t, "INVALID_REQUEST", gatewayCode(create(b)), "instructions need fidoAssertionData")
		b = instructionBody(w, tok, device, blob, "ID-other", "10.00", nil)
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(create(b)))
		b = instructionBody(w, tok, device, "eyJ.garbage.x", ident, "10.00", nil)
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(create(b)))
	})
	t.Run("mandate checks", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			extra map[string]any
			msg   string
		}{
			{map[string]any{"effectiveUntilTime": "1000"}, "in the past"},
			{map[string]any{"effectiveUntilTime": "soon"}, "effectiveUntilTime"},
			{map[string]any{"quantity": "0"}, "quantity"},
			{map[string]any{"quantity": "x"}, "quantity"},
			{map[string]any{"declineThreshold": map[string]any{"amount": "-1", "currencyCode": "USD"}}, "declineThreshold"},
			{map[string]any{"mandateId": ""}, "mandates[0].mandateId is required"},
			{map[string]any{"description": ""}, "mandates[0].description is required"},
		} {
			r := create(instructionBody(w, tok, device, "blob", "ID-1", "10.00", tc.extra))
			assert.Equal(t, "INVALID_REQUEST", gatewayCode(r), tc.msg)
			assert.Contains(t, r.body["responseStatus"].(map[string]any)["message"], tc.msg)
		}
		b := instructionBody(w, tok, device, "blob", "ID-1", "10.00", nil)
		b["mandates"] = []any{}
		assert.Contains(t, create(b).body["responseStatus"].(map[string]any)["message"], "mandates is required")
	})
}

func TestInstructionLifetimeUpdateCancel(t *testing.T) {
	t.Parallel()
	_, clk, w := manual(t)
	tok, device := w.onboard(CardHappy)

	ins := w.instruct(tok, device, "20.00")
	clk.Advance(5*time.Minute + time.Second)
	r := w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "20.00"))
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r), "5 minutes to redeem")

	// effectiveUntilTime caps the lifetime.
	blob, ident := w.assertion(tok, device, "20.00", "Best Buy")
	r = w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, device, blob, ident, "20.00",
		map[string]any{"effectiveUntilTime": w.epochIn(time.Minute)}))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	ins = r.body["instructionId"].(string)
	clk.Advance(61 * time.Second)
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "20.00"))
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r))

	// Update needs a fresh assertion and may raise the threshold.
	ins = w.instruct(tok, device, "20.00")
	blob, ident = w.assertion(tok, device, "30.00", "Best Buy")
	b := instructionBody(w, tok, device, blob, ident, "30.00", nil)
	b["instructionId"] = ins
	r = w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins, b)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "ACTIVE", r.body["status"])
	r = w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins, b)
	assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(r), "the same assertion twice")
	b["instructionId"] = "INS-other"
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins, b)))
	claims := w.credentials(ins, tok, "T-upd", "30.00")
	assert.Len(t, claims.DynamicData, 1)

	// Cancel.
	ins = w.instruct(tok, device, "20.00")
	cancel := map[string]any{"clientReferenceId": "CR-buy", "client": vicClientObj(), "appInstance": appInstanceObj(device),
		"assuranceData": assuranceObj(w, BlobAssertion, "any", "ID-1"), "instructionId": ins}
	r = w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins+"/cancel", cancel)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "CANCELLED", r.body["status"])
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins+"/cancel", cancel)))
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "20.00"))
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r))
	blob, ident = w.assertion(tok, device, "20.00", "Best Buy")
	b = instructionBody(w, tok, device, blob, ident, "20.00", nil)
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(w.vic(http.MethodPut, "/vacp/v1/instructions/"+ins, b)))
	delete(cancel, "instructionId")
	assert.Equal(t, "INSTRUCTION_NOT_FOUND", gatewayCode(w.vic(http.MethodPut, "/vacp/v1/instructions/INS-nope/cancel", cancel)))
	assert.Equal(t, http.StatusNotFound, w.vic(http.MethodPut, "/vacp/v1/instructions/INS-nope", b).status)
}

func (w *wire) epochIn(d time.Duration) string {
	return big.NewInt(w.now().Add(d).Unix()).String()
}

// jwksKey finds the public key of kid in the sandbox's JWKS, fetched over
// HTTP.
func jwksKey(t *testing.T, w *wire, kid string) *rsa.PublicKey {
	t.Helper()
	r := w.send(http.MethodGet, "/.well-known/jwks.json", "", nil, nil)
	require.Equal(t, http.StatusOK, r.status)
	var set JWKS
	require.NoError(t, json.Unmarshal(r.raw, &set))
	for _, k := range set.Keys {
		if k.Kid == kid {
			assert.Equal(t, "RSA", k.Kty)
			assert.Equal(t, "RS256", k.Alg)
			assert.Equal(t, "sig", k.Use)
			n, err := base64.RawURLEncoding.DecodeString(k.N)
			require.NoError(t, err)
			e, err := base64.RawURLEncoding.DecodeString(k.E)
			require.NoError(t, err)
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	t.Fatalf("kid %s not in JWKS", kid)
	return nil
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	_, clk, w := manual(t)
	tok, device := w.onboard(CardHappy)
	ins := w.instruct(tok, device, "100.00")
	cred := func(body map[string]any) reply {
		return w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", body)
	}
	assert.Equal(t, "AMOUNT_EXCEEDS_MANDATE", gatewayCode(cred(credentialsBody(tok, ins, "100.01"))))
	b := credentialsBody(tok, ins, "10.00")
	b["transactionData"].([]map[string]any)[0]["transactionAmount"] = map[string]any{"transactionAmount": "10.00", "transactionCurrencyCode": "EUR"}
	assert.Equal(t, "AMOUNT_EXCEEDS_MANDATE", gatewayCode(cred(b)), "currency differs")
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(cred(credentialsBody("TOK-other", ins, "10.00"))))
	b = credentialsBody(tok, ins, "10.00")
	delete(b["transactionData"].([]map[string]any)[0], "merchantUrl")
	assert.Equal(t, "transactionData[0].merchantUrl is required", cred(b).body["responseStatus"].(map[string]any)["message"])

	r := cred(credentialsBody(tok, ins, "99.99"))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assert.Equal(t, "COMPLETED", r.body["status"])
	assert.Equal(t, ins, r.body["instructionId"])
	jws := r.body["signedPayload"].(string)

	// Verify over the published JWKS, header and claims per §8.
	parsed, err := jwt.Parse(jws, func(tk *jwt.Token) (any, error) {
		return jwksKey(t, w, tk.Header["kid"].(string)), nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(clk.Now))
	require.NoError(t, err)
	assert.Equal(t, SigningKeyID, parsed.Header["kid"])
	assert.Equal(t, "JWT", parsed.Header["typ"])
	var claims SignedPayloadClaims
	require.NoError(t, w.sb.signer.verify(jws, &claims))
	assert.Equal(t, "vic-sandbox", claims.Iss)
	assert.Equal(t, ExternalClientID, claims.Aud)
	assert.Equal(t, clk.Now().Unix(), claims.Iat)
	assert.Equal(t, clk.Now().Add(15*time.Minute).Unix(), claims.Exp)
	assert.NotEmpty(t, claims.Jti)
	assert.Equal(t, "CR-buy", claims.ClientReferenceID)
	require.Len(t, claims.DynamicData, 1)
	dd := claims.DynamicData[0]
	assert.Len(t, dd.DynamicDataValue, 3)
	assert.Equal(t, claims.Exp, dd.DynamicDataExpiration)
	assert.True(t, strings.HasPrefix(dd.PaymentToken, "489537"))
	assert.Equal(t, dd.PaymentToken, dd.Token.PaymentToken)
	assert.Equal(t, dd.TokenExpirationMonth, dd.Token.TokenExpirationMonth)
	assert.Equal(t, dd.TokenExpirationYear, dd.Token.TokenExpirationYear)
	assert.Len(t, dd.TokenExpirationYear, 4)
	assert.Equal(t, ins, dd.TransactionReferenceID)
	var raw map[string]any
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(payload, &raw))
	for _, k := range []string{"iss", "aud", "iat", "exp", "jti", "instructionId", "clientReferenceId", "dynamicData"} {
		assert.Contains(t, raw, k)
	}

	// Quantity 1 is used up: COMPLETED, and the same reference conflicts.
	assert.Equal(t, 1, w.sb.CredentialsFor(ins))
	r = cred(credentialsBody(tok, ins, "1.00"))
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r))
	assert.Equal(t, "INSTRUCTION_NOT_FOUND", gatewayCode(w.vic(http.MethodPost, "/vacp/v1/instructions/INS-nope/credentials", credentialsBody(tok, "x", "1.00"))))
}

func TestCredentialsQuantityAndDuplicates(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA256GCM)
	tok, device := w.onboard(CardHappy)
	blob, ident := w.assertion(tok, device, "50.00", "Best Buy")
	r := w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, device, blob, ident, "50.00", map[string]any{"quantity": "2"}))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	ins := r.body["instructionId"].(string)
	w.credentials(ins, tok, ins, "50.00")
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "50.00"))
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Equal(t, "DUPLICATE_TRANSACTION_REFERENCE", gatewayCode(r))
	b := credentialsBody(tok, "T-2", "5.00")
	td := b["transactionData"].([]map[string]any)
	b["transactionData"] = append(td, td[0])
	assert.Equal(t, "DUPLICATE_TRANSACTION_REFERENCE", gatewayCode(w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", b)))
	claims := w.credentials(ins, tok, "T-2", "5.00")
	assert.Equal(t, "T-2", claims.DynamicData[0].TransactionReferenceID)
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, "T-3", "5.00"))
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(r), "quantity 2 used up")
	snap := w.sb.Inspect()
	assert.Equal(t, 2, snap.CredentialsPerInstruction[ins])
	assert.Equal(t, 1, snap.CredentialsPerTransactionReference[ins+"/T-2"])
	assert.Equal(t, "COMPLETED", func() string {
		w.sb.st.mu.Lock()
		defer w.sb.st.mu.Unlock()
		return w.sb.st.instructions[ins].status
	}())
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	sb := Start(t, WithPlainHTTP())
	w := newWire(t, sb, jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	ins := w.instruct(tok, device, "5.00")
	r := w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "5.00"))
	oldJWS := r.body["signedPayload"].(string)
	kid, err := sb.RotateSigningKey()
	require.NoError(t, err)
	assert.Equal(t, "sbx-sig-2", kid)
	assert.Len(t, sb.JWKS().Keys, 2)
	ins = w.instruct(tok, device, "5.00")
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", credentialsBody(tok, ins, "5.00"))
	newJWS := r.body["signedPayload"].(string)
	for jws, want := range map[string]string{oldJWS: SigningKeyID, newJWS: kid} {
		tk, err := jwt.Parse(jws, func(tk *jwt.Token) (any, error) {
			return jwksKey(t, w, tk.Header["kid"].(string)), nil
		}, jwt.WithValidMethods([]string{"RS256"}))
		require.NoError(t, err)
		assert.Equal(t, want, tk.Header["kid"])
	}
}

func TestConfirmations(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	tok, device := w.onboard(CardInsufficientFunds)
	ins := w.instruct(tok, device, "10.00")
	dd := w.credentials(ins, tok, ins, "10.00").DynamicData[0]
	r := w.merchant(merchantBody(dd, "10.00"))
	assert.Equal(t, "51", r.body["responseCode"])
	assert.Equal(t, "INSUFFICIENT_FUNDS", r.body["declineReason"])
	confirm := func(b map[string]any) reply {
		return w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/confirmations", b)
	}
	assert.Equal(t, "UNKNOWN_TRANSACTION_REFERENCE", gatewayCode(confirm(confirmBody(ins, "T-unknown", "", "DECLINED", "51", "10.00", w.epoch()))))
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(confirm(confirmBody(ins, ins, dd.DynamicDataID, "MAYBE", "51", "10.00", w.epoch()))))
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(confirm(confirmBody(ins, ins, "DD-other", "DECLINED", "51", "10.00", w.epoch()))))
	b := confirmBody(ins, ins, dd.DynamicDataID, "DECLINED", "51", "10.00", w.epoch())
	for range 3 {
		r = confirm(b)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		assert.Equal(t, "CR-buy", r.body["clientReferenceId"])
	}
	snap := w.sb.Inspect()
	assert.Equal(t, 3, snap.ConfirmationsPerInstruction[ins], "idempotent: every call acknowledged, the last wins")
	w.sb.st.mu.Lock()
	c := *w.sb.st.instructions[ins].confirms[ins]
	w.sb.st.mu.Unlock()
	assert.Equal(t, "DECLINED", c.status)
	assert.Equal(t, 3, c.count)
	delete(b, "instructionId")
	r = w.vic(http.MethodPost, "/vacp/v1/instructions/INS-nope/confirmations", b)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "INSTRUCTION_NOT_FOUND", gatewayCode(r))
	delete(b["confirmationData"].([]map[string]any)[0]["paymentConfirmationData"].(map[string]any), "transactionStatus")
	assert.Equal(t, "confirmationData[0].paymentConfirmationData.transactionStatus is required", confirm(b).body["responseStatus"].(map[string]any)["message"])
}

func TestMultipleMandates(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	tok, device := w.onboard(CardHappy)
	blob, ident := w.assertion(tok, device, "20.00", "Best Buy")
	b := instructionBody(w, tok, device, blob, ident, "10.00", nil)
	m2 := map[string]any{}
	for k, v := range b["mandates"].([]map[string]any)[0] {
		m2[k] = v
	}
	m2["mandateId"], m2["declineThreshold"] = "M-2", map[string]any{"amount": "20.00", "currencyCode": "USD"}
	b["mandates"] = append(b["mandates"].([]map[string]any), m2)
	r := w.vic(http.MethodPost, "/vacp/v1/instructions", b)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	ins := r.body["instructionId"].(string)
	cred := func(ref, amount string, mandates ...string) reply {
		body := credentialsBody(tok, ref, amount)
		if mandates != nil {
			body["transactionData"].([]map[string]any)[0]["mandateReferenceData"] = mandates
		}
		return w.vic(http.MethodPost, "/vacp/v1/instructions/"+ins+"/credentials", body)
	}
	assert.Equal(t, "INVALID_REQUEST", gatewayCode(cred("T-1", "15.00", "M-nope")))
	assert.Equal(t, "AMOUNT_EXCEEDS_MANDATE", gatewayCode(cred("T-1", "15.00", "M-1")))
	require.Equal(t, http.StatusOK, cred("T-1", "15.00", "M-2").status)
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(cred("T-2", "5.00", "M-2")), "M-2 used up")
	require.Equal(t, http.StatusOK, cred("T-2", "5.00").status, "falls back to the mandate with retrievals left")
	assert.Equal(t, "INSTRUCTION_NOT_ACTIVE", gatewayCode(cred("T-3", "5.00")), "all used: COMPLETED")

	m2["declineThreshold"] = map[string]any{"amount": "20.00", "currencyCode": "EUR"}
	r = w.vic(http.MethodPost, "/vacp/v1/instructions", b)
	assert.Contains(t, r.body["responseStatus"].(map[string]any)["message"], "currencyCode differs")
}

// A REGISTER context from the onboarding probe must not let a new device
// skip device binding.
func TestProbeCannotBypassStepUp(t *testing.T) {
	t.Parallel()
	w := newWire(t, shared(t), jwe.EncA128GCM)
	tok, _ := w.onboard(CardHappy)
	other := newDevice()
	reqID, st := w.session(other)
	r := w.vts(http.MethodPost, "/vts/provisionedTokens/"+tok+"/attestation/options", attestBody(w, st, "AUTHENTICATE", "0.00", "Agent"))
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "REGISTER", r.body["authenticationContext"].(map[string]any)["action"])
	blob, ident := w.ceremony(reqID, r.body["authenticationContext"])
	r = w.vic(http.MethodPost, "/vacp/v1/cards", enrollCardBody(w, tok, other, assuranceObj(w, BlobAttestation, blob, ident)))
	assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(r))
	if w.sb.auth.HasPasskey(tok, other) {
		blob, ident = w.assertion(tok, other, "5.00", "Best Buy")
		r = w.vic(http.MethodPost, "/vacp/v1/instructions", instructionBody(w, tok, other, blob, ident, "5.00", nil))
		assert.Equal(t, "ASSURANCE_INVALID", gatewayCode(r))
	}
}
