package mcpserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

// args gathers every problem of a tool call's arguments, so one answer
// names them all.
type args struct{ errs ArgumentErrors }

// add records a problem of field.
func (a *args) add(field, reason string) {
	a.errs = append(a.errs, &ArgumentError{Field: field, Reason: reason})
}

// rule records reason for field unless it is empty (the internal/check
// vocabulary: "" means valid).
func (a *args) rule(field, reason string) {
	if reason != "" {
		a.add(field, reason)
	}
}

// id checks a required identifier.
func (a *args) id(field, v string, max int) { a.rule(field, check.ID(v, max)) }

// optID checks an optional identifier.
func (a *args) optID(field, v string, max int) {
	if v != "" {
		a.id(field, v, max)
	}
}

// text checks free text.
func (a *args) text(field, v string, max int, required bool) {
	a.rule(field, check.Text(v, max, required))
}

// ok reports whether no problem was recorded.
func (a *args) ok() bool { return len(a.errs) == 0 }

// err is nil, or every problem recorded.
func (a *args) err() error {
	if len(a.errs) == 0 {
		return nil
	}
	return a.errs
}

// library maps the *visa.InputError values in err (one, or joined) to
// argument names: fields names the tool's argument for a library field
// ("VProvisionedTokenID": "vProvisionedTokenId"); other fields are named
// by their camel case. It returns err unchanged when it holds no
// InputError.
func (a *args) library(err error, fields map[string]string) bool {
	var found bool
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ie *visa.InputError
		if errors.As(err, &ie) {
			name, ok := fields[ie.Field]
			if !ok {
				name = camelPath(ie.Field)
			}
			a.add(name, ie.Reason)
			found = true
		}
	}
	walk(err)
	return found
}

// camelPath turns a Go field path ("User.Email", "VProvisionedTokenID")
// into the JSON argument path ("user.email", "vProvisionedTokenId").
func camelPath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		parts[i] = camel(s)
	}
	return strings.Join(parts, ".")
}

func camel(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	// A trailing "ID" reads "Id" in JSON names.
	if n := len(r); n > 2 && r[n-2] == 'I' && r[n-1] == 'D' && unicode.IsLower(r[n-3]) {
		r[n-1] = 'd'
	}
	allUpper := true
	for _, c := range r {
		if unicode.IsLower(c) {
			allUpper = false
		}
	}
	if allUpper {
		return strings.ToLower(string(r))
	}
	// Lower the leading capitals, but the last before a lower-case letter
	// ("VProvisioned" → "vProvisioned", "Email" → "email").
	i := 0
	for i < len(r) && unicode.IsUpper(r[i]) {
		i++
	}
	if i > 1 && i < len(r) {
		i--
	}
	for k := 0; k < i; k++ {
		r[k] = unicode.ToLower(r[k])
	}
	if i == 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

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

// card parses c (field names under prefix) into a vts.Card, recording
// every problem in a.
func (c CardInput) card(prefix string, now time.Time, needCVV bool, a *args) vts.Card {
	var out vts.Card
	switch pan, err := visa.ParsePAN(c.PAN); {
	case strings.TrimSpace(c.PAN) == "":
		a.add(prefix+".pan", "is required")
	case err != nil:
		a.add(prefix+".pan", "must be a valid card number (13 to 19 digits passing the Luhn check)")
	default:
		out.PAN = pan
	}
	switch {
	case c.CVV2 == "" && needCVV:
		a.add(prefix+".cvv2", "is required")
	case c.CVV2 != "":
		cvv, err := visa.ParseCVV2(c.CVV2)
		if err != nil {
			a.add(prefix+".cvv2", "must be 3 or 4 digits")
		}
		out.CVV2 = cvv
	}
	monthOK := c.ExpiryMonth >= 1 && c.ExpiryMonth <= 12
	if !monthOK {
		a.add(prefix+".expiryMonth", "must be 1 to 12")
	}
	switch {
	case c.ExpiryYear < 2000 || c.ExpiryYear > 2099:
		a.add(prefix+".expiryYear", "must be a four-digit year")
	case monthOK && !time.Date(c.ExpiryYear, time.Month(c.ExpiryMonth)+1, 1, 0, 0, 0, 0, time.UTC).After(now):
		a.add(prefix+".expiryYear", "the card has expired")
	}
	a.text(prefix+".name", c.Name, 128, false)
	out.ExpirationDate, out.Name = vts.ExpirationDate{Month: c.ExpiryMonth, Year: c.ExpiryYear}, c.Name
	return out
}

// UserInput is the cardholder the agent acts for.
type UserInput struct {
	ID       string `json:"id,omitempty" jsonschema:"your stable id for the user, at most 64 characters (default: the signed-in user, or the server's single local user)"`
	Email    string `json:"email" jsonschema:"the user's email address"`
	Country  string `json:"country" jsonschema:"ISO 3166 alpha-2 country code, e.g. US"`
	Language string `json:"language,omitempty" jsonschema:"language code, e.g. en (default en)"`
}

// user checks u, with id the resolved user id.
func (u UserInput) user(prefix, id string, a *args) store.User {
	a.rule(prefix+".email", check.Email(u.Email))
	a.rule(prefix+".country", check.Country(u.Country))
	lang := u.Language
	if lang == "" {
		lang = "en"
	}
	a.rule(prefix+".language", check.Language(lang))
	return store.User{ID: id, Email: u.Email, Country: u.Country, Language: lang}
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

// device builds the agent.Device of a user from d (nil means defaults),
// recording problems in a.
func (s *Server) device(prefix, userID, country string, d *DeviceInput, a *args) agent.Device {
	var in DeviceInput
	if d != nil {
		in = *d
	}
	if in.ClientDeviceID == "" {
		in.ClientDeviceID = s.deviceIDFor(userID)
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
		if !a.library(err, map[string]string{"AppInstance.UserAgent": prefix + ".userAgent", "AppInstance.IPAddress": prefix + ".ipAddress",
			"AppInstance.CountryCode": prefix + ".countryCode", "AppInstance.ClientDeviceID": prefix + ".clientDeviceId",
			"UserAgent": prefix + ".userAgent", "IPAddress": prefix + ".ipAddress", "CountryCode": prefix + ".countryCode",
			"ClientDeviceID": prefix + ".clientDeviceId"}) {
			a.add(prefix, "is not a valid device")
		}
	}
	return agent.Device{ClientDeviceID: in.ClientDeviceID, AppInstance: ai}
}

// MerchantInput says where the agent buys.
type MerchantInput struct {
	Name         string `json:"name" jsonschema:"the merchant's name"`
	URL          string `json:"url" jsonschema:"the merchant's site, an http(s) URL"`
	CountryCode  string `json:"countryCode" jsonschema:"the merchant's ISO 3166 alpha-2 country, e.g. US"`
	CategoryCode string `json:"categoryCode,omitempty" jsonschema:"merchant category code (MCC), 4 digits"`
	Category     string `json:"category,omitempty" jsonschema:"merchant category, free text"`
}

func (m MerchantInput) info(prefix string, a *args) agent.MerchantInfo {
	a.text(prefix+".name", m.Name, 128, true)
	if !strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
		a.add(prefix+".url", "must be an http(s) URL")
	} else {
		a.rule(prefix+".url", check.URL(m.URL, check.MaxURL))
	}
	a.rule(prefix+".countryCode", check.Country(m.CountryCode))
	if m.CategoryCode != "" {
		a.rule(prefix+".categoryCode", check.MCC(m.CategoryCode))
	}
	a.text(prefix+".category", m.Category, 128, false)
	return agent.MerchantInfo{Name: m.Name, URL: m.URL, CountryCode: m.CountryCode, Category: m.Category, CategoryCode: m.CategoryCode}
}

// amount parses a decimal value and an ISO 4217 code, naming the fields.
func amount(valueField, value, currencyField, currency string, a *args) visa.Amount {
	switch {
	case currency == "":
		a.add(currencyField, "is required, an ISO 4217 code such as USD")
	default:
		if _, ok := visa.LookupCurrency(currency); !ok {
			a.add(currencyField, "is not a known ISO 4217 currency code")
			currency = ""
		}
	}
	if value == "" {
		a.add(valueField, "is required, a decimal such as 129.99")
		return visa.Amount{}
	}
	if currency == "" {
		return visa.Amount{}
	}
	amt, err := visa.ParseAmount(value, currency)
	switch {
	case err != nil:
		a.add(valueField, "must be a decimal with at most the currency's minor digits, such as 129.99")
	case amt.Minor() <= 0:
		a.add(valueField, "must be above zero")
	}
	return amt
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

// txStatuses is the enum of a transaction's status.
var txStatuses = []any{string(store.TxPending), string(store.TxAuthenticated), string(store.TxInstructed),
	string(store.TxCredentialsRequested), string(store.TxCredentialsIssued), string(store.TxAuthorizing), string(store.TxAuthorized),
	string(store.TxDeclined), string(store.TxCompleted), string(store.TxFailed), string(store.TxCancelled)}

// TransactionView is a stored purchase as tools show it.
type TransactionView struct {
	ID                     string `json:"id"`
	TokenID                string `json:"tokenId"`
	Status                 string `json:"status" jsonschema:"the stored record's status: AUTHORIZED means charged and not yet confirmed to Visa, AUTHORIZING means the outcome is not known yet"`
	Amount                 string `json:"amount"`
	Currency               string `json:"currency"`
	MerchantName           string `json:"merchantName,omitempty"`
	MerchantURL            string `json:"merchantUrl,omitempty"`
	InstructionID          string `json:"instructionId,omitempty"`
	TransactionReferenceID string `json:"transactionReferenceId,omitempty"`
	ResponseCode           string `json:"responseCode,omitempty"`
	AuthorizationCode      string `json:"authorizationCode,omitempty"`
	FailureCode            string `json:"failureCode,omitempty"`
	Confirmed              bool   `json:"confirmed"`
	CreatedAt              string `json:"createdAt"`
	CompletedAt            string `json:"completedAt,omitempty"`
}

func txView(t store.Transaction) *TransactionView {
	v := &TransactionView{ID: t.ID, TokenID: t.TokenID, Status: string(t.Status), Amount: t.Amount,
		Currency: t.Currency, MerchantName: t.MerchantName, MerchantURL: t.MerchantURL, InstructionID: t.InstructionID,
		TransactionReferenceID: t.TransactionReferenceID, ResponseCode: t.ResponseCode, AuthorizationCode: t.AuthorizationCode,
		FailureCode: t.FailureCode, Confirmed: !t.ConfirmedAt.IsZero(), CreatedAt: stamp(t.CreatedAt)}
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
