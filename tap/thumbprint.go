package tap

import (
	"crypto"
	"encoding/base64"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/vicgo/visa/tap/httpsig"
)

// Thumbprint returns the base64url JWK SHA-256 thumbprint of pub (RFC 7638;
// RFC 8037 §A.3 for Ed25519), the keyid Web Bot Auth requires and the
// default keyid of a Signer.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: thumbprint: %v", httpsig.ErrInvalidKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
