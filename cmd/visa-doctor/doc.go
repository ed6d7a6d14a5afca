// Command visa-doctor checks a configuration against a Visa environment
// before the first real call. It reads the VISA_* variables of
// visa.ConfigFromEnv and prints one line per check, PASS, FAIL with the
// reason, or SKIP with why:
//
//   - every credential present and well-formed (per product: VIC, VTS,
//     the Auth iFrame);
//   - the MLE keys: Visa's server certificate and your private key parse,
//     the certificate is not expired and is not your own, and, given your
//     MLE client certificate (-mle-client-cert), the private key is its
//     pair;
//   - the mutual-TLS client certificate and key are a pair;
//   - a TLS handshake with each base URL's host;
//   - Visa's connectivity endpoint GET /vdp/helloworld with each product's
//     api key and X-Pay-Token, and over mutual TLS;
//   - the signedPayload JWKS answers with public signing keys.
//
// It never prints a secret: errors name the variable, and URLs are shown
// without their query (the api key). It exits 0 when no check failed, 1
// when one did, 2 on a bad command line.
//
//	go run ./cmd/visa-doctor
//
// The local sandbox serves /vdp/helloworld too, so the doctor can be tried
// against go run ./cmd/visa-sandbox (with -tls -mtls for the TLS checks).
package main
