package sandbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fidoBlobs (docs/wire.md §8.3): a compact JWE (alg "dir", enc "A256GCM",
// typ "JWT"), not a signed JWT, under a 32-byte key drawn at start-up that
// never leaves the process, so only this sandbox can open a blob and no
// client can read or forge one. It still looks like the JWT Visa's guide
// describes (base64url segments joined by dots), carries the §8.3 claims,
// lives Lifetimes.Blob (5 min) and is redeemed at most once.

// blobClaims are the sealed claims of a fidoBlob.
type blobClaims struct {
	Typ          string `json:"typ"`
	Identifier   string `json:"identifier"`
	TokenID      string `json:"vProvisionedTokenID"`
	Device       string `json:"device"`
	Challenge    string `json:"challenge"`
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
	MerchantName string `json:"merchantName"`
	IssuedAt     int64  `json:"iat"`
	ExpiresAt    int64  `json:"exp"`
	JTI          string `json:"jti"`
}

// blobKeyID names the per-process blob key in the JWE header.
const blobKeyID = "sbx-blob-1"

// mintBlob seals a fidoBlob for a ceremony that completed.
func (a *authState) mintBlob(kind string, c *challenge, deviceID, challengeB64 string, now time.Time) (string, error) {
	claims := blobClaims{
		Typ:          kind,
		Identifier:   c.identifier,
		TokenID:      c.tokenID,
		Device:       deviceID,
		Challenge:    challengeB64,
		Amount:       c.amount,
		CurrencyCode: c.currency,
		MerchantName: c.merchant,
		IssuedAt:     now.Unix(),
		ExpiresAt:    now.Add(a.life.Blob).Unix(),
		JTI:          randomID("", 16),
	}
	plain, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sandbox: encode fidoBlob: %w", err)
	}
	enc, err := jose.NewEncrypter(jose.A256GCM,
		jose.Recipient{Algorithm: jose.DIRECT, Key: a.blobKey, KeyID: blobKeyID},
		(&jose.EncrypterOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("sandbox: fidoBlob encrypter: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("sandbox: seal fidoBlob: %w", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sandbox: serialize fidoBlob: %w", err)
	}
	a.mu.Lock()
	a.stats.BlobsMinted++
	a.mu.Unlock()
	return s, nil
}

// maxBlobLen bounds what RedeemBlob will try to parse.
const maxBlobLen = 8 << 10

// RedeemBlob opens a fidoBlob, checks kind, token, identifier, expiry and
// single use, marks it redeemed and returns its claims. A blob that fails
// a check is left unredeemed.
func (a *authState) RedeemBlob(blob string, want BlobWant) (BlobClaims, error) {
	if blob == "" || len(blob) > maxBlobLen {
		return BlobClaims{}, fmt.Errorf("%w: malformed fidoBlob", errAssuranceInvalid)
	}
	obj, err := jose.ParseEncryptedCompact(blob, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return BlobClaims{}, fmt.Errorf("%w: malformed fidoBlob", errAssuranceInvalid)
	}
	plain, err := obj.Decrypt(a.blobKey)
	if err != nil {
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob was not minted by this sandbox", errAssuranceInvalid)
	}
	var c blobClaims
	if err := json.Unmarshal(plain, &c); err != nil {
		return BlobClaims{}, fmt.Errorf("%w: malformed fidoBlob claims", errAssuranceInvalid)
	}
	now := a.d.now()
	switch {
	case !slices.Contains(want.Kinds, c.Typ):
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob is a %s, want %v", errAssuranceInvalid, c.Typ, want.Kinds)
	case c.TokenID != want.TokenID:
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob is for another token", errAssuranceInvalid)
	case want.Identifier != "" && c.Identifier != want.Identifier:
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob is for another identifier", errAssuranceInvalid)
	case now.Unix() >= c.ExpiresAt:
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob expired", errAssuranceInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, done := a.redeemed[c.JTI]; done {
		return BlobClaims{}, fmt.Errorf("%w: fidoBlob already redeemed", errAssuranceInvalid)
	}
	a.redeemed[c.JTI] = time.Unix(c.ExpiresAt, 0)
	a.stats.BlobsRedeemed++
	return BlobClaims{
		Kind:            c.Typ,
		Identifier:      c.Identifier,
		TokenID:         c.TokenID,
		DeviceID:        c.Device,
		Amount:          c.Amount,
		CurrencyNumeric: c.CurrencyCode,
		MerchantName:    c.MerchantName,
		IssuedAt:        time.Unix(c.IssuedAt, 0).UTC(),
	}, nil
}
