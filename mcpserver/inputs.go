package mcpserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

// CardInput is a card as the cardholder typed it. It is parsed into the
// SDK's redacting types at once, sent encrypted to VTS to be tokenized,
// and never stored, logged or returned.
type CardInput struct {
	PAN         string `json:"pan" jsonschema:"card number, 13 to 19 digits (spaces allowed); used once to tokenize, never stored or returned"`
	CVV2        string `json:"cvv2,omitempty" jsonschema:"card verification value, 3 or 4 digits (add-card needs it); used once, never stored or returned"`
	ExpiryMonth int    `json:"expiryMonth" jsonschema:"expiry month, 1 to 12"`
	ExpiryYear  int    `json:"expiryYear" jsonschema:"expiry year, four digits"`
	Name        string `json:"name,omitempty" jsonschema:"cardholder name"`
}

// card parses c (field names under prefix) into a vts.Card.
func (c CardInput) card(prefix string, now time.Time) (vts.Card, error) {
	if strings.TrimSpace(c.PAN) == "" {
		return vts.Card{}, argErr(prefix+".pan", "is required")
	}
	pan, err := visa.ParsePAN(c.PAN)
	if err != nil {
		return vts.Card{}, argErr(prefix+".pan", "must be a valid card number (13 to 19 digits passing the Luhn check)")
	}
	var cvv visa.CVV2
	if c.CVV2 != "" {
		if cvv, err = visa.ParseCVV2(c.CVV2); err != nil {
			return vts.Card{}, argErr(prefix+".cvv2", "must be 3 or 4 digits")
		}
	}
	if c.ExpiryMonth < 1 || c.ExpiryMonth > 12 {
		return vts.Card{}, argErr(prefix+".expiryMonth", "must be 1 to 12")
	}
	if c.ExpiryYear < 2000 || c.ExpiryYear > 2099 {
		return vts.Card{}, argErr(prefix+".expiryYear", "must be a four-digit year")
	}
	if end := time.Date(c.ExpiryYear, time.Month(c.ExpiryMonth)+1, 1, 0, 0, 0, 0, time.UTC); !end.After(now) {
		return vts.Card{}, argErr(prefix+".expiryYear", "the card has expired")
	}
	if len(c.Name) > 128 {
		return vts.Card{}, argErr(prefix+".name", "must be at most 128 bytes")
	}
	return vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: c.ExpiryMonth, Year: c.ExpiryYear}, Name: c.Name}, nil
}

// UserInput is the cardholder the agent acts for.
type UserInput struct {
	ID       string `json:"id" jsonschema:"your stable id for the user (at most 64 characters)"`
	Email    string `json:"email" jsonschema:"the user's email address"`
	Country  string `json:"country" jsonschema:"ISO 3166 alpha-2 country code, e.g. US"`
	Language string `json:"language,omitempty" jsonschema:"language code, e.g. en (default en)"`
}

func (u UserInput) user(prefix string) (store.User, error) {
	if err := checkID(prefix+".id", u.ID, 64); err != nil {
		return store.User{}, err
	}
	if err := checkEmail(prefix+".email", u.Email); err != nil {
		return store.User{}, err
	}
	if !isCountry(u.Country) {
		return store.User{}, argErr(prefix+".country", "must be an ISO 3166 alpha-2 code such as US")
	}
	lang := u.Language
	if lang == "" {
		lang = "en"
	}
	if len(lang) < 2 || len(lang) > 8 {
		return store.User{}, argErr(prefix+".language", "must be a language code such as en")
	}
	return store.User{ID: u.ID, Email: u.Email, Country: u.Country, Language: lang}, nil
}

// DeviceInput describes the device the cardholder's passkey lives on. Every
// member is optional: by default the device id is derived from the user id,
// so the same user always shows the same device, and the rest describes
// this server.
type DeviceInput struct {
	ClientDeviceID string `json:"clientDeviceId,omitempty" jsonschema:"the device's stable id: 24 characters of A-Z a-z 0-9 _ - (default: derived from the user id)"`
	UserAgent      string `json:"userAgent,omitempty" jsonschema:"the device's user agent"`
	IPAddress      string `json:"ipAddress,omitempty" jsonschema:"the device's IP address"`
	CountryCode    string `json:"countryCode,omitempty" jsonschema:"the device's ISO 3166 alpha-2 country (default: the user's, else US)"`
}

// deviceIDFor derives the default 24-character clientDeviceId of a user:
// an HMAC of the user id under the deployment's device key (WithDeviceKey),
// so it is stable where the key is, and unpredictable without it.
func (s *Server) deviceIDFor(userID string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("vicgo visa-mcp device\x00" + userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:24]
}

// device builds the agent.Device of a user from d (nil means defaults).
func (s *Server) device(prefix, userID, country string, d *DeviceInput) (agent.Device, error) {
	var in DeviceInput
	if d != nil {
		in = *d
	}
	if in.ClientDeviceID == "" {
		in.ClientDeviceID = s.deviceIDFor(userID)
	}
	if check.ClientDeviceID(in.ClientDeviceID) != "" {
		return agent.Device{}, argErr(prefix+".clientDeviceId", "must be 24 characters of A-Z a-z 0-9 _ -")
	}
	if in.UserAgent == "" {
		in.UserAgent = "visa-mcp/" + Version
	}
	if in.IPAddress == "" {
		in.IPAddress = "127.0.0.1"
	}
	if in.CountryCode == "" {
		in.CountryCode = country
	}
	if in.CountryCode == "" {
		in.CountryCode = "US"
	}
	ai := visa.AppInstance{UserAgent: in.UserAgent, ApplicationName: s.appName, CountryCode: in.CountryCode,
		IPAddress: in.IPAddress, ClientDeviceID: in.ClientDeviceID, DeviceData: visa.DeviceData{Type: "Server", Brand: "vicgo"}}
	if err := ai.Validate(); err != nil {
		var ie *visa.InputError
		if errors.As(err, &ie) {
			return agent.Device{}, argErr(prefix+"."+deviceField(ie.Field), ie.Reason)
		}
		return agent.Device{}, err
	}
	return agent.Device{ClientDeviceID: in.ClientDeviceID, AppInstance: ai}, nil
}

// deviceField names, in the tool's terms, the AppInstance member an
// InputError names.
func deviceField(f string) string {
	switch strings.TrimPrefix(f, "AppInstance.") {
	case "UserAgent":
		return "userAgent"
	case "IPAddress":
		return "ipAddress"
	case "CountryCode":
		return "countryCode"
	case "ClientDeviceID":
		return "clientDeviceId"
	}
	return "(device)"
}

// MerchantInput says where the agent buys.
type MerchantInput struct {
	Name         string `json:"name" jsonschema:"the merchant's name"`
	URL          string `json:"url" jsonschema:"the merchant's site, an http(s) URL"`
	CountryCode  string `json:"countryCode" jsonschema:"the merchant's ISO 3166 alpha-2 country, e.g. US"`
	CategoryCode string `json:"categoryCode,omitempty" jsonschema:"merchant category code (MCC), 4 digits"`
	Category     string `json:"category,omitempty" jsonschema:"merchant category, free text"`
}

func (m MerchantInput) info(prefix string) (agent.MerchantInfo, error) {
	if m.Name == "" || len(m.Name) > 128 {
		return agent.MerchantInfo{}, argErr(prefix+".name", "is required and at most 128 bytes")
	}
	if !strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
		return agent.MerchantInfo{}, argErr(prefix+".url", "must be an http(s) URL")
	}
	if !isCountry(m.CountryCode) {
		return agent.MerchantInfo{}, argErr(prefix+".countryCode", "must be an ISO 3166 alpha-2 code such as US")
	}
	if m.CategoryCode != "" && (len(m.CategoryCode) != 4 || !digits(m.CategoryCode)) {
		return agent.MerchantInfo{}, argErr(prefix+".categoryCode", "must be 4 digits")
	}
	return agent.MerchantInfo{Name: m.Name, URL: m.URL, CountryCode: m.CountryCode, Category: m.Category, CategoryCode: m.CategoryCode}, nil
}

// amount parses a decimal value and an ISO 4217 code, naming the fields.
func amount(valueField, value, currencyField, currency string) (visa.Amount, error) {
	if value == "" {
		return visa.Amount{}, argErr(valueField, "is required, a decimal such as 129.99")
	}
	if currency == "" {
		return visa.Amount{}, argErr(currencyField, "is required, an ISO 4217 code such as USD")
	}
	if _, ok := visa.LookupCurrency(currency); !ok {
		return visa.Amount{}, argErr(currencyField, "is not a known ISO 4217 currency code")
	}
	a, err := visa.ParseAmount(value, currency)
	if err != nil {
		return visa.Amount{}, argErr(valueField, "must be a decimal with at most the currency's minor digits, such as 129.99")
	}
	if a.Minor() <= 0 {
		return visa.Amount{}, argErr(valueField, "must be above zero")
	}
	return a, nil
}

func checkID(field, v string, max int) error {
	if v == "" {
		return argErr(field, "is required")
	}
	if len(v) > max {
		return argErr(field, fmt.Sprintf("must be at most %d bytes", max))
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return argErr(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

func checkEmail(field, v string) error {
	at := strings.IndexByte(v, '@')
	if v == "" || len(v) > 254 || at < 1 || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n") {
		return argErr(field, "must be an email address")
	}
	return nil
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CardView is a stored card as tools show it: the token's id, last four
// digits and status, never a card number.
type CardView struct {
	TokenID       string `json:"tokenId" jsonschema:"the card's vProvisionedTokenID: pass it to purchase"`
	Last4         string `json:"last4" jsonschema:"the token's last four digits"`
	ExpiryMonth   int    `json:"expiryMonth"`
	ExpiryYear    int    `json:"expiryYear"`
	TokenStatus   string `json:"tokenStatus"`
	VICEnrollment string `json:"vicEnrollment"`
	CardArtURL    string `json:"cardArtUrl,omitempty"`
}

func cardView(c store.Card) *CardView {
	return &CardView{TokenID: c.TokenID, Last4: c.Last4, ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear,
		TokenStatus: string(c.TokenStatus), VICEnrollment: string(c.VICEnrollment), CardArtURL: c.CardArtURL}
}

// TransactionView is a stored purchase as tools show it.
type TransactionView struct {
	ID                     string `json:"id"`
	UserID                 string `json:"userId"`
	TokenID                string `json:"tokenId"`
	Status                 string `json:"status"`
	Amount                 string `json:"amount"`
	Currency               string `json:"currency"`
	MerchantName           string `json:"merchantName,omitempty"`
	MerchantURL            string `json:"merchantUrl,omitempty"`
	InstructionID          string `json:"instructionId,omitempty"`
	TransactionReferenceID string `json:"transactionReferenceId,omitempty"`
	ResponseCode           string `json:"responseCode,omitempty"`
	AuthorizationCode      string `json:"authorizationCode,omitempty"`
	FailureReason          string `json:"failureReason,omitempty"`
	Confirmed              bool   `json:"confirmed"`
	CreatedAt              string `json:"createdAt"`
	CompletedAt            string `json:"completedAt,omitempty"`
}

func txView(t store.Transaction) *TransactionView {
	v := &TransactionView{ID: t.ID, UserID: t.UserID, TokenID: t.TokenID, Status: string(t.Status), Amount: t.Amount,
		Currency: t.Currency, MerchantName: t.MerchantName, MerchantURL: t.MerchantURL, InstructionID: t.InstructionID,
		TransactionReferenceID: t.TransactionReferenceID, ResponseCode: t.ResponseCode, AuthorizationCode: t.AuthorizationCode,
		FailureReason: scrub(t.FailureReason), Confirmed: !t.ConfirmedAt.IsZero(), CreatedAt: stamp(t.CreatedAt)}
	if !t.CompletedAt.IsZero() {
		v.CompletedAt = stamp(t.CompletedAt)
	}
	return v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
