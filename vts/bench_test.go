package vts_test

import (
	"context"
	"testing"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vts"
)

// transports are the two ways the benchmarks reach the in-process
// sandbox: plain HTTP isolates the SDK's own cost (field JWE, X-Pay
// signing, JSON), TLS adds what a real deployment pays on loopback.
var transports = []struct {
	name string
	opts []sandbox.Option
}{
	{"http", []sandbox.Option{sandbox.WithPlainHTTP()}},
	{"tls", nil},
}

// BenchmarkProvisionToken measures journey steps 1 and 2 as one operation:
// EnrollPAN then ProvisionToken, because an enrollment is single use.
// Both round trips, the sandbox's own work (decryption, state) included.
func BenchmarkProvisionToken(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			e := newEnv(b, nil, tr.opts...)
			ctx := context.Background()
			card := e.card(cardHappy)
			b.ReportAllocs()
			for b.Loop() {
				enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
				if err != nil {
					b.Fatal(err)
				}
				_, err = e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: card.ExpirationDate})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAttestationOptions measures one attestation options round trip
// (the onboarding probe of journey step 4) on a live session; each call
// replaces the session's outstanding challenge, as Visa's does.
func BenchmarkAttestationOptions(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			e := newEnv(b, nil, tr.opts...)
			ctx := context.Background()
			tok, err := e.provision(ctx, cardHappy)
			if err != nil {
				b.Fatal(err)
			}
			s, err := e.openSession(ctx)
			if err != nil {
				b.Fatal(err)
			}
			req := s.attestation(tok.VProvisionedTokenID, visa.NewClientReferenceID(), visa.ActionAuthenticate, visa.Amount{})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.c.AttestationOptions(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
