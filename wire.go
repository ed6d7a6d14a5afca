package visa

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/vicgo/visa/internal/jsontext"
)

// Action is the route an attestation options call chooses
// (authenticationContext.action, docs/wire.md §5.3).
type Action string

// Actions of an authentication context.
const (
	ActionRegister     Action = "REGISTER"
	ActionAuthenticate Action = "AUTHENTICATE"
)

// ReasonCode is the reasonCode of attestation options and device binding.
type ReasonCode string

// Reason codes (docs/wire.md §5.3, §5.4).
const (
	ReasonPayment       ReasonCode = "PAYMENT"
	ReasonDeviceBinding ReasonCode = "DEVICE_BINDING"
	ReasonProvisioning  ReasonCode = "PROVISIONING"
)

// TokenStatus is tokenInfo.tokenStatus (docs/wire.md §10.2).
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
// iFrame's AUTHENTICATE command takes, verbatim (docs/wire.md §5.3, §7.1).
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
// (docs/wire.md §6.1). UserAgent is raw here, not base64url.
type AppInstance struct {
	UserAgent       string     `json:"userAgent"`
	ApplicationName string     `json:"applicationName"`
	CountryCode     string     `json:"countryCode"`
	IPAddress       string     `json:"ipAddress"`
	ClientDeviceID  string     `json:"clientDeviceId"`
	DeviceData      DeviceData `json:"deviceData"`
}

// Validate checks the required members of docs/wire.md §6.1: userAgent,
// applicationName, countryCode (ISO 3166 alpha-2, upper case), ipAddress
// (an IPv4 or IPv6 address), clientDeviceId (24 characters of
// [A-Za-z0-9_-]), deviceData.type and deviceData.brand. The error names
// the member, never its value.
func (a AppInstance) Validate() error {
	switch {
	case a.UserAgent == "":
		return NewInputError("AppInstance.UserAgent", "is required")
	case a.ApplicationName == "":
		return NewInputError("AppInstance.ApplicationName", "is required")
	case !validCountryCode(a.CountryCode):
		return NewInputError("AppInstance.CountryCode", "must be an ISO 3166 alpha-2 code such as US")
	case a.IPAddress == "":
		return NewInputError("AppInstance.IPAddress", "is required")
	case !validIP(a.IPAddress):
		return NewInputError("AppInstance.IPAddress", "must be an IPv4 or IPv6 address")
	case a.ClientDeviceID == "":
		return NewInputError("AppInstance.ClientDeviceID", "is required")
	case !validClientDeviceID(a.ClientDeviceID):
		return NewInputError("AppInstance.ClientDeviceID", "must be 24 characters of [A-Za-z0-9_-]")
	case a.DeviceData.Type == "":
		return NewInputError("AppInstance.DeviceData.Type", "is required")
	case a.DeviceData.Brand == "":
		return NewInputError("AppInstance.DeviceData.Brand", "is required")
	}
	return nil
}

func validCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validClientDeviceID reports whether s has the clientDeviceId form: 24
// characters of [A-Za-z0-9_-] (docs/wire.md §1); internal/check.ClientDeviceID
// for the SDK's other packages.
func validClientDeviceID(s string) bool { return len(s) == 24 && isBase64URL(s) }

// isBase64URL reports whether s is non-empty and made only of the
// base64url alphabet [A-Za-z0-9_-] (no padding).
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// BrowserData is the browserData object of VTS calls (docs/wire.md §2.6).
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

// Normalize returns the wire form of docs/wire.md §2.6: booleans as
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
	if s == "" || isBase64URL(s) {
		return s
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// UnmarshalJSON accepts strings, booleans and numbers for every member
// (numbers keep their JSON text, so "24" and 24 both give "24"); null
// gives "". Unknown members are ignored. It does not normalize: call
// Normalize for the wire form.
func (b *BrowserData) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return NewInputError("BrowserData", "must be a JSON object")
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
		switch t := strings.TrimSpace(string(v)); {
		case t == "null":
			*dst = ""
		case t != "" && (t[0] == '"' || t[0] == 't' || t[0] == 'f' || t[0] == '-' || (t[0] >= '0' && t[0] <= '9')):
			*dst = jsontext.Text(v)
		default:
			return NewInputError("BrowserData."+k, "must be a string, boolean or number")
		}
	}
	return nil
}

// LogValue keeps IP addresses and user agents out of logs.
func (b BrowserData) LogValue() slog.Value {
	return slog.GroupValue(slog.String("browserLanguage", b.BrowserLanguage), slog.String("browserTimeZone", b.BrowserTimeZone))
}
