package vts

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// SelectStepUpMethodRequest chooses how the consumer receives the OTP
// (journey step 6).
type SelectStepUpMethodRequest struct {
	VProvisionedTokenID string
	// ClientReferenceID must be the one of the DeviceBinding call. It may
	// come from the WithClientReferenceID call option instead.
	ClientReferenceID string
	// StepUpRequestID is the Identifier of the chosen StepUpRequest.
	StepUpRequestID string
	// Date is the request time; zero means the client's clock.
	Date time.Time
}

// SelectStepUpMethodResponse gives the OTP limits and the code's expiry.
type SelectStepUpMethodResponse struct {
	visa.ResponseMeta `json:"-"`
	// MaxOTPRequestsAllowed is how many OTPs may be requested per binding.
	MaxOTPRequestsAllowed int
	// MaxOTPVerificationAllowed is how many wrong codes are tolerated
	// before a new OTP is needed.
	MaxOTPVerificationAllowed int
	// CodeExpiration is when the OTP stops being valid.
	CodeExpiration time.Time
}

// SelectStepUpMethod calls PUT /vts/provisionedTokens/{vProvisionedTokenID}/stepUpOptions/method
// (Step 6): Visa sends the OTP. Each call is one OTP request. A write:
// never retried once it may have reached Visa.
//
// Errors: visa.ErrNotFound (stepUpRequestNotFound: no binding, or a stale
// identifier), visa.ErrOTPLimitExceeded (otpRequestsExceeded),
// visa.ErrInvalidRequest (clientReferenceMismatch).
func (c *Client) SelectStepUpMethod(ctx context.Context, req SelectStepUpMethodRequest, opts ...CallOption) (*SelectStepUpMethodResponse, error) {
	co := collect(opts)
	body, err := c.selectStepUpBody(req, co.refID)
	if err != nil {
		return nil, fail("vts.SelectStepUpMethod", err)
	}
	var w wireStepUpMethodResponse
	res, err := c.do(ctx, &transport.Request{Op: "vts.SelectStepUpMethod", Method: http.MethodPut, Path: "/vts/provisionedTokens/{vProvisionedTokenID}/stepUpOptions/method", PathParams: []string{req.VProvisionedTokenID}, Body: body}, &w, co)
	out := &SelectStepUpMethodResponse{MaxOTPRequestsAllowed: int(w.MaxOTPRequestsAllowed), MaxOTPVerificationAllowed: int(w.MaxOTPVerificationAllowed), CodeExpiration: codeExpiration(int64(w.CodeExpiration), c.now())}
	return finish(out, &out.ResponseMeta, res, err, !out.CodeExpiration.IsZero())
}

func (c *Client) selectStepUpBody(req SelectStepUpMethodRequest, optRef string) (*wireSelectStepUpMethod, error) {
	if err := required("VProvisionedTokenID", req.VProvisionedTokenID); err != nil {
		return nil, err
	}
	ref, err := resolveRefID(req.ClientReferenceID, optRef)
	if err != nil {
		return nil, err
	}
	if err := required("StepUpRequestID", req.StepUpRequestID); err != nil {
		return nil, err
	}
	return &wireSelectStepUpMethod{ClientReferenceID: ref, StepUpRequestID: req.StepUpRequestID, Date: c.date(req.Date), ClientAppID: c.clientAppID}, nil
}

// codeExpiration reads codeExpiration (docs/wire.md §11.2): absolute epoch
// seconds; a value below 10^6 is minutes from the response time; a value
// of 10^12 or more is epoch milliseconds. Zero (absent) gives the zero
// time.
func codeExpiration(v int64, received time.Time) time.Time {
	switch {
	case v <= 0:
		return time.Time{}
	case v < 1_000_000:
		return received.Add(time.Duration(v) * time.Minute).Truncate(time.Second)
	case v >= 1_000_000_000_000:
		return time.UnixMilli(v)
	}
	return time.Unix(v, 0)
}

// date is the "date" of step-up calls: epoch seconds as a string.
func (c *Client) date(t time.Time) string {
	if t.IsZero() {
		t = c.now()
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// ValidateOTPRequest submits the code the consumer received (journey step 7).
type ValidateOTPRequest struct {
	VProvisionedTokenID string
	// ClientReferenceID must be the one of DeviceBinding and
	// SelectStepUpMethod. It may come from the WithClientReferenceID call
	// option instead.
	ClientReferenceID string
	// OTP is the code; it is never printed or logged.
	OTP visa.OTP
	// Date is the request time; zero means the client's clock.
	Date time.Time
}

// ValidateOTPResponse acknowledges a correct code: the token is ACTIVE
// and the device's step-up is satisfied.
type ValidateOTPResponse struct {
	visa.ResponseMeta `json:"-"`
}

// ValidateOTP calls POST /vts/provisionedTokens/{vProvisionedTokenID}/stepUpOptions/validateOTP
// (Step 7). An empty 200 body, like {}, is success. A write: never
// retried once it may have reached Visa (each wrong code costs an attempt).
//
// Errors: visa.ErrOTPInvalid (invalidOtp), visa.ErrOTPExpired (otpExpired),
// visa.ErrOTPLimitExceeded (otpAttemptsExceeded: request a new OTP),
// visa.ErrInvalidRequest (noActiveChallenge, clientReferenceMismatch).
func (c *Client) ValidateOTP(ctx context.Context, req ValidateOTPRequest, opts ...CallOption) (*ValidateOTPResponse, error) {
	co := collect(opts)
	body, err := c.validateOTPBody(req, co.refID)
	if err != nil {
		return nil, fail("vts.ValidateOTP", err)
	}
	out := new(ValidateOTPResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.ValidateOTP", Method: http.MethodPost, Path: "/vts/provisionedTokens/{vProvisionedTokenID}/stepUpOptions/validateOTP", PathParams: []string{req.VProvisionedTokenID}, Body: body}, nil, co)
	return finish(out, &out.ResponseMeta, res, err, true)
}

func (c *Client) validateOTPBody(req ValidateOTPRequest, optRef string) (*wireValidateOTP, error) {
	if err := required("VProvisionedTokenID", req.VProvisionedTokenID); err != nil {
		return nil, err
	}
	ref, err := resolveRefID(req.ClientReferenceID, optRef)
	if err != nil {
		return nil, err
	}
	if req.OTP.IsZero() {
		return nil, visa.NewInputError("OTP", "is required")
	}
	return &wireValidateOTP{ClientReferenceID: ref, OTPValue: req.OTP.Reveal(), Date: c.date(req.Date), ClientAppID: c.clientAppID}, nil
}
