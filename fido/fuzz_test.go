package fido_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vicgo/visa/fido"
)

func FuzzNewBlob(f *testing.F) {
	for _, s := range []string{secretBlob, "", "a", "ab+/cd==", "eyJ hbGc", "[REDACTED]", "é", "\x00", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := fido.NewBlob(s)
		if err != nil {
			if !errors.Is(err, fido.ErrBlobEmpty) && !errors.Is(err, fido.ErrBlobTooLarge) && !errors.Is(err, fido.ErrBlobCharset) {
				t.Fatalf("untyped error %v", err)
			}
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error leaks input")
			}
			if !b.IsZero() {
				t.Fatal("failed NewBlob returned a value")
			}
			return
		}
		if b.Reveal() != s || b.Len() != len(s) {
			t.Fatal("Reveal does not round-trip")
		}
		if len(s) >= 8 && (strings.Contains(b.String(), s) || strings.Contains(b.GoString(), s)) {
			t.Fatal("mask leaks value")
		}
		var back fido.Blob
		if err := back.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil || !back.Equal(b) {
			t.Fatalf("UnmarshalJSON of a valid blob: %v", err)
		}
	})
}

func FuzzSealerOpen(f *testing.F) {
	s, err := fido.NewSealer("k1", map[string][]byte{"k1": key1, "k2": key2})
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Seal(mustBlob(f, secretBlob), bindAlice)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:3])
	f.Add([]byte{})
	f.Add([]byte{1, 2, 'k', '2'})
	f.Add(append([]byte{1, 2, 'k', '2'}, good[4:]...))
	f.Add(append([]byte{3}, good[1:]...))
	f.Add(append([]byte{1}, good[1:]...))
	f.Fuzz(func(t *testing.T, sealed []byte) {
		b, err := s.Open(sealed, bindAlice)
		if err != nil {
			if !errors.Is(err, fido.ErrSealedMalformed) && !errors.Is(err, fido.ErrUnknownKey) && !errors.Is(err, fido.ErrOpenFailed) && !errors.Is(err, fido.ErrLegacySealed) {
				t.Fatalf("untyped error %v", err)
			}
			if !b.IsZero() {
				t.Fatal("failed Open returned a value")
			}
			if strings.Contains(err.Error(), secretBlob[:16]) {
				t.Fatal("error leaks plaintext")
			}
			return
		}
		// Only authentic envelopes open (GCM forgery is out of reach), and the
		// only blob ever sealed under these keys is secretBlob. (Fuzz workers
		// re-run the setup, so their "good" differs from the corpus entry's nonce.)
		if b.Reveal() != secretBlob {
			t.Fatalf("forged envelope opened")
		}
		_, _ = s.KeyID(sealed)
		_ = s.NeedsRotation(sealed)
	})
}

func FuzzAuthenticatorOptions(f *testing.F) {
	f.Add([]byte(`{"challenge":"` + validChallenge + `","rp":{"name":"Visa"},` + validUser + `}`))
	f.Add([]byte(`{"publicKey":{"challenge":"` + validChallenge + `","rp":{"id":"localhost","name":"Visa"},` + validUser + `,"pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`))
	f.Add([]byte(`{"publicKey":{"challenge":"` + validChallenge + `","rpId":"localhost","allowCredentials":[{"type":"public-key","id":"AAAA"}]}}`))
	f.Add([]byte(`{"publicKey":null}`))
	f.Add([]byte(`[]`))
	a, err := fido.NewAuthenticator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, opts []byte) {
		for _, call := range []func([]byte, fido.ClientOrigin) ([]byte, error){a.Register, a.Authenticate} {
			out, err := call(opts, sameOrigin)
			if err != nil {
				if out != nil {
					t.Fatal("output with an error")
				}
				continue
			}
			if len(out) == 0 {
				t.Fatal("no output and no error")
			}
		}
	})
}
