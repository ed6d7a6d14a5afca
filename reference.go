package visa

import (
	"crypto/rand"
)

// clientReferenceIDLen is the length of an id made by NewClientReferenceID.
const clientReferenceIDLen = 35

const refAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewClientReferenceID returns a fresh clientReferenceId: "CR-" followed
// by 32 random characters of [A-Za-z0-9] (docs/wire.md §1). One id serves
// a whole flow: the attestation options and device binding of
// onboarding, then its step-up method and OTP validation (journey step 7);
// each purchase has its own.
func NewClientReferenceID() string {
	var b [clientReferenceIDLen]byte
	copy(b[:], "CR-")
	var r [32]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i, v := range r {
		// 248 = 4*62: bytes from 248 up are redrawn, so every character
		// is equally likely.
		for v >= 248 {
			var x [1]byte
			_, _ = rand.Read(x[:])
			v = x[0]
		}
		b[3+i] = refAlphabet[int(v)%len(refAlphabet)]
	}
	return string(b[:])
}
