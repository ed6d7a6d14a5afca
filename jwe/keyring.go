package jwe

import (
	"slices"
	"sync/atomic"
)

// MaxMLEKeys is how many MLE key ids an MLEKeyring holds at most: Visa
// recommends rotating MLE keys with up to three key ids live.
const MaxMLEKeys = 3

// MLEKeyring is the MLE key state of one client: the encrypter of requests
// (Visa's current server key and the current key id) and the decrypters of
// responses, one per live key id (at most MaxMLEKeys). A response is
// decrypted with the key its JWE "kid" names, so a response encrypted for
// an older key id that is still live decrypts; a kid the keyring does not
// hold is ErrKeyID. A response without a kid is decrypted with the current
// key.
//
// Rotate and SetEncrypter replace the state atomically, without a restart:
// a call that has already taken its encrypter finishes with it, and the
// next call uses the new one. An MLEKeyring is safe for concurrent use and
// never prints a key.
type MLEKeyring struct {
	p atomic.Pointer[mleRing]
}

// mleRing is one immutable state of an MLEKeyring.
type mleRing struct {
	enc  *MLEEncrypter
	decs map[string]*MLEDecrypter
}

// NewMLEKeyring returns a keyring that encrypts with enc and decrypts with
// decs (key id → decrypter). decs must hold enc's key id and at most
// MaxMLEKeys keys; errors wrap ErrKey and name key ids only.
func NewMLEKeyring(enc *MLEEncrypter, decs map[string]*MLEDecrypter) (*MLEKeyring, error) {
	r, err := newMLERing(enc, decs)
	if err != nil {
		return nil, err
	}
	k := &MLEKeyring{}
	k.p.Store(r)
	return k, nil
}

func newMLERing(enc *MLEEncrypter, decs map[string]*MLEDecrypter) (*mleRing, error) {
	if enc == nil || enc.pub == nil || enc.kid == "" {
		return nil, errorf(ErrKey, "MLE keyring needs an encrypter made by NewMLEEncrypter")
	}
	if len(decs) == 0 || len(decs) > MaxMLEKeys {
		return nil, errorf(ErrKey, "MLE keyring holds %d keys, want 1 to %d", len(decs), MaxMLEKeys)
	}
	r := &mleRing{enc: enc, decs: make(map[string]*MLEDecrypter, len(decs))}
	for kid, d := range decs {
		if !validKeyID(kid) {
			return nil, errorf(ErrKey, "MLE key id must be 1 to 128 printable characters without spaces")
		}
		if d == nil || d.priv == nil {
			return nil, errorf(ErrKey, "MLE key %q has no decrypter made by NewMLEDecrypter", kid)
		}
		r.decs[kid] = d
	}
	if _, ok := r.decs[enc.kid]; !ok {
		return nil, errorf(ErrKey, "the current MLE key id %q has no private key in the keyring", truncate(enc.kid, 64))
	}
	return r, nil
}

// Rotate replaces the whole keyring (the current encrypter and every
// decrypter) at once; it checks the new state as NewMLEKeyring does and
// leaves the keyring unchanged on error.
func (k *MLEKeyring) Rotate(enc *MLEEncrypter, decs map[string]*MLEDecrypter) error {
	r, err := newMLERing(enc, decs)
	if err != nil {
		return err
	}
	k.p.Store(r)
	return nil
}

// SetEncrypter replaces the encrypter of requests, e.g. after Visa renewed
// its MLE server certificate, and keeps the decrypters. Its key id must be
// one the keyring holds a private key for.
func (k *MLEKeyring) SetEncrypter(enc *MLEEncrypter) error {
	for {
		old := k.p.Load()
		r, err := newMLERing(enc, old.decs)
		if err != nil {
			return err
		}
		if k.p.CompareAndSwap(old, r) {
			return nil
		}
	}
}

// Encrypter returns the current encrypter. A call takes it once and uses
// it for its body and its keyId header, so both name the same key.
func (k *MLEKeyring) Encrypter() *MLEEncrypter {
	if k == nil {
		return nil
	}
	return k.p.Load().enc
}

// KeyIDs returns the live key ids, the current one first, then the others
// sorted.
func (k *MLEKeyring) KeyIDs() []string {
	r := k.p.Load()
	ids := make([]string, 0, len(r.decs))
	for kid := range r.decs {
		if kid != r.enc.kid {
			ids = append(ids, kid)
		}
	}
	slices.Sort(ids)
	return append([]string{r.enc.kid}, ids...)
}

// Decrypt decrypts a compact MLE JWE with the private key its "kid" names
// (the current key when it has none) and returns the plaintext and the
// protected header. An unknown kid is ErrKeyID; the rest is as
// MLEDecrypter.Decrypt.
func (k *MLEKeyring) Decrypt(compact string) ([]byte, Header, error) {
	r := k.p.Load()
	lookup := func(kid string) (*MLEDecrypter, error) {
		if kid == "" {
			kid = r.enc.kid
		}
		d, ok := r.decs[kid]
		if !ok || d == nil || d.priv == nil {
			return nil, errorf(ErrKeyID, "no live MLE key has kid %q", truncate(kid, 64))
		}
		return d, nil
	}
	// One parse of the protected header (go-jose's) on the way that
	// succeeds; a failure parses strictly to name it, an unknown kid
	// first, as before.
	p, err := parseCompact(compact, mleAlgs, mleEncs)
	if err != nil {
		if h, herr := ParseHeader(compact); herr == nil {
			if _, kerr := lookup(h.KeyID); kerr != nil {
				return nil, Header{}, kerr
			}
		}
		return nil, Header{}, err
	}
	d, err := lookup(p.header.KeyID)
	if err != nil {
		return nil, Header{}, err
	}
	pt, err := p.decrypt(d.priv)
	if err != nil {
		return nil, Header{}, err
	}
	return pt, p.header, nil
}

// String describes the keyring by its key ids only.
func (k *MLEKeyring) String() string {
	if k == nil || k.p.Load() == nil {
		return "jwe.MLEKeyring(nil)"
	}
	r := k.p.Load()
	return "jwe.MLEKeyring{current: " + r.enc.kid + ", enc: " + string(r.enc.enc) + ", keys: " + formatIDs(k.KeyIDs()) + "}"
}

// GoString is String, so %#v shows no key material either.
func (k *MLEKeyring) GoString() string { return k.String() }

func formatIDs(ids []string) string {
	s := "["
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += id
	}
	return s + "]"
}

// validKeyID reports whether kid is 1 to 128 printable ASCII characters
// without spaces (it goes into a header and a JWE header).
func validKeyID(kid string) bool {
	if kid == "" || len(kid) > 128 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] < 0x21 || kid[i] > 0x7e {
			return false
		}
	}
	return true
}
