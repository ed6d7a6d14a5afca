package vic

import (
	"context"
	"net/http"
	"slices"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
)

// TransactionData is one transaction to obtain a credential for.
type TransactionData struct {
	// TransactionReferenceID must be unique within the instruction; empty
	// means the instructionId for the first transaction (journey step 14)
	// and a UUID for the others.
	TransactionReferenceID string
	Amount                 visa.Amount
	MerchantName           string
	// MerchantCountryCode is ISO 3166 alpha-2, e.g. "US".
	MerchantCountryCode string
	MerchantURL         string
	// MandateIDs reference the instruction's mandates (optional).
	MandateIDs      []string
	ShippingAddress *Address
}

// Address is a shipping address.
type Address struct {
	AddressID   string
	Line1       string
	Line2       string
	City        string
	State       string
	Zip         string
	CountryCode string
	Contact     *Contact
}

// Contact is who receives a delivery.
type Contact struct {
	FullName          string
	Email             string
	PhoneCountryCode  string
	PhoneNumber       string
	NumberIsVoiceOnly bool
	Instructions      string
}

// CredentialsRequest asks for payment credentials (Step 14).
type CredentialsRequest struct {
	ClientReferenceID string
	InstructionID     string
	// TokenID is the vProvisionedTokenID of the instruction.
	TokenID      string
	Transactions []TransactionData
}

// CredentialsResponse carries the decoded, verified credentials.
type CredentialsResponse struct {
	visa.ResponseMeta
	ClientReferenceID string
	InstructionID     string
	// Status is StatusCompleted.
	Status Status
	// Credentials is the decoded signedPayload.
	Credentials *Credentials
	// PendingEvents is empty on success (a pending answer is a
	// *PendingError).
	PendingEvents []PendingEvent
}

// RetrieveCredentials calls POST
// /vacp/v1/instructions/{instructionId}/credentials (Step 14) and verifies
// the signedPayload (signature, algorithm, exp, and iss and aud where
// configured) before decoding it. The payload must be for this request: its
// instructionId the request's, and each credential's transactionReferenceId
// one the request named; otherwise the error is a *ClaimError
// (ErrInstructionMismatch, ErrTransactionMismatch).
//
// Each successful call consumes one credential of the instruction, so the
// call is never repeated after the request may have reached Visa: a lost
// response is reported as an error, and the caller decides (the agent
// cancels the purchase rather than risk a second credential).
func (c *Client) RetrieveCredentials(ctx context.Context, req CredentialsRequest) (*CredentialsResponse, error) {
	const op = "vic.RetrieveCredentials"
	body, err := c.credentialsBody(req)
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPost, Path: "/vacp/v1/instructions/{instructionId}/credentials",
		PathParams: []string{req.InstructionID}, Body: body}, &out)
	if err != nil {
		return nil, err
	}
	if err := out.answer(op, "signedPayload"); err != nil {
		return nil, fail(op, meta, err)
	}
	var creds *Credentials
	if c.verifier != nil {
		creds, err = c.verifier.Verify(ctx, out.SignedPayload)
	} else {
		creds, err = DecodeCredentialsUnverified(out.SignedPayload)
	}
	if err != nil {
		return nil, fail(op, meta, err)
	}
	if err := creds.checkRequest(body.InstructionID, body.TransactionData); err != nil {
		return nil, fail(op, meta, err)
	}
	return &CredentialsResponse{ResponseMeta: meta, ClientReferenceID: out.ClientReferenceID, InstructionID: out.InstructionID,
		Status: out.Status, Credentials: creds, PendingEvents: out.PendingEvents}, nil
}

// maxTransactions bounds the transactions of one credentials request.
const maxTransactions = 16

func (c *Client) credentialsBody(req CredentialsRequest) (*wireCredentialsRequest, error) {
	if err := firstErr(checkID("InstructionID", req.InstructionID), checkID("TokenID", req.TokenID)); err != nil {
		return nil, err
	}
	if len(req.Transactions) == 0 || len(req.Transactions) > maxTransactions {
		return nil, visa.NewInputError("Transactions", "must hold 1 to 16 transactions")
	}
	crid, err := clientReferenceID(req.ClientReferenceID)
	if err != nil {
		return nil, err
	}
	body := &wireCredentialsRequest{ClientReferenceID: crid, Client: c.client, TokenID: req.TokenID, InstructionID: req.InstructionID,
		TransactionData: make([]wireTransactionData, 0, len(req.Transactions))}
	for i, t := range req.Transactions {
		f := elem("Transactions", i)
		if t.TransactionReferenceID == "" {
			t.TransactionReferenceID = check.NewUUID()
			if i == 0 {
				t.TransactionReferenceID = req.InstructionID
			}
		}
		if err := firstErr(
			f.id("TransactionReferenceID", t.TransactionReferenceID),
			f.text("MerchantName", t.MerchantName, true, 256),
			f.rule("MerchantURL", check.URL(t.MerchantURL, check.MaxURL)),
			f.rule("MerchantCountryCode", check.Country(t.MerchantCountryCode)),
			t.ShippingAddress.validate(f.in("ShippingAddress.")),
		); err != nil {
			return nil, err
		}
		// At most 16 transactions: a scan of those before beats a map.
		if slices.ContainsFunc(body.TransactionData, func(w wireTransactionData) bool { return w.TransactionReferenceID == t.TransactionReferenceID }) {
			return nil, f.input("TransactionReferenceID", "is repeated")
		}
		if t.Amount.IsZero() || t.Amount.Minor() == 0 {
			return nil, f.input("Amount", "is required and must be above zero")
		}
		for j, m := range t.MandateIDs {
			if r := check.ID(m, maxIDLen); r != "" {
				return nil, f.input("MandateIDs["+itoa(j)+"]", r)
			}
		}
		body.TransactionData = append(body.TransactionData, wireTransactionData{
			TransactionType: "PURCHASE", TransactionReferenceID: t.TransactionReferenceID,
			TransactionAmount: txAmount(t.Amount), MerchantName: t.MerchantName,
			MerchantCountryCode: t.MerchantCountryCode, MerchantURL: t.MerchantURL,
			MandateReferenceData: t.MandateIDs, ShippingAddress: t.ShippingAddress.wire(),
		})
	}
	return body, nil
}

func txAmount(a visa.Amount) wireTxAmount {
	return wireTxAmount{TransactionAmount: a.Value(), TransactionCurrencyCode: a.Currency().Alpha}
}

// validate screens the free text of an address (a card number pasted into
// it is refused) and checks its country and contact email when given.
func (a *Address) validate(f elemField) error {
	if a == nil {
		return nil
	}
	err := firstErr(
		f.text("AddressID", a.AddressID, false, maxIDLen),
		f.text("Line1", a.Line1, false, 256), f.text("Line2", a.Line2, false, 256),
		f.text("City", a.City, false, 128), f.text("State", a.State, false, 128),
		f.text("Zip", a.Zip, false, 32),
	)
	if err == nil && a.CountryCode != "" {
		err = f.rule("CountryCode", check.Country(a.CountryCode))
	}
	if ct := a.Contact; err == nil && ct != nil {
		err = firstErr(
			f.text("Contact.FullName", ct.FullName, false, 256),
			f.text("Contact.PhoneCountryCode", ct.PhoneCountryCode, false, 8),
			f.text("Contact.PhoneNumber", ct.PhoneNumber, false, 32),
			f.text("Contact.Instructions", ct.Instructions, false, 1024),
		)
		if err == nil && ct.Email != "" {
			err = f.rule("Contact.Email", check.Email(ct.Email))
		}
	}
	return err
}

func (a *Address) wire() *wireAddress {
	if a == nil {
		return nil
	}
	w := &wireAddress{AddressID: a.AddressID, Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, Zip: a.Zip, CountryCode: a.CountryCode}
	if ct := a.Contact; ct != nil {
		w.DeliveryContactDetails = &wireContact{ContactFullName: ct.FullName, ContactEmailAddress: ct.Email, Instructions: ct.Instructions}
		if ct.PhoneNumber != "" {
			w.DeliveryContactDetails.ContactPhoneNumber = &wirePhone{CountryCode: ct.PhoneCountryCode, PhoneNumber: ct.PhoneNumber, NumberIsVoiceOnly: ct.NumberIsVoiceOnly}
		}
	}
	return w
}
