package visa_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

// lookupMap turns a map into a lookup function.
func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// parseLines turns NAME=value lines into a map.
func parseLines(t *testing.T, lines []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		require.True(t, ok, l)
		require.NotContains(t, l, "\n")
		m[k] = v
	}
	return m
}

func TestEnvVarsDocumented(t *testing.T) {
	t.Parallel()
	names := map[string]visa.EnvVar{}
	for _, v := range visa.EnvVars {
		assert.Regexp(t, regexp.MustCompile(`^VISA_[A-Z0-9_]+$`), v.Name)
		assert.NotEmpty(t, v.Description, v.Name)
		_, dup := names[v.Name]
		assert.False(t, dup, v.Name)
		names[v.Name] = v
	}
	for _, n := range []string{
		"VISA_ENVIRONMENT", "VISA_VIC_BASE_URL", "VISA_VTS_BASE_URL", "VISA_AUTH_BASE_URL", "VISA_VIC_API_KEY",
		"VISA_VIC_SHARED_SECRET", "VISA_MLE_KEY_ID", "VISA_MLE_SERVER_CERT", "VISA_MLE_SERVER_CERT_FILE",
		"VISA_MLE_CLIENT_KEY", "VISA_MLE_CLIENT_KEY_FILE", "VISA_MLE_ENC", "VISA_EXTERNAL_CLIENT_ID",
		"VISA_EXTERNAL_APP_ID", "VISA_VIC_AUTHORIZATION", "VISA_VIC_RELATIONSHIP_ID", "VISA_VTS_API_KEY",
		"VISA_VTS_SHARED_SECRET", "VISA_CLIENT_APP_ID", "VISA_CLIENT_WALLET_ACCOUNT_ID", "VISA_ENC_API_KEY",
		"VISA_ENC_SHARED_SECRET", "VISA_HASH_SECRET", "VISA_TLS_CA", "VISA_TLS_CA_FILE", "VISA_TLS_CLIENT_CERT",
		"VISA_TLS_CLIENT_CERT_FILE", "VISA_TLS_CLIENT_KEY", "VISA_TLS_CLIENT_KEY_FILE", "VISA_TLS_USER_ID",
		"VISA_TLS_PASSWORD", "VISA_SIGNED_PAYLOAD_JWKS_URL", "VISA_SIGNED_PAYLOAD_KEYS", "VISA_SIGNED_PAYLOAD_KEYS_FILE",
		"VISA_TIMEOUT", "VISA_MAX_ATTEMPTS", "VISA_USER_AGENT_SUFFIX",
	} {
		assert.Contains(t, names, n)
	}
	for _, n := range []string{"VISA_VIC_API_KEY", "VISA_VIC_SHARED_SECRET", "VISA_MLE_CLIENT_KEY", "VISA_VTS_API_KEY",
		"VISA_VTS_SHARED_SECRET", "VISA_ENC_API_KEY", "VISA_ENC_SHARED_SECRET", "VISA_HASH_SECRET", "VISA_TLS_CLIENT_KEY", "VISA_TLS_PASSWORD"} {
		assert.True(t, names[n].Secret, n)
	}
	assert.False(t, names["VISA_MLE_KEY_ID"].Secret)
}

func TestConfigFromLookup(t *testing.T) {
	t.Parallel()
	p := pems()
	env := map[string]string{
		"VISA_ENVIRONMENT":              " Sandbox ",
		"VISA_VIC_BASE_URL":             "http://localhost:8099",
		"VISA_VTS_BASE_URL":             "http://localhost:8099",
		"VISA_AUTH_BASE_URL":            "http://localhost:8099",
		"VISA_VIC_API_KEY":              "SBXVICAPIKEY01\n",
		"VISA_VIC_SHARED_SECRET":        "sbx-vic-shared-secret",
		"VISA_MLE_KEY_ID":               "sbx-mle-1",
		"VISA_MLE_SERVER_CERT":          strings.ReplaceAll(string(p.rsaCert), "\n", `\n`), // .env style
		"VISA_MLE_CLIENT_KEY":           string(p.rsaPKCS8),
		"VISA_MLE_ENC":                  "A256GCM",
		"VISA_EXTERNAL_CLIENT_ID":       "SBXCLIENT01",
		"VISA_EXTERNAL_APP_ID":          "SBXAPP01",
		"VISA_VIC_AUTHORIZATION":        "auth",
		"VISA_VIC_RELATIONSHIP_ID":      "rel",
		"VISA_VTS_API_KEY":              "SBXVTSAPIKEY01",
		"VISA_VTS_SHARED_SECRET":        "sbx-vts-shared-secret",
		"VISA_CLIENT_APP_ID":            "SBXAPP01",
		"VISA_CLIENT_WALLET_ACCOUNT_ID": "wallet-1",
		"VISA_ENC_API_KEY":              "SBXENCAPIKEY01",
		"VISA_ENC_SHARED_SECRET":        "sbx-enc-shared-secret",
		"VISA_HASH_SECRET":              "sbx-hash-secret",
		"VISA_TLS_USER_ID":              "user",
		"VISA_TLS_PASSWORD":             "pw",
		"VISA_SIGNED_PAYLOAD_JWKS_URL":  "http://localhost:8099/.well-known/jwks.json",
		"VISA_TIMEOUT":                  "45s",
		"VISA_MAX_ATTEMPTS":             "4",
		"VISA_USER_AGENT_SUFFIX":        "acme/1.0",
		"UNRELATED":                     "x",
	}
	c, err := visa.ConfigFromLookup(lookupMap(env))
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	assert.Equal(t, visa.Sandbox, c.Environment)
	assert.Equal(t, "SBXVICAPIKEY01", c.VIC.APIKey.Reveal(), "trimmed")
	assert.Equal(t, p.rsaCert, c.VIC.MLEServerCertPEM, `\n escapes restored`)
	assert.Equal(t, string(p.rsaPKCS8), c.VIC.MLEClientPrivateKeyPEM.Reveal())
	assert.Equal(t, "A256GCM", c.VIC.MLEEnc)
	assert.Equal(t, "auth", c.VIC.Authorization)
	assert.Equal(t, "rel", c.VIC.RelationshipID)
	assert.Equal(t, "wallet-1", c.VTS.ClientWalletAccountID)
	assert.Equal(t, "sbx-hash-secret", c.VTS.HashSecret.Reveal())
	assert.Equal(t, "pw", c.TLS.Password.Reveal())
	assert.Equal(t, 45*time.Second, c.Timeout)
	assert.Equal(t, 4, c.Retry.MaxAttempts)
	assert.Equal(t, "acme/1.0", c.UserAgentSuffix)

	// EnvLines round-trips through ConfigFromLookup.
	lines := c.EnvLines()
	back, err := visa.ConfigFromLookup(lookupMap(parseLines(t, lines)))
	require.NoError(t, err)
	assert.Equal(t, lines, back.EnvLines())
	assert.Equal(t, c.VIC.MLEServerCertPEM, back.VIC.MLEServerCertPEM)
	assert.True(t, c.VIC.MLEClientPrivateKeyPEM.Equal(back.VIC.MLEClientPrivateKeyPEM))
	assert.Contains(t, lines, "VISA_VIC_API_KEY=SBXVICAPIKEY01", "EnvLines reveals secrets by design")
	assert.Contains(t, lines, "VISA_TIMEOUT=45s")
	assert.Equal(t, "VISA_ENVIRONMENT=sandbox", lines[0], "EnvVars order")

	// Nothing set: the zero Config.
	c, err = visa.ConfigFromLookup(lookupMap(nil))
	require.NoError(t, err)
	assert.Equal(t, visa.Config{}, c)
	assert.Empty(t, c.EnvLines())
	empty := map[string]string{}
	for _, v := range visa.EnvVars {
		empty[v.Name] = " "
	}
	c, err = visa.ConfigFromLookup(lookupMap(empty))
	require.NoError(t, err)
	assert.Equal(t, visa.Config{}, c, "blank values are unset")
}

func TestConfigFromLookupFiles(t *testing.T) {
	t.Parallel()
	p := pems()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	env := map[string]string{
		"VISA_MLE_SERVER_CERT_FILE":     write("server.pem", p.rsaCert),
		"VISA_MLE_CLIENT_KEY_FILE":      write("client.pem", p.rsaPKCS1),
		"VISA_TLS_CA_FILE":              write("ca.pem", p.rsaCert),
		"VISA_TLS_CLIENT_CERT_FILE":     write("tls.crt", p.ecCert),
		"VISA_TLS_CLIENT_KEY_FILE":      write("tls.key", p.ecPKCS8),
		"VISA_SIGNED_PAYLOAD_KEYS_FILE": write("keys.pem", p.rsaPKIX),
	}
	c, err := visa.ConfigFromLookup(lookupMap(env))
	require.NoError(t, err)
	assert.Equal(t, p.rsaCert, c.VIC.MLEServerCertPEM)
	assert.Equal(t, string(p.rsaPKCS1), c.VIC.MLEClientPrivateKeyPEM.Reveal())
	assert.Equal(t, p.rsaCert, c.TLS.RootCAsPEM)
	assert.Equal(t, p.ecCert, c.TLS.ClientCertPEM)
	assert.Equal(t, string(p.ecPKCS8), c.TLS.ClientKeyPEM.Reveal())
	assert.Equal(t, p.rsaPKIX, c.SignedPayload.KeysPEM)
	require.NoError(t, c.ValidateFor())

	// EnvLines writes the content inline, never the path.
	for _, l := range c.EnvLines() {
		assert.NotContains(t, l, "_FILE=")
	}
}

func TestConfigFromLookupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	require.NoError(t, os.WriteFile(big, make([]byte, 1<<20+1), 0o600))
	blank := filepath.Join(dir, "blank.pem")
	require.NoError(t, os.WriteFile(blank, []byte("\n \n"), 0o600))
	tests := []struct {
		env   map[string]string
		field string
	}{
		{map[string]string{"VISA_ENVIRONMENT": "staging-secret-value"}, "VISA_ENVIRONMENT"},
		{map[string]string{"VISA_TIMEOUT": "sixty-secret-value"}, "VISA_TIMEOUT"},
		{map[string]string{"VISA_TIMEOUT": "-1s"}, "VISA_TIMEOUT"},
		{map[string]string{"VISA_TIMEOUT": "0s"}, "VISA_TIMEOUT"},
		{map[string]string{"VISA_MAX_ATTEMPTS": "0"}, "VISA_MAX_ATTEMPTS"},
		{map[string]string{"VISA_MAX_ATTEMPTS": "11"}, "VISA_MAX_ATTEMPTS"},
		{map[string]string{"VISA_MAX_ATTEMPTS": "three-secret-value"}, "VISA_MAX_ATTEMPTS"},
		{map[string]string{"VISA_MLE_CLIENT_KEY": "inline-secret-value", "VISA_MLE_CLIENT_KEY_FILE": "/x"}, "VISA_MLE_CLIENT_KEY"},
		{map[string]string{"VISA_MLE_CLIENT_KEY_FILE": filepath.Join(dir, "missing")}, "VISA_MLE_CLIENT_KEY_FILE"},
		{map[string]string{"VISA_TLS_CA_FILE": dir}, "VISA_TLS_CA_FILE"},
		{map[string]string{"VISA_TLS_CA_FILE": big}, "VISA_TLS_CA_FILE"},
		{map[string]string{"VISA_TLS_CA_FILE": blank}, "VISA_TLS_CA_FILE"},
	}
	for _, tt := range tests {
		c, err := visa.ConfigFromLookup(lookupMap(tt.env))
		require.ErrorIs(t, err, visa.ErrInvalidInput, tt.field)
		assert.Equal(t, []string{tt.field}, fields(err))
		assert.NotContains(t, err.Error(), "secret-value")
		assert.Equal(t, visa.Config{}, c)
	}

	// Several bad variables are all reported.
	_, err := visa.ConfigFromLookup(lookupMap(map[string]string{"VISA_TIMEOUT": "x", "VISA_MAX_ATTEMPTS": "x", "VISA_ENVIRONMENT": "x"}))
	assert.Equal(t, []string{"VISA_ENVIRONMENT", "VISA_TIMEOUT", "VISA_MAX_ATTEMPTS"}, fields(err))
}

func TestConfigFromEnv(t *testing.T) {
	// t.Setenv forbids t.Parallel.
	t.Setenv("VISA_VTS_API_KEY", "from-env")
	t.Setenv("VISA_MAX_ATTEMPTS", "2")
	c, err := visa.ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "from-env", c.VTS.APIKey.Reveal())
	assert.Equal(t, 2, c.Retry.MaxAttempts)
}
