// Command visa-mcp is a self-hosted Model Context Protocol server that
// gives AI agents the vicgo SDK as tools: add a card, buy with it, and the
// VTS and VIC calls one by one (see package mcpserver). It runs in your
// own infrastructure, so the Visa credentials never leave it.
//
// Usage:
//
//	visa-mcp [-http ADDR [-auth token|oauth|none] [-stateless] ...] [-profile agentcore] [-db FILE] [-reveal-credentials] [-v]
//
// Without -http it speaks MCP on standard input and output (the way
// desktop agents start local servers); with -http it serves streamable
// HTTP at http://ADDR/mcp. Logs go to standard error only.
//
// Over HTTP every caller is authenticated (package mcpserver/mcphttp):
// by default with a static bearer token (VISA_MCP_TOKEN, or one generated
// at start and printed once on standard error), or with OAuth access
// tokens (JWTs) of VISA_MCP_OAUTH_ISSUER, checked against its keys,
// audience and expiry; the RFC 9728 metadata is served at
// /.well-known/oauth-protected-resource. -auth none serves loopback
// addresses only: a non-loopback bind without authentication is refused
// with exit status 2. Host and Origin are checked on every request,
// sessions are capped and time out, bodies are bounded; -stateless serves
// without sessions. -profile agentcore (VISA_MCP_PROFILE=agentcore) is
// the AWS Bedrock AgentCore Runtime contract: 0.0.0.0:8000/mcp, stateless,
// OAuth required, a PostgreSQL store (VISA_MCP_DATABASE_URL); see
// docs/deploy-agentcore.md and the repository's Dockerfile.
//
// Configuration comes from the VISA_* environment variables of
// visa.ConfigFromEnv, plus VISA_MERCHANT_URL (a merchant authorizer
// speaking the sandbox's protocol, for purchase), VISA_SEALER_KEYS
// ("kid:base64key,...", the keys sealing passkeys at rest; without it a
// random key per run) and VISA_MCP_DEVICE_KEY (at least 32 bytes in
// base64, e.g. from "openssl rand -base64 32": the per-deployment key of
// the default device ids, an HMAC of the user id; without it a random key
// per run). Keys come from the environment, never from flags, which other
// local users can read in the process list; every secret X can instead
// be read from the file named by X_FILE, as container platforms mount
// them. Every flag has a VISA_MCP_* variable too. -h lists every variable.
//
// The default build links no sandbox: deployed against Visa, it stops
// with a clear message when the VISA_* configuration is missing rather
// than serve a fake Visa. Built with -tags sandbox, it starts an
// in-process sandbox when none of VISA_VTS_API_KEY and VISA_VIC_API_KEY
// is set, so
//
//	go run -tags sandbox ./cmd/visa-mcp
//
// works out of the box (test card 4111111111111111, one-time code
// 456789).
//
// A bad flag or argument exits with status 2, other failures with 1.
package main
