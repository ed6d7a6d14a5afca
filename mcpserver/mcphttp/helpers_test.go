package mcphttp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// issuer is a test OAuth authorization server: it publishes its metadata
// and JWKS and signs access tokens.
type issuer struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	kid   string
	other *ecdsa.PrivateKey // a key the issuer does not publish
	// jwksHits counts key set fetches.
	jwksHits chan struct{}
}

// rsaKey is made once per test binary: RSA key generation is slow.
var rsaKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	is := &issuer{key: rsaKey, kid: "k1", other: other, jwksHits: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		select {
		case is.jwksHits <- struct{}{}:
		default:
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// claims of a test token; zero fields take good defaults.
type claims struct {
	iss, sub, scope, clientID string
	aud                       []string
	exp, nbf                  time.Time
	noExp                     bool
}

// token signs c with the issuer's key (or another, unpublished one).
func (is *issuer) token(t *testing.T, c claims, foreignKey bool) string {
	t.Helper()
	now := time.Now()
	if c.iss == "" {
		c.iss = is.srv.URL
	}
	if c.sub == "" {
		c.sub = "alice"
	}
	if c.aud == nil {
		c.aud = []string{testResource}
	}
	if c.exp.IsZero() {
		c.exp = now.Add(5 * time.Minute)
	}
	if c.nbf.IsZero() {
		c.nbf = now.Add(-time.Minute)
	}
	key := jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: is.kid}}
	if foreignKey {
		key = jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.other, KeyID: is.kid}}
	}
	sig, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("at+jwt"))
	require.NoError(t, err)
	std := jwt.Claims{Issuer: c.iss, Subject: c.sub, Audience: c.aud, NotBefore: jwt.NewNumericDate(c.nbf),
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute))}
	if !c.noExp {
		std.Expiry = jwt.NewNumericDate(c.exp)
	}
	extra := map[string]any{}
	if c.scope != "" {
		extra["scope"] = c.scope
	}
	if c.clientID != "" {
		extra["client_id"] = c.clientID
	}
	s, err := jwt.Signed(sig).Claims(std).Claims(extra).Serialize()
	require.NoError(t, err)
	return s
}

const testResource = "http://127.0.0.1/mcp"

// whoAmI is the tool of the test server: it answers the caller's identity
// as the tools see it (req.Extra.TokenInfo).
type whoAmIOut struct {
	UserID string   `json:"userId"`
	Scopes []string `json:"scopes"`
}

func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "the caller"},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoAmIOut, error) {
			var out whoAmIOut
			if ti := req.Extra.TokenInfo; ti != nil {
				out.UserID, out.Scopes = ti.UserID, ti.Scopes
			}
			return nil, out, nil
		})
	return s
}

// bearer adds a token (and optional headers) to every request.
type bearer struct {
	token   string
	headers map[string]string
	base    http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	for k, v := range b.headers {
		r.Header.Set(k, v)
	}
	base := b.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// connect opens an MCP client session to endpoint with token.
func connect(ctx context.Context, endpoint, token string, headers map[string]string) (*mcp.ClientSession, error) {
	hc := &http.Client{Transport: &bearer{token: token, headers: headers}}
	return mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true}, nil)
}

// whoami calls the tool.
func whoami(ctx context.Context, t *testing.T, cs *mcp.ClientSession) whoAmIOut {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	require.NoError(t, err)
	require.False(t, res.IsError)
	data, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var out whoAmIOut
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}
