package transport

import (
	"strconv"
	"strings"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/jwe"
)

// MLE keys (docs/wire.md §2.2). The client holds a keyring: the current
// key id with Visa's server key (requests) and up to jwe.MaxMLEKeys client
// private keys by key id (responses are decrypted with the key their kid
// names). The keyring can be replaced while calls run (RotateMLE,
// SetMLEServerCert); a call takes its encrypter once.

// setMLE builds the keyring of v: the current key from MLEKeyID,
// MLEServerCertPEM and MLEClientPrivateKeyPEM, and the older live keys of
// MLEKeys.
func (c *Client) setMLE(v visa.VICCredentials) error {
	enc, decs, err := mleKeys(v.MLEEnc, v.CurrentMLEKey(), v.MLEKeys, configField)
	if err != nil {
		return err
	}
	if c.mle, err = jwe.NewMLEKeyring(enc, decs); err != nil {
		return &configError{field: configField(-1, "KeyID"), reason: "unusable for MLE", err: err}
	}
	for _, k := range v.MLEKeys {
		if s := k.ClientPrivateKeyPEM.Reveal(); s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	return nil
}

// RotateMLE replaces the MLE keys of a VIC transport at once: the next call
// encrypts to current's server certificate under current's key id, and
// responses for current or any of older are decrypted. Calls already under
// way finish with the keys they started with. On error nothing changes.
func (c *Client) RotateMLE(current visa.MLEKey, older ...visa.MLEKey) error {
	if c.mle == nil {
		return visa.NewInputError("MLE", "is used by VIC only")
	}
	enc, decs, err := mleKeys(c.mle.Encrypter().Enc(), current, older, rotateField)
	if err != nil {
		return err
	}
	if err := c.mle.Rotate(enc, decs); err != nil {
		return &configError{field: rotateField(-1, "KeyID"), reason: "unusable for MLE", err: err}
	}
	return nil
}

// SetMLEServerCert replaces Visa's MLE server certificate (or RSA public
// key, PEM) of the current key id: the next call encrypts to it. The
// client's private keys are kept.
func (c *Client) SetMLEServerCert(certPEM []byte) error {
	if c.mle == nil {
		return visa.NewInputError("MLE", "is used by VIC only")
	}
	cur := c.mle.Encrypter()
	pub, err := jwe.ParsePublicKeyPEM(certPEM)
	if err != nil {
		return &configError{field: "MLEServerCertPEM", reason: "is not an RSA certificate or public key", err: err}
	}
	enc, err := jwe.NewMLEEncrypter(pub, cur.KeyID(), cur.Enc())
	if err != nil {
		return &configError{field: "MLEServerCertPEM", reason: "unusable for MLE", err: err}
	}
	if err := c.mle.SetEncrypter(enc); err != nil {
		return &configError{field: "MLEServerCertPEM", reason: "unusable for MLE", err: err}
	}
	return nil
}

// MLEKeyIDs returns the live MLE key ids, the current one first; nil for
// VTS.
func (c *Client) MLEKeyIDs() []string {
	if c.mle == nil {
		return nil
	}
	return c.mle.KeyIDs()
}

// configField names the fields of the configuration: the current key by
// its VICCredentials fields, the older ones as MLEKeys[i].
func configField(i int, name string) string {
	if i < 0 {
		return "Config.VIC.MLE" + name // MLEKeyID, MLEServerCertPEM, MLEClientPrivateKeyPEM
	}
	return "Config.VIC.MLEKeys[" + strconv.Itoa(i) + "]." + name
}

// rotateField names the arguments of RotateMLE.
func rotateField(i int, name string) string {
	if i < 0 {
		return "current." + name
	}
	return "older[" + strconv.Itoa(i) + "]." + name
}

// mleKeys parses current and older into the encrypter and decrypters of a
// keyring; field names the field of key i (-1 for current) in errors.
func mleKeys(encName string, current visa.MLEKey, older []visa.MLEKey, field func(i int, name string) string) (*jwe.MLEEncrypter, map[string]*jwe.MLEDecrypter, error) {
	if current.KeyID == "" {
		return nil, nil, visa.NewInputError(field(-1, "KeyID"), "is empty")
	}
	if strings.ContainsAny(current.KeyID, "\r\n") {
		return nil, nil, visa.NewInputError(field(-1, "KeyID"), "must be one line")
	}
	if len(current.ServerCertPEM) == 0 {
		return nil, nil, visa.NewInputError(field(-1, "ServerCertPEM"), "is empty")
	}
	if 1+len(older) > jwe.MaxMLEKeys {
		return nil, nil, visa.NewInputError(field(0, "KeyID"), "one key too many: at most "+strconv.Itoa(jwe.MaxMLEKeys)+" MLE key ids are live")
	}
	pub, err := jwe.ParsePublicKeyPEM(current.ServerCertPEM)
	if err != nil {
		return nil, nil, &configError{field: field(-1, "ServerCertPEM"), reason: "is not an RSA certificate or public key", err: err}
	}
	enc, err := jwe.NewMLEEncrypter(pub, current.KeyID, encName)
	if err != nil {
		return nil, nil, &configError{field: field(-1, "ServerCertPEM") + "/MLEEnc", reason: "unusable for MLE", err: err}
	}
	decs := make(map[string]*jwe.MLEDecrypter, 1+len(older))
	for i, k := range append([]visa.MLEKey{current}, older...) {
		i-- // -1 is current
		if i >= 0 && k.KeyID == "" {
			return nil, nil, visa.NewInputError(field(i, "KeyID"), "is empty")
		}
		if _, dup := decs[k.KeyID]; dup {
			return nil, nil, visa.NewInputError(field(i, "KeyID"), "repeats a live key id")
		}
		if k.ClientPrivateKeyPEM.IsZero() {
			return nil, nil, visa.NewInputError(field(i, "ClientPrivateKeyPEM"), "is empty")
		}
		priv, err := jwe.ParsePrivateKeyPEM([]byte(k.ClientPrivateKeyPEM.Reveal()))
		if err != nil {
			return nil, nil, &configError{field: field(i, "ClientPrivateKeyPEM"), reason: "is not an RSA private key", err: err}
		}
		dec, err := jwe.NewMLEDecrypter(priv)
		if err != nil {
			return nil, nil, &configError{field: field(i, "ClientPrivateKeyPEM"), reason: "unusable for MLE", err: err}
		}
		decs[k.KeyID] = dec
	}
	return enc, decs, nil
}
