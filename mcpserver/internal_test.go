package mcpserver

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

// pageFrame plays a Bridge: Open waits until the cardholder "opens the
// page" (opened is closed), as a real Bridge waits for the browser.
type pageFrame struct {
	authframe.Frame
	opened   chan struct{}
	mu       sync.Mutex
	channels []string
}

func (p *pageFrame) Open(ctx context.Context, req authframe.OpenRequest) (*authframe.Session, error) {
	p.mu.Lock()
	p.channels = append(p.channels, req.Channel)
	p.mu.Unlock()
	select {
	case <-p.opened:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.Frame.Open(ctx, req)
}

func (p *pageFrame) Authenticate(ctx context.Context, s *authframe.Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	return p.Frame.Authenticate(ctx, s, ac)
}

func TestPasskeyPageFlow(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	cfg := sbx.Config()
	d, err := authframe.NewDirect(cfg)
	require.NoError(t, err)
	pf := &pageFrame{Frame: d, opened: make(chan struct{})}
	m, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	s, err := New(cfg, WithFrame(pf), WithMerchant(m))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	closed := make(chan string, 4)
	s.pages = &passkeyPages{
		newChannel:   func() (string, error) { return "chan-1", nil },
		pageURL:      func(ch string) string { return "https://agent.example.com/passkey/page?channel=" + ch },
		closeChannel: func(ch string) { closed <- ch },
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close(); _ = ss.Wait() })

	call := func(name string, args any) FlowResult {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		require.NoError(t, err)
		require.False(t, res.IsError, "%+v", res.Content)
		var out FlowResult
		data, _ := json.Marshal(res.StructuredContent)
		require.NoError(t, json.Unmarshal(data, &out))
		return out
	}
	card := map[string]any{"pan": sandbox.CardNoStepUp, "cvv2": "123", "expiryMonth": 12, "expiryYear": time.Now().Year() + 2}
	r := call("add-card", map[string]any{"user": map[string]any{"id": "u1", "email": "u1@example.com", "country": "US"}, "card": card})
	require.Equal(t, StatusPasskeyRequired, r.Status, "%+v", r)
	assert.Equal(t, "https://agent.example.com/passkey/page?channel=chan-1", r.PageURL)
	assert.Contains(t, r.Next, "add-card-continue")

	close(pf.opened) // the cardholder opens the page
	for i := 0; i < 5 && r.Status != StatusCompleted; i++ {
		require.Contains(t, []string{StatusPasskeyRequired, StatusInProgress}, r.Status, "%+v", r)
		r = call("add-card-continue", map[string]any{"flowId": r.FlowID})
	}
	require.Equal(t, StatusCompleted, r.Status, "%+v", r)
	assert.Equal(t, "chan-1", <-closed, "the page's channel is closed with the flow")
	pf.mu.Lock()
	assert.Equal(t, []string{"chan-1"}, pf.channels)
	pf.mu.Unlock()

	// The low-level passkey tools need the Direct frame.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-device-attestation-options", Arguments: map[string]any{
		"vProvisionedTokenId": r.Card.TokenID, "clientReferenceId": "CR-1", "action": "AUTHENTICATE", "consumerId": "u1", "email": "u1@example.com"}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
}

func TestHandlesExpire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	hs := newHandleSet(func() time.Time { return now })
	id, ok := hs.put("asr_", &handle{assurance: &assuranceEntry{tokenID: "t"}}, time.Minute)
	require.True(t, ok)
	assert.NotNil(t, hs.get(id))
	now = now.Add(time.Minute)
	assert.Nil(t, hs.get(id), "expired")
	assert.Zero(t, hs.len())
	id, _ = hs.put("asr_", &handle{assurance: &assuranceEntry{tokenID: "t"}}, time.Minute)
	assert.NotNil(t, hs.take(id))
	assert.Nil(t, hs.take(id), "single use")
	now = now.Add(time.Hour)
	_, _ = hs.put("sess_", &handle{session: &sessionEntry{}}, time.Minute)
	assert.Equal(t, 1, hs.len(), "expired handles are swept")
}

func TestScrub(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"token 4111111111111111 refused": "token ****1111 refused",
		"code 456789, id 12345678901":    "code 456789, id 12345678901",
		"4000000000009995":               "****9995",
		"":                               "",
	} {
		assert.Equal(t, want, scrub(in))
	}
}

func TestDecodeArgs(t *testing.T) {
	t.Parallel()
	type in struct {
		PAN  string `json:"pan"`
		N    int    `json:"n"`
		List []int  `json:"list"`
	}
	cases := map[string]string{
		`{"pan": 4111111111111111}`: "invalid argument pan: must be a string",
		`{"n": "x"}`:                "invalid argument n: must be an integer",
		`{"list": {}}`:              "invalid argument list: must be a list",
		`{"pan": "x"} {}`:           "invalid argument arguments: must be one JSON object",
		`{"pan":`:                   "invalid argument arguments: are not valid JSON",
		`{"4111111111111111": 1}`:   "invalid argument (unnamed): is not an argument of this tool",
		`[1]`:                       "invalid argument arguments: must be an object",
	}
	for raw, want := range cases {
		var v in
		err := decodeArgs(json.RawMessage(raw), &v)
		require.Error(t, err, raw)
		assert.Equal(t, want, err.Error(), raw)
		assert.ErrorIs(t, err, ErrInvalidArgument)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
	}
	var v in
	require.NoError(t, decodeArgs(nil, &v))
	require.NoError(t, decodeArgs(json.RawMessage("null"), &v))
	big := make([]byte, MaxArgumentBytes+1)
	assert.ErrorIs(t, decodeArgs(big, &v), ErrInvalidArgument)
}

// TestWithBridge wires a real authframe.Bridge: add-card answers
// PASSKEY_REQUIRED with the Bridge's page for a fresh channel, and a
// cancelled flow closes that channel. (The page itself runs in a browser;
// authframe's own tests drive it.)
func TestWithBridge(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	b, err := authframe.NewBridge(sbx.Config(), authframe.WithPathPrefix("/passkey/"))
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	s, err := New(sbx.Config(), WithBridge(b, "https://agent.example.com"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := context.Background()
	r, err := s.addCard(ctx, &AddCardInput{User: UserInput{ID: "u1", Email: "u1@example.com", Country: "US"},
		Card: CardInput{PAN: sandbox.CardHappy, CVV2: "123", ExpiryMonth: 12, ExpiryYear: time.Now().Year() + 2}})
	require.NoError(t, err)
	require.Equal(t, StatusPasskeyRequired, r.Status, "%+v", r)
	f := s.flows.get(r.FlowID)
	require.NotNil(t, f)
	require.NotEmpty(t, f.channel)
	assert.Equal(t, "https://agent.example.com"+b.PageURL(f.channel), r.PageURL)
	assert.Contains(t, r.PageURL, "https://agent.example.com/passkey/page?channel=")

	// The low-level passkey tools refuse to run with a Bridge.
	_, err = s.attestationOptions(ctx, &AttestationInput{VProvisionedTokenID: "t", ClientReferenceID: "CR-1",
		Action: "AUTHENTICATE", ConsumerID: "u1", Email: "u1@example.com"})
	assert.ErrorIs(t, err, errBridgeLowLevel)

	_, after := f.snapshot()
	f.cancel()
	end := f.wait(ctx, after, time.Minute)
	assert.Equal(t, StatusFailed, end.Status)
	assert.Contains(t, end.Error, "cancel")
}
