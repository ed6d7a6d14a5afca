// Package agent is the payment agent: Visa's 16-step journey
// (docs/journey.md) over vts, authframe, vic and a store.Store, safe to
// repeat, to crash, and to run on many replicas.
//
// Two calls cover the journey. AddCard (Phases 2 and 3, steps 1 to 9)
// tokenizes a card with VTS, opens an Auth iFrame session, binds the
// token to the device (step-up with a one-time passcode), creates a
// passkey, enrolls the card in VIC and stores the token with the passkey's
// fidoBlob sealed. Purchase (Phases 4 and 5, steps 10 to 16) authenticates
// the cardholder with the passkey for the amount and merchant, creates a
// purchase instruction with its mandate, retrieves and verifies a one-time
// credential, charges it through a Merchant and confirms the result to VIC.
//
//	a, _ := agent.New(cfg, st, sealer, agent.WithMerchant(m))
//	added, _ := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card, Device: dev, Cardholder: ch})
//	receipt, err := a.Purchase(ctx, agent.PurchaseRequest{IdempotencyKey: orderID, UserID: u.ID, TokenID: added.Card.TokenID, ...})
//
// # Journeys that wait for a human
//
// Adding a card waits minutes for the cardholder: where the code goes, the
// code itself. StartAddCard runs until the journey needs the human and
// returns a Journey whose Next says what to ask (CHOOSE_OTP_METHOD,
// ENTER_OTP, with the masked destinations, attempts and codes left);
// Continue gives the answer, from this process or any other sharing the
// Store, at most once per answer. A waiting journey is a row, not a
// goroutine: it holds no memory, survives a restart, expires (and is
// cleaned up: no usable token left) when nobody answers, and can be
// cancelled (CancelJourney). AddCard with a Cardholder drives the same
// steps in one call.
//
// The passkey is a human step too (steps 9 and 12). With a Bridge relayed
// through the Store (WithBridge), a journey that needs it waits with
// ActionPasskey and the URL of the cardholder's page; the page long-polls any
// replica for its commands and posts the iFrame's events to any replica,
// where they continue the journey. StartPurchase returns at that wait;
// Purchase and AddCard wait for the page themselves. The session's
// secureToken and the ceremony's fidoBlob are used in the request that
// receives them, never stored.
//
// # Outcomes
//
// Purchase returns its Receipt (the stored record) with every error once
// the purchase is recorded. What the caller may do depends on whether the
// merchant may have been called:
//
//	returned                             record                  money        what to do
//	nil                                  COMPLETED               charged      done
//	*DeclineError (ErrDeclined)          DECLINED                not charged  tell the shopper; another card may work
//	*OutcomeError ErrChargedUnconfirmed  AUTHORIZED              charged      do not retry; the reconciler confirms it
//	*OutcomeError ErrOutcomeUnknown      AUTHORIZING             maybe        do not retry; the reconciler asks the merchant
//	*OutcomeError ErrOwnershipLost       as another run left it  maybe        do not retry; the reconciler settles it
//	ErrInProgress                        under way elsewhere     maybe        call again later with the same key
//	ErrIdempotencyMismatch               unchanged               nothing new  the key was used for another request
//	another error                        FAILED or CANCELLED     not charged  safe to try again (with a new key)
//	*visa.InputError, no Receipt         nothing recorded        not charged  fix the request
//
// MayHaveCharged(err) is true exactly for the "do not retry" rows. An
// OutcomeError deliberately does not unwrap to its cause, so a generic
// "retry on network errors" rule never matches it. A request repeated with
// its IdempotencyKey returns the first one's outcome (a Receipt with
// Replayed set, or the same typed error) and never charges again, from any
// replica.
//
// # Crash safety, leases and the reconciler
//
// A purchase is a store.Journey (its lease says which run of which process
// works on it, renewed while it runs) and a store.Transaction whose status
// moves by compare-and-swap, recorded before every side effect that must
// not repeat (CREDENTIALS_REQUESTED before asking for a credential,
// AUTHORIZING before charging). The steps are one declared table, run by
// one runner; the reconciler (Reconcile for one pass, RunReconciler
// periodically, in every replica) reads the same table to settle what a
// dead process left: it never touches a journey whose lease is live, never
// obtains a second credential, never charges, and takes a merchant's
// "never seen" as proof of no charge only once the charge can no longer
// land (WithMerchantTimeout).
//
// What is stored: users, tokens (id, reference, last 4, expiry, status),
// passkeys with the fidoBlob sealed by a fido.Sealer, transactions and
// journeys (their step and the non-secret state they wait with). Never the
// PAN, CVV2, OTP, secureToken, credential or a clear fidoBlob.
//
// Observability: one slog record per step with its journey step number,
// duration and a secret-free outcome, and an optional progress callback
// for user interfaces (WithProgress). Test and demonstration hooks (a
// scripted cardholder, the sandbox's merchant, crash boundaries) live in
// agent/agenttest, not here.
package agent
