// Package tap implements Visa's Trusted Agent Protocol (TAP) and the IETF
// Web Bot Auth profile on HTTP Message Signatures (RFC 9421), for both
// sides: the AI agent that browses and pays at merchants, and the merchant
// (or its CDN) that wants to know which agent is calling.
//
// # Agent side
//
// A Signer holds the agent's key, any crypto.Signer (Ed25519, P-256 or
// RSA; in memory, a KMS or an HSM). Each request is signed with the tag
// that says what the agent is doing, chosen per request:
//
//	signer, err := tap.NewSigner(key, tap.WithKeyID("my-registered-key"))
//	client := &http.Client{Transport: signer.Transport(nil)}
//	ctx = tap.WithTag(ctx, tap.TagPayer) // at checkout; TagBrowser otherwise
//	req, _ := http.NewRequestWithContext(ctx, "POST", checkoutURL, body)
//	resp, err := client.Do(req)
//
// The TAP profile covers ("@authority" "@path") with created and expires 8
// minutes apart, a fresh nonce, keyid, alg and the tag
// (agent-browser-auth or agent-payer-auth). With TagWebBotAuth the keyid
// is the key's JWK thumbprint (RFC 7638) and the Signature-Agent field
// names the agent's key directory, which DirectoryHandler publishes at
// /.well-known/http-message-signatures-directory. Clients that are not an
// http.Client (a headless browser intercepting its requests) call Sign or
// Headers.
//
// # Merchant side
//
// A Verifier checks requests as middleware and puts the agent's Identity
// (keyid, tag, Signature-Agent, key source) in the request context:
//
//	v, err := tap.NewVerifier(keys) // StaticKeys, NewJWKS(url), NewDirectories(), or Resolvers{...}
//	mux.Handle("/checkout", v.Middleware(tap.TagPayer)(checkout))
//	id, _ := tap.IdentityFrom(r.Context())
//
// In order it parses the signature fields (bounded in size), picks the
// signature whose tag the route accepts, checks the profile's parameters
// and components, the window (created not in the future beyond a small
// skew, not expired, at most 8 minutes long), resolves the key, verifies
// the signature, and only then records the nonce in a NonceStore
// (MemoryNonceStore in one process; package tapsql on SQLite or
// PostgreSQL for a fleet), so a refused request changes nothing. Key
// directories and JWKS are fetched without following redirects, bounded,
// and cached. A refusal is a *VerifyError whose Reason (ErrExpired,
// ErrReplay, ErrTag, ...) gives the answer's status: 400 for a malformed
// request, 401 for one that proves nothing, 503 when the nonce store fails;
// the answer names the reason and never echoes the signature.
//
// # Visa's sample
//
// Visa's sample agent sends a non-canonical Signature-Input (camelCase
// keyId, spaces after ';') and signs that text, with the query inside
// @path. WithLenient verifies it; it is off by default because it is
// outside RFC 9421.
//
// The RFC 9421 core (signature bases, fields, algorithms) is package
// tap/httpsig.
package tap
