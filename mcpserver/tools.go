package mcpserver

import (
	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func newUUID() string { return uuid.NewString() }

// ToolNames lists the server's tools in the order they are registered.
func ToolNames() []string {
	names := make([]string, len(toolCatalog))
	for i, t := range toolCatalog {
		names[i] = t.name
	}
	return names
}

// toolCatalog names and describes every tool; tools builds them.
var toolCatalog = []struct{ name, description string }{
	{"add-card", "Add a card for a user, in one call (steps 1-9): tokenize it with Visa, bind it to the user's device with a one-time code and a passkey, enroll it for agent payments. The card number and CVV2 are used once and never kept or returned. May answer CHOOSE_STEP_UP or OTP_REQUIRED: ask the user, then call add-card-continue."},
	{"add-card-continue", "Continue an add-card flow: answer CHOOSE_STEP_UP with method, OTP_REQUIRED with otp (or resend), or just wait for the next step (IN_PROGRESS, PASSKEY_REQUIRED). cancel abandons it."},
	{"purchase", "Buy with a card added by add-card, in one call (steps 10-16): passkey authentication for the amount and merchant, purchase instruction with its mandate, one-time credential, merchant charge and confirmation to Visa."},
	{"purchase-continue", "Wait for a purchase that answered IN_PROGRESS or PASSKEY_REQUIRED; cancel abandons it before the merchant is charged."},
	{"list-transactions", "List a user's purchases and their statuses, oldest first."},
	{"list-cards", "List a user's cards (token id, last four digits, status)."},
	{"provision-token-given-pan-data", "VTS: tokenize a card (steps 1-2). Returns the token id and a clientReferenceId for the onboarding calls that follow; the card number is never returned."},
	{"get-device-attestation-options", "VTS attestation options (steps 4, 8, 11): opens an Auth iFrame session unless sessionHandle is given, and prepares the passkey ceremony (REGISTER or AUTHENTICATE). Returns an opaque sessionHandle in place of the secureToken."},
	{"device-binding-request", "VTS device binding (step 5) on a session: APPROVED, or CHALLENGE with the step-up methods (masked destinations)."},
	{"submit-idv-step-up-method", "VTS step-up method (step 6): Visa sends the one-time code by the chosen method."},
	{"validate-otp", "VTS OTP validation (step 7): submit the code the cardholder received."},
	{"authenticate-passkey", "Run the passkey ceremony of a session (steps 9, 12) in the Auth iFrame. Returns an opaque, single-use assuranceHandle in place of the fidoBlob."},
	{"enroll-card", "VIC card enrollment (after step 9) with an assuranceHandle from a REGISTER ceremony."},
	{"initiate-purchase-instruction", "VIC purchase instruction (step 13) with its mandates, authorized by an assuranceHandle from an AUTHENTICATE ceremony."},
	{"update-purchase-instruction", "VIC: replace the mandates of an active purchase instruction, with a fresh assuranceHandle."},
	{"cancel-purchase-instruction", "VIC: cancel a purchase instruction."},
	{"retrieve-payment-credentials", "VIC payment credentials (step 14), verified. Returned masked (****8717) unless the server is configured to reveal them to the agent."},
	{"confirm-transaction-events", "VIC transaction confirmation (step 16): report the merchant's result for each credential."},
	{"get-token-status", "VTS: a token's status, last four digits and expiry."},
	{"delete-token", "VTS: delete a token for good (and the card's records on this server, if add-card made it)."},
}

func (s *Server) tools() []toolDef {
	handlers := map[string]func(name, description string) toolDef{
		"add-card": func(n, d string) toolDef { return newTool(s, n, d, s.addCard) },
		"add-card-continue": func(n, d string) toolDef {
			return newTool(s, n, d, s.continueFlow("add-card"))
		},
		"purchase": func(n, d string) toolDef { return newTool(s, n, d, s.purchase) },
		"purchase-continue": func(n, d string) toolDef {
			return newTool(s, n, d, s.continueFlow("purchase"))
		},
		"list-transactions":              func(n, d string) toolDef { return newTool(s, n, d, s.listTransactions) },
		"list-cards":                     func(n, d string) toolDef { return newTool(s, n, d, s.listCards) },
		"provision-token-given-pan-data": func(n, d string) toolDef { return newTool(s, n, d, s.provisionToken) },
		"get-device-attestation-options": func(n, d string) toolDef { return newTool(s, n, d, s.attestationOptions) },
		"device-binding-request":         func(n, d string) toolDef { return newTool(s, n, d, s.deviceBinding) },
		"submit-idv-step-up-method":      func(n, d string) toolDef { return newTool(s, n, d, s.selectStepUp) },
		"validate-otp":                   func(n, d string) toolDef { return newTool(s, n, d, s.validateOTP) },
		"authenticate-passkey":           func(n, d string) toolDef { return newTool(s, n, d, s.authenticatePasskey) },
		"enroll-card":                    func(n, d string) toolDef { return newTool(s, n, d, s.enrollCard) },
		"initiate-purchase-instruction":  func(n, d string) toolDef { return newTool(s, n, d, s.instruction(false)) },
		"update-purchase-instruction":    func(n, d string) toolDef { return newTool(s, n, d, s.instruction(true)) },
		"cancel-purchase-instruction":    func(n, d string) toolDef { return newTool(s, n, d, s.cancelInstruction) },
		"retrieve-payment-credentials":   func(n, d string) toolDef { return newTool(s, n, d, s.retrieveCredentials) },
		"confirm-transaction-events":     func(n, d string) toolDef { return newTool(s, n, d, s.confirmTransactions) },
		"get-token-status":               func(n, d string) toolDef { return newTool(s, n, d, s.tokenStatus) },
		"delete-token":                   func(n, d string) toolDef { return newTool(s, n, d, s.deleteToken) },
	}
	out := make([]toolDef, 0, len(toolCatalog))
	for _, t := range toolCatalog {
		d := handlers[t.name](t.name, t.description)
		d.tool.Annotations = annotations(t.name)
		out = append(out, d)
	}
	return out
}

// annotations gives MCP clients the hints they use to decide what needs
// the user's approval: every tool talks to Visa (open world); the list
// and status tools only read; delete-token and the cancel tool destroy.
func annotations(name string) *mcp.ToolAnnotations {
	yes, no := true, false
	a := &mcp.ToolAnnotations{OpenWorldHint: &yes, DestructiveHint: &no}
	switch name {
	case "list-transactions", "list-cards":
		a.ReadOnlyHint, a.IdempotentHint, a.OpenWorldHint = true, true, &no
	case "get-token-status":
		a.ReadOnlyHint, a.IdempotentHint = true, true
	case "delete-token", "cancel-purchase-instruction":
		a.DestructiveHint = &yes
	case "confirm-transaction-events":
		a.IdempotentHint = true
	}
	return a
}
