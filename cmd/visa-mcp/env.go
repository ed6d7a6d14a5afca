package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vicgo/visa"
)

// mcpVar is an environment variable of the command itself (beyond the
// VISA_* configuration of visa.ConfigFromLookup).
type mcpVar struct {
	name, desc string
	// file: the variable has a NAME_FILE twin naming a file that holds it
	// (secrets, mounted by the platform, never given as arguments).
	file bool
}

// mcpVars are the command's own variables, listed by -h. Variables with
// a flag are read when the flag is not given.
var mcpVars = []mcpVar{
	{name: "VISA_MERCHANT_URL", desc: "merchant authorizer the purchase tool charges (the sandbox's /sandbox/v1/merchant/authorizations)"},
	{name: "VISA_SEALER_KEYS", desc: "kid:base64key,... sealing passkeys at rest (the first seals, all open); needed with a database", file: true},
	{name: "VISA_MCP_DEVICE_KEY", desc: "base64 key, at least 32 bytes, of the default device ids (an HMAC of the user id); needed with a database", file: true},
	{name: "VISA_MCP_DATABASE_URL", desc: "PostgreSQL URL of the shared store (replicas, AgentCore); instead of -db", file: true},
	{name: "VISA_MCP_PROFILE", desc: "deployment profile, as -profile (agentcore)"},
	{name: "VISA_MCP_HTTP", desc: "as -http"},
	{name: "VISA_MCP_DB", desc: "as -db"},
	{name: "VISA_MCP_AUTH", desc: "as -auth (token, oauth or none)"},
	{name: "VISA_MCP_STATELESS", desc: "as -stateless (true or false)"},
	{name: "VISA_MCP_PUBLIC_URL", desc: "as -public-url: the endpoint's URL as clients reach it, e.g. https://mcp.example.com/mcp"},
	{name: "VISA_MCP_ALLOWED_ORIGINS", desc: "as -allowed-origins: comma-separated browser origins allowed besides the server's own"},
	{name: "VISA_MCP_ALLOWED_HOSTS", desc: "as -allowed-hosts: comma-separated Host names served besides loopback ones (* for any, with auth)"},
	{name: "VISA_MCP_MAX_SESSIONS", desc: "as -max-sessions"},
	{name: "VISA_MCP_MAX_IN_FLIGHT", desc: "as -max-in-flight"},
	{name: "VISA_MCP_CARD_ARGUMENTS", desc: "as -card-arguments (true or false)"},
	{name: "VISA_MCP_SESSION_TIMEOUT", desc: "as -session-timeout (a Go duration such as 30m)"},
	{name: "VISA_MCP_TOKEN", desc: "static bearer token of -auth token (at least 32 characters); without it one is generated and printed once", file: true},
	{name: "VISA_MCP_TOKEN_USER", desc: "store user the static token acts as (default local)"},
	{name: "VISA_MCP_TOKEN_SCOPES", desc: "space-separated scopes of the static token (default visa:reveal with -reveal-credentials, else none)"},
	{name: "VISA_MCP_OAUTH_ISSUER", desc: "issuer of accepted OAuth access tokens (JWTs); its keys are found by discovery"},
	{name: "VISA_MCP_OAUTH_AUDIENCE", desc: "comma-separated accepted token audiences (default: the public URL)"},
	{name: "VISA_MCP_OAUTH_CLIENT_IDS", desc: "comma-separated accepted client_id values (for issuers whose tokens have no aud, such as Cognito)"},
	{name: "VISA_MCP_OAUTH_JWKS_URL", desc: "the issuer's JWKS URL (default: from its discovery document)"},
	{name: "VISA_MCP_OAUTH_ALGORITHMS", desc: "comma-separated accepted signature algorithms (default RS*, PS*, ES*, EdDSA)"},
	{name: "VISA_MCP_OAUTH_REQUIRED_SCOPES", desc: "space-separated scopes every token must hold"},
}

// maxSecretFileBytes bounds a file named by a *_FILE variable.
const maxSecretFileBytes = 1 << 20

// withFiles returns a lookup where every variable X with a file twin
// (the command's secrets, and every VISA_* variable of visa.EnvVars that
// has no X_FILE twin there, such as the API keys and shared secrets) can
// instead be given as X_FILE, the path of a file holding it (trimmed), the
// way container platforms mount secrets. visa.ConfigFromLookup handles
// its own *_FILE variables (the PEM ones) and they pass through. Setting
// both X and X_FILE, or naming a file that cannot be read, is an error
// naming the variable, never its value.
func withFiles(lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	native := map[string]bool{} // X with an X_FILE in visa.EnvVars
	var names []string
	for _, v := range visa.EnvVars {
		if base, ok := strings.CutSuffix(v.Name, "_FILE"); ok {
			native[base] = true
		}
	}
	for _, v := range visa.EnvVars {
		if !strings.HasSuffix(v.Name, "_FILE") && !native[v.Name] && v.Secret {
			names = append(names, v.Name)
		}
	}
	for _, v := range mcpVars {
		if v.file {
			names = append(names, v.name)
		}
	}
	resolved := map[string]string{}
	var errs []error
	for _, name := range names {
		path, _ := lookup(name + "_FILE")
		if strings.TrimSpace(path) == "" {
			continue
		}
		if v, _ := lookup(name); strings.TrimSpace(v) != "" {
			errs = append(errs, visa.NewInputError(name, "set only one of "+name+" and "+name+"_FILE"))
			continue
		}
		data, reason := readSecretFile(strings.TrimSpace(path))
		if reason != "" {
			errs = append(errs, visa.NewInputError(name+"_FILE", reason))
			continue
		}
		resolved[name] = data
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return func(name string) (string, bool) {
		if v, ok := resolved[name]; ok {
			return v, true
		}
		return lookup(name)
	}, nil
}

// readSecretFile reads a secret file, bounded and trimmed; the reason
// never quotes its content.
func readSecretFile(path string) (string, string) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "names a file that does not exist"
		}
		return "", "names a file that cannot be opened"
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	switch {
	case err != nil:
		return "", "names a file that cannot be read"
	case len(data) > maxSecretFileBytes:
		return "", "names a file larger than 1 MiB"
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", "names an empty file"
	}
	return s, ""
}

// secretFileVars lists the X_FILE variables withFiles adds, for -h.
func secretFileVars() []string {
	native := map[string]bool{}
	for _, v := range visa.EnvVars {
		if base, ok := strings.CutSuffix(v.Name, "_FILE"); ok {
			native[base] = true
		}
	}
	var out []string
	for _, v := range visa.EnvVars {
		if !strings.HasSuffix(v.Name, "_FILE") && !native[v.Name] && v.Secret {
			out = append(out, v.Name+"_FILE")
		}
	}
	slices.Sort(out)
	return out
}

// list splits a comma- or space-separated list, dropping empty items.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// envBool parses a boolean variable.
func envBool(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, visa.NewInputError(name, fmt.Sprintf("must be true or false, not %q", v))
}
