package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
)

// protocols are the two ways a server asks a client: elicitation/create
// during the call (before 2026-07-28), and input-required results the
// client answers by calling again (the go-sdk client's default).
var protocols = []struct{ name, version string }{
	{"multi-round-trip", ""},
	{"2025-11-25", "2025-11-25"},
}

// elicitor is a client's user: it answers each question with answer and
// records every question, answer and completion notice.
type elicitor struct {
	answer func(p *mcp.ElicitParams) *mcp.ElicitResult

	mu        sync.Mutex
	asked     []*mcp.ElicitParams
	completed []string
	wire      []string
}

func (el *elicitor) questions() []*mcp.ElicitParams {
	el.mu.Lock()
	defer el.mu.Unlock()
	return append([]*mcp.ElicitParams(nil), el.asked...)
}

func (el *elicitor) transcript() string {
	el.mu.Lock()
	defer el.mu.Unlock()
	return strings.Join(el.wire, "\n")
}

func (el *elicitor) completions() []string {
	el.mu.Lock()
	defer el.mu.Unlock()
	return append([]string(nil), el.completed...)
}

// connect connects a client with el as its user, declaring the given
// elicitation modes and speaking protocol (empty: the SDK's newest).
func (el *elicitor) connect(t *testing.T, srv *mcpserver.Server, protocol string, modes *mcp.ElicitationCapabilities) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	opts := &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			res := el.answer(req.Params)
			q, _ := json.Marshal(req.Params)
			a, _ := json.Marshal(res)
			el.mu.Lock()
			el.asked = append(el.asked, req.Params)
			el.wire = append(el.wire, string(q), string(a))
			el.mu.Unlock()
			return res, nil
		},
		ElicitationCompleteHandler: func(_ context.Context, req *mcp.ElicitationCompleteNotificationRequest) {
			el.mu.Lock()
			el.completed = append(el.completed, req.Params.ElicitationID)
			el.mu.Unlock()
		},
		Capabilities: &mcp.ClientCapabilities{Elicitation: modes},
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "eliciting-agent", Version: "v0.0.1"}, opts).
		Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close(); _ = ss.Wait() })
	return cs
}

var (
	formOnly   = &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}}
	formAndURL = &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}, URL: &mcp.URLElicitationCapabilities{}}
)

// answerForm answers the step-up question with the first method offered
// and the code questions with codes, in turn.
func answerForm(t *testing.T, codes ...string) func(*mcp.ElicitParams) *mcp.ElicitResult {
	var mu sync.Mutex
	return func(p *mcp.ElicitParams) *mcp.ElicitResult {
		mu.Lock()
		defer mu.Unlock()
		props := schemaProps(t, p)
		switch {
		case props["method"] != nil:
			enum, _ := props["method"].(map[string]any)["enum"].([]any)
			require.NotEmpty(t, enum, "the methods are an enum")
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"method": enum[0]}}
		case props["code"] != nil && len(codes) > 0:
			code := codes[0]
			codes = codes[1:]
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"code": code}}
		}
		return &mcp.ElicitResult{Action: "cancel"}
	}
}

func schemaProps(t *testing.T, p *mcp.ElicitParams) map[string]any {
	if p.Mode != "form" {
		return nil
	}
	data, err := json.Marshal(p.RequestedSchema)
	require.NoError(t, err)
	var sc struct {
		Properties map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(data, &sc))
	return sc.Properties
}

// TestElicitOTP: a client that supports form elicitation is asked the
// step-up method and the code (again after a wrong one), and add-card
// completes in one call; no question or answer holds the card.
func TestElicitOTP(t *testing.T) {
	t.Parallel()
	for i, pv := range protocols {
		t.Run(pv.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			el := &elicitor{answer: answerForm(t, "000000", sandbox.GoldenOTP)}
			cs := el.connect(t, e.srv, pv.version, formOnly)
			r := okOn[mcpserver.FlowResult](t, e, cs, "add-card", map[string]any{"user": newUser(90 + i).args(), "card": cardArgs(testPAN)})
			require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
			require.NotNil(t, r.Card)
			asked := el.questions()
			require.Len(t, asked, 3, "method, a wrong code, the right code")
			for _, q := range asked {
				assert.Equal(t, "form", q.Mode)
			}
			assert.Contains(t, schemaProps(t, asked[0]), "method")
			assert.Contains(t, asked[0].Message, "OTPSMS: ")
			assert.Contains(t, schemaProps(t, asked[1]), "code")
			assert.NotContains(t, asked[1].Message, "not correct")
			assert.Contains(t, asked[2].Message, "Enter the code Visa sent to")
			assert.NotEqual(t, asked[1].Message, asked[2].Message, "the second code question says the first was wrong")
			e.assertClean(t, nil)
			noCard(t, e, el.transcript())
		})
	}
}

// noCard proves the card number, the CVV2 and every other secret but the
// code the user typed are nowhere in an elicitation (JSON, one message a
// line).
func noCard(t *testing.T, e *env, transcript string) {
	t.Helper()
	sec := e.secrets()
	sec.Check(t, "an elicitation", strings.ReplaceAll(transcript, `"code":"`+sandbox.GoldenOTP+`"`, `"code":"(typed)"`), testutil.JSON)
	assert.Contains(t, transcript, "{", "the transcript was recorded")
}

// TestElicitDismissed: a user who declines or cancels a question leaves
// the journey waiting, and the result says so; it goes on with
// add-card-continue (to COMPLETED) or is cancelled.
func TestElicitDismissed(t *testing.T) {
	t.Parallel()
	n := 0
	for _, pv := range protocols {
		for _, action := range []string{"decline", "cancel"} {
			n++
			t.Run(pv.name+"/"+action, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				el := &elicitor{answer: func(*mcp.ElicitParams) *mcp.ElicitResult { return &mcp.ElicitResult{Action: action} }}
				cs := el.connect(t, e.srv, pv.version, formOnly)
				r := okOn[mcpserver.FlowResult](t, e, cs, "add-card", map[string]any{"user": newUser(100 + n).args(), "card": cardArgs(testPAN)})
				require.Equal(t, mcpserver.StatusChooseStepUp, r.Status, "%+v", r)
				assert.True(t, strings.HasPrefix(r.Next, "The user dismissed the question"), r.Next)
				assert.Contains(t, r.Next, "add-card-continue")
				require.Len(t, el.questions(), 1)

				// The method given in the chat; the code question is dismissed too.
				r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": r.Methods[0].Method})
				require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
				assert.True(t, strings.HasPrefix(r.Next, "The user dismissed the question"), r.Next)
				require.Len(t, el.questions(), 2)
				if action == "decline" {
					r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
					require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
				} else {
					r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "cancel": true})
					require.Equal(t, mcpserver.StatusCancelled, r.Status, "%+v", r)
				}
				e.assertClean(t, nil)
				noCard(t, e, el.transcript())
			})
		}
	}
}

// TestElicitCardEntryURL: a client that supports URL elicitation opens the
// card-entry page itself (the link is not in the tool result); the card
// typed there continues the journey, whose method and code are then asked
// through forms: add-card completes in one call.
func TestElicitCardEntryURL(t *testing.T) {
	t.Parallel()
	for i, pv := range protocols {
		t.Run(pv.name, func(t *testing.T) {
			t.Parallel()
			e, p := newPagesEnv(t)
			form := answerForm(t, sandbox.GoldenOTP)
			var typed sync.WaitGroup
			el := &elicitor{answer: func(q *mcp.ElicitParams) *mcp.ElicitResult {
				if q.Mode != "url" {
					return form(q)
				}
				// The user's browser, a moment after the client opened it.
				typed.Go(func() {
					r := p.post(t, q.URL, cardForm(testPAN, testCVV2), nil)
					assert.Equal(t, http.StatusOK, r.status)
				})
				return &mcp.ElicitResult{Action: "accept"}
			}}
			cs := el.connect(t, e.srv, pv.version, formAndURL)
			r := okOn[mcpserver.FlowResult](t, e, cs, "add-card", map[string]any{"user": newUser(110 + i).args()})
			typed.Wait()
			require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
			asked := el.questions()
			require.Len(t, asked, 3, "the page, the method, the code")
			assert.Equal(t, "url", asked[0].Mode)
			assert.True(t, strings.HasPrefix(asked[0].URL, p.publicURL()+"/card/"), asked[0].URL)
			assert.NotEmpty(t, asked[0].ElicitationID)
			assert.Equal(t, []string{asked[0].ElicitationID}, el.completions(), "the client heard the page is done")
			e.mu.Lock()
			results := strings.Join(e.results, "\n")
			e.mu.Unlock()
			assert.NotContains(t, results, "/card/", "the link went to the client, not into the tool result")
			e.assertClean(t, nil, p.all()...)
			noCard(t, e, el.transcript())
		})
	}
}

// TestElicitCardEntryFallback: without URL elicitation the link is in the
// tool result; a user who declines opening the page gets it there too.
func TestElicitCardEntryFallback(t *testing.T) {
	t.Parallel()
	e, p := newPagesEnv(t)
	formUser := &elicitor{answer: answerForm(t)}
	r := okOn[mcpserver.FlowResult](t, e, formUser.connect(t, e.srv, "", formOnly), "add-card", map[string]any{"user": newUser(120).args()})
	require.Equal(t, mcpserver.StatusCardEntryRequired, r.Status)
	assert.True(t, strings.HasPrefix(r.CardEntryURL, p.publicURL()+"/card/"))
	assert.Empty(t, formUser.questions(), "nothing to ask before the card")

	for _, pv := range protocols {
		decliner := &elicitor{answer: func(*mcp.ElicitParams) *mcp.ElicitResult { return &mcp.ElicitResult{Action: "decline"} }}
		r = okOn[mcpserver.FlowResult](t, e, decliner.connect(t, e.srv, pv.version, formAndURL), "add-card", map[string]any{"user": newUser(121).args()})
		require.Equal(t, mcpserver.StatusCardEntryRequired, r.Status, pv.name)
		assert.True(t, strings.HasPrefix(r.CardEntryURL, p.publicURL()+"/card/"), pv.name)
		assert.Contains(t, r.Next, "did not open the card-entry page", pv.name)
		require.Len(t, decliner.questions(), 1, pv.name)
		assert.Equal(t, "url", decliner.questions()[0].Mode)
	}
	e.assertClean(t, nil)
}
