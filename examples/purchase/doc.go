// Command purchase buys with a stored card (steps 10 to 16 of
// docs/journey.md): a passkey assertion for the amount and merchant, a
// purchase instruction, a verified one-time credential, the merchant's
// authorization and the confirmation to VIC. It prints which Visa it
// talks to, then the receipt.
//
//	go run ./examples/purchase -amount 42.50 -merchant "Best Buy"
//	go run ./examples/purchase -db cards.db -user user-bob -token TOK-... -amount 10.00
//
// With -token it uses a card that ./examples/enroll stored in -db for the
// same -user (against a standalone sandbox, see enroll's doc). Without
// it, it first adds a test card so it can run on its own.
package main
