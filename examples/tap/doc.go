// Command tap shows the Trusted Agent Protocol and Web Bot Auth end to end,
// on loopback: an AI agent browses and checks out at a small merchant
// server that verifies every request with package tap and prints who the
// agent is.
//
// The agent signs with one Ed25519 key through a tap.Signer's
// RoundTripper, choosing the tag per request: web-bot-auth to browse as a
// bot whose key directory (published with tap.DirectoryHandler) names it,
// agent-browser-auth to browse as a TAP agent, agent-payer-auth at
// checkout. The merchant accepts browsing tags on its product pages and
// only agent-payer-auth at checkout, and shows the refusals: an unsigned
// checkout, a checkout signed for browsing, and a replayed checkout.
//
//	go run ./examples/tap
package main
