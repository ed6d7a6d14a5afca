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
// # Human steps
//
// A journey runs as a flow in its own goroutine. When it needs the human
// (where to send the one-time code, the code itself, a passkey on a page
// in the browser) the tool answers CHOOSE_STEP_UP, OTP_REQUIRED or
// PASSKEY_REQUIRED with a flowId, and the flow waits; the agent asks the
// user and calls add-card-continue (or purchase-continue) with the answer.
// A flow that waits longer than WithFlowTimeout is abandoned and cleans up
// after itself (a half-added card's token is deleted); Close abandons them
// all and waits for their goroutines.
//
// With the default Direct Auth iFrame the server plays the iFrame
// exchange itself, which the local sandbox answers as the cardholder's
// device. Against Visa, the passkey ceremony happens in the cardholder's
// browser: configure WithBridge and the flow answers PASSKEY_REQUIRED with
// the page's URL.
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
// Bad arguments are refused before anything is sent or stored, as a tool
// error (CallToolResult.IsError) whose text names the argument and never
// its value: "invalid argument card.pan: must be a valid card number
// (13 to 19 digits passing the Luhn check)". The SDK's schema validator
// is deliberately not used, because its messages quote the offending
// value.
package mcpserver
