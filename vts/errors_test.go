package vts

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// TestInputRefusedBeforeSending: bad input gives a *visa.InputError
// naming the field, and no request reaches the server.
func TestInputRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	card := func(mut func(*Card)) Card {
		c := Card{PAN: mustPAN(t, testPAN), ExpirationDate: ExpirationDate{12, 2029}}
		mut(&c)
		return c
	}
	att := func(mut func(*AttestationOptionsRequest)) AttestationOptionsRequest {
		r := attestationRequest()
		mut(&r)
		return r
	}
	bind := func(mut func(*DeviceBindingRequest)) DeviceBindingRequest {
		r := bindingRequest()
		mut(&r)
		return r
	}
	prov := func(mut func(*ProvisionTokenRequest)) ProvisionTokenRequest {
		r := ProvisionTokenRequest{VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}}
		mut(&r)
		return r
	}
	otp := mustOTP(t, testOTP)
	tests := []struct {
		name  string
		field string
		call  func(*Client) error
	}{
		{"enroll: no PAN", "PAN", func(c *Client) error {
			_, err := c.EnrollPAN(ctx, EnrollPANRequest{Card: card(func(c *Card) { c.PAN = visa.PAN{} })})
			return err
		}},
		{"enroll: no expiry", "ExpirationDate", func(c *Client) error {
			_, err := c.EnrollPAN(ctx, EnrollPANRequest{Card: card(func(c *Card) { c.ExpirationDate = ExpirationDate{} })})
			return err
		}},
		{"enroll: month 13", "ExpirationDate.Month", func(c *Client) error {
			_, err := c.EnrollPAN(ctx, EnrollPANRequest{Card: card(func(c *Card) { c.ExpirationDate.Month = 13 })})
			return err
		}},
		{"enroll: two-digit year", "ExpirationDate.Year", func(c *Client) error {
			_, err := c.EnrollPAN(ctx, EnrollPANRequest{Card: card(func(c *Card) { c.ExpirationDate.Year = 29 })})
			return err
		}},
		{"enroll: long name", "Name", func(c *Client) error {
			_, err := c.EnrollPAN(ctx, EnrollPANRequest{Card: card(func(c *Card) { c.Name = strings.Repeat("x", 129) })})
			return err
		}},
		{"provision: no enrollment", "VPanEnrollmentID", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.VPanEnrollmentID = "" }))
			return err
		}},
		{"provision: no email", "Email", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.Email = "" }))
			return err
		}},
		{"provision: bad email", "Email", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.Email = "alice example.com" }))
			return err
		}},
		{"provision: email with space", "Email", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.Email = "al ice@example.com" }))
			return err
		}},
		{"provision: no expiry", "ExpirationDate", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.ExpirationDate = ExpirationDate{} }))
			return err
		}},
		{"provision: unnamed risk item", "RiskData.Name", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.RiskData = []RiskDataItem{{Value: "x"}} }))
			return err
		}},
		{"provision: empty presentation type", "PresentationType", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.PresentationType = []string{""} }))
			return err
		}},
		{"one-step: no PAN", "PAN", func(c *Client) error {
			_, err := c.ProvisionTokenWithPAN(ctx, ProvisionTokenWithPANRequest{Email: testEmail})
			return err
		}},
		{"one-step: no email", "Email", func(c *Client) error {
			_, err := c.ProvisionTokenWithPAN(ctx, ProvisionTokenWithPANRequest{Card: card(func(*Card) {})})
			return err
		}},
		{"get token: no id", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.GetToken(ctx, GetTokenRequest{})
			return err
		}},
		{"get token: id too long", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.GetToken(ctx, GetTokenRequest{VProvisionedTokenID: strings.Repeat("T", 257)})
			return err
		}},
		{"provision: email too long", "Email", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.Email = strings.Repeat("a", 250) + "@example.com" }))
			return err
		}},
		{"provision: two @", "Email", func(c *Client) error {
			_, err := c.ProvisionToken(ctx, prov(func(r *ProvisionTokenRequest) { r.Email = "a@b@example.com" }))
			return err
		}},
		{"delete: no id", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.DeleteToken(ctx, DeleteTokenRequest{})
			return err
		}},
		{"suspend: no id", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.SuspendToken(ctx, SuspendTokenRequest{})
			return err
		}},
		{"resume: no id", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.ResumeToken(ctx, ResumeTokenRequest{})
			return err
		}},
		{"enrollment: no id", "VPanEnrollmentID", func(c *Client) error {
			_, err := c.GetPANEnrollment(ctx, GetPANEnrollmentRequest{})
			return err
		}},
		{"content: no guid", "GUID", func(c *Client) error {
			_, err := c.GetContent(ctx, GetContentRequest{})
			return err
		}},
		{"attestation: no token", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.VProvisionedTokenID = "" }))
			return err
		}},
		{"attestation: no reference id", "ClientReferenceID", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.ClientReferenceID = "" }))
			return err
		}},
		{"attestation: reference id too long", "ClientReferenceID", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.ClientReferenceID = "CR-" + strings.Repeat("a", 34) }))
			return err
		}},
		{"attestation: reference id charset", "ClientReferenceID", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.ClientReferenceID = "CR_abc" }))
			return err
		}},
		{"attestation: no type", "Type", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.Type = "" }))
			return err
		}},
		{"attestation: bad reason", "ReasonCode", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.ReasonCode = "SHOPPING" }))
			return err
		}},
		{"attestation: amount at register", "Amount", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.Amount = visa.MustParseAmount("1.00", "USD") }))
			return err
		}},
		{"attestation: no secure token", "SessionContext.SecureToken", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.SessionContext = visa.SessionContext{} }))
			return err
		}},
		{"attestation: no browser data", "BrowserData", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.BrowserData = visa.BrowserData{} }))
			return err
		}},
		{"attestation: no merchant name", "MerchantIdentifier.MerchantName", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.MerchantIdentifier.MerchantName = "" }))
			return err
		}},
		{"attestation: no email", "Email", func(c *Client) error {
			_, err := c.AttestationOptions(ctx, att(func(r *AttestationOptionsRequest) { r.Email = "" }))
			return err
		}},
		{"binding: no token", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.VProvisionedTokenID = "" }))
			return err
		}},
		{"binding: no reference id", "ClientReferenceID", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.ClientReferenceID = "" }))
			return err
		}},
		{"binding: bad reason", "ReasonCode", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.ReasonCode = visa.ReasonPayment }))
			return err
		}},
		{"binding: no secure token", "SessionContext.SecureToken", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.SessionContext = visa.SessionContext{} }))
			return err
		}},
		{"binding: no email", "Email", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.Email = "" }))
			return err
		}},
		{"binding: bad expiry", "ExpirationDate.Month", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) { r.ExpirationDate.Month = 0 }))
			return err
		}},
		{"binding: risk data without expiry", "ExpirationDate", func(c *Client) error {
			_, err := c.DeviceBinding(ctx, bind(func(r *DeviceBindingRequest) {
				r.ExpirationDate = ExpirationDate{}
				r.DeviceRiskData = []RiskDataItem{{Name: "n", Value: "v"}}
			}))
			return err
		}},
		{"step-up: no token", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.SelectStepUpMethod(ctx, SelectStepUpMethodRequest{ClientReferenceID: "CR-1", StepUpRequestID: "SU-1"})
			return err
		}},
		{"step-up: no reference id", "ClientReferenceID", func(c *Client) error {
			_, err := c.SelectStepUpMethod(ctx, SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", StepUpRequestID: "SU-1"})
			return err
		}},
		{"step-up: no step-up request", "StepUpRequestID", func(c *Client) error {
			_, err := c.SelectStepUpMethod(ctx, SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-1"})
			return err
		}},
		{"otp: no code", "OTP", func(c *Client) error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-1"})
			return err
		}},
		{"otp: no reference id", "ClientReferenceID", func(c *Client) error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{VProvisionedTokenID: "TOK-1", OTP: otp})
			return err
		}},
		{"otp: no token", "VProvisionedTokenID", func(c *Client) error {
			_, err := c.ValidateOTP(ctx, ValidateOTPRequest{ClientReferenceID: "CR-1", OTP: otp})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := setup(t, 200, `{}`)
			err := tt.call(c)
			var ie *visa.InputError
			require.ErrorAs(t, err, &ie)
			assert.ErrorIs(t, err, visa.ErrInvalidInput)
			assert.Equal(t, tt.field, ie.Field)
			assert.Zero(t, f.hits(), "nothing may be sent")
		})
	}
}

func TestOwnedHeaderRefused(t *testing.T) {
	t.Parallel()
	c, f := setup(t, 200, `{}`)
	_, err := c.GetToken(context.Background(), GetTokenRequest{VProvisionedTokenID: "TOK-1"}, WithHeader("x-pay-token", "forged"))
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	assert.Zero(t, f.hits())
}

// TestErrorsMapToSentinels: VTS error bodies (docs/wire.md §10.1) reach
// the caller as *visa.APIError matching the visa sentinels.
func TestErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	otp := mustOTP(t, "111111")
	validate := func(c *Client) error {
		_, err := c.ValidateOTP(context.Background(), ValidateOTPRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-1", OTP: otp})
		return err
	}
	provision := func(c *Client) error {
		_, err := c.ProvisionToken(context.Background(), ProvisionTokenRequest{VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}})
		return err
	}
	getToken := func(c *Client) error {
		_, err := c.GetToken(context.Background(), GetTokenRequest{VProvisionedTokenID: "TOK-1"})
		return err
	}
	tests := []struct {
		name   string
		status int
		reason string
		call   func(*Client) error
		want   error
		op     string
	}{
		{"wrong OTP", 400, "invalidOtp", validate, visa.ErrOTPInvalid, "vts.ValidateOTP"},
		{"expired OTP", 400, "otpExpired", validate, visa.ErrOTPExpired, "vts.ValidateOTP"},
		{"OTP attempts", 400, "otpAttemptsExceeded", validate, visa.ErrOTPLimitExceeded, "vts.ValidateOTP"},
		{"OTP requests", 400, "otpRequestsExceeded", func(c *Client) error {
			_, err := c.SelectStepUpMethod(context.Background(), SelectStepUpMethodRequest{VProvisionedTokenID: "TOK-1", ClientReferenceID: "CR-1", StepUpRequestID: "SU-1"})
			return err
		}, visa.ErrOTPLimitExceeded, "vts.SelectStepUpMethod"},
		{"unknown token", 404, "notFound", getToken, visa.ErrNotFound, "vts.GetToken"},
		{"deleted token", 400, "tokenDeleted", getToken, visa.ErrTokenInactive, "vts.GetToken"},
		{"suspended token", 400, "tokenSuspended", func(c *Client) error {
			_, err := c.AttestationOptions(context.Background(), attestationRequest())
			return err
		}, visa.ErrTokenInactive, "vts.AttestationOptions"},
		{"expired enrollment", 400, "enrollmentExpired", provision, visa.ErrEnrollmentExpired, "vts.ProvisionToken"},
		{"used enrollment", 409, "enrollmentAlreadyUsed", provision, visa.ErrConflict, "vts.ProvisionToken"},
		{"declined card", 400, "provisioningDeclined", provision, visa.ErrCardDeclined, "vts.ProvisionToken"},
		{"expired card", 400, "cardExpired", func(c *Client) error {
			// A future expiry: the answer comes from Visa (test card 4000000000000069).
			_, err := c.EnrollPAN(context.Background(), EnrollPANRequest{Card: Card{PAN: mustPAN(t, testPAN), ExpirationDate: ExpirationDate{12, 2090}}})
			return err
		}, visa.ErrCardExpired, "vts.EnrollPAN"},
		{"session consumed", 400, "sessionInvalid", func(c *Client) error {
			_, err := c.DeviceBinding(context.Background(), bindingRequest())
			return err
		}, visa.ErrSessionInvalid, "vts.DeviceBinding"},
		{"step-up first", 400, "stepUpRequired", func(c *Client) error {
			_, err := c.AttestationOptions(context.Background(), attestationRequest())
			return err
		}, visa.ErrStepUpRequired, "vts.AttestationOptions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, tt.status, `{"errorResponse":{"status":`+strconv.Itoa(tt.status)+`,"reason":"`+tt.reason+`","message":"from the fake","ref":null}}`)
			err := tt.call(c)
			require.ErrorIs(t, err, tt.want)
			var ae *visa.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.reason, ae.Reason)
			assert.Equal(t, tt.status, ae.HTTPStatus)
			var oe *visa.OperationError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.op, oe.Operation)
			assert.Equal(t, "corr-1", ae.CorrelationID)
			assert.Equal(t, "corr-1", oe.Meta.CorrelationID)
			assert.Equal(t, tt.status, oe.Meta.StatusCode)
		})
	}
}

// TestMalformedReplies: a 200 that lacks what the wire promises is an
// error wrapping visa.ErrMalformedResponse, not a half-filled result.
func TestMalformedReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		call  func(*Client) error
	}{
		{"enroll without id", `{}`, func(c *Client) error {
			_, err := c.EnrollPAN(context.Background(), EnrollPANRequest{Card: Card{PAN: mustPAN(t, testPAN), ExpirationDate: ExpirationDate{12, 2029}}})
			return err
		}},
		{"provision without token", `{"tokenInfo":{}}`, func(c *Client) error {
			_, err := c.ProvisionToken(context.Background(), ProvisionTokenRequest{VPanEnrollmentID: "E", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}})
			return err
		}},
		{"token without status", `{"vProvisionedTokenID":"TOK-1"}`, func(c *Client) error {
			_, err := c.GetToken(context.Background(), GetTokenRequest{VProvisionedTokenID: "TOK-1"})
			return err
		}},
		{"binding with unknown status", `{"status":"MAYBE"}`, func(c *Client) error {
			_, err := c.DeviceBinding(context.Background(), bindingRequest())
			return err
		}},
		{"challenge without methods", `{"status":"CHALLENGE","stepUpRequest":[]}`, func(c *Client) error {
			_, err := c.DeviceBinding(context.Background(), bindingRequest())
			return err
		}},
		{"attestation without action", `{"authenticationContext":{}}`, func(c *Client) error {
			_, err := c.AttestationOptions(context.Background(), attestationRequest())
			return err
		}},
		{"step-up without expiry", `{"maxOTPRequestsAllowed":3}`, func(c *Client) error {
			_, err := c.SelectStepUpMethod(context.Background(), SelectStepUpMethodRequest{VProvisionedTokenID: "T", ClientReferenceID: "CR-1", StepUpRequestID: "S"})
			return err
		}},
		{"step-up with a word for a number", `{"maxOTPRequestsAllowed":"three","codeExpiration":1767225900}`, func(c *Client) error {
			_, err := c.SelectStepUpMethod(context.Background(), SelectStepUpMethodRequest{VProvisionedTokenID: "T", ClientReferenceID: "CR-1", StepUpRequestID: "S"})
			return err
		}},
		{"content without renditions", `{"content":[]}`, func(c *Client) error {
			_, err := c.GetContent(context.Background(), GetContentRequest{GUID: "G"})
			return err
		}},
		{"expiry that is not a number", `{"vProvisionedTokenID":"T","tokenInfo":{"tokenStatus":"ACTIVE","expirationDate":{"month":"XII"}}}`, func(c *Client) error {
			_, err := c.GetToken(context.Background(), GetTokenRequest{VProvisionedTokenID: "T"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, 200, tt.reply)
			assert.ErrorIs(t, tt.call(c), visa.ErrMalformedResponse)
		})
	}
}

func TestNewRequiresCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field string
		clear func(*visa.VTSCredentials)
	}{
		{"VTS.ClientAppID", func(v *visa.VTSCredentials) { v.ClientAppID = "" }},
		{"VTS.ClientWalletAccountID", func(v *visa.VTSCredentials) { v.ClientWalletAccountID = "" }},
		{"VTS.EncAPIKey", func(v *visa.VTSCredentials) { v.EncAPIKey = visa.Secret{} }},
		{"VTS.EncSharedSecret", func(v *visa.VTSCredentials) { v.EncSharedSecret = visa.Secret{} }},
		{"VTS.HashSecret", func(v *visa.VTSCredentials) { v.HashSecret = visa.Secret{} }},
		{"VTS.APIKey", func(v *visa.VTSCredentials) { v.APIKey = visa.Secret{} }},
		{"VTS.SharedSecret", func(v *visa.VTSCredentials) { v.SharedSecret = visa.Secret{} }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("http://127.0.0.1:1", nil)
			tt.clear(&cfg.VTS)
			c, err := New(cfg)
			assert.Nil(t, c)
			var ie *visa.InputError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.field, ie.Field)
			assert.Contains(t, ie.Reason, "(set VISA_", "validated once by visa.Config.ValidateFor, which names the variable")
		})
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	cfg := testConfig("http://127.0.0.1:1", nil)
	for _, opt := range []Option{
		WithClock(nil),
		WithLifecyclePaths("vts/x/{}/suspend", DefaultResumePath),
		WithLifecyclePaths(DefaultSuspendPath, "/vts/x/resume"),
		WithLifecyclePaths(DefaultSuspendPath, "/vts/{}/{}/resume"),
		WithLifecyclePaths(DefaultSuspendPath, "/vts/{}/resume?x=1"),
	} {
		_, err := New(cfg, opt)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
	}
	_, err := New(visa.Config{VTSBaseURL: "http://example.com", VTS: cfg.VTS})
	assert.Error(t, err, "plain http only on loopback (transport)")
	c, err := New(cfg, nil, WithClock(time.Now))
	require.NoError(t, err)
	assert.Equal(t, "vts.Client{clientAppID: SBXAPP01}", c.String())
}

func TestNewClientReferenceID(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		id := visa.NewClientReferenceID()
		require.Len(t, id, 35)
		require.True(t, strings.HasPrefix(id, "CR-"))
		require.True(t, check.ReferenceID(id))
		_, err := resolveRefID(id, "")
		require.NoError(t, err, "a fresh id passes the wire's rule")
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestExpirationDateJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ExpirationDate
		bad  bool
	}{
		{`{"month":"12","year":"2029"}`, ExpirationDate{12, 2029}, false},
		{`{"month":3,"year":2031}`, ExpirationDate{3, 2031}, false},
		{`{"month":"03","year":"31"}`, ExpirationDate{3, 2031}, false},
		{`{}`, ExpirationDate{}, false},
		{`{"month":true}`, ExpirationDate{}, true},
		{`[]`, ExpirationDate{}, true},
	}
	for _, tt := range tests {
		var e ExpirationDate
		err := e.UnmarshalJSON([]byte(tt.in))
		if tt.bad {
			assert.True(t, errors.Is(err, visa.ErrMalformedResponse), tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, e, tt.in)
	}
	assert.Equal(t, "03/2031", ExpirationDate{3, 2031}.String())
}
