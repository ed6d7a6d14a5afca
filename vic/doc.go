// Package vic is the Visa Intelligent Commerce client: card enrollment,
// purchase instructions, payment credentials and transaction
// confirmations (docs/wire.md §6).
//
// Every call goes through the SDK's one transport: signed with an
// X-Pay-Token (resource path without "vacp/"), its body wrapped in Message
// Level Encryption (RSA-OAEP-256 + A128GCM by default) with the keyId
// header, and its answer, error bodies included, decrypted with the
// client's MLE key its kid names (up to three live key ids; RotateMLE and
// SetMLEServerCert replace them while the process runs).
//
// Answers are typed: Status and TransactionStatus name the values of
// docs/wire.md §10.2 (unknown ones decode as they are); an HTTP 202 with
// pendingEvents (docs/wire.md §6.7) is a *PendingError, matched by
// ErrPending, after which the same request may be sent again; an answer
// without a member the wire promises is a *MissingMemberError. Input is
// checked before anything is sent, and an id or text holding a card
// number is refused without being echoed.
//
// The purchase half of the journey, in the step numbers of docs/journey.md:
//
//	c, _ := vic.New(cfg)
//	ins, _ := c.CreateInstruction(ctx, vic.CreateInstructionRequest{...}) // Step 13
//	cr, _ := c.RetrieveCredentials(ctx, vic.CredentialsRequest{...})    // Step 14
//	// Step 15: pay the merchant with cr.Credentials.DynamicData[0]
//	_, _ = c.ConfirmTransaction(ctx, vic.ConfirmRequest{...})           // Step 16
//
// Credentials arrive as a signedPayload JWT. RetrieveCredentials verifies
// it before decoding it: the signature against a key source (a JWKS URL,
// fetched, cached and refreshed once when an unknown kid appears, or
// static PEM keys), the algorithm against an allow-list that never admits
// "none" or HMAC, and exp and dynamicDataExpiration with a small leeway.
// DecodeCredentialsUnverified exists for callers without keys and says so
// in its name. The payment token and the dynamic value are redacting types:
// they print as ****8717 and [REDACTED].
//
// Retries are decided per call. ConfirmTransaction is idempotent per
// transactionReferenceId and retries on 429, 5xx and network errors. Every
// other call consumes something single use (a fidoBlob, a credential), so
// it is retried only when the request provably never reached Visa.
package vic
