// Command quickstart runs the whole Visa Intelligent Commerce journey — add
// a card, then buy with it — and prints each of the journey's 16 steps,
// numbered as in docs/journey.md, with its duration and outcome, the
// (redacted) credential and the stored transaction.
//
// With no VISA_* variables it starts the sandbox in-process, so it needs
// no account and no network:
//
//	go run ./examples/quickstart
//
// Pointed at a standalone sandbox (or Visa) with VISA_* variables and
// VISA_MERCHANT_URL, it runs the same journey there; when that Visa does
// not answer it stops with the variable to fix, never falling back to the
// in-process sandbox. Its first line says which Visa it talks to.
//
// It is one file with no internal import: copy main.go into your own
// module to start from it.
package main
