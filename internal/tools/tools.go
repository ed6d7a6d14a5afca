//go:build tools

package tools

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-webauthn/webauthn/webauthn"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jarcoal/httpmock"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
	_ "modernc.org/sqlite"
	_ "github.com/google/uuid"
)
