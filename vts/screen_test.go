package vts

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

// TestIDsAreScreened pastes a card number into every id, reference, email
// and merchant field that goes into a path or a body: each is refused with
// a *visa.InputError naming the field and not the number, and nothing is
// sent.
func TestIDsAreScreened(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, tokenReply)
	ctx := context.Background()
	const pan = "4111111111111111"
	spaced, dashed := "4111 1111 1111 1111", "4111-1111-1111-1111"
	otp, err := visa.ParseOTP("917364")
	require.NoError(t, err)
	for _, tc := range []struct {
		field string
		call  func() error
	}{
		{"VProvisionedTokenID", func() error { _, err := c.GetToken(ctx, GetTokenRequest{VProvisionedTokenID: pan}); return err }},
		{"VProvisionedTokenID", func() error { _, err := c.DeleteToken(ctx, DeleteTokenRequest{VProvisionedTokenID: pan}); return err }},
		{"VProvisionedTokenID", func() error { _, err := c.SuspendToken(ctx, SuspendTokenRequest{VProvisionedTokenID: pan}); return err }},
		{"VProvisionedTokenID", func() error { _, err := c.ResumeToken(ctx, ResumeTokenRequest{VProvisionedTokenID: pan}); return err }},
		{"VPanEnrollmentID", func() error {
			_, err := c.GetPANEnrollment(ctx, GetPANEnrollmentRequest{VPanEnrollmentID: "enr-" + pan})
			return err
		}},
		{"VPanEnrollmentID", func() error {
			_, err := c.ProvisionToken(ctx, ProvisionTokenRequest{VPanEnrollmentID: pan, Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}})
			return err
		}},
		{"Email", func() error {
			_, err := c.ProvisionToken(ctx, ProvisionTokenRequest{VPanEnrollmentID: "ENR-1", Email: pan + "@example.com", ExpirationDate: ExpirationDate{12, 2029}})
			return err
		}},
		{"GUID", func() error { _, err := c.GetContent(ctx, GetContentRequest{GUID: pan}); return err }},
		{"VProvisionedTokenID", func() error {
			r := attestationRequest()
			r.VProvisionedTokenID = pan
			_, err := c.AttestationOptions(ctx, r)
			return err
		}},
		{"ClientReferenceID", func() error {
			r := attestationRequest()
			r.ClientReferenceID = dashed
			_, err := c.AttestationOptions(ctx, r)
			return err
		}},
		{"MerchantIdentifier.MerchantName", func() error {
			r := attestationRequest()
			r.MerchantIdentifier.MerchantName = "card " + spaced
			_, err := c.AttestationOptions(ctx, r)
			return err
		}},
		{"MerchantIdentifier.ApplicationURL", func() error {
			r := attestationRequest()
			r.MerchantIdentifier.ApplicationURL = "https://shop.example/" + pan
			_, err := c.AttestationOptions(ctx, r)
			return err
		}},
		{"MerchantIdentifier.ExternalClientID", func() error {
			r := attestationRequest()
			r.MerchantIdentifier.ExternalClientID = pan
			_, err := c.AttestationOptions(ctx, r)
			return err
		}},
		{"VProvisionedTokenID", func() error {
			r := bindingRequest()
			r.VProvisionedTokenID = pan
			_, err := c.DeviceBinding(ctx, r)
			return err
		}},
		{"StepUpRequestID", func() error {
			_, err := c.SelectStepUpMethod(ctx, SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-abc", StepUpRequestID: pan})
			return err
		}},
		{"VProvisionedTokenID", func() error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{VProvisionedTokenID: pan, ClientReferenceID: "CR-abc", OTP: otp})
			return err
		}},
		{"ClientReferenceID", func() error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{VProvisionedTokenID: "TOK-1", OTP: otp}, WithClientReferenceID(dashed))
			return err
		}},
	} {
		err := tc.call()
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, tc.field)
		assert.Equal(t, tc.field, ie.Field)
		assert.Equal(t, "looks like a card number", ie.Reason, tc.field)
		s := testutil.NewSecrets()
		for _, v := range []string{pan, spaced, dashed, "41111111"} {
			s.Add("card number", v)
		}
		s.Check(t, "the refusal of "+tc.field, fmt.Sprintf("%v %+v %#v", err, err, err), testutil.Text)
	}
	assert.Zero(t, f.hits(), "no request left the client")
}
