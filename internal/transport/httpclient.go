package transport

import (
	"net/http"

	"github.com/vicgo/visa"
)

// HTTPClient returns a new *http.Client with the TLS settings, timeouts and
// redirect policy of cfg, for the few requests that are not signed Visa
// calls (for example fetching the signedPayload JWKS, the Auth iFrame, the
// sandbox merchant). It is built exactly as New builds the transport's: TLS
// 1.2 minimum, cfg.TLS roots and client certificate, redirects not followed
// (a 3xx comes back as the response), a caller's cfg.HTTPClient copied and
// never modified. Each call returns a fresh client that belongs to the
// caller, who may adjust it (Timeout, CheckRedirect).
func HTTPClient(cfg visa.Config) (*http.Client, error) {
	if err := validateCommon(cfg); err != nil {
		return nil, err
	}
	return buildHTTPClient(cfg)
}
