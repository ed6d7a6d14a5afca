package mcpserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
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
//
// How a question reaches the user depends on the protocol version the
// client speaks. Before 2026-07-28 the server sends elicitation/create
// while the tool call runs (ServerSession.Elicit). From 2026-07-28 on a
// server may not: the tool answers "input required" with the questions
// (CallToolResult.InputRequests) and a signed RequestState naming the
// journey, and the client calls the tool again with the answers
// (multi round-trip requests). The retry may reach any server instance
// sharing the store: the journey is read from the store, and the state
// carries nothing but its id, its owner, a round count and an expiry.

// elicitTimeout bounds one question to the user (a synchronous
// elicitation, before protocol 2026-07-28).
const elicitTimeout = 5 * time.Minute

// maxElicitRounds bounds the questions of one tool call (counting the
// rounds of a multi round-trip call).
const maxElicitRounds = 6

// entryPoll is how often a call waiting for the card-entry page reads the
// journey record.
const entryPoll = 100 * time.Millisecond

// clientElicitation says which elicitation modes the caller's client
// declared.
func clientElicitation(c caller) (form, url bool) {
	if c.caps == nil || c.caps.Elicitation == nil {
		return false, false
	}
	e := c.caps.Elicitation
	// A client declaring neither mode supports forms (the capability
	// before modes existed).
	return e.Form != nil || e.URL == nil, e.URL != nil
}

// inputRequired is the answer of a tool that needs the user's input on a
// client that speaks protocol 2026-07-28 or later: the questions and the
// state to echo. The tool handler turns it into an input-required result.
type inputRequired struct {
	requests mcp.InputRequestMap
	state    string
}

func (e *inputRequired) Error() string { return "the tool needs the user's input" }

// pending is what a multi round-trip call carries between its rounds
// (signed, in RequestState): the journey (or card-entry link) it works
// on, whose it is, how many questions it asked and until when it holds.
type pending struct {
	// Journey is the journey id, or empty with Link.
	Journey string `json:"j,omitempty"`
	// Link is the card-entry link's token, while the card is awaited.
	Link    string `json:"l,omitempty"`
	User    string `json:"u"`
	Round   int    `json:"r"`
	Expires int64  `json:"x"`
}

func (s *Server) signState(p pending) string {
	p.Expires = s.now().Add(elicitTimeout).Unix()
	return sign(s.stateKey, p)
}

// sign is v as JSON, base64url, a dot and its HMAC-SHA-256 under key.
func sign(key []byte, v any) string {
	body, _ := json.Marshal(v)
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errSigned = errors.New("not signed by this server")

// openSigned checks token's HMAC under key and decodes it into v.
func openSigned(key []byte, token string, v any) error {
	b64, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return errSigned
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return errSigned
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)) || json.Unmarshal(body, v) != nil {
		return errSigned
	}
	return nil
}

// openState verifies a RequestState this server family signed for the
// caller.
func (s *Server) openState(ctx context.Context, token string) (pending, error) {
	var p pending
	if err := openSigned(s.stateKey, token, &p); err != nil || s.now().Unix() >= p.Expires {
		return pending{}, argErr("requestState", "is not a state of this server or has expired: call the tool again without it")
	}
	if p.User != owner(ctx) {
		return pending{}, argErr("requestState", "is not a state of this server or has expired: call the tool again without it")
	}
	return p, nil
}

// ask puts one question to the user: at once before protocol 2026-07-28,
// else as an input request of this call, answered by the call's retry.
// st is the state the retry needs. A nil result means the user could not
// be asked (the client failed).
func (s *Server) ask(ctx context.Context, id string, params *mcp.ElicitParams, st pending) (*mcp.ElicitResult, error) {
	c := callerFrom(ctx)
	if c.roundTrips {
		if r, ok := c.responses[id].(*mcp.ElicitResult); ok {
			return r, nil
		}
		return nil, &inputRequired{requests: mcp.InputRequestMap{id: params}, state: s.signState(st)}
	}
	if c.session == nil {
		return nil, nil
	}
	ectx, cancel := context.WithTimeout(ctx, elicitTimeout)
	defer cancel()
	r, err := c.session.Elicit(ectx, params)
	if err != nil {
		s.logger.WarnContext(ctx, "mcpserver: elicitation failed", "mode", params.Mode, "error", errorText(err))
		return nil, nil
	}
	return r, nil
}

// dismissed is the note of a result whose question the user dismissed.
const dismissed = "The user dismissed the question in their client: the journey still waits. "

// elicitSteps asks the user, through form elicitation, the step-up method
// and the code an add-card journey waits for, and continues it with the
// answers. It stops at the first question the user dismisses (note says
// so) or the client fails, and returns where the journey stands; err is
// an *inputRequired for a client that answers by calling again.
func (s *Server) elicitSteps(ctx context.Context, j *agent.Journey, round int) (_ *agent.Journey, note string, err error) {
	if form, _ := clientElicitation(callerFrom(ctx)); !form {
		return j, "", nil
	}
	for ; round < maxElicitRounds; round++ {
		if j.Status != store.JourneyWaiting || j.Next == nil {
			return j, "", nil
		}
		var ans agent.Answer
		st := pending{Journey: j.ID, User: owner(ctx), Round: round + 1}
		switch n := j.Next; n.Action {
		case agent.ActionChooseOTPMethod:
			var names []any
			msg := "Where should Visa send your one-time code?"
			for _, m := range n.Methods {
				names = append(names, m.Method)
				msg += "\n" + m.Method + ": " + m.Value
			}
			res, err := s.ask(ctx, "method:"+n.PromptID, &mcp.ElicitParams{Mode: "form", Message: msg,
				RequestedSchema: map[string]any{"type": "object", "required": []any{"method"},
					"properties": map[string]any{"method": map[string]any{"type": "string", "title": "Send the code by", "enum": names}}}}, st)
			if err != nil || res == nil {
				return j, "", err
			}
			if res.Action != "accept" {
				return j, dismissed, nil
			}
			name, _ := res.Content["method"].(string)
			for _, m := range n.Methods {
				if m.Method == name {
					ans.Method = m.Identifier
				}
			}
			if ans.Method == "" {
				return j, "", nil
			}
		case agent.ActionEnterOTP:
			if n.AttemptsLeft == 0 {
				return j, "", nil // only a new code helps: the agent decides with the user
			}
			msg := "Enter the code Visa sent to " + n.Destination + "."
			if n.LastError != nil {
				_, why := plain(n.LastError)
				msg = why + " " + msg
			}
			res, err := s.ask(ctx, "code:"+n.PromptID, &mcp.ElicitParams{Mode: "form", Message: msg,
				RequestedSchema: map[string]any{"type": "object", "required": []any{"code"},
					"properties": map[string]any{"code": map[string]any{"type": "string", "title": "One-time code",
						"minLength": 4, "maxLength": 8, "pattern": "^[0-9]+$"}}}}, st)
			if err != nil || res == nil {
				return j, "", err
			}
			if res.Action != "accept" {
				return j, dismissed, nil
			}
			code, _ := res.Content["code"].(string)
			otp, perr := visa.ParseOTP(code)
			if perr != nil {
				return j, "", nil
			}
			ans.OTP = otp
		default:
			return j, "", nil
		}
		ans.PromptID, ans.UserID = j.Next.PromptID, owner(ctx)
		next, cerr := s.agent.Continue(ctx, j.ID, ans)
		if cerr != nil {
			if cur, gerr := s.agent.GetJourney(ctx, j.ID); gerr == nil {
				return cur, "", nil
			}
			return j, "", nil
		}
		j = next
	}
	return j, "", nil
}
