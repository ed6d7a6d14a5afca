// Package reliability is the SDK's reliability and security suite: it
// turns the SDK's design principles into figures, in CI, against the local
// sandbox. Besides ErrorClass, the error classification its tests share,
// it holds only tests; docs/reliability.md reports what they measured.
//
//   - Chaos (TestChaos): 1,000 purchases (100 under -short) by distinct
//     and shared users, 16 at a time, while the
//     sandbox injects a fault of every kind it has into 20% of the
//     requests a purchase makes; then Resume settles whatever was
//     interrupted. The sandbox's inspection and the store prove that no
//     credential was issued twice, nothing was charged twice, no record is
//     lost or left unfinished, no goroutine leaked, and every failure was
//     a typed error. Faults are tied to purchases through a tagging front
//     server, so the test reports outcomes per fault kind.
//   - Onboarding chaos (TestChaosOnboarding): AddCard under the same
//     faults, then Resume: no half-added card survives, and the tokens
//     ACTIVE at VTS are exactly the stored cards.
//   - Secret hygiene (TestSecretHygiene*): journeys and every example run
//     at debug level; every log line, error string, panic message, stored
//     row (memstore and a SQLite sqlstore dumped with database/sql) and
//     program output is searched for the PAN, CVV2, OTP, secureToken,
//     fidoBlob, token PAN, dynamic value, api keys and shared secrets.
//   - Transport security (TestTransport*): TLS below 1.2 refused, mutual
//     TLS required and honoured, oversize and slow-loris responses and
//     cross-host redirects ending in typed errors without leaking the api
//     key.
//   - Bad input (TestBadInput*): malformed caller input for the public
//     methods of vts, vic, authframe, agent and the stores gives a typed
//     error, sends no request and stores nothing.
//   - Fuzzing: end-to-end targets in the fuzz subpackage feed arbitrary
//     answers through the real clients, next to the parser targets that
//     live in each package.
package reliability
