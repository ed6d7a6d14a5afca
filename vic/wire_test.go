package vic

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// fakeVIC is an httptest VIC that records each decrypted request and
// answers with an MLE-encrypted canned body.
type fakeVIC struct {
	t       *testing.T
	srv     *httptest.Server
	server  *rsa.PrivateKey // Visa's MLE key
	client  *rsa.PrivateKey // the client's MLE key
	mu      sync.Mutex
	reqs    []recorded
	answer  func(r recorded) (int, any)
	enc     *jwe.MLEEncrypter
	decrypt *jwe.MLEDecrypter
}

type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Raw                    []byte         // the body as sent
	Plain                  map[string]any // the decrypted body
	PlainBytes             []byte
}

func newFakeVIC(t *testing.T) *fakeVIC {
	rk, _ := testKeys(t)
	f := &fakeVIC{t: t, server: rk[0], client: rk[1]}
	var err error
	f.enc, err = jwe.NewMLEEncrypter(&f.client.PublicKey, "SBX-MLE-KEY-01", "")
	require.NoError(t, err)
	f.decrypt, err = jwe.NewMLEDecrypter(f.server)
	require.NoError(t, err)
	f.answer = func(recorded) (int, any) { return 200, map[string]any{"clientReferenceId": "CR-1", "status": "ACTIVE"} }
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVIC) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Raw: raw}
	if compact, ok := jwe.ParseEnvelope(raw); ok {
		plain, _, err := f.decrypt.Decrypt(compact)
		if err == nil {
			rec.PlainBytes = plain
			_ = json.Unmarshal(plain, &rec.Plain)
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	status, body := f.answer(rec)
	plain, _ := json.Marshal(body)
	compact, err := f.enc.Encrypt(plain, time.Now())
	require.NoError(f.t, err)
	w.Header().Set("X-Correlation-Id", "corr-123")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(jwe.MarshalEnvelope(compact))
}

func (f *fakeVIC) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(f.t, f.reqs)
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeVIC) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func pemOf(t testing.TB, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func (f *fakeVIC) config(t *testing.T, logger *slog.Logger) visa.Config {
	pkcs8, err := x509.MarshalPKCS8PrivateKey(f.client)
	require.NoError(t, err)
	return visa.Config{
		VICBaseURL: f.srv.URL, VTSBaseURL: f.srv.URL, AuthBaseURL: f.srv.URL,
		VIC: visa.VICCredentials{
			APIKey: visa.NewSecret("SBXVICAPIKEY01"), SharedSecret: visa.NewSecret("sbx-vic-shared-secret"),
			MLEKeyID: "SBX-MLE-KEY-01", MLEServerCertPEM: pemOf(t, "PUBLIC KEY", mustPKIX(t, &f.server.PublicKey)),
			MLEClientPrivateKeyPEM: visa.NewSecret(string(pemOf(t, "PRIVATE KEY", pkcs8))),
			ExternalClientID:       "SBXCLIENT01", ExternalAppID: "SBXAPP01",
		},
		Logger: logger,
	}
}

func testAppInstance() visa.AppInstance {
	return visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", ClientDeviceID: "aZ3-_k9aZ3-_k9aZ3-_k9aZ3",
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple", Manufacturer: "Apple", Model: "MacBook"},
	}
}

const testBlob = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.c2VjcmV0LWJsb2ItdmFsdWU.dGFn"

func testAssurance(t testing.TB) fido.Assurance {
	b, err := fido.NewBlob(testBlob)
	require.NoError(t, err)
	return fido.Assurance{FidoBlob: b, Identifier: "ID-7Qm", RPID: "localhost"}
}

func TestWireEnrollCard(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	res, err := c.EnrollCard(context.Background(), EnrollCardRequest{
		ClientReferenceID: "CR-abc", TokenID: "TOK-0001", DFPSessionID: "DFP-1",
		Consumer:    Consumer{ConsumerID: "user-1", Email: "alice@example.com", CountryCode: "US", LanguageCode: "en"},
		AppInstance: testAppInstance(), Assurance: testAssurance(t),
	})
	require.NoError(t, err)
	assert.Equal(t, StatusActive, res.Status)

	r := f.last()
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/vacp/v1/cards", r.Path)
	assert.Equal(t, "apikey=SBXVICAPIKEY01", r.RawQuery)
	assert.Equal(t, "SBX-MLE-KEY-01", r.Header.Get("keyId"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.NoError(t, xpay.Verify(r.Header.Get("X-Pay-Token"), "sbx-vic-shared-secret", "v1/cards", r.RawQuery, r.Raw, t0, time.Hour))
	// The body on the wire is the envelope only: nothing in clear.
	var env map[string]any
	require.NoError(t, json.Unmarshal(r.Raw, &env))
	assert.Len(t, env, 1)
	assert.NotContains(t, string(r.Raw), "alice@example.com")
	assert.NotContains(t, string(r.Raw), "secret-blob")

	p := r.Plain
	assert.Equal(t, "CR-abc", p["clientReferenceId"])
	assert.Equal(t, map[string]any{"externalClientId": "SBXCLIENT01", "externalAppId": "SBXAPP01"}, p["client"])
	assert.Equal(t, map[string]any{"consumerId": "user-1", "countryCode": "US", "languageCode": "en",
		"consumerIdentity": map[string]any{"identityType": "EMAIL_ADDRESS", "identityValue": "alice@example.com"}}, p["consumer"])
	assert.Equal(t, map[string]any{"enrollmentReferenceId": "TOK-0001", "enrollmentReferenceType": "TOKEN_REFERENCE_ID",
		"enrollmentReferenceProvider": "VTS"}, p["enrollmentReferenceData"])
	ai := p["appInstance"].(map[string]any)
	assert.Equal(t, "Mozilla/5.0 (X11; Linux x86_64)", ai["userAgent"], "appInstance.userAgent is raw")
	assert.Equal(t, "aZ3-_k9aZ3-_k9aZ3-_k9aZ3", ai["clientDeviceId"])
	ad := p["assuranceData"].([]any)[0].(map[string]any)
	assert.Equal(t, "23", ad["verificationMethod"])
	mr := ad["methodResults"].(map[string]any)
	assert.Equal(t, "DFP-1", mr["dfpSessionId"])
	assert.Equal(t, map[string]any{"code": testBlob}, mr["fidoAttestationData"])
	assert.NotContains(t, mr, "fidoAssertionData")
}

func TestWireInstructionLifecycle(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	f.answer = func(r recorded) (int, any) {
		st := "ACTIVE"
		if strings.HasSuffix(r.Path, "/cancel") {
			st = "CANCELLED"
		}
		return 200, map[string]any{"clientReferenceId": r.Plain["clientReferenceId"], "instructionId": "INS-0001", "status": st}
	}
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	ctx := context.Background()
	req := CreateInstructionRequest{
		ClientReferenceID: "CR-p1", ConsumerID: "user-1", TokenID: "TOK-0001", AppInstance: testAppInstance(),
		Assurance: testAssurance(t), DFPSessionID: "DFP-2", ConsumerPrompt: "buy headphones under $130",
		Mandates: []Mandate{{MandateID: "M-1", Description: "Noise-cancelling headphones",
			DeclineThreshold: visa.MustParseAmount("129.99", "USD"), PreferredMerchantName: "Best Buy",
			MerchantCategory: "Electronics", MerchantCategoryCode: "5732", Quantity: 1}},
	}
	ins, err := c.CreateInstruction(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "INS-0001", ins.InstructionID)
	r := f.last()
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/vacp/v1/instructions", r.Path)
	m := r.Plain["mandates"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{
		"mandateId": "M-1", "description": "Noise-cancelling headphones",
		"declineThreshold":   map[string]any{"amount": "129.99", "currencyCode": "USD"},
		"effectiveUntilTime": "1767226000", "preferredMerchantName": "Best Buy",
		"merchantCategory": "Electronics", "merchantCategoryCode": "5732", "quantity": "1",
	}, m)
	assert.Equal(t, "buy headphones under $130", r.Plain["consumerPrompt"])
	assert.Equal(t, "TOK-0001", r.Plain["tokenId"])
	assert.NotContains(t, r.Plain, "instructionId")
	mr := r.Plain["assuranceData"].([]any)[0].(map[string]any)["methodResults"].(map[string]any)
	assert.Contains(t, mr, "fidoAssertionData")

	_, err = c.UpdateInstruction(ctx, UpdateInstructionRequest{InstructionID: "INS-0001", ClientReferenceID: req.ClientReferenceID,
		ConsumerID: req.ConsumerID, TokenID: req.TokenID, AppInstance: req.AppInstance, Assurance: req.Assurance,
		DFPSessionID: req.DFPSessionID, Mandates: req.Mandates, ConsumerPrompt: req.ConsumerPrompt})
	require.NoError(t, err)
	r = f.last()
	assert.Equal(t, "PUT", r.Method)
	assert.Equal(t, "/vacp/v1/instructions/INS-0001", r.Path)
	assert.Equal(t, "INS-0001", r.Plain["instructionId"])

	res, err := c.CancelInstruction(ctx, CancelRequest{ClientReferenceID: "CR-p1", InstructionID: "INS-0001", AppInstance: testAppInstance()})
	require.NoError(t, err)
	assert.Equal(t, StatusCancelled, res.Status)
	r = f.last()
	assert.Equal(t, "PUT", r.Method)
	assert.Equal(t, "/vacp/v1/instructions/INS-0001/cancel", r.Path)
	require.NoError(t, xpay.Verify(r.Header.Get("X-Pay-Token"), "sbx-vic-shared-secret", "v1/instructions/INS-0001/cancel", r.RawQuery, r.Raw, t0, time.Hour))
}

func TestWireCredentialsAndConfirmation(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	rk, _ := testKeys(t)
	payload := sign(t, jwt.SigningMethodRS256, "k", rk[0], claimsAt(t0))
	f.answer = func(r recorded) (int, any) {
		if strings.HasSuffix(r.Path, "/credentials") {
			return 200, map[string]any{"clientReferenceId": "CR-p1", "instructionId": "INS-0001", "status": "COMPLETED", "signedPayload": payload}
		}
		return 200, map[string]any{"clientReferenceId": "CR-p1", "instructionId": "INS-0001"}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	c, err := New(f.config(t, logger), WithVerifier(v), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	ctx := context.Background()

	cr, err := c.RetrieveCredentials(ctx, CredentialsRequest{
		ClientReferenceID: "CR-p1", InstructionID: "INS-0001", TokenID: "TOK-0001",
		Transactions: []TransactionData{{Amount: visa.MustParseAmount("129.99", "USD"), MerchantName: "Best Buy",
			MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com", MandateIDs: []string{"M-1"}}},
	})
	require.NoError(t, err)
	require.True(t, cr.Credentials.Verified)
	cred := cr.Credentials.DynamicData[0]
	r := f.last()
	assert.Equal(t, "/vacp/v1/instructions/INS-0001/credentials", r.Path)
	td := r.Plain["transactionData"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{
		"transactionType": "PURCHASE", "transactionReferenceId": "INS-0001",
		"transactionAmount": map[string]any{"transactionAmount": "129.99", "transactionCurrencyCode": "USD"},
		"merchantName":      "Best Buy", "merchantCountryCode": "US", "merchantUrl": "https://www.bestbuy.com",
		"mandateReferenceData": []any{"M-1"},
	}, td)

	_, err = c.ConfirmTransaction(ctx, ConfirmRequest{ClientReferenceID: "CR-p1", InstructionID: "INS-0001",
		Confirmations: []Confirmation{{TransactionReferenceID: "INS-0001", DynamicDataID: cred.DynamicDataID,
			Status: TransactionApproved, Amount: visa.MustParseAmount("129.99", "USD"), ResponseCode: "00",
			AuthorizationCode: "A1B2C3", MerchantName: "Best Buy", Order: &Order{OrderID: "ORD-1"}}}})
	require.NoError(t, err)
	r = f.last()
	assert.Equal(t, "/vacp/v1/instructions/INS-0001/confirmations", r.Path)
	cd := r.Plain["confirmationData"].([]any)[0].(map[string]any)
	pcd := cd["paymentConfirmationData"].(map[string]any)
	assert.Equal(t, "DD-1", pcd["dynamicDataId"])
	assert.Equal(t, "APPROVED", pcd["transactionStatus"])
	assert.Equal(t, "1767225700", pcd["transactionTimestamp"])
	assert.Equal(t, "ECOMMERCE", pcd["cardEntryMode"])
	assert.Equal(t, "COMPLETED", cd["orderData"].(map[string]any)["orderStatus"])

	// Nothing secret reached the logs.
	sec := testutil.NewSecrets()
	sec.AddDynamic("dynamic value", "417")
	for name, v := range map[string]string{"token PAN": "4895370012348717", "api key": "SBXVICAPIKEY01",
		"shared secret": "sbx-vic-shared-secret", "signedPayload": payload} {
		sec.Add(name, v)
	}
	sec.Check(t, "the logs", logs.String(), testutil.JSON)
	assert.NotEmpty(t, logs.String())
}

func TestWireErrorsDecodeEncrypted(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	f.answer = func(recorded) (int, any) {
		return 400, map[string]any{"responseStatus": map[string]any{"status": 400, "code": "INSTRUCTION_NOT_ACTIVE", "severity": "ERROR", "message": "instruction expired"}}
	}
	c, err := New(f.config(t, nil), WithoutVerification())
	require.NoError(t, err)
	_, err = c.RetrieveCredentials(context.Background(), CredentialsRequest{ClientReferenceID: "CR-p1", InstructionID: "INS-0001", TokenID: "TOK-0001",
		Transactions: []TransactionData{{Amount: visa.MustParseAmount("1.00", "USD"), MerchantName: "M", MerchantCountryCode: "US", MerchantURL: "https://m.example"}}})
	require.Error(t, err)
	assert.ErrorIs(t, err, visa.ErrInstructionExpired)
	var ae *visa.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "corr-123", ae.CorrelationID)
	assert.Equal(t, 1, f.count(), "a credentials request is not repeated")
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	ctx := context.Background()
	usd := visa.MustParseAmount("10.00", "USD")
	good := func() CreateInstructionRequest {
		return CreateInstructionRequest{ConsumerID: "u", TokenID: "TOK-1", AppInstance: testAppInstance(), Assurance: testAssurance(t), DFPSessionID: "D",
			Mandates: []Mandate{{Description: "x", DeclineThreshold: usd}}}
	}
	cases := map[string]func() error{
		"empty token": func() error { r := good(); r.TokenID = ""; _, err := c.CreateInstruction(ctx, r); return err },
		"oversize token": func() error {
			r := good()
			r.TokenID = strings.Repeat("T", 65)
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"no mandates": func() error { r := good(); r.Mandates = nil; _, err := c.CreateInstruction(ctx, r); return err },
		"zero threshold": func() error {
			r := good()
			r.Mandates[0].DeclineThreshold = visa.MustParseAmount("0", "USD")
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"missing threshold": func() error {
			r := good()
			r.Mandates[0].DeclineThreshold = visa.Amount{}
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"past effective until": func() error {
			r := good()
			r.Mandates[0].EffectiveUntil = t0.Add(-time.Minute)
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"bad mcc": func() error {
			r := good()
			r.Mandates[0].MerchantCategoryCode = "57a2"
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"no assurance": func() error {
			r := good()
			r.Assurance = fido.Assurance{}
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"bad app": func() error {
			r := good()
			r.AppInstance.ClientDeviceID = "short"
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"bad client ref": func() error {
			r := good()
			r.ClientReferenceID = "has space"
			_, err := c.CreateInstruction(ctx, r)
			return err
		},
		"update without id": func() error { _, err := c.UpdateInstruction(ctx, update(good(), "")); return err },
		"path traversal id": func() error {
			_, err := c.UpdateInstruction(ctx, update(good(), "../cards"))
			return err
		},
		"credentials without transactions": func() error {
			_, err := c.RetrieveCredentials(ctx, CredentialsRequest{InstructionID: "I", TokenID: "T"})
			return err
		},
		"credentials bad country": func() error {
			_, err := c.RetrieveCredentials(ctx, CredentialsRequest{InstructionID: "I", TokenID: "T",
				Transactions: []TransactionData{{Amount: usd, MerchantName: "M", MerchantCountryCode: "usa", MerchantURL: "https://m"}}})
			return err
		},
		"credentials duplicate reference": func() error {
			tx := TransactionData{TransactionReferenceID: "R", Amount: usd, MerchantName: "M", MerchantCountryCode: "US", MerchantURL: "https://m"}
			_, err := c.RetrieveCredentials(ctx, CredentialsRequest{InstructionID: "I", TokenID: "T", Transactions: []TransactionData{tx, tx}})
			return err
		},
		"confirm bad status": func() error {
			_, err := c.ConfirmTransaction(ctx, ConfirmRequest{ClientReferenceID: "CR-1", InstructionID: "I",
				Confirmations: []Confirmation{{TransactionReferenceID: "R", DynamicDataID: "D", Status: "MAYBE", Amount: usd}}})
			return err
		},
		"confirm without reference": func() error {
			_, err := c.ConfirmTransaction(ctx, ConfirmRequest{InstructionID: "I",
				Confirmations: []Confirmation{{TransactionReferenceID: "R", DynamicDataID: "D", Status: TransactionApproved, Amount: usd}}})
			return err
		},
		"enroll bad email": func() error {
			_, err := c.EnrollCard(ctx, EnrollCardRequest{TokenID: "T", AppInstance: testAppInstance(), Assurance: testAssurance(t),
				Consumer: Consumer{ConsumerID: "u", Email: "not-an-email", CountryCode: "US", LanguageCode: "en"}})
			return err
		},
	}
	for name, call := range cases {
		err := call()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, name)
		assert.NotContains(t, err.Error(), "secret-blob", name)
	}
	assert.Equal(t, 0, f.count(), "no request may be sent for bad input")
}

func TestNewNeedsKeySource(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	_, err := New(f.config(t, nil))
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	cfg := f.config(t, nil)
	cfg.SignedPayload.KeysPEM = []byte("junk")
	_, err = New(cfg)
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
}

// update makes the update of instructionID with the fields of r.
func update(r CreateInstructionRequest, instructionID string) UpdateInstructionRequest {
	return UpdateInstructionRequest{InstructionID: instructionID, ClientReferenceID: r.ClientReferenceID, ConsumerID: r.ConsumerID,
		TokenID: r.TokenID, AppInstance: r.AppInstance, Assurance: r.Assurance, DFPSessionID: r.DFPSessionID, Mandates: r.Mandates,
		ConsumerPrompt: r.ConsumerPrompt, AgentID: r.AgentID, IsRecurring: r.IsRecurring, Frequency: r.Frequency}
}
