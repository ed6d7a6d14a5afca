package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Development credentials of the sandbox (docs/wire.md §11.1). They are
// test secrets: printing them is fine, using them anywhere else is not.
const (
	VICAPIKey       = "SBXVICAPIKEY01"
	VICSharedSecret = "sbx-vic-shared-secret"
	VTSAPIKey       = "SBXVTSAPIKEY01"
	VTSSharedSecret = "sbx-vts-shared-secret"
	// AuthFrameAPIKey is the api key of the Auth iFrame URL, which the
	// cardholder's browser sees; the iFrame accepts VTSAPIKey too.
	AuthFrameAPIKey       = "SBXAUTHFRAMEKEY01"
	EncAPIKey             = "SBXENCAPIKEY01"
	EncSharedSecret       = "sbx-enc-shared-secret"
	HashSecret            = "sbx-hash-secret"
	ClientAppID           = "SBXAPP01"
	ClientWalletAccountID = "SBXTRID01"
	ExternalClientID      = "SBXCLIENT01"
	MLEKeyID              = "SBX-MLE-KEY-01"
	// SigningKeyID is the kid of the first signedPayload signing key; later
	// keys (RotateSigningKey) are sbx-sig-2, sbx-sig-3, ...
	SigningKeyID = "sbx-sig-1"
	// Issuer is the iss of every signedPayload; its aud is the caller's
	// externalClientId (docs/wire.md §8.1).
	Issuer = "vic-sandbox"
	// GoldenOTP is the one correct OTP of every step-up challenge.
	GoldenOTP = "456789"
)

// keyMaterial is everything the sandbox generates: the MLE server and
// client key pairs (RSA 2048), the server certificate, the first
// signedPayload signing key and the TLS CA and leaf.
type keyMaterial struct {
	serverMLE     *rsa.PrivateKey
	serverMLECert []byte // PEM
	clientMLE     *rsa.PrivateKey
	signing       *rsa.PrivateKey
	ca            *tlsCA
}

var (
	sharedKeysOnce sync.Once
	sharedKeys     *keyMaterial
	sharedKeysErr  error
)

// loadKeys returns the process-wide keys, fresh keys, or keys kept in dir.
func loadKeys(o options) (*keyMaterial, error) {
	switch {
	case o.keyDir != "":
		return keysFromDir(o.keyDir)
	case o.freshKeys:
		return generateKeys()
	}
	sharedKeysOnce.Do(func() { sharedKeys, sharedKeysErr = generateKeys() })
	return sharedKeys, sharedKeysErr
}

func generateKeys() (*keyMaterial, error) {
	var (
		km   keyMaterial
		wg   sync.WaitGroup
		errs [4]error
	)
	wg.Add(3)
	go func() { defer wg.Done(); km.serverMLE, errs[0] = rsa.GenerateKey(rand.Reader, 2048) }()
	go func() { defer wg.Done(); km.clientMLE, errs[1] = rsa.GenerateKey(rand.Reader, 2048) }()
	go func() { defer wg.Done(); km.signing, errs[2] = rsa.GenerateKey(rand.Reader, 2048) }()
	km.ca, errs[3] = newTLSCA()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("sandbox: generate keys: %w", err)
	}
	cert, err := selfSignedCert(km.serverMLE, "sandbox MLE server "+MLEKeyID)
	if err != nil {
		return nil, err
	}
	km.serverMLECert = cert
	return &km, nil
}

// Files of a key directory.
const (
	fileServerMLE = "mle-server-key.pem"
	fileClientMLE = "mle-client-key.pem"
	fileSigning   = "signing-key.pem"
	fileCAKey     = "ca-key.pem"
	fileCACert    = "ca-cert.pem"
)

func keysFromDir(dir string) (*keyMaterial, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	if _, err := os.Stat(filepath.Join(dir, fileServerMLE)); errors.Is(err, os.ErrNotExist) {
		km, err := generateKeys()
		if err != nil {
			return nil, err
		}
		if err := km.save(dir); err != nil {
			return nil, err
		}
		return km, nil
	}
	var km keyMaterial
	var err error
	rsaKey := func(name string) *rsa.PrivateKey {
		if err != nil {
			return nil
		}
		var b []byte
		if b, err = read(name); err != nil {
			return nil
		}
		var k *rsa.PrivateKey
		k, err = parseRSAKey(b)
		return k
	}
	km.serverMLE = rsaKey(fileServerMLE)
	km.clientMLE = rsaKey(fileClientMLE)
	km.signing = rsaKey(fileSigning)
	if err != nil {
		return nil, fmt.Errorf("sandbox: key dir %s: %w", dir, err)
	}
	caKey, err := read(fileCAKey)
	if err != nil {
		return nil, fmt.Errorf("sandbox: key dir %s: %w", dir, err)
	}
	caCert, err := read(fileCACert)
	if err != nil {
		return nil, fmt.Errorf("sandbox: key dir %s: %w", dir, err)
	}
	if km.ca, err = loadTLSCA(caCert, caKey); err != nil {
		return nil, fmt.Errorf("sandbox: key dir %s: %w", dir, err)
	}
	if km.serverMLECert, err = selfSignedCert(km.serverMLE, "sandbox MLE server "+MLEKeyID); err != nil {
		return nil, err
	}
	return &km, nil
}

func (km *keyMaterial) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: key dir: %w", err)
	}
	caKey, err := x509.MarshalPKCS8PrivateKey(km.ca.key)
	if err != nil {
		return fmt.Errorf("sandbox: key dir: %w", err)
	}
	files := map[string][]byte{
		fileServerMLE: rsaKeyPEM(km.serverMLE),
		fileClientMLE: rsaKeyPEM(km.clientMLE),
		fileSigning:   rsaKeyPEM(km.signing),
		fileCAKey:     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: caKey}),
		fileCACert:    km.ca.certPEM,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return fmt.Errorf("sandbox: key dir: %w", err)
		}
	}
	return nil
}

func rsaKeyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func parseECKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 key")
	}
	return ek, nil
}
