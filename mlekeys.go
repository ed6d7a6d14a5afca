package visa

import "strconv"

// MaxMLEKeys is how many MLE key ids may be live at once: the current one
// (VICCredentials.MLEKeyID and its two PEMs) and up to two older ones in
// VICCredentials.MLEKeys, as Visa recommends while a key is being rotated
// (docs/wire.md §2.2).
const MaxMLEKeys = 3

// MLEKey is one MLE key id and its key pair: Visa's MLE server certificate
// (requests are encrypted to it) and the client's MLE private key
// (responses encrypted for that key id are decrypted with it).
//
// In VICCredentials.MLEKeys an MLEKey is an older key that is still live:
// responses whose JWE kid names it are decrypted with its private key,
// while requests use the current key. ServerCertPEM is optional there (it
// is needed only once the key becomes the current one).
type MLEKey struct {
	// KeyID is the MLE key id (header keyId and JWE kid).
	KeyID string
	// ServerCertPEM is Visa's MLE server certificate (or RSA public key)
	// for this key id, in PEM.
	ServerCertPEM []byte
	// ClientPrivateKeyPEM is the client's MLE RSA private key for this key
	// id, in PEM (PKCS#1 or PKCS#8).
	ClientPrivateKeyPEM Secret
}

// String names the key id only; the private key never prints.
func (k MLEKey) String() string { return "visa.MLEKey{KeyID: " + strconv.Quote(k.KeyID) + "}" }

// GoString is String, so %#v shows no key material either.
func (k MLEKey) GoString() string { return k.String() }

// CurrentMLEKey returns the current MLE key of v: MLEKeyID,
// MLEServerCertPEM and MLEClientPrivateKeyPEM.
func (v VICCredentials) CurrentMLEKey() MLEKey {
	return MLEKey{KeyID: v.MLEKeyID, ServerCertPEM: v.MLEServerCertPEM, ClientPrivateKeyPEM: v.MLEClientPrivateKeyPEM}
}

// checkMLEKeys checks VIC.MLEKeys: at most MaxMLEKeys-1 older keys, each
// with a key id different from the others and from the current one, and
// an RSA private key (and, when given, an RSA server certificate).
func (c Config) checkMLEKeys(v *validator) {
	keys := c.VIC.MLEKeys
	if len(keys) == 0 {
		return
	}
	if len(keys) > MaxMLEKeys-1 {
		v.add("VIC.MLEKeys", "holds more than "+strconv.Itoa(MaxMLEKeys-1)+" older keys (at most "+strconv.Itoa(MaxMLEKeys)+" MLE key ids are live)")
		return
	}
	seen := map[string]bool{c.VIC.MLEKeyID: c.VIC.MLEKeyID != ""}
	for i, k := range keys {
		field := "VIC.MLEKeys[" + strconv.Itoa(i) + "]."
		switch {
		case k.KeyID == "":
			v.add(field+"KeyID", "is required")
		case seen[k.KeyID]:
			v.add(field+"KeyID", "repeats a live key id")
		default:
			v.check(field+"KeyID", checkToken(k.KeyID))
		}
		seen[k.KeyID] = true
		if k.ClientPrivateKeyPEM.IsZero() {
			v.add(field+"ClientPrivateKeyPEM", "is required")
		} else {
			v.check(field+"ClientPrivateKeyPEM", checkRSAPrivatePEM([]byte(k.ClientPrivateKeyPEM.Reveal())))
		}
		if len(k.ServerCertPEM) > 0 {
			v.check(field+"ServerCertPEM", checkRSAPublicPEM(k.ServerCertPEM))
		}
	}
}
