package vic

import "github.com/vicgo/visa"

// MLE key rotation (docs/wire.md §2.2). Visa recommends rotating MLE keys
// with up to three key ids live (visa.MaxMLEKeys). The client decrypts a
// response with the private key its JWE kid names, so answers encrypted
// for an older live key id still decrypt; the keys are given by
// Config.VIC (the current key) and Config.VIC.MLEKeys (older ones), and
// can be replaced while the process runs with the methods below. A call
// already under way finishes with the keys it started with.

// RotateMLE replaces the client's MLE keys at once: the next call encrypts
// to current.ServerCertPEM under current.KeyID, and responses for current
// or any of older (at most visa.MaxMLEKeys keys in all) are decrypted.
// current needs all three fields; an older key needs KeyID and
// ClientPrivateKeyPEM. On error (matching visa.ErrInvalidInput and naming
// the field, e.g. "current.ServerCertPEM" or "older[0].KeyID") nothing
// changes.
func (c *Client) RotateMLE(current visa.MLEKey, older ...visa.MLEKey) error {
	return c.t.RotateMLE(current, older...)
}

// SetMLEServerCert replaces Visa's MLE server certificate (or RSA public
// key, PEM) of the current key id, e.g. when Visa renews it: the next call
// encrypts to it. The client's private keys are kept. On error (matching
// visa.ErrInvalidInput) nothing changes.
func (c *Client) SetMLEServerCert(certPEM []byte) error { return c.t.SetMLEServerCert(certPEM) }

// MLEKeyIDs returns the live MLE key ids, the current one first.
func (c *Client) MLEKeyIDs() []string { return c.t.MLEKeyIDs() }
