package mcpserver

import (
	"github.com/vicgo/visa"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// toolSpec declares one tool: its name, title, description, annotations,
// the shape of its schemas and its handler, together.
type toolSpec struct {
	name, title, description string
	// describe, when set, gives the description for the server's options.
	describe func(*Server) string
	// aliases are further names of the same tool (the names Visa's own
	// agent code calls).
	aliases []string
	// readOnly, destructive, idempotent and local are the annotations: a
	// read-only tool changes nothing; a destructive one moves money or
	// deletes; an idempotent one may be repeated with the same arguments
	// without further effect; a local one talks to nobody but this server.
	readOnly, destructive, idempotent, local bool
	// enums and outEnums give the allowed values of input and output
	// properties, by dotted path ("x[]" steps into a list's items).
	enums, outEnums map[string][]any
	// userArgs name the arguments that say who the user is: dropped from
	// the schema when the server requires authentication (the caller is
	// the user).
	userArgs []string
	// cardArgs name the card-number arguments: dropped when the server
	// does not accept card arguments (WithCardArguments).
	cardArgs []string
	// needsCardArgs: the tool is offered only with card arguments.
	needsCardArgs bool
	build         func(*Server, toolSpec) toolDef
}

var (
	stepUpEnum     = []any{vts.MethodOTPSMS, vts.MethodOTPEmail, vts.MethodOTPOnlineBanking, vts.MethodCustomerService, vts.MethodAppToApp, vts.MethodOutboundCall}
	tokenStatuses  = []any{string(visa.TokenInactive), string(visa.TokenActive), string(visa.TokenSuspended), string(visa.TokenDeleted)}
	flowOutEnums   = map[string][]any{"status": flowStatuses, "transaction.status": txStatuses, "method": stepUpEnum, "methods[].method": stepUpEnum}
	attestActions  = []any{string(visa.ActionRegister), string(visa.ActionAuthenticate)}
	confirmOutcome = []any{vic.TransactionApproved, vic.TransactionDeclined}
)

// toolTable is every tool of the server, in the order they are listed.
var toolTable = []toolSpec{
	{name: "add-card", title: "Add a card",
		describe: addCardDescription,
		userArgs: []string{"user.id"},
		cardArgs: []string{"card"},
		enums:    map[string][]any{"stepUpMethod": stepUpEnum},
		outEnums: flowOutEnums,
		build:    tool((*Server).addCard)},
	{name: "add-card-continue", title: "Continue adding a card",
		description: "Continue an add-card journey (flowId): answer CHOOSE_STEP_UP with method, OTP_REQUIRED with otp (or resend: true), " +
			"or give no answer to read where it stands (CARD_ENTRY_REQUIRED, IN_PROGRESS, PASSKEY_REQUIRED). cancel: true abandons it " +
			"and removes the half-added card. Works on any server instance sharing the store, and after a restart.",
		destructive: true,
		enums:       map[string][]any{"method": stepUpEnum},
		outEnums:    flowOutEnums,
		build:       tool((*Server).addCardContinue)},
	{name: "purchase", title: "Buy with a card",
		description: "Buy one thing with a card added by add-card (journey steps 10-16): passkey authentication for the amount and merchant, " +
			"purchase instruction with its mandate, one-time credential, merchant charge and confirmation to Visa. MOVES MONEY. " +
			"Safe to repeat with the same idempotencyKey (default: derived from orderId): a repeated call returns the first outcome and never charges again. " +
			"The result's status comes from the stored record: COMPLETED, DECLINED, FAILED (nothing charged, safe to try again), CANCELLED, " +
			"CHARGED_UNCONFIRMED or OUTCOME_UNKNOWN (never purchase again: follow up with purchase-continue). The credential is never returned in clear.",
		destructive: true, idempotent: true,
		userArgs: []string{"userId"},
		outEnums: flowOutEnums,
		build:    tool((*Server).purchase)},
	{name: "purchase-continue", title: "Follow a purchase",
		description: "Read where a purchase (flowId) stands, from the stored record: after IN_PROGRESS, PASSKEY_REQUIRED, CHARGED_UNCONFIRMED " +
			"or OUTCOME_UNKNOWN. cancel: true cancels a purchase that has not reached the merchant (CANCELLED); never one that may have charged.",
		destructive: true,
		outEnums:    flowOutEnums,
		build:       tool((*Server).purchaseContinue)},
	{name: "list-transactions", title: "List purchases",
		description: "List the user's purchases, newest first, with their stored status. Pass nextCursor back as cursor for older ones.",
		readOnly:    true, idempotent: true, local: true,
		userArgs: []string{"userId"},
		enums:    map[string][]any{"status": txStatuses},
		outEnums: map[string][]any{"transactions[].status": txStatuses},
		build:    tool((*Server).listTransactions)},
	{name: "list-cards", title: "List cards",
		description: "List the user's cards (token id, last four digits, status); never a card number.",
		readOnly:    true, idempotent: true, local: true,
		userArgs: []string{"userId"},
		outEnums: map[string][]any{"cards[].tokenStatus": tokenStatuses},
		build:    tool((*Server).listCards)},
	{name: "provision-token-given-pan-data", title: "Tokenize a card (VTS)",
		description: "VTS: tokenize a card (steps 1-2). Returns the token id and a clientReferenceId for the onboarding calls that follow; " +
			"the card number is never returned. For a signed-in caller the token is recorded as the caller's card, usable by the caller alone; " +
			"one not enrolled with enroll-card within an hour is deleted. " +
			"Takes the card number as an argument, so it passes through the agent: prefer add-card's card-entry page.",
		needsCardArgs: true,
		outEnums:      map[string][]any{"status": tokenStatuses},
		build:         tool((*Server).provisionToken)},
	{name: "get-device-attestation-options", title: "Prepare a passkey ceremony (VTS)",
		description: "VTS attestation options (steps 4, 8, 11): opens an Auth iFrame session unless sessionHandle is given, and prepares the " +
			"passkey ceremony (REGISTER or AUTHENTICATE). Returns an opaque sessionHandle in place of the secureToken.",
		userArgs: []string{"consumerId"},
		enums:    map[string][]any{"action": attestActions},
		outEnums: map[string][]any{"action": attestActions},
		build:    tool((*Server).attestationOptions)},
	{name: "device-binding-request", title: "Bind the device (VTS)",
		description: "VTS device binding (step 5) on a session: APPROVED, or CHALLENGE with the step-up methods (masked destinations).",
		outEnums:    map[string][]any{"status": {"APPROVED", "CHALLENGE"}, "stepUpMethods[].method": stepUpEnum},
		build:       tool((*Server).deviceBinding)},
	{name: "submit-idv-step-up-method", title: "Send a one-time code (VTS)",
		description: "VTS step-up method (step 6): Visa sends the one-time code by the chosen method.",
		outEnums:    map[string][]any{"status": {"CODE_SENT"}},
		build:       tool((*Server).selectStepUp)},
	{name: "validate-otp", title: "Check a one-time code (VTS)",
		description: "VTS OTP validation (step 7): submit the code the cardholder received.",
		outEnums:    map[string][]any{"status": {"VALIDATED"}},
		build:       tool((*Server).validateOTP)},
	{name: "authenticate-passkey", title: "Run the passkey ceremony",
		description: "Run the passkey ceremony of a session (steps 9, 12) in the Auth iFrame. Returns an opaque, single-use assuranceHandle in place of the fidoBlob.",
		outEnums:    map[string][]any{"ceremony": attestActions},
		build:       tool((*Server).authenticatePasskey)},
	{name: "enroll-card", title: "Enroll a card (VIC)",
		description: "VIC card enrollment (after step 9) with an assuranceHandle from a REGISTER ceremony.",
		userArgs:    []string{"consumer.id"},
		build:       tool((*Server).enrollCard)},
	{name: "initiate-purchase-instruction", title: "Create a purchase instruction (VIC)",
		description: "VIC purchase instruction (step 13) with its mandates, authorized by an assuranceHandle from an AUTHENTICATE ceremony. " +
			"It allows charges up to the mandates' amounts.",
		destructive: true,
		userArgs:    []string{"consumerId"},
		build:       tool((*Server).initiateInstruction)},
	{name: "update-purchase-instruction", title: "Change a purchase instruction (VIC)",
		description: "VIC: replace the mandates of an active purchase instruction (instructionId), with a fresh assuranceHandle.",
		destructive: true,
		userArgs:    []string{"consumerId"},
		build:       tool((*Server).updateInstruction)},
	{name: "cancel-purchase-instruction", title: "Cancel a purchase instruction (VIC)",
		description: "VIC: cancel a purchase instruction; no further credential can be obtained for it.",
		destructive: true, idempotent: true,
		userArgs: []string{"consumerId"},
		build:    tool((*Server).cancelInstruction)},
	{name: "retrieve-payment-credentials", title: "Get payment credentials (VIC)",
		aliases: []string{"get-transaction-credentials"},
		description: "VIC payment credentials (step 14), verified. Returned masked (****8717), except to callers holding the " + ScopeReveal +
			" scope on a server configured to reveal them (for agents that pay merchants themselves).",
		build: tool((*Server).retrieveCredentials)},
	{name: "confirm-transaction-events", title: "Confirm transactions (VIC)",
		aliases:     []string{"confirmations"},
		description: "VIC transaction confirmation (step 16): report the merchant's result for each credential.",
		idempotent:  true,
		enums:       map[string][]any{"confirmations[].status": confirmOutcome},
		outEnums:    map[string][]any{"status": {"CONFIRMED"}},
		build:       tool((*Server).confirmTransactions)},
	{name: "get-token-status", title: "Read a token's status (VTS)",
		description: "VTS: a token's status, last four digits and expiry.",
		readOnly:    true, idempotent: true,
		outEnums: map[string][]any{"status": tokenStatuses},
		build:    tool((*Server).tokenStatus)},
	{name: "delete-token", title: "Delete a card's token (VTS)",
		description: "VTS: delete a token for good (and the card's records on this server, if add-card made it). Cannot be undone.",
		destructive: true, idempotent: true,
		outEnums: map[string][]any{"status": {string(visa.TokenDeleted)}},
		build:    tool((*Server).deleteToken)},
}

func addCardDescription(s *Server) string {
	d := "Add a card for the user (journey steps 1-9): tokenize it with Visa, bind it to the user's device with a one-time code " +
		"and a passkey, enroll it for agent payments. "
	if s.cardArgs {
		d += "Without card, the shopper types the card on a one-time card-entry page served by this server (CARD_ENTRY_REQUIRED, cardEntryUrl), " +
			"so the card number never passes through the agent or the model: prefer it. With card (for headless use), the number and CVV2 are used once and never kept or returned. "
	} else {
		d += "The shopper types the card on a one-time card-entry page served by this server (CARD_ENTRY_REQUIRED, cardEntryUrl): " +
			"card numbers are not accepted as arguments here, so they never pass through the agent or the model. "
	}
	return d + "May answer CHOOSE_STEP_UP or OTP_REQUIRED (asked through the client's form when it supports elicitation): ask the user, then call add-card-continue."
}

// ToolNames lists every tool name in the order they are registered,
// aliases included. A server that does not accept card arguments
// (WithCardArguments(false), the default with WithRequireAuth) leaves
// provision-token-given-pan-data out.
func ToolNames() []string {
	var names []string
	for _, t := range toolTable {
		names = append(names, t.name)
		names = append(names, t.aliases...)
	}
	return names
}

// tools builds the server's tools from the table.
func (s *Server) tools() []toolDef {
	var out []toolDef
	for _, spec := range toolTable {
		if spec.needsCardArgs && !s.cardArgs {
			continue
		}
		out = append(out, spec.build(s, spec))
		for _, alias := range spec.aliases {
			a := spec
			a.name, a.describe = alias, nil
			a.description = spec.description + " (Alias of " + spec.name + ", the name Visa's hosted server uses.)"
			out = append(out, a.build(s, a))
		}
	}
	return out
}
