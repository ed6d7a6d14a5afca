package tap

import (
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DirectoryMaxAge is the Cache-Control max-age a DirectoryHandler answers
// with.
const DirectoryMaxAge = time.Hour

// DirectoryHandler returns an http.Handler that publishes keys as a Web Bot
// Auth key directory: a JWKS whose kid are the keys' JWK thumbprints,
// served with the media type application/http-message-signatures-directory+json.
// Mount it at DirectoryPath of the origin given to WithSignatureAgent. It
// answers GET and HEAD.
func DirectoryHandler(keys ...crypto.PublicKey) (http.Handler, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("tap: DirectoryHandler: no keys")
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		tp, err := Thumbprint(k)
		if err != nil {
			return nil, fmt.Errorf("tap: DirectoryHandler: %w", err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k, KeyID: tp, Use: "sig"})
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("tap: DirectoryHandler: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", DirectoryMediaType)
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(DirectoryMaxAge/time.Second)))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	}), nil
}

// DirectoryHandler publishes the Signer's public key (see the package
// function DirectoryHandler).
func (s *Signer) DirectoryHandler() http.Handler {
	h, err := DirectoryHandler(s.Public())
	if err != nil {
		// NewSigner already computed the thumbprint of this key.
		panic(err)
	}
	return h
}
