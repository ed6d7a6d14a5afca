package vic

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyPayload feeds arbitrary strings to the signedPayload verifier
// and to the unverified decoder: they never panic, never accept a payload
// not signed by the configured key, and fail only with ErrPayloadInvalid.
func FuzzVerifyPayload(f *testing.F) {
	rk, _ := testKeys(f)
	good := sign(f, jwt.SigningMethodRS256, "k", rk[0], claimsAt(t0))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add("eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.")
	f.Add("a.b.c")
	f.Add("")
	v, err := NewVerifier(StaticKeys{"k": &rk[0].PublicKey}, WithVerifierClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(context.Background(), s)
		if err != nil {
			if !errors.Is(err, ErrPayloadInvalid) {
				t.Fatalf("untyped error: %v", err)
			}
		} else if s != good {
			t.Fatalf("accepted a payload that is not the signed one: %q", s)
		} else if !c.Verified {
			t.Fatal("verified payload not marked Verified")
		}
		if _, err := DecodeCredentialsUnverified(s); err != nil && !errors.Is(err, ErrPayloadInvalid) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
