// Command resume shows crash safety: it interrupts a purchase at a chosen
// step boundary, exactly as a crash would, then resumes it with a fresh
// agent and shows that the purchase reached a final state with no second
// credential and no second charge.
//
//	go run ./examples/resume -at after-authorizing
//	go run ./examples/resume -at after-credentials-issued
//
// Boundaries: after-pending, after-assertion, after-authenticated,
// after-instruction-created, after-instructed, after-credentials-requested,
// after-credentials-received, after-credentials-issued, after-authorizing,
// after-charge, after-authorized, after-confirmed.
package main
