package mcpserver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
)

func TestLowLevelTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := newUser(30)
	p := ok[mcpserver.ProvisionResult](t, e, "provision-token-given-pan-data", map[string]any{"card": cardArgs(testPAN), "email": u.email})
	require.NotEmpty(t, p.VProvisionedTokenID)
	assert.Equal(t, "INACTIVE", p.Status)
	assert.Len(t, p.Last4, 4)
	assert.NotEmpty(t, p.ClientReferenceID)

	st := ok[mcpserver.TokenStatusResult](t, e, "get-token-status", map[string]any{"vProvisionedTokenId": p.VProvisionedTokenID})
	assert.Equal(t, "INACTIVE", st.Status)
	assert.Equal(t, p.Last4, st.Last4)

	d := ok[mcpserver.DeleteTokenResult](t, e, "delete-token", map[string]any{"vProvisionedTokenId": p.VProvisionedTokenID})
	assert.Equal(t, "DELETED", d.Status)
	assert.False(t, d.RemovedFromStore, "provisioning alone stores nothing")

	st = ok[mcpserver.TokenStatusResult](t, e, "get-token-status", map[string]any{"vProvisionedTokenId": p.VProvisionedTokenID})
	assert.Equal(t, "DELETED", st.Status)
	// Visa's refusal is a tool error with its reason.
	assert.NotEmpty(t, fails(t, e, "delete-token", map[string]any{"vProvisionedTokenId": p.VProvisionedTokenID}))
	e.storeIsEmpty(t, u.id)
	e.assertNoSecrets(t)
}

// TestLowLevelSixteenSteps walks the whole journey with the low-level
// tools alone, as an agent that drives the steps itself would.
func TestLowLevelSixteenSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := newUser(31)

	// Steps 1-2.
	p := ok[mcpserver.ProvisionResult](t, e, "provision-token-given-pan-data", map[string]any{"card": cardArgs(testPAN), "email": u.email})
	tok, crid := p.VProvisionedTokenID, p.ClientReferenceID

	// Steps 3-4: a session and the probe.
	a := ok[mcpserver.AttestationResult](t, e, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "action": "AUTHENTICATE", "consumerId": u.id, "email": u.email})
	require.NotEmpty(t, a.SessionHandle)
	assert.Equal(t, "REGISTER", a.Action, "no passkey on this device yet")

	// Steps 5-7: device binding with OTP step-up.
	b := ok[mcpserver.DeviceBindingResult](t, e, "device-binding-request", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "sessionHandle": a.SessionHandle, "email": u.email, "expiryMonth": 12, "expiryYear": 2030})
	require.Equal(t, "CHALLENGE", b.Status)
	require.NotEmpty(t, b.StepUpMethods)
	su := ok[mcpserver.StepUpResult](t, e, "submit-idv-step-up-method", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "stepUpRequestId": b.StepUpMethods[0].StepUpRequestID})
	assert.Equal(t, "CODE_SENT", su.Status)
	assert.Positive(t, su.MaxOTPVerifications)
	assert.Contains(t, fails(t, e, "validate-otp", map[string]any{"vProvisionedTokenId": tok, "clientReferenceId": crid, "otp": "111111"}), "otp_invalid")
	v := ok[mcpserver.StatusResult](t, e, "validate-otp", map[string]any{"vProvisionedTokenId": tok, "clientReferenceId": crid, "otp": sandbox.GoldenOTP})
	assert.Equal(t, "VALIDATED", v.Status)
	st := ok[mcpserver.TokenStatusResult](t, e, "get-token-status", map[string]any{"vProvisionedTokenId": tok})
	assert.Equal(t, "ACTIVE", st.Status)

	// Steps 8-9: register a passkey on the same session, enroll in VIC.
	reg := ok[mcpserver.AttestationResult](t, e, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "action": "REGISTER", "sessionHandle": a.SessionHandle, "email": u.email})
	assert.Equal(t, a.SessionHandle, reg.SessionHandle)
	pk := ok[mcpserver.PasskeyResult](t, e, "authenticate-passkey", map[string]any{"sessionHandle": reg.SessionHandle})
	assert.Equal(t, "REGISTER", pk.Ceremony)
	// The session's secureToken is spent.
	assert.Contains(t, fails(t, e, "authenticate-passkey", map[string]any{"sessionHandle": reg.SessionHandle}), "invalid argument sessionHandle")
	en := ok[mcpserver.EnrollCardResult](t, e, "enroll-card", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": pk.AssuranceHandle, "consumer": u.args()})
	assert.Equal(t, "ACTIVE", en.Status)
	// An assurance is single use.
	assert.Contains(t, fails(t, e, "enroll-card", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": pk.AssuranceHandle, "consumer": u.args()}), "invalid argument assuranceHandle")

	// Steps 10-12: a fresh session, attestation for the amount and merchant, assertion.
	assure := func(amount string) string {
		pa := ok[mcpserver.AttestationResult](t, e, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
			"clientReferenceId": "CR-purchase-1", "action": "AUTHENTICATE", "consumerId": u.id, "email": u.email,
			"amount": amount, "currency": "USD", "merchant": map[string]any{"name": "Best Buy", "url": "https://www.bestbuy.com"}})
		require.Equal(t, "AUTHENTICATE", pa.Action)
		as := ok[mcpserver.PasskeyResult](t, e, "authenticate-passkey", map[string]any{"sessionHandle": pa.SessionHandle})
		require.Equal(t, "AUTHENTICATE", as.Ceremony)
		return as.AssuranceHandle
	}
	mandate := func(amount string) []any {
		return []any{map[string]any{"description": "Noise-cancelling headphones", "amount": amount, "currency": "USD",
			"merchantName": "Best Buy", "merchantCategoryCode": "5732"}}
	}

	// Step 13.
	ins := ok[mcpserver.InstructionResult](t, e, "initiate-purchase-instruction", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": assure("129.99"), "consumerId": u.id, "consumerPrompt": "buy the Sony headphones", "mandates": mandate("129.99")})
	require.NotEmpty(t, ins.InstructionID)
	assert.Equal(t, "ACTIVE", ins.Status)
	require.Len(t, ins.MandateIDs, 1)

	// Step 14: masked by default.
	cr := ok[mcpserver.CredentialsResult](t, e, "retrieve-payment-credentials", map[string]any{"instructionId": ins.InstructionID,
		"vProvisionedTokenId": tok, "transactions": []any{map[string]any{"amount": "129.99", "currency": "USD",
			"merchant": merchantArgs(), "mandateIds": ins.MandateIDs}}})
	require.Len(t, cr.Credentials, 1)
	assert.True(t, cr.Verified)
	c := cr.Credentials[0]
	assert.False(t, c.Revealed)
	assert.Empty(t, c.PaymentTokenNumber)
	assert.Empty(t, c.DynamicDataValue)
	assert.Regexp(t, `^\*\*\*\*\d{4}$`, c.PaymentToken)

	// Step 16 (the merchant of step 15 is the agent's business).
	cf := ok[mcpserver.ConfirmResult](t, e, "confirm-transaction-events", map[string]any{"instructionId": ins.InstructionID,
		"clientReferenceId": ins.ClientReferenceID, "confirmations": []any{map[string]any{"transactionReferenceId": c.TransactionReferenceID, "dynamicDataId": c.DynamicDataID,
			"status": "APPROVED", "amount": "129.99", "currency": "USD", "responseCode": "00", "authorizationCode": "A1B2C3"}}})
	assert.Equal(t, "CONFIRMED", cf.Status)
	assert.Equal(t, 1, e.sbx.Inspect().ConfirmationsPerInstruction[ins.InstructionID])

	// Another instruction: updated with a fresh assertion, then cancelled.
	ins2 := ok[mcpserver.InstructionResult](t, e, "initiate-purchase-instruction", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": assure("50.00"), "consumerId": u.id, "mandates": mandate("50.00")})
	up := ok[mcpserver.InstructionResult](t, e, "update-purchase-instruction", map[string]any{"instructionId": ins2.InstructionID,
		"vProvisionedTokenId": tok, "assuranceHandle": assure("60.00"), "consumerId": u.id, "mandates": mandate("60.00")})
	assert.Equal(t, "ACTIVE", up.Status)
	cn := ok[mcpserver.InstructionResult](t, e, "cancel-purchase-instruction", map[string]any{"instructionId": ins2.InstructionID, "consumerId": u.id})
	assert.Equal(t, "CANCELLED", cn.Status)
	assert.NotEmpty(t, fails(t, e, "cancel-purchase-instruction", map[string]any{"instructionId": ins2.InstructionID, "consumerId": u.id}))

	// A low-level card can be deleted like any other.
	d := ok[mcpserver.DeleteTokenResult](t, e, "delete-token", map[string]any{"vProvisionedTokenId": tok})
	assert.Equal(t, "DELETED", d.Status)
	e.assertNoSecrets(t)
	pan, found := e.sbx.TokenPAN(tok)
	require.True(t, found)
	e.assertNoSecrets(t, pan)
}

func TestLowLevelRevealsCredentialsWhenConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mcpserver.WithRevealCredentials(true))
	u := newUser(32)
	c := e.addCard(t, u, sandbox.CardNoStepUp)
	tok := c.Card.TokenID
	pa := ok[mcpserver.AttestationResult](t, e, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": "CR-purchase-2", "action": "AUTHENTICATE", "consumerId": u.id, "email": u.email,
		"amount": "20.00", "currency": "USD", "merchant": map[string]any{"name": "Best Buy", "url": "https://www.bestbuy.com"}})
	require.Equal(t, "AUTHENTICATE", pa.Action, "the journey's device and the low-level default device are the same")
	as := ok[mcpserver.PasskeyResult](t, e, "authenticate-passkey", map[string]any{"sessionHandle": pa.SessionHandle})
	ins := ok[mcpserver.InstructionResult](t, e, "initiate-purchase-instruction", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": as.AssuranceHandle, "consumerId": u.id,
		"mandates": []any{map[string]any{"description": "Cable", "amount": "20.00", "currency": "USD"}}})
	cr := ok[mcpserver.CredentialsResult](t, e, "retrieve-payment-credentials", map[string]any{"instructionId": ins.InstructionID,
		"vProvisionedTokenId": tok, "transactions": []any{map[string]any{"amount": "20.00", "currency": "USD", "merchant": merchantArgs()}}})
	require.Len(t, cr.Credentials, 1)
	cred := cr.Credentials[0]
	assert.True(t, cred.Revealed)
	pan, found := e.sbx.TokenPAN(tok)
	require.True(t, found)
	assert.Equal(t, pan, cred.PaymentTokenNumber)
	assert.NotEmpty(t, cred.DynamicDataValue)
}
