package transport

import (
	"net/http"

	"github.com/vicgo/visa"
)

// HTTPClient returns an *http.Client with the TLS settings, timeouts and
// redirect policy of cfg, for the few requests that are not signed Visa
// calls (for example fetching the signedPayload JWKS).
func HTTPClient(cfg visa.Config) (*http.Client, error) { return buildHTTPClient(cfg) }
