// Command browser lets a person create and use a passkey in their own
// browser, against the sandbox, through authframe.Bridge.
//
//	go run ./examples/browser            # then open http://127.0.0.1:8080
//
// The example serves a small shop on 127.0.0.1:8080 and starts the sandbox
// on localhost (the sandbox is the passkey's relying party, and WebAuthn
// needs a host name, not an IP). "Add a card" runs steps 1 to 9: the
// server tokenizes a test card, the Bridge page embeds the sandbox's Auth
// iFrame, and your browser creates a passkey (a platform authenticator, a
// security key, or a phone). "Buy" runs steps 10 to 16 with that passkey.
// The OTP of the step-up is typed for you (the sandbox's golden 456789).
//
// The forms change state, so the shop refuses cross-origin posts with
// net/http's CrossOriginProtection: another site cannot start a purchase
// flow in the shopper's name.
package main
