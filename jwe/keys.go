package jwe

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
)

// EmailHash returns base64url-without-padding(HMAC-SHA256(key = hashSecret,
// message = email)), Visa's clientWalletAccountEmailAddressHash. The email is
// hashed exactly as given: no trimming, no lower-casing.
func EmailHash(hashSecret, email string) string {
	m := hmac.New(sha256.New, []byte(hashSecret))
	m.Write([]byte(email))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0]))
}

// ParsePublicKeyPEM parses the first PEM block of data as an RSA public key:
// a CERTIFICATE (Visa's MLE server certificate), a PUBLIC KEY (PKIX) or an
// RSA PUBLIC KEY (PKCS#1). Errors wrap ErrKey.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errorf(ErrKey, "no PEM block found")
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errorf(ErrKey, "cannot parse certificate")
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, errorf(ErrKey, "certificate key is not RSA")
		}
		return pub, nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errorf(ErrKey, "cannot parse PKIX public key")
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errorf(ErrKey, "public key is not RSA")
		}
		return pub, nil
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errorf(ErrKey, "cannot parse PKCS#1 public key")
		}
		return pub, nil
	default:
		return nil, errorf(ErrKey, "unsupported PEM block type %q", truncate(block.Type, 40))
	}
}

// ParsePrivateKeyPEM parses the first PEM block of data as an RSA private
// key: RSA PRIVATE KEY (PKCS#1) or PRIVATE KEY (PKCS#8, RSA only). Encrypted
// PEM is not supported. Errors wrap ErrKey and never include key bytes.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errorf(ErrKey, "no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errorf(ErrKey, "cannot parse PKCS#1 private key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errorf(ErrKey, "cannot parse PKCS#8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errorf(ErrKey, "PKCS#8 key is not RSA")
		}
		return rk, nil
	default:
		return nil, errorf(ErrKey, "unsupported PEM block type %q", truncate(block.Type, 40))
	}
}
