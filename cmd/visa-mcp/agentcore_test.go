package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/mcpserver/mcphttp"
	"github.com/vicgo/visa/sandbox"
)

// TestAgentCoreProfileDefaults: the profile is the AgentCore Runtime
// contract unless a flag or variable says otherwise.
func TestAgentCoreProfileDefaults(t *testing.T) {
	t.Parallel()
	f, err := parseFlags(nil, &strings.Builder{})
	require.NoError(t, err)
	require.NoError(t, f.complete(lookupOf(map[string]string{"VISA_MCP_PROFILE": "agentcore"})))
	assert.Equal(t, "0.0.0.0:8000", f.http)
	assert.True(t, f.stateless)
	assert.Equal(t, authOAuth, f.auth)
	assert.Equal(t, mcphttp.AnyHost, f.allowedHosts)

	f, err = parseFlags([]string{"-profile", "agentcore", "-http", "127.0.0.1:0"}, &strings.Builder{})
	require.NoError(t, err)
	require.NoError(t, f.complete(noEnv))
	assert.Equal(t, "127.0.0.1:0", f.http, "the port can be overridden")

	for _, env := range []map[string]string{
		{"VISA_MCP_PROFILE": "agentcore", "VISA_MCP_AUTH": "token"},
		{"VISA_MCP_PROFILE": "agentcore", "VISA_MCP_AUTH": "none"},
		{"VISA_MCP_PROFILE": "lambda"},
		{"VISA_MCP_STATELESS": "perhaps"},
		{"VISA_MCP_MAX_SESSIONS": "0"},
		{"VISA_MCP_MAX_IN_FLIGHT": "-3"},
		{"VISA_MCP_MAX_IN_FLIGHT": "many"},
		{"VISA_MCP_SESSION_TIMEOUT": "soon"},
	} {
		f, err := parseFlags(nil, &strings.Builder{})
		require.NoError(t, err)
		var ue *usageError
		assert.ErrorAs(t, f.complete(lookupOf(env)), &ue, "%v", env)
	}
}

// TestAgentCoreProcess runs the production binary (no sandbox linked)
// twice with the AgentCore profile's environment, against the sandbox as
// its own process, sharing one store: the requests of one journey go to
// the two instances, statelessly, with a bearer token and the AgentCore
// session header. Secrets come from mounted files, never arguments.
func TestAgentCoreProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	t.Parallel()
	bin := buildBinary(t, "./cmd/visa-mcp", "visa-mcp")
	sbx := sandboxEnv(t)
	is := newTestIssuer(t)
	const resource = "https://visa-mcp.example.com/mcp"
	dir := t.TempDir()
	secrets := testutil.NewSecrets()
	env := map[string]string{
		"VISA_MCP_PROFILE":      "agentcore",
		"VISA_MCP_OAUTH_ISSUER": is.srv.URL,
		"VISA_MCP_PUBLIC_URL":   resource,
	}
	for name, value := range sbx {
		secret := false
		for _, v := range visa.EnvVars {
			secret = secret || (v.Name == name && v.Secret)
		}
		if secret && !strings.Contains(value, "-----BEGIN") {
			env[name+"_FILE"] = writeSecret(t, dir, name, value)
			secrets.Add(name, value)
		} else {
			env[name] = value
		}
	}
	env["VISA_SEALER_KEYS_FILE"] = writeSecret(t, dir, "sealer", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	env["VISA_MCP_DEVICE_KEY_FILE"] = writeSecret(t, dir, "device", "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=")
	var args []string
	if os.Getenv("VISA_TEST_POSTGRES_DSN") != "" || os.Getenv("CI") == "true" {
		env["VISA_MCP_DATABASE_URL_FILE"] = writeSecret(t, dir, "database-url", testutil.PostgresSchema(t))
	} else {
		args = append(args, "-db", filepath.Join(dir, "shared.db"))
	}
	// The only flag: the port, so the test can run beside anything on
	// 8000. Everything else is the profile's.
	args = append(args, "-http", "127.0.0.1:0")
	var urls []string
	var procs []*proc
	for range 2 {
		p, url := startProc(t, bin, args, childEnv(env), `url=(http://\S+/mcp)`)
		procs = append(procs, p)
		urls = append(urls, url)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	token := is.token(t, "shopper-1", resource, 10*time.Minute)
	headers := map[string]string{"Mcp-Session-Id": "platform-session-7f3c", // the platform adds it; ignored, not refused
		"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "agentcore-runtime-session-0123456789abcdef0123456789"}
	client := func(url string) *mcp.ClientSession {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "agentcore-agent"}, nil).Connect(ctx,
			&mcp.StreamableClientTransport{Endpoint: url, DisableStandaloneSSE: true,
				HTTPClient: &http.Client{Transport: &bearerTransport{token: token, headers: headers}}}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		return cs
	}
	// Arguments the tool's schema does not name are left out: tools bound
	// to the authenticated caller take no user.
	props := map[string]map[string]any{}
	call := func(cs *mcp.ClientSession, name string, args map[string]any, out any) {
		t.Helper()
		if len(props) == 0 {
			tools, err := cs.ListTools(ctx, nil)
			require.NoError(t, err)
			for _, tool := range tools.Tools {
				schema, _ := json.Marshal(tool.InputSchema)
				var s struct {
					Properties map[string]any `json:"properties"`
				}
				require.NoError(t, json.Unmarshal(schema, &s))
				props[tool.Name] = s.Properties
			}
		}
		for k := range args {
			if _, ok := props[name][k]; !ok {
				delete(args, k)
			}
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		require.NoError(t, err)
		require.False(t, res.IsError, "%s: %v", name, res.Content)
		data, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, out))
		secrets.Check(t, name+" result", string(data), testutil.JSON)
	}

	// Instance A starts adding a card: with authentication the card is not
	// a tool argument but typed on the card-entry page ...
	a, b := client(urls[0]), client(urls[1])
	type flow struct {
		Status       string `json:"status"`
		FlowID       string `json:"flowId"`
		CardEntryURL string `json:"cardEntryUrl"`
		Card         *struct {
			TokenID string `json:"tokenId"`
		} `json:"card"`
	}
	var added flow
	call(a, "add-card", map[string]any{"user": map[string]any{"email": "shopper-1@example.com", "country": "US"}}, &added)
	require.Equal(t, "CARD_ENTRY_REQUIRED", added.Status, "%+v", added)
	require.True(t, strings.HasPrefix(added.CardEntryURL, "https://visa-mcp.example.com/pages/card/"), added.CardEntryURL)
	// ... which the shopper's browser opens on instance B (the link is
	// signed with the shared device key) ...
	page := strings.Replace(added.CardEntryURL, "https://visa-mcp.example.com", strings.TrimSuffix(urls[1], "/mcp"), 1)
	resp, err := http.Get(page)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	form := url.Values{"pan": {sandbox.CardNoStepUp}, "cvv2": {"321"}, "month": {"12"}, "year": {strconv.Itoa(time.Now().Year() + 2)}}
	resp, err = http.PostForm(page, form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "Your card was added")
	assert.NotContains(t, string(body), sandbox.CardNoStepUp)
	// ... and instance A finishes the journey.
	call(a, "add-card-continue", map[string]any{"flowId": added.FlowID}, &added)
	require.Equal(t, "COMPLETED", added.Status, "%+v", added)
	require.NotNil(t, added.Card)
	// ... instance B sees it and buys with it ...
	// Another user (another subject) sees none of it.
	other := is.token(t, "shopper-2", resource, 10*time.Minute)
	var none struct {
		Cards []struct {
			TokenID string `json:"tokenId"`
		} `json:"cards"`
	}
	cs2, err := mcp.NewClient(&mcp.Implementation{Name: "other-agent"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: urls[1], DisableStandaloneSSE: true,
			HTTPClient: &http.Client{Transport: &bearerTransport{token: other, headers: headers}}}, nil)
	require.NoError(t, err)
	call(cs2, "list-cards", map[string]any{}, &none)
	assert.Empty(t, none.Cards)
	_ = cs2.Close()
	var cards struct {
		Cards []struct {
			TokenID string `json:"tokenId"`
		} `json:"cards"`
	}
	call(b, "list-cards", map[string]any{"userId": "shopper-1"}, &cards)
	require.Len(t, cards.Cards, 1)
	assert.Equal(t, added.Card.TokenID, cards.Cards[0].TokenID)
	var bought flow
	call(b, "purchase", map[string]any{"userId": "shopper-1", "tokenId": added.Card.TokenID, "amount": "42.50", "currency": "USD",
		"merchant":    map[string]any{"name": "Best Buy", "url": "https://www.bestbuy.com", "countryCode": "US"},
		"description": "USB-C cable", "orderId": "order-agentcore-1"}, &bought)
	require.Equal(t, "COMPLETED", bought.Status, "%+v", bought)
	// ... and instance A lists the purchase.
	var txs struct {
		Transactions []struct {
			Status string `json:"status"`
			Amount string `json:"amount"`
		} `json:"transactions"`
	}
	call(a, "list-transactions", map[string]any{"userId": "shopper-1"}, &txs)
	require.Len(t, txs.Transactions, 1)
	assert.Equal(t, "COMPLETED", txs.Transactions[0].Status)
	assert.Equal(t, "42.50", txs.Transactions[0].Amount)

	// Stateless: no session id is handed out; a raw request with only the
	// platform's headers and a token is served by either instance.
	for _, url := range urls {
		status, h, body := rawPost(ctx, t, url, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
			map[string]string{"Authorization": "Bearer " + token, "Mcp-Protocol-Version": "2025-06-18",
				"Mcp-Session-Id": "another-platform-session", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s-0123456789abcdef0123456789abcdef"})
		assert.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"purchase"`)
		assert.Empty(t, h.Get("Mcp-Session-Id"))
		// Refused: no token, an expired one, one for another resource.
		for _, bad := range []string{"", is.token(t, "shopper-1", resource, -time.Minute), is.token(t, "shopper-1", "https://other.example/mcp", time.Minute)} {
			hh := map[string]string{"Mcp-Protocol-Version": "2025-06-18"}
			if bad != "" {
				hh["Authorization"] = "Bearer " + bad
			}
			status, h, _ := rawPost(ctx, t, url, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, hh)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, h.Get("WWW-Authenticate"), `resource_metadata="https://visa-mcp.example.com/.well-known/oauth-protected-resource/mcp"`)
		}
		// The metadata is served (reached here under the platform's Host).
		resp, err := http.Get(strings.TrimSuffix(url, "/mcp") + mcphttp.MetadataPath + "/mcp")
		require.NoError(t, err)
		var meta map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
		_ = resp.Body.Close()
		assert.Equal(t, resource, meta["resource"])
		assert.Equal(t, []any{is.srv.URL}, meta["authorization_servers"])
	}

	for _, p := range procs {
		p.stop()
		logs := p.stderr.String()
		assert.Contains(t, logs, "mode=oauth")
		assert.Contains(t, logs, "stateless=true")
		assert.NotContains(t, logs, token)
		secrets.Check(t, "visa-mcp logs", logs, testutil.Text)
		assert.NotContains(t, logs, sandbox.CardNoStepUp)
	}
}

// TestOpenBindRefused runs the command: a non-loopback bind without
// authentication, or the AgentCore profile without an issuer, exits 2
// with a message saying why.
func TestOpenBindRefused(t *testing.T) {
	t.Parallel()
	bin, err := os.Executable()
	require.NoError(t, err)
	for _, c := range []struct {
		args []string
		env  map[string]string
		msg  string
	}{
		{[]string{"-http", "0.0.0.0:0", "-auth", "none"}, nil, "refusing to serve MCP without authentication on a non-loopback address"},
		{[]string{"-http", ":0", "-auth", "none"}, nil, "refusing to serve MCP without authentication"},
		{nil, map[string]string{"VISA_MCP_HTTP": "192.0.2.1:0", "VISA_MCP_AUTH": "none"}, "refusing to serve MCP without authentication"},
		{[]string{"-http", "0.0.0.0:0"}, nil, "set -allowed-hosts"},
		{nil, map[string]string{"VISA_MCP_PROFILE": "agentcore"}, "VISA_MCP_OAUTH_ISSUER"},
		{[]string{"-http", "localhost:0", "-auth", "oauth"}, nil, "VISA_MCP_OAUTH_ISSUER"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = childEnv(map[string]string{"VISA_MCP_TEST_RUN_MAIN": "1"})
		for k, v := range c.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", c.args, out)
		assert.Equal(t, 2, ee.ExitCode(), "%v: %s", c.args, out)
		assert.Contains(t, string(out), c.msg, c.args)
	}
}
