package xpay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sentinel errors returned (wrapped) by Parse and Verify. No error ever
// contains the shared secret or the expected MAC.
var (
	// ErrMissing: no token, or no shared secret to verify it with.
	ErrMissing = errors.New("xpay: token missing")
	// ErrMalformed: the token is not "xv2:<digits>:<64 hex>".
	ErrMalformed = errors.New("xpay: token malformed")
	// ErrExpired: the token's timestamp is further than the skew from now.
	ErrExpired = errors.New("xpay: token timestamp outside the allowed skew")
	// ErrMismatch: the HMAC does not match the request.
	ErrMismatch = errors.New("xpay: token does not match the request")
)

// DefaultSkew is the largest accepted distance between a token's timestamp
// and the verifier's clock.
const DefaultSkew = 300 * time.Second

const (
	prefix      = "xv2:"
	macHex      = 2 * sha256.Size
	maxTSDigits = 19 // the digits of math.MaxInt64; ParseInt catches overflow
)

// ResourcePath returns the resource path that is signed for a URL path:
// exactly one leading "/" is removed, then a leading "vacp/" (VIC). So
// "/vacp/v1/x" gives "v1/x" and "/vts/x" gives "vts/x" (VTS keeps its prefix).
func ResourcePath(urlPath string) string {
	p := strings.TrimPrefix(urlPath, "/")
	return strings.TrimPrefix(p, "vacp/")
}

// Sign returns the X-Pay-Token "xv2:<ts>:<lowercase hex HMAC-SHA256>" where
// the HMAC key is the UTF-8 shared secret and the message is
// ts + resourcePath + rawQuery + body, joined without separators. rawQuery
// is the query exactly as sent, without "?"; body is the exact bytes sent
// (nil for none). ts is Unix seconds and must not be negative (Parse
// refuses a sign).
func Sign(sharedSecret string, ts int64, resourcePath, rawQuery string, body []byte) string {
	return SignMAC(NewMAC(sharedSecret), ts, resourcePath, rawQuery, body)
}

// NewMAC returns the crypto/hmac HMAC-SHA256 keyed with the shared
// secret, for SignMAC. A caller signing many requests with one secret
// keeps a few (a sync.Pool) instead of keying one per request.
func NewMAC(sharedSecret string) hash.Hash { return hmac.New(sha256.New, []byte(sharedSecret)) }

// SignMAC is Sign with a MAC from NewMAC, which it resets first; h must
// not be used concurrently.
func SignMAC(h hash.Hash, ts int64, resourcePath, rawQuery string, body []byte) string {
	var tsBuf [20]byte
	tsb := strconv.AppendInt(tsBuf[:0], ts, 10)
	h.Reset()
	// One Write of the whole message, assembled in a pooled buffer (a
	// string written through the hash.Hash interface would be copied).
	bp := msgPool.Get().(*[]byte)
	buf := append((*bp)[:0], tsb...)
	buf = append(buf, resourcePath...)
	buf = append(buf, rawQuery...)
	buf = append(buf, body...)
	h.Write(buf)
	clear(buf) // the query holds the api key
	if cap(buf) <= maxPooled {
		*bp = buf[:0]
		msgPool.Put(bp)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var hx [macHex]byte
	hex.Encode(hx[:], sum[:])
	var sb strings.Builder
	sb.Grow(len(prefix) + len(tsb) + 1 + macHex)
	sb.WriteString(prefix)
	sb.Write(tsb)
	sb.WriteByte(':')
	sb.Write(hx[:])
	return sb.String()
}

// maxPooled is the largest message buffer kept for reuse.
const maxPooled = 64 << 10

var msgPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// Parse splits a token "xv2:<ts>:<64 hex digits>" into its timestamp and
// MAC. Hex digits may be upper or lower case. Errors wrap ErrMissing (empty
// token) or ErrMalformed.
func Parse(token string) (ts int64, mac []byte, err error) {
	if token == "" {
		return 0, nil, fmt.Errorf("%w", ErrMissing)
	}
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return 0, nil, fmt.Errorf("%w: want prefix %q", ErrMalformed, prefix)
	}
	tsStr, macStr, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, fmt.Errorf("%w: want xv2:<timestamp>:<hmac>", ErrMalformed)
	}
	if tsStr == "" || len(tsStr) > maxTSDigits {
		return 0, nil, fmt.Errorf("%w: timestamp must be 1 to %d digits", ErrMalformed, maxTSDigits)
	}
	for i := 0; i < len(tsStr); i++ {
		if c := tsStr[i]; c < '0' || c > '9' {
			return 0, nil, fmt.Errorf("%w: timestamp must be decimal digits", ErrMalformed)
		}
	}
	ts, err = strconv.ParseInt(tsStr, 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: timestamp out of range", ErrMalformed)
	}
	if len(macStr) != macHex {
		return 0, nil, fmt.Errorf("%w: hmac must be %d hex digits", ErrMalformed, macHex)
	}
	mac, err = hex.DecodeString(macStr)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: hmac must be hex", ErrMalformed)
	}
	return ts, mac, nil
}

// Verify checks token against a request: format (ErrMissing, ErrMalformed),
// timestamp within skew of now in either direction (ErrExpired; skew <= 0
// means DefaultSkew), then the HMAC in constant time (ErrMismatch). An empty
// sharedSecret gives ErrMissing. Errors never contain the secret or the
// expected MAC.
func Verify(token, sharedSecret string, resourcePath, rawQuery string, body []byte, now time.Time, skew time.Duration) error {
	ts, got, err := Parse(token)
	if err != nil {
		return err
	}
	if sharedSecret == "" {
		return fmt.Errorf("%w: no shared secret to verify with", ErrMissing)
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	d := now.Sub(time.Unix(ts, 0)) // saturates instead of overflowing
	if d > skew || d < -skew {
		return fmt.Errorf("%w: timestamp %d is %s away from now (max %s)", ErrExpired, ts, d.Round(time.Second), skew)
	}
	h := NewMAC(sharedSecret)
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte(resourcePath))
	h.Write([]byte(rawQuery))
	h.Write(body)
	if !hmac.Equal(got, h.Sum(nil)) {
		return fmt.Errorf("%w", ErrMismatch)
	}
	return nil
}
