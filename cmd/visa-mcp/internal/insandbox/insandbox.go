package insandbox

import (
	"fmt"
	"log/slog"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
)

// Start starts a sandbox on a free loopback port and returns its
// configuration, its merchant authorizer's URL and the function that
// stops it.
func Start(logger *slog.Logger) (cfg visa.Config, merchantURL string, stop func() error, err error) {
	s, err := sandbox.New()
	if err != nil {
		return visa.Config{}, "", nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	logger.Info("visa-mcp: no VISA_* configuration, serving against an in-process sandbox",
		"base", s.BaseURL(), "test_card", sandbox.CardHappy, "otp", "456789 (the sandbox's fixed code)")
	return s.Config(), s.MerchantURL(), s.Close, nil
}
