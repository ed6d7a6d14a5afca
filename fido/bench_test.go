package fido_test

import (
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"
)

func BenchmarkSeal(b *testing.B) {
	s := newSealer(b, "k1", map[string][]byte{"k1": key1})
	blob := mustBlob(b, secretBlob)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(blob, bindAlice); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := newSealer(b, "k1", map[string][]byte{"k1": key1})
	sealed, err := s.Seal(mustBlob(b, secretBlob), bindAlice)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(sealed, bindAlice); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticatorRegister(b *testing.B) {
	wa := newRP(b, true)
	creation, _, err := wa.BeginRegistration(&waUser{id: []byte("bench-user")})
	if err != nil {
		b.Fatal(err)
	}
	opts := mustJSON(b, creation)
	a := newAuthenticator(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Register(opts, crossOrigin); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticatorAuthenticate(b *testing.B) {
	wa := newRP(b, true)
	a := newAuthenticator(b)
	u := &waUser{id: []byte("bench-user")}
	register(b, wa, a, u, crossOrigin)
	assertion, _, err := wa.BeginLogin(u)
	if err != nil {
		b.Fatal(err)
	}
	opts := mustJSON(b, assertion)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(opts, crossOrigin); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoWebAuthnRoundTrip measures a full login as the sandbox does it:
// begin, authenticate with the software authenticator, verify with go-webauthn.
func BenchmarkGoWebAuthnRoundTrip(b *testing.B) {
	wa := newRP(b, true)
	a := newAuthenticator(b)
	u := &waUser{id: []byte("bench-user")}
	register(b, wa, a, u, crossOrigin)
	b.ReportAllocs()
	for b.Loop() {
		login(b, wa, a, u, crossOrigin)
	}
}

var _ webauthn.User = (*waUser)(nil)
