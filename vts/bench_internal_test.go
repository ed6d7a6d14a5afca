package vts

import (
	"context"
	"testing"
)

// The benchmarks of this file isolate the SDK's own cost: the same calls
// as BenchmarkProvisionToken and BenchmarkAttestationOptions, against an
// httptest server that answers a canned body at once, so the sandbox's
// work (decryption, RSA-signed challenges, state) is left out.

func BenchmarkProvisionTokenSDK(b *testing.B) {
	f := newFake(b, 200, tokenReply)
	c, err := New(testConfig(f.srv.URL, nil))
	if err != nil {
		b.Fatal(err)
	}
	req := ProvisionTokenRequest{VPanEnrollmentID: "ENR-1", Email: testEmail, ExpirationDate: ExpirationDate{12, 2029}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ProvisionToken(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAttestationOptionsSDK(b *testing.B) {
	f := newFake(b, 200, attestationReply)
	c, err := New(testConfig(f.srv.URL, nil))
	if err != nil {
		b.Fatal(err)
	}
	req := attestationRequest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.AttestationOptions(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttestationOptionsBody is the request building alone: checks,
// browserData normalization, base64url identifiers and one field JWE.
func BenchmarkAttestationOptionsBody(b *testing.B) {
	c, err := New(testConfig("http://127.0.0.1:1", nil))
	if err != nil {
		b.Fatal(err)
	}
	req := attestationRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.attestationOptionsBody(req, ""); err != nil {
			b.Fatal(err)
		}
	}
}
