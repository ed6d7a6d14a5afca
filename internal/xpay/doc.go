// Package xpay signs and verifies Visa's X-Pay-Token request header, used on
// every VIC and VTS REST call.
//
// The token is
//
//	"xv2:" + ts + ":" + lowercase_hex(HMAC-SHA256(key = sharedSecret, msg = ts + resourcePath + query + body))
//
// where ts is Unix seconds in decimal, resourcePath is the URL path without
// its leading "/" (and, for VIC, without the leading "vacp/": see
// ResourcePath), query is the raw query string exactly as sent (without
// "?", the api key first) and body is the exact request body bytes (empty
// for GET). The shared secret is used as raw UTF-8 bytes.
//
// The transport calls Sign on every attempt, so a retried request carries a
// fresh timestamp; it must sign exactly the bytes it sends and never
// re-marshal in between. The sandbox calls Verify with the raw query and
// body it received: the token must parse, its timestamp must be within the
// skew (DefaultSkew, 300 s) of the server clock, and the HMAC must match in
// constant time (hex digits of either case are accepted).
//
// Errors wrap ErrMissing, ErrMalformed, ErrExpired or ErrMismatch and never
// contain the secret or the expected MAC.
package xpay
