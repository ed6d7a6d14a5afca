package mcphttp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// MinStaticTokenLen is the shortest static bearer token StaticToken
// accepts, in characters: GenerateToken makes 43.
const MinStaticTokenLen = 32

// GenerateToken returns a fresh random bearer token: 32 bytes from
// crypto/rand in base64url (43 characters).
func GenerateToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StaticToken returns a verifier accepting exactly one bearer token, for
// local use: every request bearing it acts as userID with scopes. The
// comparison takes the same time whatever the presented token. The token
// must be at least MinStaticTokenLen characters; userID must be a valid
// store id.
func StaticToken(token, userID string, scopes []string) (auth.TokenVerifier, error) {
	if len(token) < MinStaticTokenLen {
		return nil, visa.NewInputError("token", "must be at least 32 characters (visa-mcp generates one when none is given)")
	}
	if reason := check.ID(userID, 128); reason != "" {
		return nil, visa.NewInputError("userID", reason)
	}
	want := sha256.Sum256([]byte(token))
	scopes = slices.Clone(scopes)
	return func(_ context.Context, presented string, _ *http.Request) (*auth.TokenInfo, error) {
		got := sha256.Sum256([]byte(presented))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return nil, invalid("unknown token")
		}
		// A static token does not expire; the middleware requires an
		// expiry, so it is always an hour ahead.
		return &auth.TokenInfo{UserID: userID, Scopes: slices.Clone(scopes), Expiration: time.Now().Add(time.Hour)}, nil
	}, nil
}
