package xpay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// refMAC is the textbook HMAC over one string, for cross-checks.
func refMAC(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
