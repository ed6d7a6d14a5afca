package mcpserver

import (
	"context"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/store"
)

// Elicitation: where the client supports it, the server asks the user
// directly (the step-up method and the one-time code through a form; the
// card through the card-entry page in URL mode), so the answers never pass
// through the model. The card number and CVV2 are never asked through a
// form. Without elicitation, the -continue tools remain.

// elicitTimeout bounds one question to the user.
const elicitTimeout = 5 * time.Minute

// maxElicitRounds bounds the questions of one tool call.
const maxElicitRounds = 6

func formElicitation(ss *mcp.ServerSession) bool {
	if ss == nil {
		return false
	}
	p := ss.InitializeParams()
	if p == nil || p.Capabilities == nil || p.Capabilities.Elicitation == nil {
		return false
	}
	e := p.Capabilities.Elicitation
	return e.Form != nil || e.URL == nil
}

func urlElicitation(ss *mcp.ServerSession) bool {
	if ss == nil {
		return false
	}
	p := ss.InitializeParams()
	return p != nil && p.Capabilities != nil && p.Capabilities.Elicitation != nil && p.Capabilities.Elicitation.URL != nil
}

// elicitSteps asks the user, through form elicitation, the step-up method
// and the code an add-card journey waits for, and continues it with the
// answers. It stops at the first question the user dismisses or the
// client fails, and returns where the journey stands.
func (s *Server) elicitSteps(ctx context.Context, j *agent.Journey) *agent.Journey {
	ss := callerFrom(ctx).session
	if !formElicitation(ss) {
		return j
	}
	for range maxElicitRounds {
		if j.Status != store.JourneyWaiting || j.Next == nil {
			return j
		}
		var ans agent.Answer
		switch n := j.Next; n.Action {
		case agent.ActionChooseOTPMethod:
			var names []any
			for _, m := range n.Methods {
				names = append(names, m.Method)
			}
			msg := "Where should Visa send your one-time code?"
			for _, m := range n.Methods {
				msg += "\n" + m.Method + ": " + m.Value
			}
			res, ok := elicit(ctx, ss, msg, map[string]any{"type": "object", "required": []any{"method"},
				"properties": map[string]any{"method": map[string]any{"type": "string", "title": "Send the code by", "enum": names}}})
			if !ok {
				return j
			}
			name, _ := res["method"].(string)
			for _, m := range n.Methods {
				if m.Method == name {
					ans.Method = m.Identifier
				}
			}
			if ans.Method == "" {
				return j
			}
		case agent.ActionEnterOTP:
			if n.AttemptsLeft == 0 {
				return j // only a new code helps: the agent decides with the user
			}
			msg := "Enter the code Visa sent to " + n.Destination + "."
			if n.LastError != nil {
				_, why := plain(n.LastError)
				msg = why + " " + msg
			}
			res, ok := elicit(ctx, ss, msg, map[string]any{"type": "object", "required": []any{"code"},
				"properties": map[string]any{"code": map[string]any{"type": "string", "title": "One-time code",
					"minLength": 4, "maxLength": 8, "pattern": "^[0-9]+$"}}})
			if !ok {
				return j
			}
			code, _ := res["code"].(string)
			otp, err := visa.ParseOTP(code)
			if err != nil {
				return j
			}
			ans.OTP = otp
		default:
			return j
		}
		ans.PromptID, ans.UserID = j.Next.PromptID, owner(ctx)
		next, err := s.agent.Continue(ctx, j.ID, ans)
		if err != nil {
			if cur, gerr := s.agent.GetJourney(ctx, j.ID); gerr == nil {
				return cur
			}
			return j
		}
		j = next
	}
	return j
}

// elicit asks one form question; ok is false unless the user answered.
func elicit(ctx context.Context, ss *mcp.ServerSession, msg string, schema map[string]any) (map[string]any, bool) {
	ctx, cancel := context.WithTimeout(ctx, elicitTimeout)
	defer cancel()
	res, err := ss.Elicit(ctx, &mcp.ElicitParams{Mode: "form", Message: msg, RequestedSchema: schema})
	if err != nil || res == nil || res.Action != "accept" {
		return nil, false
	}
	return res.Content, true
}

// elicitations remembers the sessions that opened a card-entry page in URL
// mode, to tell them when the card arrived (best effort: only the instance
// that asked can notify).
type elicitations struct {
	mu sync.Mutex
	m  map[string]*mcp.ServerSession
}

func newElicitations() *elicitations { return &elicitations{m: map[string]*mcp.ServerSession{}} }

func (e *elicitations) add(id string, ss *mcp.ServerSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.m) > 10000 {
		clear(e.m)
	}
	e.m[id] = ss
}

func (e *elicitations) done(ctx context.Context, id string) {
	e.mu.Lock()
	ss := e.m[id]
	delete(e.m, id)
	e.mu.Unlock()
	if ss != nil {
		_ = ss.NotifyElicitationComplete(ctx, &mcp.ElicitationCompleteParams{ElicitationID: id})
	}
}
