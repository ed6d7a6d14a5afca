// Command enroll adds a card (steps 1 to 9 of docs/journey.md): it
// tokenizes the card with VTS, binds the token to the device with an OTP
// step-up and a passkey, enrolls it in VIC, and stores the token and the
// sealed passkey. It prints which Visa it talks to, each step, then the
// stored card; a refused one-time code ends with Visa's reason.
//
//	go run ./examples/enroll -card 4012888888881881
//	go run ./examples/enroll -db cards.db -user user-bob -otp 456789
//
// With no VISA_* variables it uses an in-process sandbox. To keep the card
// for ./examples/purchase, run a standalone sandbox (go run
// ./cmd/visa-sandbox -env-file sandbox.env -detach, then . ./sandbox.env),
// and give both examples the same -db, -user and VISA_SEALER_KEYS.
package main
