package mcphttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts an HTTP server whose handler is built by mk from the
// server's own URL.
func serve(t *testing.T, mk func(base string) (*mcphttp.Handler, error)) string {
	t.Helper()
	var h atomic.Pointer[mcphttp.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	handler, err := mk(srv.URL)
	require.NoError(t, err)
	h.Store(handler)
	t.Cleanup(func() {
		srv.Close()
		_ = handler.Close()
	})
	return srv.URL
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// post sends one raw MCP POST and returns the response (body read).
func post(t *testing.T, url, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(data)
}

// oauthServer serves the test MCP server behind a JWTVerifier of is.
func oauthServer(t *testing.T, is *mcphttp.JWTVerifier, issuerURL string, o mcphttp.Options) string {
	return serve(t, func(base string) (*mcphttp.Handler, error) {
		o.Verifier = is.Verify
		o.PublicURL = base + "/mcp"
		o.AuthorizationServers = []string{issuerURL}
		o.ScopesSupported = []string{mcphttp.ScopeReveal}
		return mcphttp.New(newMCPServer(), o)
	})
}

func newVerifier(t *testing.T, is *issuer) *mcphttp.JWTVerifier {
	v, err := mcphttp.NewJWTVerifier(mcphttp.JWTConfig{Issuer: is.srv.URL, Audiences: []string{testResource}})
	require.NoError(t, err)
	return v
}

// TestOAuth: a token of the issuer for this resource reaches the tools as
// req.Extra.TokenInfo; every other token, and none, gets 401 with a
// challenge naming the protected-resource metadata.
func TestOAuth(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	base := oauthServer(t, newVerifier(t, is), is.srv.URL, mcphttp.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	cs, err := connect(ctx, base+"/mcp", is.token(t, claims{sub: "alice", scope: "visa:reveal other"}, false), nil)
	require.NoError(t, err)
	me := whoami(ctx, t, cs)
	assert.Equal(t, "alice", me.UserID)
	assert.Equal(t, []string{"visa:reveal", "other"}, me.Scopes)
	require.NoError(t, cs.Close())

	// The official client, without a token, cannot connect.
	_, err = connect(ctx, base+"/mcp", "", nil)
	require.Error(t, err)

	metadata := base + mcphttp.MetadataPath + "/mcp"
	for name, token := range map[string]string{
		"none":           "",
		"garbage":        "not.a.jwt",
		"wrong audience": is.token(t, claims{aud: []string{"https://other.example/mcp"}}, false),
		"expired":        is.token(t, claims{exp: time.Now().Add(-2 * time.Minute)}, false),
		"not yet valid":  is.token(t, claims{nbf: time.Now().Add(2 * time.Minute)}, false),
		"no expiry":      is.token(t, claims{noExp: true}, false),
		"wrong issuer":   is.token(t, claims{iss: "https://evil.example"}, false),
		"bad signature":  is.token(t, claims{}, true),
		"tampered":       tamper(is.token(t, claims{sub: "alice"}, false)),
	} {
		h := map[string]string{}
		if token != "" {
			h["Authorization"] = "Bearer " + token
		}
		resp, body := post(t, base+"/mcp", initBody, h)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		ch := resp.Header.Get("WWW-Authenticate")
		assert.True(t, strings.HasPrefix(ch, "Bearer "), "%s: %q", name, ch)
		assert.Contains(t, ch, `resource_metadata="`+metadata+`"`, name)
		if token != "" {
			assert.Contains(t, ch, `error="invalid_token"`, name)
			assert.NotContains(t, body, token, name)
		}
	}
}

// tamper changes one character of a JWT's payload.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	return parts[0] + "." + string(p) + "." + parts[2]
}

// TestMetadata: RFC 9728 metadata at both well-known paths.
func TestMetadata(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	base := oauthServer(t, newVerifier(t, is), is.srv.URL, mcphttp.Options{})
	for _, path := range []string{mcphttp.MetadataPath, mcphttp.MetadataPath + "/mcp"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		var meta struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			Scopes               []string `json:"scopes_supported"`
			Bearer               []string `json:"bearer_methods_supported"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, base+"/mcp", meta.Resource)
		assert.Equal(t, []string{is.srv.URL}, meta.AuthorizationServers)
		assert.Equal(t, []string{mcphttp.ScopeReveal}, meta.Scopes)
		assert.Equal(t, []string{"header"}, meta.Bearer)
	}
}

// TestRequiredScopes: a valid token without a required scope gets 403
// insufficient_scope.
func TestRequiredScopes(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	base := oauthServer(t, newVerifier(t, is), is.srv.URL, mcphttp.Options{RequiredScopes: []string{"visa:use"}})
	resp, _ := post(t, base+"/mcp", initBody, map[string]string{"Authorization": "Bearer " + is.token(t, claims{scope: "other"}, false)})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	resp, _ = post(t, base+"/mcp", initBody, map[string]string{"Authorization": "Bearer " + is.token(t, claims{scope: "visa:use"}, false)})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func staticServer(t *testing.T, token string, o mcphttp.Options) string {
	v, err := mcphttp.StaticToken(token, "local", []string{"visa:reveal"})
	require.NoError(t, err)
	o.Verifier = v
	return serve(t, func(string) (*mcphttp.Handler, error) { return mcphttp.New(newMCPServer(), o) })
}

// TestStaticToken: the one token acts as its user; any other is 401 with
// a bare challenge.
func TestStaticToken(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	assert.Len(t, token, 43)
	assert.NotEqual(t, token, mcphttp.GenerateToken())
	base := staticServer(t, token, mcphttp.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := connect(ctx, base+"/mcp", token, nil)
	require.NoError(t, err)
	me := whoami(ctx, t, cs)
	assert.Equal(t, "local", me.UserID)
	assert.Equal(t, []string{"visa:reveal"}, me.Scopes)
	require.NoError(t, cs.Close())

	for _, bad := range []string{"", token[:42], token + "x", mcphttp.GenerateToken()} {
		h := map[string]string{}
		if bad != "" {
			h["Authorization"] = "Bearer " + bad
		}
		resp, _ := post(t, base+"/mcp", initBody, h)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"))
	}

	_, err = mcphttp.StaticToken("short", "local", nil)
	var ie *visa.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "token", ie.Field)
	assert.NotContains(t, err.Error(), "short")
	_, err = mcphttp.StaticToken(token, "has space", nil)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "userID", ie.Field)
}

// TestOriginAndHost: a foreign Origin, a foreign Host and a cross-site
// browser request are refused with 403 before authentication; allowed
// ones pass.
func TestOriginAndHost(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	base := staticServer(t, token, mcphttp.Options{AllowedOrigins: []string{"https://app.example.com"},
		AllowedHosts: []string{"mcp.example.com"}})
	auth := "Bearer " + token
	for _, c := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no origin", map[string]string{}, http.StatusOK},
		{"allowed origin", map[string]string{"Origin": "https://app.example.com"}, http.StatusOK},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"origin on another port", map[string]string{"Origin": "https://app.example.com:8443"}, http.StatusForbidden},
		{"cross-site without origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"allowed host", map[string]string{"Host": "mcp.example.com:8080"}, http.StatusOK},
		{"foreign host", map[string]string{"Host": "evil.example"}, http.StatusForbidden},
		{"rebound host", map[string]string{"Host": "attacker.example:80"}, http.StatusForbidden},
	} {
		c.headers["Authorization"] = auth
		resp, _ := post(t, base+"/mcp", initBody, c.headers)
		assert.Equal(t, c.want, resp.StatusCode, c.name)
	}
	// Refused before authentication: no token needed to get 403.
	resp, _ := post(t, base+"/mcp", initBody, map[string]string{"Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// TestUnauthenticatedServesLoopbackOnly: without a verifier, a host
// allow-list cannot widen the server beyond loopback names.
func TestUnauthenticatedServesLoopbackOnly(t *testing.T) {
	t.Parallel()
	base := serve(t, func(string) (*mcphttp.Handler, error) {
		return mcphttp.New(newMCPServer(), mcphttp.Options{AllowedHosts: []string{"mcp.example.com", mcphttp.AnyHost}})
	})
	resp, _ := post(t, base+"/mcp", initBody, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	for _, host := range []string{"mcp.example.com", "evil.example", "localhost.evil.example"} {
		resp, _ := post(t, base+"/mcp", initBody, map[string]string{"Host": host})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, host)
	}
	resp, _ = post(t, base+"/mcp", initBody, map[string]string{"Host": "localhost:1234"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestSessionCap: a new session beyond the cap gets 503; closing one
// makes room.
func TestSessionCap(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	base := staticServer(t, token, mcphttp.Options{MaxSessions: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := connect(ctx, base+"/mcp", token, nil)
	require.NoError(t, err)
	b, err := connect(ctx, base+"/mcp", token, nil)
	require.NoError(t, err)
	_, err = connect(ctx, base+"/mcp", token, nil)
	require.Error(t, err)
	resp, _ := post(t, base+"/mcp", initBody, map[string]string{"Authorization": "Bearer " + token})
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "30", resp.Header.Get("Retry-After"))
	// The live sessions still work.
	assert.Equal(t, "local", whoami(ctx, t, a).UserID)
	require.NoError(t, b.Close()) // DELETE ends the session on the server
	var c *mcp.ClientSession
	require.Eventually(t, func() bool {
		c, err = connect(ctx, base+"/mcp", token, nil)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "local", whoami(ctx, t, c).UserID)
	require.NoError(t, a.Close())
	require.NoError(t, c.Close())
}

// TestSessionTimeout: an idle session is closed; its id is then unknown.
func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	base := staticServer(t, token, mcphttp.Options{SessionTimeout: 200 * time.Millisecond, MaxSessions: 1})
	h := map[string]string{"Authorization": "Bearer " + token}
	resp, _ := post(t, base+"/mcp", initBody, h)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	id := resp.Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, id)
	// The cap is reached while the session lives ...
	resp, _ = post(t, base+"/mcp", initBody, h)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	// ... and the idle session is closed after the timeout, freeing a place.
	// Each probe is a request, which would keep the session alive: probes
	// are further apart than the timeout.
	h["Mcp-Session-Id"] = id
	h["Mcp-Protocol-Version"] = "2025-06-18"
	require.Eventually(t, func() bool {
		resp, _ := post(t, base+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"ping"}`, h)
		return resp.StatusCode == http.StatusNotFound
	}, 10*time.Second, 500*time.Millisecond)
	delete(h, "Mcp-Session-Id")
	resp, _ = post(t, base+"/mcp", initBody, h)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestStateless: every request stands alone; session headers, including
// the AgentCore runtime's, are accepted and ignored.
func TestStateless(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	base := staticServer(t, token, mcphttp.Options{Stateless: true, MaxSessions: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	headers := map[string]string{"Mcp-Session-Id": "platform-made-session",
		"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "agentcore-session-0123456789-0123456789"}
	var sessions []interface{ Close() error }
	for range 3 { // more than MaxSessions: there are no sessions to cap
		cs, err := connect(ctx, base+"/mcp", token, headers)
		require.NoError(t, err)
		assert.Equal(t, "local", whoami(ctx, t, cs).UserID)
		sessions = append(sessions, cs)
	}
	for _, s := range sessions {
		_ = s.Close()
	}
	h := map[string]string{"Authorization": "Bearer " + token, "Mcp-Session-Id": "never-seen",
		"Mcp-Protocol-Version": "2025-06-18"}
	resp, body := post(t, base+"/mcp", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`, h)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"userId":"local"`)
	assert.Empty(t, resp.Header.Get("Mcp-Session-Id"))
}

// TestBodyLimit: a body beyond MaxBodyBytes gets 413, on the endpoint and
// on pages.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
		}
		_, _ = io.WriteString(w, "page")
	})
	base := staticServer(t, token, mcphttp.Options{MaxBodyBytes: 1024, Pages: map[string]http.Handler{"/pages/": page}})
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`
	resp, _ := post(t, base+"/mcp", big, map[string]string{"Authorization": "Bearer " + token})
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	// Pages need no bearer token, but are bounded and host-checked.
	resp, body := post(t, base+"/pages/card", "small", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "page", body)
	resp, _ = post(t, base+"/pages/card", strings.Repeat("x", 2048), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	resp, _ = post(t, base+"/pages/card", "small", map[string]string{"Host": "evil.example"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// TestBadOptions: options are checked, naming the option.
func TestBadOptions(t *testing.T) {
	t.Parallel()
	v, err := mcphttp.StaticToken(mcphttp.GenerateToken(), "u", nil)
	require.NoError(t, err)
	for field, o := range map[string]mcphttp.Options{
		"Path":           {Path: "mcp"},
		"PublicURL":      {Verifier: v, PublicURL: "http://mcp.example.com/mcp"},
		"AllowedHosts":   {AllowedHosts: []string{"https://mcp.example.com"}},
		"AllowedOrigins": {AllowedOrigins: []string{"https://app.example.com/path"}},
		"MaxSessions":    {MaxSessions: -1},
		"MaxBodyBytes":   {MaxBodyBytes: -1},
		"MaxInFlight":    {MaxInFlight: -1},
		"Verifier":       {PublicURL: "https://mcp.example.com/mcp", AuthorizationServers: []string{"https://id.example.com"}},
	} {
		_, err := mcphttp.New(newMCPServer(), o)
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, field)
		assert.Equal(t, field, ie.Field)
	}
	_, err = mcphttp.New(nil, mcphttp.Options{})
	assert.Error(t, err)
}

// TestInFlightCap: with MaxInFlight POSTs being served, one more gets 503
// with Retry-After before anything runs, also in stateless mode; a
// request without a token is still 401, and the place is free again when
// the held call ends.
func TestInFlightCap(t *testing.T) {
	t.Parallel()
	token := mcphttp.GenerateToken()
	v, err := mcphttp.StaticToken(token, "local", nil)
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "hold", Description: "waits to be released"},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, struct{}, error) {
			if calls.Add(1) == 1 {
				close(entered)
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil, struct{}{}, nil
		})
	base := serve(t, func(string) (*mcphttp.Handler, error) {
		return mcphttp.New(s, mcphttp.Options{Verifier: v, Stateless: true, MaxInFlight: 1})
	})
	h := map[string]string{"Authorization": "Bearer " + token, "Mcp-Protocol-Version": "2025-06-18"}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hold","arguments":{}}}`
	held := make(chan int, 1)
	go func() { // not post: require must not stop the test from here
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(call))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		held <- resp.StatusCode
	}()
	<-entered
	resp, _ := post(t, base+"/mcp", call, h)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	resp, _ = post(t, base+"/mcp", call, map[string]string{"Mcp-Protocol-Version": "2025-06-18"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, int32(1), calls.Load(), "a refused call ran its tool")
	close(release)
	assert.Equal(t, http.StatusOK, <-held)
	resp, body := post(t, base+"/mcp", call, h)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, int32(2), calls.Load())
}
