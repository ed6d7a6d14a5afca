package sandbox

import (
	"net/http"

	"github.com/vicgo/visa"
)

// tokenLocked finds a token for a VTS call; st.mu is held. It applies the
// DELETED and SUSPENDED rules unless allowInactive says otherwise.
func (s *Sandbox) tokenLocked(id string, allowDeleted, allowSuspended bool) (*token, *apiErr) {
	t, ok := s.st.tokens[id]
	switch {
	case !ok:
		return nil, errf(http.StatusNotFound, "notFound", "no such vProvisionedTokenID")
	case t.status == visa.TokenDeleted && !allowDeleted:
		return nil, badRequest("tokenDeleted", "the token was deleted")
	case t.status == visa.TokenSuspended && !allowSuspended:
		return nil, badRequest("tokenSuspended", "the token is suspended")
	}
	return t, nil
}

// getToken serves GET /vts/provisionedTokens/{id} (§5.7).
func (s *Sandbox) getToken(c *call) (any, *apiErr) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.tokenLocked(c.r.PathValue("id"), true, true)
	if e != nil {
		return nil, e
	}
	return tokenResponse(t, false), nil
}

type updateReasonRequest struct {
	UpdateReason *struct {
		ReasonCode string `json:"reasonCode"`
	} `json:"updateReason"`
}

func decodeUpdateReason(body []byte) *apiErr {
	var req updateReasonRequest
	if m := decode(body, &req); m != "" {
		return invalidParam("%s", m)
	}
	if req.UpdateReason == nil || req.UpdateReason.ReasonCode == "" {
		return invalidParam("updateReason.reasonCode is required")
	}
	return nil
}

// deleteToken serves PUT /vts/provisionedTokens/{id}/delete (§5.7).
func (s *Sandbox) deleteToken(c *call) (any, *apiErr) {
	if e := decodeUpdateReason(c.body); e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	t, e := s.tokenLocked(c.r.PathValue("id"), false, true)
	if e != nil {
		s.st.mu.Unlock()
		return nil, e
	}
	t.status, t.changed, t.binding, t.enrolled = visa.TokenDeleted, c.now, nil, false
	clear(t.stepUp)
	s.st.mu.Unlock()
	s.auth.ForgetToken(t.id)
	return nil, nil
}

// suspendToken serves PUT /vts/provisionedTokens/{id}/suspend (§5.7).
func (s *Sandbox) suspendToken(c *call) (any, *apiErr) {
	return s.transition(c, visa.TokenActive, visa.TokenSuspended)
}

// resumeToken serves PUT /vts/provisionedTokens/{id}/resume (§5.7).
func (s *Sandbox) resumeToken(c *call) (any, *apiErr) {
	return s.transition(c, visa.TokenSuspended, visa.TokenActive)
}

func (s *Sandbox) transition(c *call, from, to visa.TokenStatus) (any, *apiErr) {
	if e := decodeUpdateReason(c.body); e != nil {
		return nil, e
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t, e := s.tokenLocked(c.r.PathValue("id"), false, true)
	if e != nil {
		return nil, e
	}
	if t.status != from {
		return nil, badRequest("invalidTokenState", "the token is %s; only a %s token can become %s", t.status, from, to)
	}
	t.status, t.changed = to, c.now
	return nil, nil
}
