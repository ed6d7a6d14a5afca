package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vicgo/visa/sandbox"
)

// The formats of -format.
const (
	formatShell   = "shell"
	formatVisaKit = "visa-kit"
)

// environment renders what a client needs to talk to sb: for this SDK,
// "export VISA_...='...'" lines (visa.ConfigFromEnv reads them); for Visa's
// TypeScript kit, a dotenv file under the names the kit reads. pid, when
// serving, is written as VISA_SANDBOX_PID so a shell can stop the server.
func environment(sb *sandbox.Sandbox, format string, pid int, serving bool) string {
	var b strings.Builder
	if format == formatVisaKit {
		writeVisaKit(&b, sb)
	} else {
		fmt.Fprintln(&b, "# vicgo sandbox: throw-away test credentials (keep this file out of git); source it in a shell")
		for _, line := range sb.Config().EnvLines() {
			name, value, _ := strings.Cut(line, "=")
			fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(value))
		}
		// Not a visa.Config field: the examples and visa-mcp charge here.
		fmt.Fprintf(&b, "export VISA_MERCHANT_URL=%s\n", shellQuote(sb.MerchantURL()))
	}
	if serving {
		if format == formatVisaKit {
			fmt.Fprintf(&b, "VISA_SANDBOX_PID=%d\n", pid)
		} else {
			fmt.Fprintf(&b, "export VISA_SANDBOX_PID=%d # stop the sandbox: kill \"$VISA_SANDBOX_PID\"\n", pid)
		}
	}
	return b.String()
}

// shellQuote single-quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeVisaKit writes the dotenv file of Visa's TypeScript kit (the
// variables its api-client, vic-agent and web app read; see the table in
// cmd/visa-sandbox/README.md). PEMs are double-quoted over several lines:
// dotenv keeps the line breaks, and so does a shell that sources the file
// (set -a; . ./file), since PEM text has no character a shell expands
// inside double quotes.
func writeVisaKit(b *strings.Builder, sb *sandbox.Sandbox) {
	cfg := sb.Config()
	kv := func(name, value string) {
		fmt.Fprintf(b, "%s=%s\n", name, dotenvQuote(value))
	}
	fmt.Fprintln(b, "# vicgo sandbox for Visa's TypeScript kit: throw-away test credentials (keep this file out of git).")
	fmt.Fprintln(b, "# Read by dotenv as .env, or in a shell: set -a; . ./FILE; set +a")
	fmt.Fprintln(b, "# VIC and VDP (packages/api-client)")
	kv("VISA_API_BASE_URL", cfg.VICBaseURL)
	kv("VISA_VIC_API_KEY", cfg.VIC.APIKey.Reveal())
	kv("VISA_VIC_API_KEY_SS", cfg.VIC.SharedSecret.Reveal())
	kv("VISA_VDP_API_KEY", cfg.VIC.APIKey.Reveal()) // /vdp/helloworld takes either product's key
	kv("VISA_VDP_API_KEY_SS", cfg.VIC.SharedSecret.Reveal())
	kv("VISA_EXTERNAL_CLIENT_ID", cfg.VIC.ExternalClientID)
	kv("VISA_EXTERNAL_APP_ID", cfg.VIC.ExternalAppID)
	kv("VISA_KEY_ID", cfg.VIC.MLEKeyID)
	kv("VISA_MLE_SERVER_CERT", string(cfg.VIC.MLEServerCertPEM))
	kv("VISA_MLE_PRIVATE_KEY", cfg.VIC.MLEClientPrivateKeyPEM.Reveal())
	fmt.Fprintln(b, "# VTS (packages/api-client, vic-agent)")
	kv("VISA_VTS_API_BASE_URL", cfg.VTSBaseURL)
	kv("VISA_VTS_API_KEY", cfg.VTS.APIKey.Reveal())
	kv("VISA_VTS_API_KEY_SS", cfg.VTS.SharedSecret.Reveal())
	fmt.Fprintln(b, "# Token requestor (vic-agent)")
	kv("TR_ID", cfg.VTS.ClientWalletAccountID)
	kv("TR_APPID", cfg.VTS.ClientAppID)
	kv("TR_HASHSECRET", cfg.VTS.HashSecret.Reveal())
	kv("TR_ENCSECRET", cfg.VTS.EncSharedSecret.Reveal())
	kv("TR_ENCAPIKEY", cfg.VTS.EncAPIKey.Reveal())
	fmt.Fprintln(b, "# Auth iFrame (vic-agent web app)")
	kv("NEXT_PUBLIC_VTS_AUTH_BASE_URL", cfg.AuthBaseURL)
	frameKey := cfg.VTS.AuthFrameAPIKey // the browser's key, not the server's
	if frameKey == "" {
		frameKey = cfg.VTS.APIKey.Reveal()
	}
	kv("NEXT_PUBLIC_VTS_API_KEY", frameKey)
	kv("NEXT_PUBLIC_VTS_EXTERNAL_APP_ID", cfg.VTS.ClientAppID)
	fmt.Fprintln(b, "# Not read by the kit: the sandbox's merchant authorizer and signedPayload keys")
	kv("VISA_MERCHANT_URL", sb.MerchantURL())
	kv("VISA_SIGNED_PAYLOAD_JWKS_URL", cfg.SignedPayload.JWKSURL)
}

// dotenvQuote double-quotes a value for dotenv and POSIX shells alike. The
// sandbox's values never hold a character that either would interpret
// inside double quotes; one that did would be a bug, so it panics rather
// than write a file that reads back differently.
func dotenvQuote(v string) string {
	if strings.ContainsAny(v, "\"$`\\\r") {
		panic("visa-sandbox: value unsafe in a double-quoted dotenv line: " + strconv.Itoa(len(v)) + " bytes")
	}
	return `"` + v + `"`
}
