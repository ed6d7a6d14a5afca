//go:build sandbox

package main

import "github.com/vicgo/visa/cmd/visa-mcp/internal/insandbox"

// Built with -tags sandbox, visa-mcp serves against an in-process sandbox
// when no VISA_* variable names a Visa.
func init() { inProcessSandbox = insandbox.Start }
