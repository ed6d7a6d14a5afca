// Package insandbox starts the in-process sandbox that visa-mcp serves
// against when it has no VISA_* configuration. Only a binary built with
// -tags sandbox links it (cmd/visa-mcp/sandbox.go), so the configured
// server, the one deployed against Visa, carries no sandbox.
package insandbox
