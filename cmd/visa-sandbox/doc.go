// Command visa-sandbox serves the vicgo sandbox, a local stand-in for Visa's
// VTS, VIC and Auth iFrame (plus a merchant authorizer), for clients in any
// language and for CI. It prints the VISA_* environment a client needs and
// serves until SIGINT or SIGTERM.
//
// Usage:
//
//	visa-sandbox [-addr localhost:8099] [-tls] [-data-dir DIR] [-print-env] [-v] [-merchant-tap JWKS [-merchant-tap-lenient]]
package main
