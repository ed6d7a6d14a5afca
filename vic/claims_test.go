package vic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

// credentialsRequestFor asks for one credential, with the default
// transactionReferenceId (the instructionId) unless ref is given.
func credentialsRequestFor(refs ...string) CredentialsRequest {
	req := CredentialsRequest{ClientReferenceID: "CR-p1", InstructionID: "INS-0001", TokenID: "TOK-0001"}
	if len(refs) == 0 {
		refs = []string{""}
	}
	for _, ref := range refs {
		req.Transactions = append(req.Transactions, TransactionData{TransactionReferenceID: ref,
			Amount: visa.MustParseAmount("129.99", "USD"), MerchantName: "Best Buy",
			MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"})
	}
	return req
}

// payloadClient answers every credentials call with a payload signed by
// Visa's (the test's) key from claims.
func payloadClient(t *testing.T, claims jwt.MapClaims, opts ...VerifierOption) *Client {
	t.Helper()
	f := newFakeVIC(t)
	rk, _ := testKeys(t)
	payload := sign(t, jwt.SigningMethodRS256, "k", rk[0], claims)
	f.answer = func(recorded) (int, any) {
		return 200, map[string]any{"clientReferenceId": "CR-p1", "instructionId": "INS-0001", "status": "COMPLETED", "signedPayload": payload}
	}
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, append([]VerifierOption{WithVerifierClock(func() time.Time { return t0 })}, opts...)...)
	require.NoError(t, err)
	c, err := New(f.config(t, nil), WithVerifier(v), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	return c
}

func dynamicData(c jwt.MapClaims) []any { return c["dynamicData"].([]any) }

// TestRetrieveCredentialsBindsThePayloadToTheRequest is the
// reproducer of the payload-binding flaw: a correctly signed payload without an instructionId, with
// another instruction's, or with a credential for a transaction the
// request never named, was accepted; each is now refused with a typed
// error, and no credential reaches the caller.
func TestRetrieveCredentialsBindsThePayloadToTheRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		req    CredentialsRequest
		mutate func(jwt.MapClaims)
		claim  string
		want   error
	}{
		{"no instructionId", credentialsRequestFor(), func(c jwt.MapClaims) { delete(c, "instructionId") },
			"instructionId", ErrInstructionMismatch},
		{"empty instructionId", credentialsRequestFor(), func(c jwt.MapClaims) { c["instructionId"] = "" },
			"instructionId", ErrInstructionMismatch},
		{"another instruction's", credentialsRequestFor(), func(c jwt.MapClaims) { c["instructionId"] = "INS-9999" },
			"instructionId", ErrInstructionMismatch},
		{"an unrequested transaction", credentialsRequestFor(), func(c jwt.MapClaims) {
			dynamicData(c)[0].(map[string]any)["transactionReferenceId"] = "TX-NEVER-ASKED"
		}, "dynamicData[0].transactionReferenceId", ErrTransactionMismatch},
		{"a transaction without reference", credentialsRequestFor(), func(c jwt.MapClaims) {
			delete(dynamicData(c)[0].(map[string]any), "transactionReferenceId")
		}, "dynamicData[0].transactionReferenceId", ErrTransactionMismatch},
		{"one requested, one not", credentialsRequestFor("TX-A"), func(c jwt.MapClaims) {
			d := dynamicData(c)[0].(map[string]any)
			d["transactionReferenceId"] = "TX-A"
			e := map[string]any{}
			for k, v := range d {
				e[k] = v
			}
			e["transactionReferenceId"] = "TX-B"
			c["dynamicData"] = []any{d, e}
		}, "dynamicData[1].transactionReferenceId", ErrTransactionMismatch},
		{"the same transaction twice", credentialsRequestFor("TX-A", "TX-B"), func(c jwt.MapClaims) {
			d := dynamicData(c)[0].(map[string]any)
			d["transactionReferenceId"] = "TX-A"
			c["dynamicData"] = []any{d, d}
		}, "dynamicData[1].transactionReferenceId", ErrTransactionMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			claims := claimsAt(t0)
			tt.mutate(claims)
			c := payloadClient(t, claims)
			resp, err := c.RetrieveCredentials(context.Background(), tt.req)
			require.Error(t, err)
			assert.Nil(t, resp, "no credential reaches the caller")
			assert.ErrorIs(t, err, ErrPayloadInvalid)
			assert.ErrorIs(t, err, tt.want)
			var ce *ClaimError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.claim, ce.Claim)
			sec := testutil.NewSecrets()
			sec.Add("token PAN", "4895370012348717")
			sec.AddDynamic("dynamic value", "417")
			sec.Check(t, "the error", err.Error(), testutil.Text)
		})
	}

	// The payload that matches is accepted, with several transactions too.
	claims := claimsAt(t0)
	d := dynamicData(claims)[0].(map[string]any)
	d["transactionReferenceId"] = "TX-A"
	e := map[string]any{}
	for k, v := range d {
		e[k] = v
	}
	e["transactionReferenceId"] = "TX-B"
	claims["dynamicData"] = []any{d, e}
	resp, err := payloadClient(t, claims).RetrieveCredentials(context.Background(), credentialsRequestFor("TX-A", "TX-B"))
	require.NoError(t, err)
	require.Len(t, resp.Credentials.DynamicData, 2)
	resp, err = payloadClient(t, claimsAt(t0)).RetrieveCredentials(context.Background(), credentialsRequestFor())
	require.NoError(t, err)
	assert.Equal(t, "INS-0001", resp.Credentials.DynamicData[0].TransactionReferenceID)
}

// TestRetrieveCredentialsUnverifiedIsBoundToo: without a key source the
// payload is forgeable, but still never used for another request.
func TestRetrieveCredentialsUnverifiedIsBoundToo(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	rk, _ := testKeys(t)
	claims := claimsAt(t0)
	claims["instructionId"] = "INS-9999"
	payload := sign(t, jwt.SigningMethodRS256, "k", rk[0], claims)
	f.answer = func(recorded) (int, any) {
		return 200, map[string]any{"clientReferenceId": "CR-p1", "instructionId": "INS-0001", "status": "COMPLETED", "signedPayload": payload}
	}
	c, err := New(f.config(t, nil), WithoutVerification())
	require.NoError(t, err)
	_, err = c.RetrieveCredentials(context.Background(), credentialsRequestFor())
	require.ErrorIs(t, err, ErrInstructionMismatch)
}

func TestVerifierRequiresIssuerAndAudience(t *testing.T) {
	t.Parallel()
	rk, _ := testKeys(t)
	keys := StaticKeys{"k": &rk[0].PublicKey}
	clock := WithVerifierClock(func() time.Time { return t0 })
	strict, err := NewVerifier(keys, clock, WithIssuer("vic-sandbox"), WithAudience("SBXCLIENT01"))
	require.NoError(t, err)
	lax, err := NewVerifier(keys, clock)
	require.NoError(t, err)
	tests := []struct {
		name   string
		mutate func(jwt.MapClaims)
		want   error
	}{
		{"as issued", func(jwt.MapClaims) {}, nil},
		{"aud as a list holding ours", func(c jwt.MapClaims) { c["aud"] = []string{"OTHER", "SBXCLIENT01"} }, nil},
		{"another issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, ErrIssuerMismatch},
		{"no issuer", func(c jwt.MapClaims) { delete(c, "iss") }, ErrIssuerMismatch},
		{"another audience", func(c jwt.MapClaims) { c["aud"] = "SOMEONE-ELSE" }, ErrAudienceMismatch},
		{"no audience", func(c jwt.MapClaims) { delete(c, "aud") }, ErrAudienceMismatch},
	}
	for _, tt := range tests {
		claims := claimsAt(t0)
		tt.mutate(claims)
		payload := sign(t, jwt.SigningMethodRS256, "k", rk[0], claims)
		_, err := strict.Verify(context.Background(), payload)
		if tt.want == nil {
			assert.NoError(t, err, tt.name)
		} else {
			assert.ErrorIs(t, err, tt.want, tt.name)
			assert.ErrorIs(t, err, ErrPayloadInvalid, tt.name)
		}
		// Unless required, Visa's unpublished iss and aud are not checked.
		_, err = lax.Verify(context.Background(), payload)
		assert.NoError(t, err, "%s, not required", tt.name)
	}
	_, err = NewVerifier(keys, WithIssuer(""))
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	_, err = NewVerifier(keys, WithAudience(""))
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
}

// TestConfigRequiresIssuerAndAudience: Config.SignedPayload.Issuer and
// Audience reach the verifier New builds.
func TestConfigRequiresIssuerAndAudience(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	rk, _ := testKeys(t)
	claims := claimsAt(t0)
	claims["aud"] = "SOMEONE-ELSE"
	payload := sign(t, jwt.SigningMethodRS256, "k", rk[0], claims)
	f.answer = func(recorded) (int, any) {
		return 200, map[string]any{"clientReferenceId": "CR-p1", "instructionId": "INS-0001", "status": "COMPLETED", "signedPayload": payload}
	}
	cfg := f.config(t, nil)
	cfg.SignedPayload = visa.SignedPayloadConfig{KeysPEM: pemOf(t, "PUBLIC KEY", mustPKIX(t, &rk[0].PublicKey)),
		Issuer: "vic-sandbox", Audience: cfg.VIC.ExternalClientID}
	c, err := New(cfg, WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	_, err = c.RetrieveCredentials(context.Background(), credentialsRequestFor())
	require.ErrorIs(t, err, ErrAudienceMismatch)
	var ce *ClaimError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, "aud", ce.Claim)
	assert.True(t, strings.HasPrefix(ce.Error(), "vic: signedPayload claim aud "))
}
