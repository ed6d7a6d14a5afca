package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/vicgo/visa/tap"
)

// merchantVerifier builds the verifier of -merchant-tap: the agent keys
// come from a JWKS file, or from a JWKS URL fetched (and cached) when a
// charge names an unknown key.
func merchantVerifier(source string, lenient bool) (*tap.Verifier, error) {
	var keys tap.KeyResolver
	if strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://") {
		j, err := tap.NewJWKS(source)
		if err != nil {
			return nil, fmt.Errorf("-merchant-tap: %w", err)
		}
		keys = j
	} else {
		data, err := os.ReadFile(source)
		if err != nil {
			return nil, fmt.Errorf("-merchant-tap: %w", err)
		}
		static, err := tap.StaticKeysFromJWKS(data)
		if err != nil {
			return nil, fmt.Errorf("-merchant-tap %s: %w", source, err)
		}
		keys = static
	}
	var opts []tap.VerifierOption
	if lenient {
		opts = append(opts, tap.WithLenient())
	}
	return tap.NewVerifier(keys, opts...)
}
