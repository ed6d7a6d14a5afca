// Command replica is one agent replica of the fleet test (package
// test/fleet): an agent.Agent on a shared store, serving a small JSON API
// over HTTP (start adding a card, answer a human step, cancel or read a
// journey, purchase with an idempotency key) and running
// agent.RunReconciler beside it, as every replica of a fleet should.
//
//	FLEET_DATABASE=sqlite:/tmp/fleet.db VISA_SEALER_KEYS=k1:<base64 key> \
//	VISA_MERCHANT_URL=... VISA_...=... replica -name replica-1
//
// The Visa configuration comes from the VISA_* environment
// (visa.ConfigFromEnv, as cmd/visa-sandbox prints it), the merchant from
// VISA_MERCHANT_URL, the passkey sealer from VISA_SEALER_KEYS
// (fido.ParseKeyring: every replica needs the same keys), and the store
// from FLEET_DATABASE ("sqlite:<path>", a file several processes share, or
// "postgres:<dsn>"). Once it serves it prints one line on stdout,
// FLEET_REPLICA_URL=http://127.0.0.1:<port>; its logs are JSON slog records
// on stderr, never with a secret. SIGTERM or SIGINT stop it gracefully; the
// fleet test also stops it with SIGKILL, at random moments.
package main
