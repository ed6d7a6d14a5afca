package sandbox

import (
	"fmt"
	"testing"
)

// BenchmarkJSONModeCeremony measures one onboarding and one purchase
// through the HTTP JSON mode: AUTH_READY, CREATE_AUTH_SESSION, an
// attestation challenge (RS256-signed payload), AUTHENTICATE (software
// authenticator: P-256 key generation and packed attestation, go-webauthn
// verification, fidoBlob JWE), then the same with an assertion.
func BenchmarkJSONModeCeremony(b *testing.B) {
	e := newAuthEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		tok, dev := fmt.Sprintf("TOK-%d", i), authDevice(i)
		id, token := e.session(b, dev)
		ac, err := e.auth.IssueChallenge(token, registerSpec(tok))
		if err != nil {
			b.Fatal(err)
		}
		assurance(b, e.authenticate(b, id, ac, ""))
		id, token = e.session(b, dev)
		if ac, err = e.auth.IssueChallenge(token, paySpec(tok, "129.99")); err != nil {
			b.Fatal(err)
		}
		assurance(b, e.authenticate(b, id, ac, ""))
	}
}

// BenchmarkRedeemBlob measures opening and checking a fidoBlob.
func BenchmarkRedeemBlob(b *testing.B) {
	e := newAuthEnv(b)
	const n = 64
	blobs := make([]string, 0, n)
	for i := range n {
		blob, _ := e.register(b, "TOK-1", authDevice(i))
		blobs = append(blobs, blob)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Redeemed blobs fail the single-use check after the full open: the
		// same work as a success.
		_, _ = e.auth.RedeemBlob(blobs[i%n], BlobWant{TokenID: "TOK-1", Kinds: []string{BlobAttestation}})
		i++
	}
}
