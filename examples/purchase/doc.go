// Command purchase buys with a stored card (Phases 4 and 5): a passkey
// assertion for the amount and merchant, a purchase instruction, a
// verified one-time credential, the merchant's authorization and the
// confirmation to VIC. It prints the receipt.
//
//	go run ./examples/purchase -amount 42.50 -merchant "Best Buy"
//	go run ./examples/purchase -db cards.db -token TOK-... -amount 10.00
//
// With -token it uses a card stored by ./examples/enroll in -db (against a
// standalone sandbox, see enroll's doc). Without it, it first adds a test
// card so it can run on its own.
package main
