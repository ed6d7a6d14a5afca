// Package mcpserver is a self-hosted Model Context Protocol server that
// exposes the SDK to AI agents as tools, built on the official Go MCP SDK
// (github.com/modelcontextprotocol/go-sdk). It runs in the integrator's
// own infrastructure: the Visa credentials, MLE keys and shared secrets
// stay in its configuration and never travel to the agent, unlike a hosted
// server that takes them in a bearer token. cmd/visa-mcp serves it over
// stdio or streamable HTTP.
//
//	s, err := mcpserver.New(cfg, mcpserver.WithMerchant(m))
//	defer s.Close()
//	err = s.RunStdio(ctx)                     // or
//	http.Handle("/mcp", s.Handler())          // streamable HTTP
//
// # Tools
//
// Journey tools, for agents that want one call per intent: add-card
// (journey steps 1 to 9 through agent.AddCard), purchase (steps 10 to 16
// through agent.Purchase), their -continue tools, list-transactions and
// list-cards. Low-level tools named like Visa's own MCP tools, one per
// VTS or VIC call, for agents that walk the steps themselves:
// provision-token-given-pan-data, get-device-attestation-options,
// device-binding-request, submit-idv-step-up-method, validate-otp,
// authenticate-passkey, enroll-card, initiate-, update- and
// cancel-purchase-instruction, retrieve-payment-credentials,
// confirm-transaction-events, get-token-status and delete-token.
// ToolNames lists them all. Every tool has a typed input and output JSON
// schema inferred from its Go structs.
//
// # Journeys, users and outcomes
//
// The tools are declared in one table (tools.go): name, title,
// description, annotations, schema shaping and handler together. add-card
// and purchase run on the agent's step API: a journey waiting for the
// human (CHOOSE_STEP_UP, OTP_REQUIRED, PASSKEY_REQUIRED) is a stored row,
// so add-card-continue and purchase-continue reach it from any server
// sharing the store, and after a restart. Where the client supports MCP
// elicitation, the step-up method and code are asked through a form; the
// card itself is typed on the card-entry page PagesHandler serves
// (CARD_ENTRY_REQUIRED with a one-time link, or a URL-mode elicitation),
// never in the model's context. A client on protocol 2026-07-28 or later
// is asked through input-required results and answers by repeating the
// call (multi round-trip requests, with a signed requestState naming the
// journey); an older one through elicitation/create during the call. Card arguments remain for headless use
// (WithCardArguments).
//
// WithRequireAuth makes the caller the user: the auth.TokenInfo the HTTP
// side's auth.RequireBearerToken puts in the request (req.Extra.TokenInfo,
// its UserID). Tools then take no userId, and another user's cards,
// journeys, handles, instructions and transactions are "not found".
// Clear credentials come only from retrieve-payment-credentials, on a
// server WithRevealCredentials(true), to callers holding ScopeReveal.
//
// Results are read from the stored record (see README.md's outcome
// table): COMPLETED, DECLINED, CANCELLED, FAILED (nothing charged),
// CHARGED_UNCONFIRMED and OUTCOME_UNKNOWN (never purchase again).
//
// The low-level tools keep what must not leave the server behind opaque
// handles: a sessionHandle stands for an Auth iFrame session and its
// single-use secureToken, an assuranceHandle for a passkey ceremony's
// fidoBlob. Both live in memory only, for WithHandleTTL at most.
//
// # Secrets
//
// A card number and CVV2 are accepted only by add-card and
// provision-token-given-pan-data, parsed at once into the redacting
// visa.PAN and visa.CVV2, sent encrypted to VTS and never stored, logged
// or returned. No result contains a PAN, CVV2, OTP, secureToken or
// fidoBlob. Payment credentials are returned masked (****8717) unless the
// server was built WithRevealCredentials(true), for agents that pay
// merchants themselves.
//
// Bad arguments are refused before anything is sent or stored, all of
// them at once, as a tool error (CallToolResult.IsError) with one line per
// argument, naming it and never its value: "invalid argument card.pan:
// must be a valid card number (13 to 19 digits passing the Luhn check)".
// The MCP SDK's schema validator is deliberately not used, because its
// messages quote the offending value.
package mcpserver
