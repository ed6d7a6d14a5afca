package vts_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vts"
)

// TestSandboxOnboardingAndPurchase walks journey steps 1 to 12 on the
// sandbox, then the token's lifecycle.
func TestSandboxOnboardingAndPurchase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	card := e.card(cardHappy)

	// Step 1, with card metadata and art.
	enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
	require.NoError(t, err)
	assert.NotEmpty(t, enr.VPanEnrollmentID)
	assert.Equal(t, "1111", enr.PaymentInstrument.Last4)
	assert.Equal(t, card.ExpirationDate, enr.PaymentInstrument.ExpirationDate)
	md, err := e.c.GetPANEnrollment(ctx, vts.GetPANEnrollmentRequest{VPanEnrollmentID: enr.VPanEnrollmentID})
	require.NoError(t, err)
	art := md.CardMetaData.CardArt()
	require.NotEmpty(t, art)
	content, err := e.c.GetContent(ctx, vts.GetContentRequest{GUID: art[0].GUID})
	require.NoError(t, err)
	img, err := content.Content[0].Data()
	require.NoError(t, err)
	assert.NotEmpty(t, img)
	assert.NotEmpty(t, content.Content[0].MimeType)

	// Step 2.
	tok, err := e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: card.ExpirationDate})
	require.NoError(t, err)
	assert.NotEmpty(t, tok.VProvisionedTokenID)
	assert.NotEmpty(t, tok.TokenReferenceID)
	assert.Equal(t, visa.TokenInactive, tok.TokenInfo.TokenStatus)
	require.Len(t, tok.TokenInfo.Last4, 4)
	assert.NotEqual(t, "1111", tok.TokenInfo.Last4, "the token's last 4, not the card's")
	assert.False(t, tok.TokenInfo.ExpirationDate.IsZero())
	id := tok.VProvisionedTokenID

	// Steps 3 and 4: the probe says REGISTER (no passkey yet).
	s, err := e.openSession(ctx)
	require.NoError(t, err)
	ref := visa.NewClientReferenceID()
	probe, err := e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionAuthenticate, visa.Amount{}))
	require.NoError(t, err)
	assert.Equal(t, visa.ActionRegister, probe.AuthenticationContext.Action)

	// Steps 5 to 7.
	bind, err := e.c.DeviceBinding(ctx, s.binding(id, ref))
	require.NoError(t, err)
	require.Equal(t, vts.BindingChallenge, bind.Status)
	methods := map[string]string{}
	for _, r := range bind.StepUpRequest {
		methods[r.Method] = r.Identifier
	}
	require.Contains(t, methods, vts.MethodOTPSMS)
	require.Contains(t, methods, vts.MethodOTPEmail)
	sel, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: methods[vts.MethodOTPSMS]})
	require.NoError(t, err)
	assert.Equal(t, 3, sel.MaxOTPRequestsAllowed)
	assert.Equal(t, 3, sel.MaxOTPVerificationAllowed)
	assert.True(t, sel.CodeExpiration.Equal(e.clock.Now().Add(5*time.Minute)), "OTP valid 5 minutes: %v", sel.CodeExpiration)
	_, err = e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)})
	require.NoError(t, err)
	got, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenActive, got.TokenInfo.TokenStatus)
	assert.Equal(t, tok.TokenInfo.Last4, got.TokenInfo.Last4)

	// Steps 8 and 9: register the passkey; the session is then consumed.
	reg, err := e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionRegister, visa.Amount{}))
	require.NoError(t, err)
	require.Equal(t, visa.ActionRegister, reg.AuthenticationContext.Action)
	assert.NotEmpty(t, reg.AuthenticationContext.Payload)
	assert.NotEmpty(t, reg.AuthenticationContext.Identifier)
	blob, err := s.authenticate(ctx, reg.AuthenticationContext)
	require.NoError(t, err)
	assert.False(t, blob.IsZero())
	_, err = e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionRegister, visa.Amount{}))
	assert.ErrorIs(t, err, visa.ErrSessionInvalid, "the secureToken is single use")

	// Steps 10 to 12: a purchase authenticates with the passkey.
	p, err := e.openSession(ctx)
	require.NoError(t, err)
	pay, err := e.c.AttestationOptions(ctx, p.attestation(id, visa.NewClientReferenceID(), visa.ActionAuthenticate, visa.MustParseAmount("129.99", "USD")))
	require.NoError(t, err)
	require.Equal(t, visa.ActionAuthenticate, pay.AuthenticationContext.Action)
	blob, err = p.authenticate(ctx, pay.AuthenticationContext)
	require.NoError(t, err)
	assert.False(t, blob.IsZero())

	// Lifecycle: suspend blocks attestation, resume restores, delete ends.
	_, err = e.c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	got, err = e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenSuspended, got.TokenInfo.TokenStatus)
	q, err := e.openSession(ctx)
	require.NoError(t, err)
	_, err = e.c.AttestationOptions(ctx, q.attestation(id, visa.NewClientReferenceID(), visa.ActionAuthenticate, visa.MustParseAmount("1.00", "USD")))
	assert.ErrorIs(t, err, visa.ErrTokenInactive)
	_, err = e.c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id})
	assert.ErrorIs(t, err, visa.ErrTokenInactive, "only an ACTIVE token can be suspended")
	_, err = e.c.ResumeToken(ctx, vts.ResumeTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	got, err = e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenActive, got.TokenInfo.TokenStatus)
	_, err = e.c.ResumeToken(ctx, vts.ResumeTokenRequest{VProvisionedTokenID: id})
	assert.ErrorIs(t, err, visa.ErrTokenInactive, "only a SUSPENDED token can be resumed")

	_, err = e.c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	got, err = e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenDeleted, got.TokenInfo.TokenStatus)
	_, err = e.c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id})
	assert.ErrorIs(t, err, visa.ErrTokenInactive)
	_, err = e.c.DeviceBinding(ctx, q.binding(id, visa.NewClientReferenceID()))
	assert.ErrorIs(t, err, visa.ErrTokenInactive)
}

func TestSandboxProvisionTokenWithPAN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	tok, err := e.c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: e.card(cardHappy), Email: email})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenInactive, tok.TokenInfo.TokenStatus)
	assert.NotEmpty(t, tok.TokenReferenceID)

	_, err = e.c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: e.card(cardDeclined), Email: email})
	assert.ErrorIs(t, err, visa.ErrCardDeclined)
	_, err = e.c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: e.card(cardExpired), Email: email})
	assert.ErrorIs(t, err, visa.ErrCardExpired)
}

// TestSandboxApprovedWithoutOTP: test card 4012888888881881 binds without
// a step-up; REGISTER follows at once.
func TestSandboxApprovedWithoutOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	tok, err := e.provision(ctx, cardApproved)
	require.NoError(t, err)
	s, err := e.openSession(ctx)
	require.NoError(t, err)
	ref := visa.NewClientReferenceID()
	b, err := e.c.DeviceBinding(ctx, s.binding(tok.VProvisionedTokenID, ref))
	require.NoError(t, err)
	assert.Equal(t, vts.BindingApproved, b.Status)
	assert.Empty(t, b.StepUpRequest)
	got, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: tok.VProvisionedTokenID})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenActive, got.TokenInfo.TokenStatus)
	reg, err := e.c.AttestationOptions(ctx, s.attestation(tok.VProvisionedTokenID, ref, visa.ActionRegister, visa.Amount{}))
	require.NoError(t, err)
	assert.Equal(t, visa.ActionRegister, reg.AuthenticationContext.Action)
}

// stepUp provisions a token and runs the probe and device binding, up to
// the OTP choice.
func stepUp(t *testing.T, e *env) (tokenID, ref, stepUpID string) {
	t.Helper()
	ctx := context.Background()
	tok, err := e.provision(ctx, cardHappy)
	require.NoError(t, err)
	s, err := e.openSession(ctx)
	require.NoError(t, err)
	ref = visa.NewClientReferenceID()
	b, err := e.c.DeviceBinding(ctx, s.binding(tok.VProvisionedTokenID, ref))
	require.NoError(t, err)
	require.Equal(t, vts.BindingChallenge, b.Status)
	return tok.VProvisionedTokenID, ref, b.StepUpRequest[0].Identifier
}

func TestSandboxWrongOTPThreeTimesLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	id, ref, su := stepUp(t, e)
	_, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: su})
	require.NoError(t, err)
	validate := func(code string) error {
		_, err := e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(code)})
		return err
	}
	for range 3 {
		assert.ErrorIs(t, validate("111111"), visa.ErrOTPInvalid)
	}
	assert.ErrorIs(t, validate(sandbox.GoldenOTP), visa.ErrOTPLimitExceeded, "locked after three wrong codes, even for the right one")
	got, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	require.NoError(t, err)
	assert.Equal(t, visa.TokenInactive, got.TokenInfo.TokenStatus)

	// A new OTP unlocks.
	_, err = e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: su})
	require.NoError(t, err)
	require.NoError(t, validate(sandbox.GoldenOTP))
}

func TestSandboxOTPRequestLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	id, ref, su := stepUp(t, e)
	req := vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: su}
	for range 3 {
		_, err := e.c.SelectStepUpMethod(ctx, req)
		require.NoError(t, err)
	}
	_, err := e.c.SelectStepUpMethod(ctx, req)
	assert.ErrorIs(t, err, visa.ErrOTPLimitExceeded)
}

func TestSandboxExpiredOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	id, ref, su := stepUp(t, e)
	sel, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: su})
	require.NoError(t, err)
	e.clock.Set(sel.CodeExpiration.Add(time.Second))
	_, err = e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)})
	assert.ErrorIs(t, err, visa.ErrOTPExpired)
}

func TestSandboxEnrollmentFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	card := e.card(cardHappy)
	provision := func(id string) error {
		_, err := e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: id, Email: email, ExpirationDate: card.ExpirationDate})
		return err
	}

	t.Run("expired enrollment", func(t *testing.T) {
		enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
		require.NoError(t, err)
		e.clock.Advance(6 * time.Minute)
		assert.ErrorIs(t, provision(enr.VPanEnrollmentID), visa.ErrEnrollmentExpired)
	})
	t.Run("enrollment used twice", func(t *testing.T) {
		enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
		require.NoError(t, err)
		require.NoError(t, provision(enr.VPanEnrollmentID))
		assert.ErrorIs(t, provision(enr.VPanEnrollmentID), visa.ErrConflict)
	})
	t.Run("unknown enrollment", func(t *testing.T) {
		assert.ErrorIs(t, provision("ENR-does-not-exist"), visa.ErrNotFound)
		_, err := e.c.GetPANEnrollment(ctx, vts.GetPANEnrollmentRequest{VPanEnrollmentID: "ENR-does-not-exist"})
		assert.ErrorIs(t, err, visa.ErrNotFound)
	})
	t.Run("declined card", func(t *testing.T) {
		_, err := e.provision(ctx, cardDeclined)
		assert.ErrorIs(t, err, visa.ErrCardDeclined)
	})
	t.Run("expired test card", func(t *testing.T) {
		_, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: e.card(cardExpired)})
		assert.ErrorIs(t, err, visa.ErrCardExpired)
	})
	t.Run("expiry in the past", func(t *testing.T) {
		c := e.card(cardHappy)
		c.ExpirationDate = vts.ExpirationDate{Month: 1, Year: e.clock.Now().Year() - 1}
		_, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: c})
		assert.ErrorIs(t, err, visa.ErrCardExpired)
	})
	t.Run("not a Visa PAN", func(t *testing.T) {
		_, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: e.card("5555555555554444")})
		assert.ErrorIs(t, err, visa.ErrInvalidRequest)
	})
	t.Run("wrong expiry at provisioning", func(t *testing.T) {
		enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
		require.NoError(t, err)
		_, err = e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email,
			ExpirationDate: vts.ExpirationDate{Month: 1, Year: card.ExpirationDate.Year}})
		assert.ErrorIs(t, err, visa.ErrInvalidRequest)
	})
}

func TestSandboxUnknownToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	s, err := e.openSession(ctx)
	require.NoError(t, err)
	const id = "TOK-does-not-exist"
	ref := visa.NewClientReferenceID()
	calls := map[string]func() error{
		"GetToken": func() error {
			_, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
			return err
		},
		"DeleteToken": func() error {
			_, err := e.c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id})
			return err
		},
		"SuspendToken": func() error {
			_, err := e.c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id})
			return err
		},
		"ResumeToken": func() error {
			_, err := e.c.ResumeToken(ctx, vts.ResumeTokenRequest{VProvisionedTokenID: id})
			return err
		},
		"AttestationOptions": func() error {
			_, err := e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionAuthenticate, visa.Amount{}))
			return err
		},
		"DeviceBinding": func() error {
			_, err := e.c.DeviceBinding(ctx, s.binding(id, ref))
			return err
		},
		"GetContent": func() error {
			_, err := e.c.GetContent(ctx, vts.GetContentRequest{GUID: "GUID-does-not-exist"})
			return err
		},
	}
	for name, call := range calls {
		assert.ErrorIs(t, call(), visa.ErrNotFound, name)
	}
}

// TestSandboxOutOfOrder: calls made before their step are refused with
// errors a caller can branch on.
func TestSandboxOutOfOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	tok, err := e.provision(ctx, cardHappy)
	require.NoError(t, err)
	id := tok.VProvisionedTokenID
	s, err := e.openSession(ctx)
	require.NoError(t, err)
	ref := visa.NewClientReferenceID()

	_, err = e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionRegister, visa.Amount{}))
	assert.ErrorIs(t, err, visa.ErrStepUpRequired, "REGISTER before step-up")
	_, err = e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)})
	assert.ErrorIs(t, err, visa.ErrInvalidRequest, "OTP before device binding")
	_, err = e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: "SU-unknown"})
	assert.ErrorIs(t, err, visa.ErrNotFound, "step-up before device binding")

	b, err := e.c.DeviceBinding(ctx, s.binding(id, ref))
	require.NoError(t, err)
	_, err = e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)})
	assert.ErrorIs(t, err, visa.ErrInvalidRequest, "OTP before an OTP was requested")
	_, err = e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: visa.NewClientReferenceID(), StepUpRequestID: b.StepUpRequest[0].Identifier})
	assert.ErrorIs(t, err, visa.ErrInvalidRequest, "another flow's reference id")
	_, err = e.c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id})
	assert.ErrorIs(t, err, visa.ErrTokenInactive, "an INACTIVE token cannot be suspended")
	_, err = e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionAuthenticate, visa.MustParseAmount("10.00", "USD")))
	assert.ErrorIs(t, err, visa.ErrTokenInactive, "a purchase on an INACTIVE token")
}
