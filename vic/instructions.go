package vic

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/internal/transport"
)

// Mandate is what the shopper allowed the agent to buy (docs/wire.md §6.3).
type Mandate struct {
	// MandateID is a unique id; empty means a new UUID.
	MandateID string
	// Description says what is bought, e.g. "Noise-cancelling headphones".
	Description string
	// DeclineThreshold is the most that may be charged.
	DeclineThreshold visa.Amount
	// EffectiveUntil ends the mandate; zero means now + 5 minutes.
	EffectiveUntil time.Time
	// Quantity is the number of credential retrievals allowed (0 = 1).
	Quantity int
	// PreferredMerchantName, MerchantCategory and MerchantCategoryCode
	// narrow where the mandate applies.
	PreferredMerchantName string
	MerchantCategory      string
	MerchantCategoryCode  string
	// RecurringFrequency is e.g. "WEEKLY" (stored, not enforced).
	RecurringFrequency string
}

// CreateInstructionRequest creates a purchase instruction (journey step
// 13, docs/wire.md §6.3).
type CreateInstructionRequest struct {
	// ClientReferenceID identifies this purchase; empty means a new one.
	ClientReferenceID string
	ConsumerID        string
	// TokenID is the vProvisionedTokenID.
	TokenID     string
	AppInstance visa.AppInstance
	// Assurance is the passkey assertion of journey step 12.
	Assurance    fido.Assurance
	DFPSessionID string
	Mandates     []Mandate
	// ConsumerPrompt is what the shopper asked for, in their words.
	ConsumerPrompt string
	// AgentID is the optional client.agentId.
	AgentID     string
	IsRecurring bool
	Frequency   string
}

// UpdateInstructionRequest replaces the mandates of an active instruction
// (docs/wire.md §6.4), with a fresh passkey assertion.
type UpdateInstructionRequest struct {
	// InstructionID names the instruction to update (required).
	InstructionID string
	// ClientReferenceID is the purchase's reference; empty means a new one.
	ClientReferenceID string
	ConsumerID        string
	// TokenID is the vProvisionedTokenID the instruction was made with.
	TokenID     string
	AppInstance visa.AppInstance
	// Assurance is a fresh passkey assertion covering the new mandates.
	Assurance    fido.Assurance
	DFPSessionID string
	Mandates     []Mandate
	// ConsumerPrompt is what the shopper asked for, in their words.
	ConsumerPrompt string
	// AgentID is the optional client.agentId.
	AgentID     string
	IsRecurring bool
	Frequency   string
}

// InstructionResponse is VIC's answer about an instruction.
type InstructionResponse struct {
	visa.ResponseMeta
	ClientReferenceID string
	InstructionID     string
	// Status is StatusActive after create or update and StatusCancelled
	// after cancel.
	Status Status
	// PendingEvents is empty on success (a pending answer is a
	// *PendingError).
	PendingEvents []PendingEvent
}

// CreateInstruction calls POST /vacp/v1/instructions (journey step 13): it
// turns the shopper's intent and passkey assertion into a purchase
// instruction. It is not retried once the request may have reached Visa:
// the assertion is single use, and a second instruction would be a second
// mandate.
//
// An HTTP 202 (the cardholder has something left to do, docs/wire.md
// §6.7) is a *PendingError; an answer without instructionId or status is
// a *MissingMemberError.
func (c *Client) CreateInstruction(ctx context.Context, req CreateInstructionRequest) (*InstructionResponse, error) {
	const op = "vic.CreateInstruction"
	body, err := c.instructionBody(req, "")
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPost, Path: "/vacp/v1/instructions", Body: body}, &out)
	return instructionResponse(op, "", meta, &out, err, "instructionId", "status")
}

// UpdateInstruction calls PUT /vacp/v1/instructions/{instructionId}: it
// replaces the mandates of an active instruction, with a fresh assertion.
// It is not retried once the request may have reached Visa. A pending
// answer is a *PendingError, as for CreateInstruction.
func (c *Client) UpdateInstruction(ctx context.Context, req UpdateInstructionRequest) (*InstructionResponse, error) {
	const op = "vic.UpdateInstruction"
	if err := checkID("InstructionID", req.InstructionID); err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	body, err := c.instructionBody(CreateInstructionRequest{
		ClientReferenceID: req.ClientReferenceID, ConsumerID: req.ConsumerID, TokenID: req.TokenID,
		AppInstance: req.AppInstance, Assurance: req.Assurance, DFPSessionID: req.DFPSessionID, Mandates: req.Mandates,
		ConsumerPrompt: req.ConsumerPrompt, AgentID: req.AgentID, IsRecurring: req.IsRecurring, Frequency: req.Frequency,
	}, req.InstructionID)
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPut, Path: "/vacp/v1/instructions/{instructionId}",
		PathParams: []string{req.InstructionID}, Body: body}, &out)
	return instructionResponse(op, req.InstructionID, meta, &out, err, "status")
}

// CancelRequest cancels a purchase instruction.
type CancelRequest struct {
	ClientReferenceID string
	InstructionID     string
	AppInstance       visa.AppInstance
	// Assurance is optional: a cancel needs no fresh passkey ceremony.
	Assurance    *fido.Assurance
	DFPSessionID string
}

// CancelInstruction calls PUT /vacp/v1/instructions/{instructionId}/cancel.
// Cancelling is safe to repeat (a cancelled instruction stays cancelled),
// but the second answer is INSTRUCTION_NOT_ACTIVE, so the call is not
// retried automatically after the request may have reached Visa.
func (c *Client) CancelInstruction(ctx context.Context, req CancelRequest) (*InstructionResponse, error) {
	const op = "vic.CancelInstruction"
	body, err := c.cancelBody(req)
	if err != nil {
		return nil, fail(op, visa.ResponseMeta{}, err)
	}
	var out wireStatus
	meta, err := c.t.Do(ctx, &transport.Request{Op: op, Method: http.MethodPut, Path: "/vacp/v1/instructions/{instructionId}/cancel",
		PathParams: []string{req.InstructionID}, Body: body}, &out)
	return instructionResponse(op, req.InstructionID, meta, &out, err, "status")
}

func (c *Client) cancelBody(req CancelRequest) (*wireCancel, error) {
	if err := firstErr(checkID("InstructionID", req.InstructionID), req.AppInstance.Validate()); err != nil {
		return nil, err
	}
	crid, err := clientReferenceID(req.ClientReferenceID)
	if err != nil {
		return nil, err
	}
	body := &wireCancel{ClientReferenceID: crid, Client: c.client, AppInstance: req.AppInstance, InstructionID: req.InstructionID}
	if req.Assurance != nil {
		if body.AssuranceData, err = assurance(*req.Assurance, fido.Authenticate, req.DFPSessionID, c.now()); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// instructionResponse is the answer of create, update and cancel: the
// required members present, and the instruction named by the request
// (id) when the answer leaves it out.
func instructionResponse(op, id string, meta visa.ResponseMeta, out *wireStatus, err error, required ...string) (*InstructionResponse, error) {
	if err != nil {
		return nil, err
	}
	if err := out.answer(op, required...); err != nil {
		return nil, fail(op, meta, err)
	}
	if out.InstructionID == "" {
		out.InstructionID = id // the answer about a named instruction
	}
	return &InstructionResponse{ResponseMeta: meta, ClientReferenceID: out.ClientReferenceID, InstructionID: out.InstructionID,
		Status: out.Status, PendingEvents: out.PendingEvents}, nil
}

// maxMandates bounds the mandates of one instruction.
const maxMandates = 16

// instructionBody builds the body of create (instructionID empty) and
// update.
func (c *Client) instructionBody(req CreateInstructionRequest, instructionID string) (*wireInstruction, error) {
	if err := firstErr(
		checkID("ConsumerID", req.ConsumerID),
		checkID("TokenID", req.TokenID),
		req.AppInstance.Validate(),
		checkText("ConsumerPrompt", req.ConsumerPrompt, false, 4096),
		checkText("AgentID", req.AgentID, false, maxIDLen),
		checkText("Frequency", req.Frequency, false, 32),
	); err != nil {
		return nil, err
	}
	if len(req.Mandates) == 0 || len(req.Mandates) > maxMandates {
		return nil, visa.NewInputError("Mandates", "must hold 1 to 16 mandates")
	}
	crid, err := clientReferenceID(req.ClientReferenceID)
	if err != nil {
		return nil, err
	}
	now := c.now()
	ad, err := assurance(req.Assurance, fido.Authenticate, req.DFPSessionID, now)
	if err != nil {
		return nil, err
	}
	body := &wireInstruction{
		ClientReferenceID: crid, Client: c.client, AppInstance: req.AppInstance, ConsumerID: req.ConsumerID,
		TokenID: req.TokenID, InstructionID: instructionID, AssuranceData: ad,
		ConsumerPrompt: req.ConsumerPrompt, IsRecurring: req.IsRecurring, Frequency: req.Frequency,
	}
	if req.AgentID != "" {
		body.Client.AgentID = req.AgentID
	}
	if len(req.Mandates) > 0 { // none stays null on the wire
		body.Mandates = make([]wireMandate, 0, len(req.Mandates))
	}
	for i, m := range req.Mandates {
		w, err := m.wire(i, now)
		if err != nil {
			return nil, err
		}
		body.Mandates = append(body.Mandates, w)
	}
	return body, nil
}

func (m Mandate) wire(i int, now time.Time) (wireMandate, error) {
	f := elem("Mandates", i)
	if m.MandateID == "" {
		m.MandateID = check.NewUUID()
	}
	if m.EffectiveUntil.IsZero() {
		m.EffectiveUntil = now.Add(5 * time.Minute)
	}
	if err := firstErr(
		f.id("MandateID", m.MandateID),
		f.text("Description", m.Description, true, 1024),
		f.text("PreferredMerchantName", m.PreferredMerchantName, false, 256),
		f.text("MerchantCategory", m.MerchantCategory, false, 128),
		f.text("RecurringFrequency", m.RecurringFrequency, false, 32),
	); err != nil {
		return wireMandate{}, err
	}
	switch {
	case m.DeclineThreshold.IsZero():
		return wireMandate{}, f.input("DeclineThreshold", "is required")
	case m.DeclineThreshold.Minor() == 0:
		return wireMandate{}, f.input("DeclineThreshold", "must be above zero")
	case !m.EffectiveUntil.After(now):
		return wireMandate{}, f.input("EffectiveUntil", "is in the past")
	case m.Quantity < 0 || m.Quantity > 100:
		return wireMandate{}, f.input("Quantity", "must be between 0 and 100")
	case m.MerchantCategoryCode != "" && check.MCC(m.MerchantCategoryCode) != "":
		return wireMandate{}, f.input("MerchantCategoryCode", check.MCC(m.MerchantCategoryCode))
	}
	w := wireMandate{
		MandateID: m.MandateID, Description: m.Description,
		DeclineThreshold:      wireAmount{Amount: m.DeclineThreshold.Value(), CurrencyCode: m.DeclineThreshold.Currency().Alpha},
		EffectiveUntilTime:    epoch(m.EffectiveUntil),
		PreferredMerchantName: m.PreferredMerchantName, MerchantCategory: m.MerchantCategory,
		MerchantCategoryCode: m.MerchantCategoryCode, RecurringFrequency: m.RecurringFrequency,
	}
	if m.Quantity > 0 {
		w.Quantity = strconv.Itoa(m.Quantity)
	}
	return w, nil
}
