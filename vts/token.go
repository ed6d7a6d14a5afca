package vts

import (
	"context"
	"net/http"

	"github.com/vicgo/visa"

	"github.com/vicgo/visa/internal/transport"
)

// DefaultUpdateReason is the updateReason.reasonCode of delete, suspend and
// resume when the request leaves ReasonCode empty.
const DefaultUpdateReason = "CUSTOMER_CONFIRMED"

// GetTokenRequest names a token.
type GetTokenRequest struct {
	VProvisionedTokenID string
}

// GetTokenResponse is a token's status, last four digits and expiry.
type GetTokenResponse struct {
	visa.ResponseMeta   `json:"-"`
	VProvisionedTokenID string    `json:"vProvisionedTokenID"`
	TokenInfo           TokenInfo `json:"tokenInfo"`
}

// GetToken calls GET /vts/provisionedTokens/{vProvisionedTokenID}: the
// token's status (ACTIVE after step-up, journey step 7). A read: retried on
// 429, 5xx and network errors.
//
// Errors: visa.ErrNotFound (unknown token).
func (c *Client) GetToken(ctx context.Context, req GetTokenRequest, opts ...CallOption) (*GetTokenResponse, error) {
	if err := required("VProvisionedTokenID", req.VProvisionedTokenID); err != nil {
		return nil, fail("vts.GetToken", err)
	}
	out := new(GetTokenResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/provisionedTokens/{vProvisionedTokenID}", PathParams: []string{req.VProvisionedTokenID}}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, out.TokenInfo.TokenStatus != "")
}

// DeleteTokenRequest names the token to delete and why.
type DeleteTokenRequest struct {
	VProvisionedTokenID string
	// ReasonCode defaults to DefaultUpdateReason.
	ReasonCode string
}

// DeleteTokenResponse acknowledges a deletion.
type DeleteTokenResponse struct {
	visa.ResponseMeta `json:"-"`
}

// DeleteToken calls PUT /vts/provisionedTokens/{vProvisionedTokenID}/delete.
// The token becomes DELETED for good. A write: never retried once it may
// have reached Visa.
//
// Errors: visa.ErrNotFound (unknown token), visa.ErrTokenInactive
// (tokenDeleted: already deleted).
func (c *Client) DeleteToken(ctx context.Context, req DeleteTokenRequest, opts ...CallOption) (*DeleteTokenResponse, error) {
	out := new(DeleteTokenResponse)
	res, err := c.updateToken(ctx, "vts.DeleteToken", "/vts/provisionedTokens/{vProvisionedTokenID}/delete", req.VProvisionedTokenID, req.ReasonCode, opts)
	return finish(out, &out.ResponseMeta, res, err, true)
}

// SuspendTokenRequest names the token to suspend and why.
type SuspendTokenRequest struct {
	VProvisionedTokenID string
	// ReasonCode defaults to DefaultUpdateReason.
	ReasonCode string
}

// SuspendTokenResponse acknowledges a suspension.
type SuspendTokenResponse struct {
	visa.ResponseMeta `json:"-"`
}

// SuspendToken calls PUT /vts/provisionedTokens/{vProvisionedTokenID}/suspend
// (the path is inferred, docs/wire.md §5.7; see WithLifecyclePaths). Only
// an ACTIVE token can be suspended; a SUSPENDED one is refused by
// attestation, device binding and VIC until resumed. A write: never
// retried once it may have reached Visa.
//
// Errors: visa.ErrNotFound, visa.ErrTokenInactive (invalidTokenState,
// tokenDeleted).
func (c *Client) SuspendToken(ctx context.Context, req SuspendTokenRequest, opts ...CallOption) (*SuspendTokenResponse, error) {
	out := new(SuspendTokenResponse)
	res, err := c.updateToken(ctx, "vts.SuspendToken", c.suspendPath, req.VProvisionedTokenID, req.ReasonCode, opts)
	return finish(out, &out.ResponseMeta, res, err, true)
}

// ResumeTokenRequest names the token to resume and why.
type ResumeTokenRequest struct {
	VProvisionedTokenID string
	// ReasonCode defaults to DefaultUpdateReason.
	ReasonCode string
}

// ResumeTokenResponse acknowledges a resumption.
type ResumeTokenResponse struct {
	visa.ResponseMeta `json:"-"`
}

// ResumeToken calls PUT /vts/provisionedTokens/{vProvisionedTokenID}/resume
// (the path is inferred, docs/wire.md §5.7; see WithLifecyclePaths). Only
// a SUSPENDED token can be resumed; it becomes ACTIVE again. A write:
// never retried once it may have reached Visa.
//
// Errors: visa.ErrNotFound, visa.ErrTokenInactive (invalidTokenState,
// tokenDeleted).
func (c *Client) ResumeToken(ctx context.Context, req ResumeTokenRequest, opts ...CallOption) (*ResumeTokenResponse, error) {
	out := new(ResumeTokenResponse)
	res, err := c.updateToken(ctx, "vts.ResumeToken", c.resumePath, req.VProvisionedTokenID, req.ReasonCode, opts)
	return finish(out, &out.ResponseMeta, res, err, true)
}

// updateToken sends the {"updateReason":{"reasonCode":...}} body shared
// by delete, suspend and resume.
func (c *Client) updateToken(ctx context.Context, op, path, id, reason string, opts []CallOption) (visa.ResponseMeta, error) {
	if err := required("VProvisionedTokenID", id); err != nil {
		return visa.ResponseMeta{Operation: op}, &visa.OperationError{Operation: op, Err: err}
	}
	var body wireUpdateToken
	body.UpdateReason.ReasonCode = or(reason, DefaultUpdateReason)
	return c.do(ctx, &transport.Request{Op: op, Method: http.MethodPut, Path: path, PathParams: []string{id}, Body: &body}, nil, collect(opts))
}
