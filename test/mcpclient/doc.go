// Package mcpclient runs a client that is not ours against visa-mcp: the
// official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned in
// package.json and package-lock.json) drives the built binary over
// streamable HTTP with a bearer token through client.mjs: it lists the
// tools, adds a card through the one-time-code step, buys with it, lists
// the purchases and makes one bad call, and fails on any deviation.
//
// The test needs Node.js and npm. Without them it is skipped, except
// under CI=true, where .ci/run installs them and a missing node fails.
// It runs "npm ci" when node_modules is absent.
package mcpclient
