package vic

import (
	"context"
	"net/http"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// Confirmation reports the merchant's result for one credential (Step 16).
type Confirmation struct {
	// TransactionReferenceID is the credential's transaction reference.
	TransactionReferenceID string
	// DynamicDataID is the credential's dynamicDataId.
	DynamicDataID string
	// Status is TransactionApproved or TransactionDeclined.
	Status TransactionStatus
	// Timestamp is when the merchant authorized; zero means now.
	Timestamp time.Time
	Amount    visa.Amount
	// ResponseCode, AuthorizationCode, RetrievalReferenceNumber and
	// SystemTraceAuditNumber are copied from the merchant's result.
	ResponseCode             string
	AuthorizationCode        string
	RetrievalReferenceNumber string
	SystemTraceAuditNumber   string
	// CardEntryMode defaults to "ECOMMERCE".
	CardEntryMode string
	MerchantName  string
	Order         *Order
	Shipping      *Shipping
}

// Order describes the order a payment was for.
type Order struct {
	OrderID string
	// Status defaults to "COMPLETED".
	Status               string
	Date                 time.Time
	ExpectedDeliveryDate time.Time
	Amount               visa.Amount
}

// Shipping describes the delivery.
type Shipping struct {
	TrackingID     string
	Carrier        string
	ShippingMethod string
	Address        *Address
}

// ConfirmRequest confirms the transactions of an instruction.
type ConfirmRequest struct {
	ClientReferenceID string
	InstructionID     string
	Confirmations     []Confirmation
}

// ConfirmResponse acknowledges a confirmation.
type ConfirmResponse struct {
	visa.ResponseMeta
	ClientReferenceID string
	InstructionID     string
}

// ConfirmTransaction calls POST
// /vacp/v1/instructions/{instructionId}/confirmations (Step 16), the
// commerce signal that closes a purchase. Visa keys confirmations by
// transactionReferenceId (the last one wins), so the call is idempotent
// and is retried on 429, 5xx and network errors.
func (c *Client) ConfirmTransaction(ctx context.Context, req ConfirmRequest) (*ConfirmResponse, error) {
	const op = "vic.ConfirmTransaction"
	body, err := c.confirmBody(req)
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPost, Path: "/vacp/v1/instructions/{instructionId}/confirmations",
		PathParams: []string{req.InstructionID}, Body: body, Idempotent: true}, &out)
	if err != nil {
		return nil, err
	}
	if err := out.answer(op); err != nil {
		return nil, fail(op, meta, err)
	}
	return &ConfirmResponse{ResponseMeta: meta, ClientReferenceID: out.ClientReferenceID, InstructionID: out.InstructionID}, nil
}

func (c *Client) confirmBody(req ConfirmRequest) (*wireConfirmRequest, error) {
	if err := checkID("InstructionID", req.InstructionID); err != nil {
		return nil, err
	}
	if req.ClientReferenceID == "" {
		// A confirmation belongs to the purchase's flow: a fresh reference
		// would not tie it to anything.
		return nil, visa.NewInputError("ClientReferenceID", "is required (the purchase's reference)")
	}
	crid, err := clientReferenceID(req.ClientReferenceID)
	if err != nil {
		return nil, err
	}
	if len(req.Confirmations) == 0 || len(req.Confirmations) > maxTransactions {
		return nil, visa.NewInputError("Confirmations", "must hold 1 to 16 confirmations")
	}
	body := &wireConfirmRequest{ClientReferenceID: crid, Client: c.client, InstructionID: req.InstructionID,
		ConfirmationData: make([]wireConfirmation, 0, len(req.Confirmations))}
	for i, cf := range req.Confirmations {
		w, err := cf.wire(elem("Confirmations", i), c.now())
		if err != nil {
			return nil, err
		}
		body.ConfirmationData = append(body.ConfirmationData, w)
	}
	return body, nil
}

func (cf Confirmation) wire(f elemField, now time.Time) (wireConfirmation, error) {
	if err := firstErr(
		f.id("TransactionReferenceID", cf.TransactionReferenceID),
		f.id("DynamicDataID", cf.DynamicDataID),
		f.text("ResponseCode", cf.ResponseCode, false, 8),
		f.text("AuthorizationCode", cf.AuthorizationCode, false, 16),
		f.text("RetrievalReferenceNumber", cf.RetrievalReferenceNumber, false, 32),
		f.text("SystemTraceAuditNumber", cf.SystemTraceAuditNumber, false, 32),
		f.text("CardEntryMode", cf.CardEntryMode, false, 32),
		f.text("MerchantName", cf.MerchantName, false, 256),
	); err != nil {
		return wireConfirmation{}, err
	}
	if o := cf.Order; o != nil {
		if err := firstErr(f.text("Order.OrderID", o.OrderID, false, maxIDLen), f.text("Order.Status", o.Status, false, 32)); err != nil {
			return wireConfirmation{}, err
		}
	}
	if sh := cf.Shipping; sh != nil {
		if err := firstErr(
			f.text("Shipping.TrackingID", sh.TrackingID, false, 128),
			f.text("Shipping.Carrier", sh.Carrier, false, 128),
			f.text("Shipping.ShippingMethod", sh.ShippingMethod, false, 128),
			sh.Address.validate(f.in("Shipping.Address.")),
		); err != nil {
			return wireConfirmation{}, err
		}
	}
	if cf.Status != TransactionApproved && cf.Status != TransactionDeclined {
		return wireConfirmation{}, f.input("Status", "must be APPROVED or DECLINED")
	}
	if cf.Amount.IsZero() {
		return wireConfirmation{}, f.input("Amount", "is required")
	}
	if cf.Timestamp.IsZero() {
		cf.Timestamp = now
	}
	if cf.CardEntryMode == "" {
		cf.CardEntryMode = "ECOMMERCE"
	}
	w := wireConfirmation{
		TransactionReferenceID: cf.TransactionReferenceID,
		PaymentConfirmationData: wirePaymentConfirmation{
			DynamicDataID: cf.DynamicDataID, TransactionType: "PURCHASE", TransactionStatus: cf.Status,
			TransactionTimestamp: epoch(cf.Timestamp), ResponseCode: cf.ResponseCode,
			AuthorizationCode: cf.AuthorizationCode, RetrievalReferenceNumber: cf.RetrievalReferenceNumber,
			SystemTraceAuditNumber: cf.SystemTraceAuditNumber, TransactionAmount: txAmount(cf.Amount),
			CardEntryMode: cf.CardEntryMode,
		},
	}
	if cf.MerchantName != "" {
		w.MerchantData = &wireMerchant{MerchantName: cf.MerchantName}
	}
	if o := cf.Order; o != nil {
		wo := &wireOrder{OrderID: o.OrderID, OrderStatus: o.Status}
		if wo.OrderStatus == "" {
			wo.OrderStatus = "COMPLETED"
		}
		if !o.Date.IsZero() {
			wo.OrderDate = epoch(o.Date)
		}
		if !o.ExpectedDeliveryDate.IsZero() {
			wo.ExpectedDeliveryDate = epoch(o.ExpectedDeliveryDate)
		}
		if !o.Amount.IsZero() {
			a := txAmount(o.Amount)
			wo.TransactionAmount = &a
		}
		w.OrderData = wo
	}
	if s := cf.Shipping; s != nil {
		w.ShippingData = &wireShipping{TrackingID: s.TrackingID, Carrier: s.Carrier, ShippingMethod: s.ShippingMethod, ShippingAddress: s.Address.wire()}
	}
	return w, nil
}
