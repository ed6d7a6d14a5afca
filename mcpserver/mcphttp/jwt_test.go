package mcphttp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/mcpserver/mcphttp"
)

// TestJWKSFetchedOnceAndBounded: the key set is discovered and fetched on
// the first token and cached; tokens naming unknown keys fetch it again
// at most once per MinRefresh.
func TestJWKSFetchedOnceAndBounded(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	v := newVerifier(t, is)
	ctx := context.Background()
	for range 3 {
		info, err := v.Verify(ctx, is.token(t, claims{sub: "bob"}, false), nil)
		require.NoError(t, err)
		assert.Equal(t, "bob", info.UserID)
	}
	assert.Len(t, is.jwksHits, 1)

	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: is.key, KeyID: "unknown"}}, nil)
	require.NoError(t, err)
	unknown, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: is.srv.URL, Subject: "bob", Audience: jwt.Audience{testResource},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Serialize()
	require.NoError(t, err)
	for range 5 {
		_, err := v.Verify(ctx, unknown, nil)
		require.ErrorIs(t, err, auth.ErrInvalidToken)
	}
	assert.Len(t, is.jwksHits, 1, "within MinRefresh no token makes the verifier fetch again")
}

// TestClientIDs: issuers whose access tokens carry client_id and no aud
// (Amazon Cognito) are checked by client id.
func TestClientIDs(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	v, err := mcphttp.NewJWTVerifier(mcphttp.JWTConfig{Issuer: is.srv.URL, ClientIDs: []string{"agent-client"},
		JWKSURL: is.srv.URL + "/jwks", Algorithms: []jose.SignatureAlgorithm{jose.RS256}})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = v.Verify(ctx, is.token(t, claims{clientID: "agent-client", aud: []string{}}, false), nil)
	require.NoError(t, err)
	_, err = v.Verify(ctx, is.token(t, claims{clientID: "other-client"}, false), nil)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	assert.ErrorContains(t, err, "wrong client")
}

// TestAlgorithmAllowList: a token signed with an algorithm outside the
// list is refused before any key is looked up.
func TestAlgorithmAllowList(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	v, err := mcphttp.NewJWTVerifier(mcphttp.JWTConfig{Issuer: is.srv.URL, Audiences: []string{testResource},
		Algorithms: []jose.SignatureAlgorithm{jose.ES256}})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), is.token(t, claims{}, false), nil) // RS256
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	assert.Empty(t, is.jwksHits)
	// HS256 is never accepted: a shared-key token could be forged with a public key.
	_, err = mcphttp.NewJWTVerifier(mcphttp.JWTConfig{Issuer: is.srv.URL, Audiences: []string{testResource},
		Algorithms: []jose.SignatureAlgorithm{jose.HS256}})
	var ie *visa.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "Algorithms", ie.Field)
	_, err = v.Verify(context.Background(), strings.Repeat("a", mcphttp.MaxTokenBytes+1), nil)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

// TestIssuerUnreachable: keys that cannot be fetched are not a 401 (the
// token may be good) but an error the middleware answers 500 to.
func TestIssuerUnreachable(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	tok := is.token(t, claims{}, false)
	v := newVerifier(t, is)
	is.srv.Close()
	_, err := v.Verify(context.Background(), tok, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, auth.ErrInvalidToken))
	assert.NotContains(t, err.Error(), tok)
}

func TestNewJWTVerifierChecks(t *testing.T) {
	t.Parallel()
	for field, cfg := range map[string]mcphttp.JWTConfig{
		"Issuer":    {Issuer: "http://id.example.com", Audiences: []string{"a"}},
		"Audiences": {Issuer: "https://id.example.com"},
		"JWKSURL":   {Issuer: "https://id.example.com", Audiences: []string{"a"}, JWKSURL: "ftp://id.example.com/jwks"},
	} {
		_, err := mcphttp.NewJWTVerifier(cfg)
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, field)
		assert.Equal(t, field, ie.Field)
	}
}

func TestStoreUserID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "alice", mcphttp.StoreUserID("alice"))
	assert.Equal(t, "auth0|65f0c1", mcphttp.StoreUserID("auth0|65f0c1"))
	for _, sub := range []string{"has space", "4111111111111111", strings.Repeat("x", 200), "sub-forged", "ünïcode"} {
		id := mcphttp.StoreUserID(sub)
		assert.True(t, strings.HasPrefix(id, "sub-"), sub)
		assert.Len(t, id, 4+43, sub)
		assert.Equal(t, id, mcphttp.StoreUserID(sub), "stable")
		assert.NotContains(t, id, "4111111111111111")
	}
	assert.NotEqual(t, mcphttp.StoreUserID("a b"), mcphttp.StoreUserID("a  b"))
}
