package visa

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvVar documents one environment variable ConfigFromEnv reads.
type EnvVar struct {
	// Name is the variable, e.g. "VISA_VIC_API_KEY".
	Name string
	// Description says what it holds, for help text and READMEs.
	Description string
	// Secret is true when the value is a credential that must not be
	// printed or logged.
	Secret bool
}

// envBinding ties an environment variable to a Config field.
type envBinding struct {
	name, desc string
	secret     bool
	// field is the Config path Validate names, e.g. "VIC.APIKey".
	field string
	// pem variables also have a NAME_FILE twin holding a path.
	pem bool
	get func(*Config) string
	set func(*Config, string) error
}

func secretVar(name, field, desc string, p func(*Config) *Secret) envBinding {
	return envBinding{name: name, desc: desc, secret: true, field: field,
		get: func(c *Config) string { return p(c).Reveal() },
		set: func(c *Config, v string) error { *p(c) = NewSecret(v); return nil }}
}

func stringVar(name, field, desc string, p func(*Config) *string) envBinding {
	return envBinding{name: name, desc: desc, field: field,
		get: func(c *Config) string { return *p(c) },
		set: func(c *Config, v string) error { *p(c) = v; return nil }}
}

func pemVar(name, field, desc string, secret bool, p func(*Config) *[]byte) envBinding {
	return envBinding{name: name, desc: desc, secret: secret, field: field, pem: true,
		get: func(c *Config) string { return string(*p(c)) },
		set: func(c *Config, v string) error { *p(c) = []byte(v); return nil }}
}

func pemSecretVar(name, field, desc string, p func(*Config) *Secret) envBinding {
	b := secretVar(name, field, desc, p)
	b.pem = true
	return b
}

// envBindings is the one table behind EnvVars, ConfigFromLookup and
// EnvLines.
var envBindings = []envBinding{
	{name: "VISA_ENVIRONMENT", desc: `"sandbox" (the default) or "production"; selects default base URLs`, field: "Environment",
		get: func(c *Config) string { return string(c.Environment) },
		set: func(c *Config, v string) error {
			switch e := Environment(strings.ToLower(v)); e {
			case Sandbox, Production:
				c.Environment = e
				return nil
			}
			return errors.New(`must be "sandbox" or "production"`)
		}},
	stringVar("VISA_VIC_BASE_URL", "VICBaseURL", "VIC base URL (default for sandbox: "+SandboxVICBaseURL+")", func(c *Config) *string { return &c.VICBaseURL }),
	stringVar("VISA_VTS_BASE_URL", "VTSBaseURL", "VTS base URL (default for sandbox: "+SandboxVTSBaseURL+")", func(c *Config) *string { return &c.VTSBaseURL }),
	stringVar("VISA_AUTH_BASE_URL", "AuthBaseURL", "Auth iFrame base URL (default for sandbox: "+SandboxAuthBaseURL+")", func(c *Config) *string { return &c.AuthBaseURL }),

	secretVar("VISA_VIC_API_KEY", "VIC.APIKey", "VIC api key (query parameter apikey)", func(c *Config) *Secret { return &c.VIC.APIKey }),
	secretVar("VISA_VIC_SHARED_SECRET", "VIC.SharedSecret", "VIC shared secret (X-Pay-Token HMAC key)", func(c *Config) *Secret { return &c.VIC.SharedSecret }),
	stringVar("VISA_MLE_KEY_ID", "VIC.MLEKeyID", "MLE key id (header keyId and JWE kid)", func(c *Config) *string { return &c.VIC.MLEKeyID }),
	pemVar("VISA_MLE_SERVER_CERT", "VIC.MLEServerCertPEM", "Visa's MLE server certificate or RSA public key, PEM", false, func(c *Config) *[]byte { return &c.VIC.MLEServerCertPEM }),
	pemSecretVar("VISA_MLE_CLIENT_KEY", "VIC.MLEClientPrivateKeyPEM", "the client's MLE RSA private key, PEM (PKCS#1 or PKCS#8)", func(c *Config) *Secret { return &c.VIC.MLEClientPrivateKeyPEM }),
	stringVar("VISA_MLE_ENC", "VIC.MLEEnc", "MLE content encryption: A128GCM (the default) or A256GCM", func(c *Config) *string { return &c.VIC.MLEEnc }),
	stringVar("VISA_EXTERNAL_CLIENT_ID", "VIC.ExternalClientID", "VIC client.externalClientId", func(c *Config) *string { return &c.VIC.ExternalClientID }),
	stringVar("VISA_EXTERNAL_APP_ID", "VIC.ExternalAppID", "VIC client.externalAppId", func(c *Config) *string { return &c.VIC.ExternalAppID }),
	func() envBinding {
		b := stringVar("VISA_VIC_AUTHORIZATION", "VIC.Authorization", "optional VIC client.authorization", func(c *Config) *string { return &c.VIC.Authorization })
		b.secret = true
		return b
	}(),
	stringVar("VISA_VIC_RELATIONSHIP_ID", "VIC.RelationshipID", "optional VIC client.relationshipId", func(c *Config) *string { return &c.VIC.RelationshipID }),

	secretVar("VISA_VTS_API_KEY", "VTS.APIKey", "VTS api key (query parameter apikey; also the Auth iFrame's, and then seen by the cardholder's browser, unless VISA_AUTH_FRAME_API_KEY is set)", func(c *Config) *Secret { return &c.VTS.APIKey }),
	stringVar("VISA_AUTH_FRAME_API_KEY", "VTS.AuthFrameAPIKey", "Auth iFrame api key, in the iFrame URL the cardholder's browser loads, so not secret (default: VISA_VTS_API_KEY)", func(c *Config) *string { return &c.VTS.AuthFrameAPIKey }),
	secretVar("VISA_VTS_SHARED_SECRET", "VTS.SharedSecret", "VTS shared secret (X-Pay-Token HMAC key)", func(c *Config) *Secret { return &c.VTS.SharedSecret }),
	stringVar("VISA_CLIENT_APP_ID", "VTS.ClientAppID", "VTS clientAppID (also the Auth iFrame's)", func(c *Config) *string { return &c.VTS.ClientAppID }),
	stringVar("VISA_CLIENT_WALLET_ACCOUNT_ID", "VTS.ClientWalletAccountID", "VTS clientWalletAccountID", func(c *Config) *string { return &c.VTS.ClientWalletAccountID }),
	secretVar("VISA_ENC_API_KEY", "VTS.EncAPIKey", "VTS encryption api key (kid of field-level JWEs)", func(c *Config) *Secret { return &c.VTS.EncAPIKey }),
	secretVar("VISA_ENC_SHARED_SECRET", "VTS.EncSharedSecret", "VTS encryption shared secret (field-level JWE key)", func(c *Config) *Secret { return &c.VTS.EncSharedSecret }),
	secretVar("VISA_HASH_SECRET", "VTS.HashSecret", "VTS hash secret (email address hash key)", func(c *Config) *Secret { return &c.VTS.HashSecret }),

	pemVar("VISA_TLS_CA", "TLS.RootCAsPEM", "optional trust roots replacing the system's, PEM", false, func(c *Config) *[]byte { return &c.TLS.RootCAsPEM }),
	pemVar("VISA_TLS_CLIENT_CERT", "TLS.ClientCertPEM", "optional mutual-TLS client certificate, PEM", false, func(c *Config) *[]byte { return &c.TLS.ClientCertPEM }),
	pemSecretVar("VISA_TLS_CLIENT_KEY", "TLS.ClientKeyPEM", "optional mutual-TLS client private key, PEM", func(c *Config) *Secret { return &c.TLS.ClientKeyPEM }),
	stringVar("VISA_TLS_USER_ID", "TLS.UserID", "optional two-way-SSL user id (HTTP basic authentication)", func(c *Config) *string { return &c.TLS.UserID }),
	secretVar("VISA_TLS_PASSWORD", "TLS.Password", "optional two-way-SSL password (HTTP basic authentication)", func(c *Config) *Secret { return &c.TLS.Password }),

	stringVar("VISA_SIGNED_PAYLOAD_JWKS_URL", "SignedPayload.JWKSURL", "optional JWKS URL of the signedPayload verification keys", func(c *Config) *string { return &c.SignedPayload.JWKSURL }),
	pemVar("VISA_SIGNED_PAYLOAD_KEYS", "SignedPayload.KeysPEM", "optional signedPayload verification keys or certificates, PEM", false, func(c *Config) *[]byte { return &c.SignedPayload.KeysPEM }),
	stringVar("VISA_SIGNED_PAYLOAD_ISSUER", "SignedPayload.Issuer", "optional issuer (iss) the signedPayload must carry", func(c *Config) *string { return &c.SignedPayload.Issuer }),
	stringVar("VISA_SIGNED_PAYLOAD_AUDIENCE", "SignedPayload.Audience", "optional audience (aud) the signedPayload must carry, normally the external client id", func(c *Config) *string { return &c.SignedPayload.Audience }),

	{name: "VISA_TIMEOUT", desc: "bound on one whole call, retries included, as a Go duration (default 60s)", field: "Timeout",
		get: func(c *Config) string {
			if c.Timeout == 0 {
				return ""
			}
			return c.Timeout.String()
		},
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("must be a positive Go duration such as 30s")
			}
			c.Timeout = d
			return nil
		}},
	{name: "VISA_MAX_ATTEMPTS", desc: "attempts per call, the first included: 1 (no retry) to 10 (default 3)", field: "Retry.MaxAttempts",
		get: func(c *Config) string {
			if c.Retry.MaxAttempts == 0 {
				return ""
			}
			return strconv.Itoa(c.Retry.MaxAttempts)
		},
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxRetryAttempts {
				return errors.New("must be a whole number from 1 to 10")
			}
			c.Retry.MaxAttempts = n
			return nil
		}},
	stringVar("VISA_USER_AGENT_SUFFIX", "UserAgentSuffix", "appended to the SDK's User-Agent, e.g. acme-agent/1.4", func(c *Config) *string { return &c.UserAgentSuffix }),
}

// EnvVars lists every variable ConfigFromEnv reads, in a stable order,
// with a description, so a README or the sandbox can print them. A PEM
// variable X has a twin X_FILE holding the path of a file instead.
var EnvVars = func() []EnvVar {
	var vs []EnvVar
	for _, b := range envBindings {
		vs = append(vs, EnvVar{Name: b.name, Description: b.desc, Secret: b.secret})
		if b.pem {
			vs = append(vs, EnvVar{Name: b.name + "_FILE", Description: "path of a file holding " + b.name + " (set one or the other)", Secret: false})
		}
	}
	return vs
}()

// envNameFor names the variable(s) that set a Config field, for messages.
func envNameFor(field string) string {
	for _, b := range envBindings {
		if b.field == field {
			if b.pem {
				return b.name + " or " + b.name + "_FILE"
			}
			return b.name
		}
	}
	return ""
}

// maxEnvFileBytes bounds a file named by a *_FILE variable.
const maxEnvFileBytes = 1 << 20

// ConfigFromEnv builds a Config from the VISA_* environment variables
// listed in EnvVars (PEM values inline or from *_FILE paths). Unset or
// empty variables leave their field zero, so defaults apply. It fails,
// naming the variable and never its value, when a value does not parse
// (VISA_ENVIRONMENT, VISA_TIMEOUT, VISA_MAX_ATTEMPTS), when both X and
// X_FILE are set, or when a file cannot be read. It does not check that
// the credentials a product needs are present: call Validate or
// ValidateFor on the result.
func ConfigFromEnv() (Config, error) { return ConfigFromLookup(os.LookupEnv) }

// ConfigFromLookup is ConfigFromEnv reading variables through lookup (as
// os.LookupEnv does), for tests and for other sources of settings.
//
// Values are trimmed of surrounding white space, except PEM text. PEM
// text may be given on one line with its line breaks written as the two
// characters \n, as EnvLines writes it and as many .env files need.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	var errs []error
	fail := func(name, reason string) { errs = append(errs, &InputError{Field: name, Reason: reason}) }
	get := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	for _, b := range envBindings {
		v := get(b.name)
		if !b.pem {
			v = strings.TrimSpace(v)
		} else {
			if strings.TrimSpace(v) == "" {
				v = ""
			}
			if path := strings.TrimSpace(get(b.name + "_FILE")); path != "" {
				if v != "" {
					fail(b.name, "set only one of "+b.name+" and "+b.name+"_FILE")
					continue
				}
				data, reason := readEnvFile(path)
				if reason != "" {
					fail(b.name+"_FILE", reason)
					continue
				}
				v = string(data)
			}
			if v != "" && !strings.Contains(v, "\n") && strings.Contains(v, `\n`) {
				v = strings.ReplaceAll(v, `\n`, "\n")
			}
		}
		if v == "" {
			continue
		}
		if err := b.set(&c, v); err != nil {
			fail(b.name, err.Error())
		}
	}
	switch len(errs) {
	case 0:
		return c, nil
	case 1:
		return Config{}, errs[0]
	}
	return Config{}, errors.Join(errs...)
}

// readEnvFile reads a *_FILE path, bounded; the reason never quotes the
// file's content.
func readEnvFile(path string) ([]byte, string) {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, "names a file that does not exist"
		case errors.Is(err, os.ErrPermission):
			return nil, "names a file that cannot be read (permission denied)"
		}
		return nil, "names a file that cannot be opened"
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFileBytes+1))
	switch {
	case err != nil:
		return nil, "names a file that cannot be read"
	case len(data) > maxEnvFileBytes:
		return nil, "names a file larger than 1 MiB"
	case len(strings.TrimSpace(string(data))) == 0:
		return nil, "names an empty file"
	}
	return data, ""
}

// EnvLines returns NAME=value lines, in EnvVars order, for every field of
// c that ConfigFromEnv can set and that is set. PEM values are written
// inline on one line with their line breaks as \n (ConfigFromLookup reads
// them back), never as *_FILE paths.
//
// DANGER: the lines hold every secret in clear (api keys, shared secrets,
// private keys, passwords). EnvLines exists so the local sandbox can print
// the environment of its own throw-away credentials; never call it on a
// Config holding real credentials where its output could be logged,
// stored or shown. Values are not shell-quoted.
func (c Config) EnvLines() []string {
	var lines []string
	for _, b := range envBindings {
		v := b.get(&c)
		if v == "" {
			continue
		}
		if b.pem {
			v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", `\n`)
		}
		lines = append(lines, b.name+"="+v)
	}
	return lines
}
