package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox/sandboxtest"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testPAN  = sandbox.CardHappy
	testCVV2 = "947"
)

// recordingFrame is the Direct frame, remembering every secureToken and
// fidoBlob it saw so the tests can prove none leaks.
type recordingFrame struct {
	authframe.Frame
	mu      sync.Mutex
	secrets []string
}

func (f *recordingFrame) add(s string) {
	if s == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, s)
}

func (f *recordingFrame) Open(ctx context.Context, req authframe.OpenRequest) (*authframe.Session, error) {
	s, err := f.Frame.Open(ctx, req)
	if err == nil {
		f.add(s.SessionContext.SecureToken.Reveal())
	}
	return s, err
}

func (f *recordingFrame) Authenticate(ctx context.Context, s *authframe.Session, ac visa.AuthenticationContext) (fido.Assurance, error) {
	as, err := f.Frame.Authenticate(ctx, s, ac)
	if err == nil {
		f.add(as.FidoBlob.Reveal())
	}
	return as, err
}

func (f *recordingFrame) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.secrets...)
}

// recordingMerchant is the sandbox merchant, remembering the clear
// credentials it was handed.
type recordingMerchant struct {
	agent.Merchant
	mu      sync.Mutex
	secrets []string
}

func (m *recordingMerchant) Authorize(ctx context.Context, c agent.Charge) (*agent.Authorization, error) {
	m.mu.Lock()
	m.secrets = append(m.secrets, c.Credential.PaymentToken.Reveal(), c.Credential.DynamicDataValue.Reveal())
	m.mu.Unlock()
	return m.Merchant.Authorize(ctx, c)
}

func (m *recordingMerchant) seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.secrets...)
}

// env is a sandbox, an MCP server over it and a client connected in
// memory, with every tool result and every log line captured.
type env struct {
	sbx      *sandbox.Sandbox
	cfg      visa.Config
	srv      *mcpserver.Server
	st       store.Store
	frame    *recordingFrame
	merchant *recordingMerchant
	logs     *testutil.LogBuffer
	client   *mcp.ClientSession

	mu      sync.Mutex
	results []string
}

func newEnv(t *testing.T, opts ...mcpserver.Option) *env {
	t.Helper()
	e := &env{logs: &testutil.LogBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.sbx = sandboxtest.Start(t, sandbox.WithPlainHTTP())
	e.cfg = e.sbx.Config()
	e.cfg.Logger = logger
	// Retries back off for milliseconds, not the default 200 ms and more:
	// the tests count attempts and outcomes, never time.
	e.cfg.Retry.MinBackoff, e.cfg.Retry.MaxBackoff = 2*time.Millisecond, 10*time.Millisecond
	d, err := authframe.NewDirect(e.cfg)
	require.NoError(t, err)
	e.frame = &recordingFrame{Frame: d}
	m, err := agenttest.NewSandboxMerchant(e.sbx.MerchantURL(), e.cfg)
	require.NoError(t, err)
	e.merchant = &recordingMerchant{Merchant: m}
	e.st, err = memstore.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.st.Close() })
	base := []mcpserver.Option{mcpserver.WithFrame(e.frame), mcpserver.WithMerchant(e.merchant),
		mcpserver.WithLogger(logger), mcpserver.WithStore(e.st)}
	e.srv, err = mcpserver.New(e.cfg, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.srv.Close()) })
	e.client = connect(t, e.srv)
	return e
}

// connect connects a client to srv in memory.
func connect(t *testing.T, srv *mcpserver.Server) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	client := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "v0.0.1"}, nil)
	cs, err := client.Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs
}

// call calls a tool and records its whole result.
func (e *env) call(t *testing.T, name string, args any) *mcp.CallToolResult {
	t.Helper()
	return e.callOn(t, e.client, name, args)
}

func (e *env) callOn(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, name)
	data, err := json.Marshal(res)
	require.NoError(t, err)
	e.mu.Lock()
	e.results = append(e.results, string(data))
	e.mu.Unlock()
	return res
}

// ok calls a tool that must succeed and decodes its structured result.
func ok[T any](t *testing.T, e *env, name string, args any) T {
	t.Helper()
	return okOn[T](t, e, e.client, name, args)
}

// okOn is ok on another client session.
func okOn[T any](t *testing.T, e *env, cs *mcp.ClientSession, name string, args any) T {
	t.Helper()
	res := e.callOn(t, cs, name, args)
	require.False(t, res.IsError, "%s failed: %s", name, text(res))
	var out T
	data, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &out), string(data))
	return out
}

// fails calls a tool that must fail and returns its message.
func fails(t *testing.T, e *env, name string, args any) string {
	t.Helper()
	res := e.call(t, name, args)
	require.True(t, res.IsError, "%s should fail: %s", name, text(res))
	return text(res)
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// secrets is the scanner of every value that must never appear in a
// result, a page, an elicitation or a log line.
func (e *env) secrets(extra ...string) *testutil.Secrets {
	sec := testutil.NewSecrets()
	for name, v := range map[string]string{"PAN": testPAN, "CVV2": testCVV2, "OTP": sandbox.GoldenOTP,
		"VIC api key": sandbox.VICAPIKey, "VIC shared secret": sandbox.VICSharedSecret, "VTS api key": sandbox.VTSAPIKey,
		"VTS shared secret": sandbox.VTSSharedSecret, "encryption api key": sandbox.EncAPIKey,
		"encryption shared secret": sandbox.EncSharedSecret, "hash secret": sandbox.HashSecret} {
		sec.Add(name, v)
	}
	for _, v := range e.frame.seen() {
		sec.Add("secureToken or fidoBlob", v)
	}
	for _, v := range e.merchant.seen() {
		if len(v) <= 4 {
			sec.AddDynamic("dynamic value", v)
		} else {
			sec.Add("clear credential", v)
		}
	}
	for _, v := range extra {
		sec.Add("test secret", v)
	}
	return sec
}

// assertNoSecrets proves no secret (nor any of extra) reached a tool
// result or a log line.
func (e *env) assertNoSecrets(t *testing.T, extra ...string) {
	t.Helper()
	e.assertClean(t, extra)
}

// assertClean proves no secret (nor any of extra) reached a tool result or
// a log line (JSON, one document a line), nor any of texts (plain text:
// pages, elicitations).
func (e *env) assertClean(t *testing.T, extra []string, texts ...string) {
	t.Helper()
	e.mu.Lock()
	all := strings.Join(e.results, "\n")
	e.mu.Unlock()
	logs := e.logs.String()
	require.NotEmpty(t, logs)
	sec := e.secrets(extra...)
	sec.Check(t, "a tool result", all, testutil.JSON)
	sec.Check(t, "the logs", logs, testutil.JSON)
	for _, text := range texts {
		sec.Check(t, "a page", text, testutil.Text)
	}
}

type user struct{ id, email string }

func newUser(n int) user {
	return user{id: fmt.Sprintf("user-%d", n), email: fmt.Sprintf("user%d@example.com", n)}
}

func (u user) args() map[string]any {
	return map[string]any{"id": u.id, "email": u.email, "country": "US", "language": "en"}
}

func cardArgs(pan string) map[string]any {
	return map[string]any{"pan": pan, "cvv2": testCVV2, "expiryMonth": 12, "expiryYear": time.Now().Year() + 3, "name": "Alice Doe"}
}

func merchantArgs() map[string]any {
	return map[string]any{"name": "Best Buy", "url": "https://www.bestbuy.com", "countryCode": "US", "categoryCode": "5732"}
}

func purchaseArgs(u user, tokenID, amount string) map[string]any {
	return map[string]any{"userId": u.id, "tokenId": tokenID, "amount": amount, "currency": "USD",
		"merchant": merchantArgs(), "description": "Noise-cancelling headphones",
		"consumerPrompt": "buy the Sony headphones under $130"}
}

// addCard runs add-card with the OTP flow through add-card-continue.
func (e *env) addCard(t *testing.T, u user, pan string) mcpserver.FlowResult {
	t.Helper()
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(pan)})
	if r.Status == mcpserver.StatusChooseStepUp {
		r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": r.Methods[0].Method})
	}
	if r.Status == mcpserver.StatusOTPRequired {
		r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	}
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "add-card: %+v", r)
	return r
}

// storeIsEmpty proves nothing was stored.
func (e *env) storeIsEmpty(t *testing.T, userIDs ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range userIDs {
		_, err := e.st.GetUser(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "user %s", id)
		for c, err := range e.st.ListCards(ctx, id) {
			assert.Failf(t, "a card was stored", "%v %v", c.TokenID, err)
		}
	}
	for tx, err := range e.st.ListTransactions(ctx, store.TxFilter{}) {
		assert.Failf(t, "a transaction was stored", "%v %v", tx.ID, err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
