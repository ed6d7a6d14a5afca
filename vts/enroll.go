package vts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// Defaults of the enrollment bodies (docs/wire.md §5.1).
const (
	DefaultPANSource         = "MANUALLYENTERED"
	DefaultConsumerEntryMode = "KEYENTERED"
)

// ExpirationDate is a card or token expiry. On the wire month and year go
// as strings ("03", "2029"); responses may carry strings or numbers, and
// both decode.
type ExpirationDate struct {
	Month int `json:"month"`
	Year  int `json:"year"`
}

// IsZero reports whether e is unset.
func (e ExpirationDate) IsZero() bool { return e == ExpirationDate{} }

// String returns "MM/YYYY".
func (e ExpirationDate) String() string { return fmt.Sprintf("%02d/%04d", e.Month, e.Year) }

func (e ExpirationDate) validate(field string) error {
	switch {
	case e.IsZero():
		return visa.NewInputError(field, "is required")
	case e.Month < 1 || e.Month > 12:
		return visa.NewInputError(field+".Month", "must be 1 to 12")
	case e.Year < 2000 || e.Year > 2099:
		return visa.NewInputError(field+".Year", "must be a four-digit year from 2000 to 2099")
	}
	return nil
}

func (e ExpirationDate) wire() wireExpirationDate {
	return wireExpirationDate{Month: fmt.Sprintf("%02d", e.Month), Year: strconv.Itoa(e.Year)}
}

// UnmarshalJSON accepts month and year as strings or numbers; a two-digit
// year is read as 20YY.
func (e *ExpirationDate) UnmarshalJSON(b []byte) error {
	var w struct{ Month, Year flexInt }
	if err := json.Unmarshal(b, &w); err != nil {
		return visa.ErrMalformedResponse
	}
	e.Month, e.Year = int(w.Month), int(w.Year)
	if e.Year > 0 && e.Year < 100 {
		e.Year += 2000
	}
	return nil
}

// BillingAddress is the card's billing address; every member is optional.
type BillingAddress struct {
	Line1      string
	Line2      string
	City       string
	State      string
	PostalCode string
	Country    string
}

// Card is the card a consumer keys in: it is only ever sent encrypted,
// inside encPaymentInstrument.
type Card struct {
	// PAN is required.
	PAN visa.PAN
	// CVV2 is optional.
	CVV2 visa.CVV2
	// ExpirationDate is required.
	ExpirationDate ExpirationDate
	// Name is the cardholder name (optional).
	Name string
	// BillingAddress is optional.
	BillingAddress *BillingAddress
}

// validate checks the card; a card whose expiry month ended before now is
// refused here, before Visa is asked.
func (c Card) validate(now time.Time) error {
	if c.PAN.IsZero() {
		return visa.NewInputError("PAN", "is required")
	}
	if len(c.Name) > 128 {
		return visa.NewInputError("Name", "must be at most 128 bytes")
	}
	if err := c.ExpirationDate.validate("ExpirationDate"); err != nil {
		return err
	}
	if !c.ExpirationDate.endOfMonth().After(now) {
		// Both an input error and an expired card, as Visa would say.
		return fmt.Errorf("%w (%w)", visa.NewInputError("ExpirationDate", "is in the past"), visa.ErrCardExpired)
	}
	return nil
}

// endOfMonth is the first instant after the expiry month (cards are valid
// through the end of their month).
func (e ExpirationDate) endOfMonth() time.Time {
	return time.Date(e.Year, time.Month(e.Month)+1, 1, 0, 0, 0, 0, time.UTC)
}

// encrypt returns encPaymentInstrument: the one place PAN and CVV2 are
// revealed, straight into the field cipher.
func (c *Client) encryptCard(op string, card Card) (string, error) {
	pi := wirePaymentInstrument{
		AccountNumber: card.PAN.Reveal(), Name: card.Name,
		ExpirationDate: card.ExpirationDate.wire(), CVV2: card.CVV2.Reveal(),
	}
	if a := card.BillingAddress; a != nil {
		pi.BillingAddress = &wireBillingAddress{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country}
	}
	return c.encrypt(op, "encPaymentInstrument", pi)
}

// EnrollPANRequest is the card a consumer enrolls (journey step 1).
type EnrollPANRequest struct {
	Card
	// Locale defaults to DefaultLocale ("en_US").
	Locale string
	// PANSource defaults to DefaultPANSource ("MANUALLYENTERED").
	PANSource string
	// ConsumerEntryMode defaults to DefaultConsumerEntryMode ("KEYENTERED").
	ConsumerEntryMode string
}

// PaymentInstrument is what may be kept of the enrolled card: its last
// four digits and expiry.
type PaymentInstrument struct {
	Last4          string         `json:"last4"`
	ExpirationDate ExpirationDate `json:"expirationDate"`
}

// CardMetaData lists the card's display content (card art).
type CardMetaData struct {
	CardData []CardData `json:"cardData"`
}

// CardData is one piece of card content; fetch it with GetContent(GUID).
type CardData struct {
	ContentType string `json:"contentType"`
	GUID        string `json:"guid"`
}

// EnrollPANResponse is the enrollment: VPanEnrollmentID is single use,
// lives a few minutes and is kept in memory only, until ProvisionToken.
type EnrollPANResponse struct {
	visa.ResponseMeta `json:"-"`
	VPanEnrollmentID  string            `json:"vPanEnrollmentID"`
	PaymentInstrument PaymentInstrument `json:"paymentInstrument"`
	CardMetaData      CardMetaData      `json:"cardMetaData"`
}

// EnrollPAN calls POST /vts/panEnrollments (Step 1). The card goes
// encrypted in encPaymentInstrument. A write: never retried once it may
// have reached Visa.
//
// Errors: visa.ErrInvalidRequest (invalidParameter: not a Visa PAN),
// visa.ErrCardExpired (cardExpired), visa.ErrEncryption.
func (c *Client) EnrollPAN(ctx context.Context, req EnrollPANRequest, opts ...CallOption) (*EnrollPANResponse, error) {
	body, err := c.enrollPANBody(req)
	if err != nil {
		return nil, fail("vts.EnrollPAN", err)
	}
	out := new(EnrollPANResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.EnrollPAN", Method: http.MethodPost, Path: "/vts/panEnrollments", Body: body}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, out.VPanEnrollmentID != "")
}

func (c *Client) enrollPANBody(req EnrollPANRequest) (*wireEnrollPAN, error) {
	if err := req.Card.validate(c.now()); err != nil {
		return nil, err
	}
	enc, err := c.encryptCard("vts.EnrollPAN", req.Card)
	if err != nil {
		return nil, err
	}
	return &wireEnrollPAN{
		Locale: or(req.Locale, DefaultLocale), ClientAppID: c.clientAppID, ClientWalletAccountID: c.walletAccount,
		PANSource: or(req.PANSource, DefaultPANSource), ConsumerEntryMode: or(req.ConsumerEntryMode, DefaultConsumerEntryMode),
		EncPaymentInstrument: enc,
	}, nil
}

// GetPANEnrollmentRequest names an enrollment.
type GetPANEnrollmentRequest struct {
	VPanEnrollmentID string
}

// GetPANEnrollmentResponse is the enrollment's card metadata.
type GetPANEnrollmentResponse struct {
	visa.ResponseMeta `json:"-"`
	CardMetaData      CardMetaData `json:"cardMetaData"`
}

// GetPANEnrollment calls GET /vts/panEnrollments/{vPanEnrollmentID} for
// the card metadata of an enrollment (after Step 1). A read: retried on
// 429, 5xx and network errors.
func (c *Client) GetPANEnrollment(ctx context.Context, req GetPANEnrollmentRequest, opts ...CallOption) (*GetPANEnrollmentResponse, error) {
	if err := required("VPanEnrollmentID", req.VPanEnrollmentID); err != nil {
		return nil, fail("vts.GetPANEnrollment", err)
	}
	out := new(GetPANEnrollmentResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.GetPANEnrollment", Method: http.MethodGet, Path: "/vts/panEnrollments/{vPanEnrollmentID}", PathParams: []string{req.VPanEnrollmentID}}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, true)
}
