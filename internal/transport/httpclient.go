package transport

import (
	"net/http"

	"github.com/vicgo/visa"
)

// HTTPClient returns a new *http.Client with the TLS settings, timeouts,
// TLS-verification rule and redirect policy of cfg, built exactly as the
// transport's own. The SDK's packages never send with it (every exchange
// goes through Client.Do); the sandbox's tests and tools use it to talk to
// a sandbox as the SDK would.
func HTTPClient(cfg visa.Config) (*http.Client, error) {
	if err := cfg.ValidateFor(); err != nil {
		return nil, err
	}
	return buildHTTPClient(cfg, "")
}
