// Command visa-sandbox serves the vicgo sandbox, a local stand-in for Visa's
// VTS, VIC and Auth iFrame (plus a merchant authorizer), for clients in any
// language and for CI. It writes the environment a client needs (VISA_*
// variables for this SDK, or with -format visa-kit the dotenv names of
// Visa's TypeScript kit) to standard output or, with -env-file, to a file
// written once the port is open and before it serves. It serves until
// SIGINT or SIGTERM; -detach serves in the background and returns once the
// environment file is written.
//
// Usage:
//
//	visa-sandbox [-addr localhost:8099] [-tls [-mtls]] [-data-dir DIR]
//	             [-env-file FILE [-detach]] [-format shell|visa-kit] [-print-env] [-v]
//	             [-merchant-tap JWKS [-merchant-tap-lenient]] [-max-retained N]
//
// -h lists the flags and the sandbox-only endpoints (inspection, faults,
// the merchant authorizer). A bad flag exits with status 2; a port in use
// exits 1 with a message naming -addr.
package main
