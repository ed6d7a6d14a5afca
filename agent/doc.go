// Package agent is the payment agent: Visa's 16-step journey (docs/journey.md) as resumable
// steps over vts, authframe, vic and a store.Store.
//
// Two calls cover the journey. AddCard (Phases 2 and 3, steps 1 to 9)
// tokenizes a card with VTS, opens an Auth iFrame session, binds the
// token to the device (step-up with a one-time passcode through the
// Cardholder hook), creates a passkey, enrolls the card in VIC and stores
// the token with the passkey's fidoBlob sealed. Purchase (Phases 4 and 5,
// steps 10 to 16) authenticates the cardholder with the passkey for the
// amount and merchant, creates a purchase instruction with its mandate,
// retrieves and verifies a one-time credential, charges it through a
// Merchant and confirms the result to VIC.
//
//	a, _ := agent.New(cfg, st, sealer, agent.WithMerchant(m))
//	added, _ := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: ch})
//	receipt, _ := a.Purchase(ctx, agent.PurchaseRequest{UserID: u.ID, TokenID: added.Card.TokenID, ...})
//
// Crash safety. A purchase is a store.Transaction whose status moves by
// compare-and-swap, and the agent records what it is about to do before
// every side effect that must not repeat (CREDENTIALS_REQUESTED before
// asking for a credential, AUTHORIZING before charging). Resume, called at
// start-up or periodically with ResumeOlderThan, brings every unfinished
// purchase to COMPLETED, DECLINED or CANCELLED without a second credential
// or a second charge: it asks the merchant what happened to an
// interrupted charge rather than charging again, and cancels instructions
// whose credential can no longer be used (credentials are never stored).
//
// What is stored: users, tokens (id, reference, last 4, expiry, status),
// passkeys with the fidoBlob sealed by a fido.Sealer, and transactions.
// Never the PAN, CVV2, OTP, secureToken, credential or a clear fidoBlob.
//
// Observability: one slog record per step with its journey step number,
// duration and a secret-free outcome, and an optional progress callback
// for user interfaces (WithProgress).
package agent
