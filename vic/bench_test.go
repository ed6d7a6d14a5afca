package vic_test

import (
	"context"
	"testing"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/vic"
)

// BenchmarkCreateInstruction measures Step 13 against the in-process
// sandbox over loopback (MLE both ways, X-Pay). The passkey assertion each
// instruction consumes is made outside the timer.
func BenchmarkCreateInstruction(b *testing.B) {
	w := newWorld(b, "4111111111111111")
	amt := visa.MustParseAmount("10.00", "USD")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		as, dfp := w.assertion(b, amt)
		b.StartTimer()
		_, err := w.vic.CreateInstruction(context.Background(), vic.CreateInstructionRequest{ConsumerID: w.user.ID, TokenID: w.token,
			AppInstance: w.dev.AppInstance, Assurance: as, DFPSessionID: dfp,
			Mandates: []vic.Mandate{{Description: "bench", DeclineThreshold: amt}}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRetrieveCredentials measures Step 14: MLE, X-Pay and the
// RS256 verification of the signedPayload (JWKS cached).
func BenchmarkRetrieveCredentials(b *testing.B) {
	w := newWorld(b, "4111111111111111")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ins, err := w.instruction(b, "10.00", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := w.credentials(ins, "10.00", ""); err != nil {
			b.Fatal(err)
		}
	}
}
