// Package sandbox is a local, stateful Visa: VTS, VIC and the Auth iFrame,
// plus a merchant authorizer, served over real HTTP(S) on loopback from one
// base URL. It is written from docs/wire.md alone and imports no client
// package, so a mistake in a client cannot hide behind the same mistake in
// the simulator. It never contacts Visa.
//
// # Starting it
//
// In tests, sandboxtest.Start(t) starts a sandbox, stops it at the end of the test, and
// returns it; Config() is a ready visa.Config (base URLs, every credential,
// the CA under TLS, the JWKS URL), so a client is one line away:
//
//	sb := sandboxtest.Start(t)
//	c, err := vts.New(sb.Config())
//
// New(opts...) does the same outside tests. It serves TLS with its own CA by
// default (CACertPEM; HTTP/1.1 only, so faults can hijack connections), or
// plain HTTP with WithPlainHTTP. It listens on 127.0.0.1 and advertises
// https://localhost:PORT, because the WebAuthn RP id must be a host name.
// Close shuts it down gracefully. Keys (RSA 2048 MLE pairs and the RS256
// signing key) are generated once per process and shared unless
// WithFreshKeys or WithKeyDir. cmd/visa-sandbox serves the same thing as a
// program and prints the VISA_* environment.
//
// # What it checks
//
// Every VTS and VIC call needs an X-Pay-Token (either api key spelling, ±300
// s, constant time), with an api key of the right product (403 otherwise).
// VIC calls need MLE: the keyId header, an {"encData":...} body for the
// sandbox's server key, an iat in milliseconds, and a UTF-8 plaintext.
// Responses, errors included, are encrypted to the client key with the
// request's enc. VTS enc* fields are decrypted and email hashes
// recomputed. Bodies are bounded (WithMaxBody, 413). Missing fields get
// 400 naming the field. A confirmation must agree with what the sandbox
// merchant decided for its credential (status, amount, codes). Every
// response carries an X-CORRELATION-ID. Errors come in both Visa formats:
// responseStatus (gateway, VIC) and errorResponse (VTS). Fields accepted
// and not used are listed in docs/wire.md §11.8.
//
// # State and time
//
// Enrollments, tokens (INACTIVE until step-up, then ACTIVE, SUSPENDED,
// DELETED), device bindings and OTPs, passkeys per (token, device),
// instructions with mandates, credentials and authorizations live in memory.
// Lifetimes follow docs/wire.md §11.3 (WithLifetimes shortens them), all
// judged on a Clock: pass a *ManualClock with WithClock and Advance it to
// expire things without sleeping. A janitor drops finished or expired state
// older than WithRetention (default 30 min) whenever a write comes in, so
// memory stays flat under a steady load. Cumulative counters are kept.
//
// # Test data
//
// The golden OTP is 456789 (GoldenOTP). Test cards: CardHappy
// 4111111111111111 (OTP step-up; approved), CardNoStepUp 4012888888881881
// (device binding APPROVED), CardProvisioningDeclined 4000000000000002,
// CardInsufficientFunds 4000000000009995 (the merchant answers 51), and
// CardExpired 4000000000000069. Any other Luhn-valid PAN starting with 4
// behaves like CardHappy. Token PANs start with 489537.
//
// # The Auth iFrame
//
// /vts-auth/authenticate serves the browser page, which runs real WebAuthn,
// and a JSON mode (Accept: application/json), in which the sandbox plays
// the user's device with a software authenticator per client.id. Both mint
// fidoBlobs, compact JWEs (dir + A256GCM) under a key that never leaves
// the process, which VIC enrollment and instructions redeem once; the
// attestation payloads they verify are RS256 JWS, like signedPayload.
//
// # The merchant, faults and inspection
//
// POST /sandbox/v1/merchant/authorizations approves a credential once ('00').
// Otherwise it answers with issuer codes: 14 unknown card, 54 wrong expiry or
// expired credential, N7 unknown cvv2, 05 replay, 13 amount too high, 51
// insufficient funds. GET on /sandbox/v1/merchant/authorizations/{ref}
// replays the recorded result.
// Faults (latency, 429, 500, 503, reset, drop after processing, truncated
// body, malformed JSON, invalid MLE, and VIC's HTTP 202 with pendingEvents
// for a cardholder action still pending) are injected per endpoint or at
// random with a seed: WithFaults, SetFaults, or POST
// /sandbox/v1/admin/faults.
// Inspect (or GET /sandbox/v1/admin/state) reports credentials per
// instruction, OTPs sent, authorizations, approvals per credential and faults
// injected, so tests can prove that nothing was charged twice. The admin API
// has no authentication: keep the sandbox on loopback.
package sandbox
