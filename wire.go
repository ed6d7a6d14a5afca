package visa

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// Action is the route an attestation options call chooses
// (authenticationContext.action, visa-wire.md §5.3).
type Action string

// Actions of an authentication context.
const (
	ActionRegister     Action = "REGISTER"
	ActionAuthenticate Action = "AUTHENTICATE"
)

// ReasonCode is the reasonCode of attestation options and device binding.
type ReasonCode string

// Reason codes (visa-wire.md §5.3, §5.4).
const (
	ReasonPayment       ReasonCode = "PAYMENT"
	ReasonDeviceBinding ReasonCode = "DEVICE_BINDING"
	ReasonProvisioning  ReasonCode = "PROVISIONING"
)

// TokenStatus is tokenInfo.tokenStatus (visa-wire.md §10.2).
type TokenStatus string

// Token statuses.
const (
	TokenInactive  TokenStatus = "INACTIVE"
	TokenActive    TokenStatus = "ACTIVE"
	TokenSuspended TokenStatus = "SUSPENDED"
	TokenDeleted   TokenStatus = "DELETED"
)

// SessionContext is the Auth iFrame session (AUTH_SESSION_CREATED
// sessionContext). Its secureToken is single use and never persisted; it
// prints and marshals to JSON redacted. Wire encoders use
// SecureToken.Reveal.
type SessionContext struct {
	SecureToken Secret `json:"secureToken"`
}

// AuthenticationPreferences is authenticationPreferencesEnabled of an
// authentication context: passed through to the iFrame unchanged.
type AuthenticationPreferences struct {
	ResponseMode string `json:"responseMode,omitempty"`
	ResponseType string `json:"responseType,omitempty"`
}

// AuthenticationContext is what attestation options return and what the
// iFrame's AUTHENTICATE command takes, verbatim (visa-wire.md §5.3, §7.1).
// Payload and Endpoint are opaque.
type AuthenticationContext struct {
	Action                           Action                     `json:"action"`
	Identifier                       string                     `json:"identifier"`
	Payload                          string                     `json:"payload"`
	Endpoint                         string                     `json:"endpoint"`
	PlatformType                     string                     `json:"platformType,omitempty"`
	AuthenticationPreferencesEnabled *AuthenticationPreferences `json:"authenticationPreferencesEnabled,omitempty"`
}

// DeviceData describes the device of an AppInstance.
type DeviceData struct {
	Type         string `json:"type"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Brand        string `json:"brand"`
	Model        string `json:"model,omitempty"`
}

// AppInstance describes the agent application instance on VIC calls
// (visa-wire.md §6.1). UserAgent is raw here, not base64url.
type AppInstance struct {
	UserAgent       string     `json:"userAgent"`
	ApplicationName string     `json:"applicationName"`
	CountryCode     string     `json:"countryCode"`
	IPAddress       string     `json:"ipAddress"`
	ClientDeviceID  string     `json:"clientDeviceId"`
	DeviceData      DeviceData `json:"deviceData"`
}

// Validate checks the required members.
func (a AppInstance) Validate() error {
	switch {
	case a.UserAgent == "":
		return NewInputError("AppInstance.UserAgent", "is required")
	case a.ApplicationName == "":
		return NewInputError("AppInstance.ApplicationName", "is required")
	case len(a.CountryCode) != 2:
		return NewInputError("AppInstance.CountryCode", "must be an ISO 3166 alpha-2 code")
	case a.ClientDeviceID == "":
		return NewInputError("AppInstance.ClientDeviceID", "is required")
	case !ValidClientDeviceID(a.ClientDeviceID):
		return NewInputError("AppInstance.ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	}
	return nil
}

var clientDeviceIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{24}$`)

// ValidClientDeviceID reports whether s has the clientDeviceId form: 24
// characters of [A-Za-z0-9_-] (visa-wire.md §1).
func ValidClientDeviceID(s string) bool { return clientDeviceIDRe.MatchString(s) }

// BrowserData is the browserData object of VTS calls (visa-wire.md §2.6).
// Every member is a string on the wire; UnmarshalJSON also accepts
// booleans and numbers, as a browser or the iFrame may send them.
type BrowserData struct {
	BrowserJavaEnabled       string `json:"browserJavaEnabled,omitempty"`
	BrowserJavascriptEnabled string `json:"browserJavascriptEnabled,omitempty"`
	BrowserLanguage          string `json:"browserLanguage,omitempty"`
	BrowserColorDepth        string `json:"browserColorDepth,omitempty"`
	BrowserScreenHeight      string `json:"browserScreenHeight,omitempty"`
	BrowserScreenWidth       string `json:"browserScreenWidth,omitempty"`
	BrowserTimeZone          string `json:"browserTimeZone,omitempty"`
	UserAgent                string `json:"userAgent,omitempty"`
	BrowserHeader            string `json:"browserHeader,omitempty"`
	IPAddress                string `json:"ipAddress,omitempty"`
}

var b64urlRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Normalize returns the wire form of visa-wire.md §2.6: booleans as
// "true"/"false", userAgent and browserHeader base64url (no padding)
// unless they already are; ipAddress and browserLanguage raw. It is
// idempotent: Normalize(Normalize(b)) == Normalize(b).
func (b BrowserData) Normalize() BrowserData {
	b.BrowserJavaEnabled = normBool(b.BrowserJavaEnabled)
	b.BrowserJavascriptEnabled = normBool(b.BrowserJavascriptEnabled)
	b.UserAgent = b64IfNeeded(b.UserAgent)
	b.BrowserHeader = b64IfNeeded(b.BrowserHeader)
	return b
}

func normBool(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return "true"
	case "false":
		return "false"
	}
	return s
}

func b64IfNeeded(s string) string {
	if s == "" || b64urlRe.MatchString(s) {
		return s
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// UnmarshalJSON accepts strings, booleans and numbers for every member.
func (b *BrowserData) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	fields := map[string]*string{
		"browserJavaEnabled": &b.BrowserJavaEnabled, "browserJavascriptEnabled": &b.BrowserJavascriptEnabled,
		"browserLanguage": &b.BrowserLanguage, "browserColorDepth": &b.BrowserColorDepth,
		"browserScreenHeight": &b.BrowserScreenHeight, "browserScreenWidth": &b.BrowserScreenWidth,
		"browserTimeZone": &b.BrowserTimeZone, "userAgent": &b.UserAgent,
		"browserHeader": &b.BrowserHeader, "ipAddress": &b.IPAddress,
	}
	for k, v := range raw {
		dst, ok := fields[k]
		if !ok {
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		switch t := x.(type) {
		case nil:
			*dst = ""
		case string:
			*dst = t
		case bool:
			*dst = strconv.FormatBool(t)
		case float64:
			*dst = strconv.FormatFloat(t, 'f', -1, 64)
		default:
			return fmt.Errorf("visa: browserData.%s: want a string, boolean or number", k)
		}
	}
	return nil
}

// Base64URL returns base64url of s without padding, the form of the
// merchantIdentifier fields (visa-wire.md §2.5).
func Base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// LogValue keeps IP addresses and user agents out of logs.
func (b BrowserData) LogValue() slog.Value {
	return slog.GroupValue(slog.String("browserLanguage", b.BrowserLanguage), slog.String("browserTimeZone", b.BrowserTimeZone))
}
