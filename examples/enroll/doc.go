// Command enroll adds a card (Phases 2 and 3 of the journey): it tokenizes
// the card with VTS, binds the token to the device with an OTP step-up
// and a passkey, enrolls it in VIC, and stores the token and the sealed
// passkey. It prints the stored card.
//
//	go run ./examples/enroll -card 4012888888881881
//	go run ./examples/enroll -db cards.db -otp 456789
//
// With no VISA_* variables it uses an in-process sandbox. To keep the card
// for ./examples/purchase, run a standalone sandbox (go run
// ./cmd/visa-sandbox -print-env), export what it prints, and give both
// examples the same -db and VISA_SEALER_KEYS.
package main
