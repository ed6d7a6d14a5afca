package visa

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vicgo/visa/internal/check"
)

// Limits Validate enforces.
const (
	// MaxRetryAttempts is the largest RetryPolicy.MaxAttempts Validate
	// accepts.
	MaxRetryAttempts = 10
	// MaxSignedPayloadLeeway is the largest SignedPayloadConfig.Leeway
	// Validate accepts.
	MaxSignedPayloadLeeway = 10 * time.Minute
)

// signedPayloadAlgorithms is the allow-list behind SignedPayloadAlgorithms:
// an array, so no caller can change it.
var signedPayloadAlgorithms = [...]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// SignedPayloadAlgorithms returns the JWS algorithms
// SignedPayloadConfig.Algorithms may name, as a new slice on each call.
// "none" and the HMAC algorithms are never accepted.
func SignedPayloadAlgorithms() []string { return slices.Clone(signedPayloadAlgorithms[:]) }

// Validate checks the whole Config for every product (VIC, VTS and the
// Auth iFrame): it is ValidateFor(ProductVIC, ProductVTS, ProductAuth).
func (c Config) Validate() error { return c.ValidateFor(ProductVIC, ProductVTS, ProductAuth) }

// ValidateFor checks the Config for the given products, so a VTS-only
// client does not need VIC credentials:
//
//   - ProductVIC needs VIC.APIKey, VIC.SharedSecret, VIC.MLEKeyID,
//     VIC.MLEServerCertPEM, VIC.MLEClientPrivateKeyPEM,
//     VIC.ExternalClientID, VIC.ExternalAppID and a VIC base URL;
//   - ProductVTS needs VTS.APIKey, VTS.SharedSecret, VTS.ClientAppID,
//     VTS.ClientWalletAccountID, VTS.EncAPIKey, VTS.EncSharedSecret,
//     VTS.HashSecret and a VTS base URL;
//   - ProductAuth needs VTS.APIKey (or VTS.AuthFrameAPIKey),
//     VTS.ClientAppID and an Auth base URL.
//
// A base URL comes from the environment when not set (Sandbox has them;
// Production does not). Whatever the products, every field that is set
// must be well formed: base URLs parse, use https (plain http only for
// localhost, 127.0.0.1 and ::1) and carry no query, fragment or user
// information; PEM values decode to blocks of the right type that parse
// (RSA keys for MLE); MLEEnc is "", A128GCM or A256GCM; TLS.MinVersion is
// not below TLS 1.2; the TLS client certificate and key come together and
// match; Timeout, MaxResponseBytes and the retry durations are not
// negative; Retry.MaxAttempts is at most MaxRetryAttempts.
//
// Every problem found is reported as an *InputError (errors.Is
// ErrInvalidInput) naming the field, e.g. "VIC.APIKey: is required (set
// VISA_VIC_API_KEY)"; several problems are joined with errors.Join, and
// errors.As finds the first. No value is ever put in the error. With no
// products only the well-formedness checks run.
func (c Config) ValidateFor(products ...Product) error {
	var v validator
	c.checkForm(&v)
	vicURL, vtsURL, authURL := c.BaseURLs()
	if v.has("Environment") {
		// An unknown environment has no default URLs; say it once.
		vicURL, vtsURL, authURL = "?", "?", "?"
	}
	seen := map[Product]bool{}
	for _, p := range products {
		if seen[p] {
			continue
		}
		seen[p] = true
		switch p {
		case ProductVIC:
			v.required("VIC.APIKey", !c.VIC.APIKey.IsZero())
			v.required("VIC.SharedSecret", !c.VIC.SharedSecret.IsZero())
			v.required("VIC.MLEKeyID", c.VIC.MLEKeyID != "")
			v.required("VIC.MLEServerCertPEM", len(c.VIC.MLEServerCertPEM) > 0)
			v.required("VIC.MLEClientPrivateKeyPEM", !c.VIC.MLEClientPrivateKeyPEM.IsZero())
			v.required("VIC.ExternalClientID", c.VIC.ExternalClientID != "")
			v.required("VIC.ExternalAppID", c.VIC.ExternalAppID != "")
			v.required("VICBaseURL", vicURL != "")
		case ProductVTS:
			c.requireVTSCore(&v)
			v.required("VTS.SharedSecret", !c.VTS.SharedSecret.IsZero())
			v.required("VTS.ClientWalletAccountID", c.VTS.ClientWalletAccountID != "")
			v.required("VTS.EncAPIKey", !c.VTS.EncAPIKey.IsZero())
			v.required("VTS.EncSharedSecret", !c.VTS.EncSharedSecret.IsZero())
			v.required("VTS.HashSecret", !c.VTS.HashSecret.IsZero())
			v.required("VTSBaseURL", vtsURL != "")
		case ProductAuth:
			// The iFrame's key is VTS.AuthFrameAPIKey when set, else
			// VTS.APIKey (VTSCredentials.AuthFrameKey).
			if !v.has("VTS.APIKey") && c.VTS.AuthFrameAPIKey == "" {
				v.required("VTS.APIKey", !c.VTS.APIKey.IsZero())
			}
			if !v.has("VTS.ClientAppID") {
				v.required("VTS.ClientAppID", c.VTS.ClientAppID != "")
			}
			v.required("AuthBaseURL", authURL != "")
		default:
			v.add("Products", "names an unknown product; use ProductVIC, ProductVTS or ProductAuth")
		}
	}
	return v.err()
}

// requireVTSCore checks what both VTS and the Auth iFrame need.
func (c Config) requireVTSCore(v *validator) {
	if !v.has("VTS.APIKey") {
		v.required("VTS.APIKey", !c.VTS.APIKey.IsZero())
	}
	if !v.has("VTS.ClientAppID") {
		v.required("VTS.ClientAppID", c.VTS.ClientAppID != "")
	}
}

// checkForm runs every well-formedness check on the fields that are set.
func (c Config) checkForm(v *validator) {
	switch c.Environment {
	case "", Sandbox, Production:
	default:
		v.add("Environment", `must be "sandbox" or "production"`)
	}
	v.check("VICBaseURL", checkURL(c.VICBaseURL, false))
	v.check("VTSBaseURL", checkURL(c.VTSBaseURL, false))
	v.check("AuthBaseURL", checkURL(c.AuthBaseURL, false))

	// Credentials travel in query strings, headers and JSON bodies.
	v.check("VIC.APIKey", checkToken(c.VIC.APIKey.Reveal()))
	v.check("VIC.SharedSecret", checkToken(c.VIC.SharedSecret.Reveal()))
	v.check("VIC.MLEKeyID", checkToken(c.VIC.MLEKeyID))
	v.check("VIC.ExternalClientID", checkText(c.VIC.ExternalClientID))
	v.check("VIC.ExternalAppID", checkText(c.VIC.ExternalAppID))
	v.check("VIC.Authorization", checkText(c.VIC.Authorization))
	v.check("VIC.RelationshipID", checkText(c.VIC.RelationshipID))
	if len(c.VIC.MLEServerCertPEM) > 0 {
		v.check("VIC.MLEServerCertPEM", checkRSAPublicPEM(c.VIC.MLEServerCertPEM))
	}
	if !c.VIC.MLEClientPrivateKeyPEM.IsZero() {
		v.check("VIC.MLEClientPrivateKeyPEM", checkRSAPrivatePEM([]byte(c.VIC.MLEClientPrivateKeyPEM.Reveal())))
	}
	c.checkMLEKeys(v)
	switch c.VIC.MLEEnc {
	case "", MLEEncA128GCM, MLEEncA256GCM:
	default:
		v.add("VIC.MLEEnc", `must be "A128GCM" or "A256GCM"`)
	}

	v.check("VTS.APIKey", checkToken(c.VTS.APIKey.Reveal()))
	v.check("VTS.SharedSecret", checkToken(c.VTS.SharedSecret.Reveal()))
	v.check("VTS.ClientAppID", checkToken(c.VTS.ClientAppID))
	v.check("VTS.ClientWalletAccountID", checkText(c.VTS.ClientWalletAccountID))
	v.check("VTS.EncAPIKey", checkToken(c.VTS.EncAPIKey.Reveal()))
	v.check("VTS.EncSharedSecret", checkToken(c.VTS.EncSharedSecret.Reveal()))
	v.check("VTS.HashSecret", checkToken(c.VTS.HashSecret.Reveal()))

	c.TLS.check(v)
	c.SignedPayload.check(v)

	if c.Timeout < 0 {
		v.add("Timeout", "must not be negative")
	}
	if c.MaxResponseBytes < 0 {
		v.add("MaxResponseBytes", "must not be negative")
	}
	c.Retry.check(v)
	if len(c.UserAgentSuffix) > 200 {
		v.add("UserAgentSuffix", "must be at most 200 bytes")
	}
	v.check("UserAgentSuffix", checkText(c.UserAgentSuffix))
}

func (t TLSConfig) check(v *validator) {
	if len(t.RootCAsPEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(t.RootCAsPEM) {
		v.add("TLS.RootCAsPEM", "must hold at least one PEM CERTIFICATE that parses")
	}
	hasCert, hasKey := len(t.ClientCertPEM) > 0, !t.ClientKeyPEM.IsZero()
	switch {
	case hasCert && !hasKey:
		v.add("TLS.ClientKeyPEM", "is required when TLS.ClientCertPEM is set")
	case hasKey && !hasCert:
		v.add("TLS.ClientCertPEM", "is required when TLS.ClientKeyPEM is set")
	case hasCert && hasKey:
		if _, err := tls.X509KeyPair(t.ClientCertPEM, []byte(t.ClientKeyPEM.Reveal())); err != nil {
			v.add("TLS.ClientCertPEM", "and TLS.ClientKeyPEM must be a PEM certificate and its matching private key")
		}
	}
	switch {
	case t.UserID != "" && t.Password.IsZero():
		v.add("TLS.Password", "is required when TLS.UserID is set")
	case t.UserID == "" && !t.Password.IsZero():
		v.add("TLS.UserID", "is required when TLS.Password is set")
	}
	if strings.Contains(t.UserID, ":") {
		v.add("TLS.UserID", `must not contain ":"`)
	}
	v.check("TLS.UserID", checkText(t.UserID))
	if t.MinVersion != 0 && (t.MinVersion < tls.VersionTLS12 || t.MinVersion > tls.VersionTLS13) {
		v.add("TLS.MinVersion", "must be TLS 1.2 or TLS 1.3")
	}
}

func (s SignedPayloadConfig) check(v *validator) {
	v.check("SignedPayload.JWKSURL", checkURL(s.JWKSURL, true))
	if len(s.KeysPEM) > 0 {
		v.check("SignedPayload.KeysPEM", checkPublicKeysPEM(s.KeysPEM))
	}
	for _, a := range s.Algorithms {
		if !slices.Contains(signedPayloadAlgorithms[:], a) {
			v.add("SignedPayload.Algorithms", "may name only RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA")
			break
		}
	}
	if s.Leeway < 0 || s.Leeway > MaxSignedPayloadLeeway {
		v.add("SignedPayload.Leeway", "must be between 0 and 10m")
	}
}

func (p RetryPolicy) check(v *validator) {
	if p.MaxAttempts < 0 || p.MaxAttempts > MaxRetryAttempts {
		v.add("Retry.MaxAttempts", "must be between 0 (the default) and 10")
	}
	if p.MinBackoff < 0 {
		v.add("Retry.MinBackoff", "must not be negative")
	}
	if p.MaxBackoff < 0 {
		v.add("Retry.MaxBackoff", "must not be negative")
	}
	if p.MinBackoff > 0 && p.MaxBackoff > 0 && p.MinBackoff > p.MaxBackoff {
		v.add("Retry.MaxBackoff", "must not be below Retry.MinBackoff")
	}
	if p.MaxRetryAfter < 0 {
		v.add("Retry.MaxRetryAfter", "must not be negative")
	}
}

// validator collects *InputErrors in order, one per field.
type validator struct{ errs []error }

func (v *validator) add(field, reason string) {
	if v.has(field) {
		return
	}
	v.errs = append(v.errs, &InputError{Field: field, Reason: reason})
}

func (v *validator) has(field string) bool {
	for _, e := range v.errs {
		if ie, ok := e.(*InputError); ok && ie.Field == field {
			return true
		}
	}
	return false
}

// check records reason for field when reason is not "".
func (v *validator) check(field, reason string) {
	if reason != "" {
		v.add(field, reason)
	}
}

// required records a missing field, naming its environment variable.
func (v *validator) required(field string, ok bool) {
	if ok {
		return
	}
	reason := "is required"
	if name := envNameFor(field); name != "" {
		reason += " (set " + name + ")"
	}
	v.add(field, reason)
}

func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return v.errs[0]
	}
	return errors.Join(v.errs...)
}

// checkURL returns why s is not an acceptable base URL ("" when it is, or
// when s is empty). allowQuery permits a query string (for a JWKS URL).
func checkURL(s string, allowQuery bool) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "":
		return "is not a valid absolute URL"
	case u.Host == "":
		return "must be an absolute URL with a host"
	case u.User != nil:
		return "must not contain user information"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment"
	case !allowQuery && (u.RawQuery != "" || u.ForceQuery):
		return "must not have a query"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return ""
	case "http":
		if check.Loopback(u.Hostname()) {
			return ""
		}
		return "must use https (plain http only for localhost, 127.0.0.1 or ::1)"
	}
	return "must use https"
}

// checkToken refuses control characters and white space: the value goes
// into a query string, a header or an HMAC key.
func checkToken(s string) string {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "must not contain spaces or control characters"
		}
	}
	return ""
}

// checkText refuses control characters.
func checkText(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}

// checkRSAPublicPEM checks the MLE server certificate: its first PEM block
// is a CERTIFICATE, PUBLIC KEY or RSA PUBLIC KEY holding an RSA key.
func checkRSAPublicPEM(data []byte) string {
	b, _ := pem.Decode(data)
	if b == nil {
		return "is not PEM"
	}
	pub, reason := parsePublicBlock(b)
	if reason != "" {
		return reason
	}
	if _, ok := pub.(*rsa.PublicKey); !ok {
		return "must hold an RSA key (MLE uses RSA-OAEP-256)"
	}
	return ""
}

// checkPublicKeysPEM checks that every PEM block parses as a certificate
// or public key, and that there is at least one.
func checkPublicKeysPEM(data []byte) string {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		n++
		if _, reason := parsePublicBlock(b); reason != "" {
			return reason
		}
	}
	if n == 0 {
		return "is not PEM"
	}
	return ""
}

func parsePublicBlock(b *pem.Block) (any, string) {
	switch b.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, "holds a CERTIFICATE that does not parse"
		}
		return c.PublicKey, ""
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, "holds a PUBLIC KEY that does not parse"
		}
		return k, ""
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(b.Bytes)
		if err != nil {
			return nil, "holds an RSA PUBLIC KEY that does not parse"
		}
		return k, ""
	}
	return nil, "must be a PEM CERTIFICATE, PUBLIC KEY or RSA PUBLIC KEY"
}

// checkRSAPrivatePEM checks the MLE client key: an unencrypted RSA
// PRIVATE KEY (PKCS#1) or PRIVATE KEY (PKCS#8) holding an RSA key.
func checkRSAPrivatePEM(data []byte) string {
	b, _ := pem.Decode(data)
	if b == nil {
		return "is not PEM"
	}
	if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		return "is encrypted; supply the decrypted key"
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		if _, err := x509.ParsePKCS1PrivateKey(b.Bytes); err != nil {
			return "holds an RSA PRIVATE KEY that does not parse"
		}
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return "holds a PRIVATE KEY that does not parse"
		}
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return "must hold an RSA key (MLE uses RSA-OAEP-256)"
		}
	default:
		return "must be a PEM RSA PRIVATE KEY or PRIVATE KEY"
	}
	return ""
}
