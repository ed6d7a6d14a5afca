// Package mcphttp serves an MCP server over streamable HTTP the way it may
// be exposed beyond one desktop: every caller authenticated, every request
// checked for DNS rebinding and cross-site use, sessions bounded in number
// and in idle time, bodies bounded in size.
//
// New wraps an *mcp.Server (for example mcpserver.Server.MCP) in one
// http.Handler:
//
//   - Authentication with the official Go MCP SDK's auth.RequireBearerToken
//     middleware. The token verifier is either a JWTVerifier (an OAuth 2.1
//     resource server: signed JWT access tokens checked against the
//     issuer's JWKS, issuer, audience or client id, expiry and not-before,
//     with an allow-list of signature algorithms) or StaticToken (one
//     bearer token for local use). Either puts an *auth.TokenInfo in the
//     request context, which tools read as req.Extra.TokenInfo: UserID is
//     the store user (StoreUserID of the token's subject) and Scopes the
//     token's scopes (ScopeReveal allows clear payment credentials).
//     A refused request gets 401 with a WWW-Authenticate challenge naming
//     the RFC 9728 protected-resource metadata, which New serves at
//     /.well-known/oauth-protected-resource.
//   - Host checked against an allow-list on every request (403 otherwise),
//     so a DNS-rebinding page cannot reach the server under another name.
//   - Origin checked against an allow-list on every request that carries
//     one (403 otherwise), and http.CrossOriginProtection against
//     cross-site browser requests that carry none.
//   - A cap on live sessions (503 beyond it) and an idle timeout after
//     which a session is closed; or stateless serving, where every request
//     stands alone and any replica may answer it.
//   - Request bodies bounded (413 beyond the bound).
//
// Pages a browser opens (the card-entry and passkey pages) are mounted
// beside the MCP endpoint through Options.Pages: host- and origin-checked,
// body-bounded, but not behind the bearer token, since the shopper's
// browser holds none; they carry their own one-time links.
package mcphttp
