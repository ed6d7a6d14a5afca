package vts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vicgo/visa/internal/testutil"

	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vts"
)

// TestSecretHygiene runs a full flow with failures, the client logging at
// debug, and checks that no PAN (card or token), CVV2, OTP, secureToken,
// fidoBlob, api key, shared secret or email reaches the log, an error, or
// the printed form of a request or response.
func TestSecretHygiene(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logs := &testutil.LogBuffer{}
	e := newEnv(t, func(c *visa.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const cvv2, wrongOTP = "947", "902183"
	var seen []string // errors and printed values
	note := func(vs ...any) {
		for _, v := range vs {
			if err, ok := v.(error); ok && err != nil {
				seen = append(seen, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
				continue
			}
			b, _ := json.Marshal(v)
			seen = append(seen, fmt.Sprintf("%v|%+v|%#v|%s", v, v, v, b))
		}
	}
	var secrets []string

	card := e.card(cardHappy)
	card.CVV2 = mustCVV2(cvv2)
	enrReq := vts.EnrollPANRequest{Card: card}
	enr, err := e.c.EnrollPAN(ctx, enrReq)
	require.NoError(t, err)
	note(enrReq, enr)
	tok, err := e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: card.ExpirationDate})
	require.NoError(t, err)
	note(tok)
	id := tok.VProvisionedTokenID
	tokenPAN, ok := e.sb.TokenPAN(id)
	require.True(t, ok)
	secrets = append(secrets, tokenPAN)

	s, err := e.openSession(ctx)
	require.NoError(t, err)
	secrets = append(secrets, s.Session.SecureToken.Reveal())
	ref := visa.NewClientReferenceID()
	attReq := s.attestation(id, ref, visa.ActionAuthenticate, visa.Amount{})
	probe, err := e.c.AttestationOptions(ctx, attReq)
	require.NoError(t, err)
	note(attReq.SessionContext, probe)
	bindReq := s.binding(id, ref)
	b, err := e.c.DeviceBinding(ctx, bindReq)
	require.NoError(t, err)
	note(bindReq.SessionContext, b)
	sel := vts.SelectStepUpMethodRequest{VProvisionedTokenID: id, ClientReferenceID: ref, StepUpRequestID: b.StepUpRequest[0].Identifier}
	_, err = e.c.SelectStepUpMethod(ctx, sel)
	require.NoError(t, err)
	bad := vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(wrongOTP)}
	_, err = e.c.ValidateOTP(ctx, bad)
	require.ErrorIs(t, err, visa.ErrOTPInvalid)
	note(err, bad)
	good := vts.ValidateOTPRequest{VProvisionedTokenID: id, ClientReferenceID: ref, OTP: mustOTP(sandbox.GoldenOTP)}
	_, err = e.c.ValidateOTP(ctx, good)
	require.NoError(t, err)
	note(good)
	reg, err := e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionRegister, visa.Amount{}))
	require.NoError(t, err)
	blob, err := s.authenticate(ctx, reg.AuthenticationContext)
	require.NoError(t, err)
	secrets = append(secrets, blob.Reveal())
	_, err = e.c.AttestationOptions(ctx, s.attestation(id, ref, visa.ActionRegister, visa.Amount{}))
	require.ErrorIs(t, err, visa.ErrSessionInvalid)
	note(err)

	// Failures whose requests carry secrets.
	_, err = e.provision(ctx, cardDeclined)
	require.ErrorIs(t, err, visa.ErrCardDeclined)
	note(err)
	_, err = e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: e.card("5555555555554444")})
	require.Error(t, err)
	note(err)
	e.clock.Advance(time.Hour)
	_, err = e.c.DeviceBinding(ctx, bindReq)
	require.ErrorIs(t, err, visa.ErrSessionInvalid)
	note(err)
	_, err = vts.New(visa.Config{VTSBaseURL: "http://example.com", VTS: e.sb.Config().VTS})
	require.Error(t, err)
	note(err)

	secrets = append(secrets, cardHappy, cardDeclined, "5555555555554444", email,
		sandbox.VTSAPIKey, sandbox.VTSSharedSecret, sandbox.EncAPIKey, sandbox.EncSharedSecret, sandbox.HashSecret)
	out := logs.String()
	require.Contains(t, out, "vts.ValidateOTP", "the client logged at debug")
	require.Contains(t, strings.Join(seen, "\n"), "****1111", "the printed requests were collected")
	hay := out + "\n" + strings.Join(seen, "\n")
	// The shared scanner: long values as substrings, the short codes as
	// whole words, so a duration such as "1.947ms" cannot match by chance.
	sc := testutil.NewSecrets()
	for _, sec := range secrets {
		require.NotEmpty(t, sec)
		sc.Add("secret", sec)
	}
	// Named, not printed: a failure message must not show the code itself.
	sc.Add("cvv2", cvv2)
	sc.Add("wrong OTP", wrongOTP)
	sc.Add("golden OTP", sandbox.GoldenOTP)
	sc.Check(t, "the logs and printed requests", hay, testutil.Text)
}
