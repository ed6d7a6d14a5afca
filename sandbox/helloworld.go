package sandbox

import (
	"errors"
	"net/http"

	"github.com/vicgo/visa/internal/xpay"
)

// helloWorldResource is the X-Pay resource path of GET /vdp/helloworld:
// Visa's connectivity check signs "helloworld", the path without its
// "/vdp/" prefix (as Visa's own kits do).
const helloWorldResource = "helloworld"

// handleHelloWorld serves GET /vdp/helloworld, Visa's connectivity
// endpoint, as cmd/visa-doctor checks it: with an api key of either
// product (apikey), its X-Pay-Token must verify; without one, the request
// must come over mutual TLS with a client certificate the handshake
// verified (WithMutualTLS; HTTP basic authentication, Visa's two-way-SSL
// user id and password, is accepted but not checked: the sandbox has no
// users). The body is Visa's: {"timestamp":"...","message":"helloworld"}.
func (s *Sandbox) handleHelloWorld(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	key, ok := apiKeyOf(r.URL.RawQuery)
	if !ok && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		writeGatewayError(w, http.StatusUnauthorized, "APIKEY_MISSING", "apikey query parameter (with an X-Pay-Token) or a client certificate is required")
		return
	}
	if ok {
		var secret string
		switch {
		case eq(key, VICAPIKey):
			secret = VICSharedSecret
		case eq(key, VTSAPIKey):
			secret = VTSSharedSecret
		default:
			writeGatewayError(w, http.StatusUnauthorized, "APIKEY_UNKNOWN", "unknown api key")
			return
		}
		err := xpay.Verify(r.Header.Get("X-Pay-Token"), secret, helloWorldResource, r.URL.RawQuery, nil, now, Skew)
		switch {
		case err == nil:
		case errors.Is(err, xpay.ErrMissing):
			writeGatewayError(w, http.StatusUnauthorized, "XPAY_MISSING", "x-pay-token header is required")
			return
		case errors.Is(err, xpay.ErrMalformed):
			writeGatewayError(w, http.StatusUnauthorized, "XPAY_MALFORMED", "x-pay-token must be xv2:<timestamp>:<hmac>")
			return
		case errors.Is(err, xpay.ErrExpired):
			writeGatewayError(w, http.StatusUnauthorized, "XPAY_EXPIRED", "x-pay-token timestamp is more than 300 seconds from the server time")
			return
		default:
			writeGatewayError(w, http.StatusUnauthorized, "XPAY_INVALID", `x-pay-token does not match the request (resource path "helloworld")`)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"timestamp": now.UTC().Format("2006-01-02T15:04:05"), "message": "helloworld"})
}
