package vic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

// calls runs one call of each VIC method with good input.
func calls(t *testing.T, c *Client) map[string]func(context.Context) error {
	usd := visa.MustParseAmount("10.00", "USD")
	create := CreateInstructionRequest{ConsumerID: "user-1", TokenID: "TOK-1", AppInstance: testAppInstance(), Assurance: testAssurance(t),
		DFPSessionID: "DFP-1", Mandates: []Mandate{{Description: "Headphones", DeclineThreshold: usd}}}
	return map[string]func(context.Context) error{
		"vic.EnrollCard": func(ctx context.Context) error {
			_, err := c.EnrollCard(ctx, EnrollCardRequest{TokenID: "TOK-1", DFPSessionID: "DFP-1", Assurance: testAssurance(t), AppInstance: testAppInstance(),
				Consumer: Consumer{ConsumerID: "user-1", Email: "a@example.com", CountryCode: "US", LanguageCode: "en"}})
			return err
		},
		"vic.CreateInstruction": func(ctx context.Context) error { _, err := c.CreateInstruction(ctx, create); return err },
		"vic.UpdateInstruction": func(ctx context.Context) error {
			_, err := c.UpdateInstruction(ctx, update(create, "INS-1"))
			return err
		},
		"vic.CancelInstruction": func(ctx context.Context) error {
			_, err := c.CancelInstruction(ctx, CancelRequest{InstructionID: "INS-1", AppInstance: testAppInstance()})
			return err
		},
		"vic.RetrieveCredentials": func(ctx context.Context) error {
			_, err := c.RetrieveCredentials(ctx, CredentialsRequest{InstructionID: "INS-1", TokenID: "TOK-1",
				Transactions: []TransactionData{{Amount: usd, MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}}})
			return err
		},
		"vic.ConfirmTransaction": func(ctx context.Context) error {
			_, err := c.ConfirmTransaction(ctx, ConfirmRequest{ClientReferenceID: "CR-1", InstructionID: "INS-1",
				Confirmations: []Confirmation{{TransactionReferenceID: "INS-1", DynamicDataID: "DD-1", Status: TransactionApproved, Amount: usd}}})
			return err
		},
	}
}

func TestPendingAnswerIsTyped(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	f.answer = func(recorded) (int, any) {
		return 202, map[string]any{"clientReferenceId": "CR-1", "instructionId": "INS-1", "status": "PENDING",
			"pendingEvents": []any{"CARDHOLDER_ACTION_PENDING", map[string]any{"type": "OTHER"}}}
	}
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	for op, call := range calls(t, c) {
		err := call(context.Background())
		require.ErrorIs(t, err, ErrPending, op)
		assert.NotErrorIs(t, err, visa.ErrMalformedResponse, op)
		var pe *PendingError
		require.ErrorAs(t, err, &pe, op)
		assert.Equal(t, op, pe.Op)
		assert.Equal(t, StatusPending, pe.Status)
		assert.Equal(t, "CR-1", pe.ClientReferenceID)
		assert.Equal(t, []PendingEvent{"CARDHOLDER_ACTION_PENDING", `{"type":"OTHER"}`}, pe.Events, op)
		assert.Equal(t, "visa: "+op+": cardholder action pending (2 pending events)", err.Error(), "one prefix, the operation once")
	}
}

func TestMissingMemberIsTyped(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	f.answer = func(recorded) (int, any) { return 200, map[string]any{"clientReferenceId": "CR-1"} }
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	want := map[string]string{
		"vic.EnrollCard": "status", "vic.CreateInstruction": "instructionId", "vic.UpdateInstruction": "status",
		"vic.CancelInstruction": "status", "vic.RetrieveCredentials": "signedPayload",
	}
	for op, call := range calls(t, c) {
		err := call(context.Background())
		member, ok := want[op]
		if !ok {
			assert.NoError(t, err, "%s: an acknowledgement needs no member", op)
			continue
		}
		var me *MissingMemberError
		require.ErrorAs(t, err, &me, op)
		assert.Equal(t, MissingMemberError{Op: op, Member: member}, *me)
		assert.ErrorIs(t, err, visa.ErrMalformedResponse)
		assert.Equal(t, "visa: "+op+": malformed response: required member "+member+" is missing", err.Error(), "one prefix, the operation once")
	}

	// An instruction id without a status is still missing a member.
	f.answer = func(recorded) (int, any) { return 200, map[string]any{"instructionId": "INS-1"} }
	err = calls(t, c)["vic.CreateInstruction"](context.Background())
	var me *MissingMemberError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "status", me.Member)
}

func TestUnknownStatusDecodes(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	f.answer = func(recorded) (int, any) {
		return 200, map[string]any{"clientReferenceId": "CR-1", "instructionId": "INS-1", "status": "SOMETHING_NEW", "pendingEvents": []any{}}
	}
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	res, err := c.CancelInstruction(context.Background(), CancelRequest{InstructionID: "INS-1", AppInstance: testAppInstance()})
	require.NoError(t, err)
	assert.Equal(t, Status("SOMETHING_NEW"), res.Status)
	assert.Empty(t, res.PendingEvents)
}

func TestPendingEventDecoding(t *testing.T) {
	t.Parallel()
	var evs []PendingEvent
	require.NoError(t, json.Unmarshal([]byte(`["A", {"b": [1, 2]}, 3, null]`), &evs))
	assert.Equal(t, []PendingEvent{"A", `{"b":[1,2]}`, "3", ""}, evs, "null is an empty event")
	var e PendingEvent
	assert.Error(t, e.UnmarshalJSON([]byte(`{`)))
	assert.True(t, errors.Is(&PendingError{}, ErrPending))
	assert.False(t, errors.Is(errors.New("x"), ErrPending))
}

// pan is a Luhn-valid test card number that must never leave the client
// through an id field, nor appear in the refusal.
const pan = "4111111111111111"

func TestIDsAreScreened(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	ctx := context.Background()
	usd := visa.MustParseAmount("10.00", "USD")
	spaced := "4111 1111 1111 1111"
	dashed := "4111-1111-1111-1111"
	create := func(mut func(*CreateInstructionRequest)) func() error {
		return func() error {
			r := CreateInstructionRequest{ConsumerID: "user-1", TokenID: "TOK-1", AppInstance: testAppInstance(), Assurance: testAssurance(t),
				DFPSessionID: "DFP-1", Mandates: []Mandate{{Description: "Headphones", DeclineThreshold: usd}}}
			mut(&r)
			_, err := c.CreateInstruction(ctx, r)
			return err
		}
	}
	creds := func(mut func(*CredentialsRequest)) func() error {
		return func() error {
			r := CredentialsRequest{InstructionID: "INS-1", TokenID: "TOK-1",
				Transactions: []TransactionData{{Amount: usd, MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}}}
			mut(&r)
			_, err := c.RetrieveCredentials(ctx, r)
			return err
		}
	}
	confirm := func(mut func(*ConfirmRequest)) func() error {
		return func() error {
			r := ConfirmRequest{ClientReferenceID: "CR-1", InstructionID: "INS-1",
				Confirmations: []Confirmation{{TransactionReferenceID: "INS-1", DynamicDataID: "DD-1", Status: TransactionApproved, Amount: usd}}}
			mut(&r)
			_, err := c.ConfirmTransaction(ctx, r)
			return err
		}
	}
	enroll := func(mut func(*EnrollCardRequest)) func() error {
		return func() error {
			r := EnrollCardRequest{TokenID: "TOK-1", DFPSessionID: "DFP-1", Assurance: testAssurance(t), AppInstance: testAppInstance(),
				Consumer: Consumer{ConsumerID: "user-1", Email: "a@example.com", CountryCode: "US", LanguageCode: "en"}}
			mut(&r)
			_, err := c.EnrollCard(ctx, r)
			return err
		}
	}
	for _, tc := range []struct {
		field string
		call  func() error
	}{
		{"TokenID", create(func(r *CreateInstructionRequest) { r.TokenID = pan })},
		{"ConsumerID", create(func(r *CreateInstructionRequest) { r.ConsumerID = "user-" + pan })},
		{"ClientReferenceID", create(func(r *CreateInstructionRequest) { r.ClientReferenceID = dashed })},
		{"DFPSessionID", create(func(r *CreateInstructionRequest) { r.DFPSessionID = pan })},
		{"ConsumerPrompt", create(func(r *CreateInstructionRequest) { r.ConsumerPrompt = "pay with " + spaced })},
		{"AgentID", create(func(r *CreateInstructionRequest) { r.AgentID = pan })},
		{"Mandates[0].MandateID", create(func(r *CreateInstructionRequest) { r.Mandates[0].MandateID = pan })},
		{"Mandates[0].Description", create(func(r *CreateInstructionRequest) { r.Mandates[0].Description = "card " + dashed })},
		{"Mandates[0].PreferredMerchantName", create(func(r *CreateInstructionRequest) { r.Mandates[0].PreferredMerchantName = spaced })},
		{"InstructionID", func() error {
			_, err := c.UpdateInstruction(ctx, update(CreateInstructionRequest{}, pan))
			return err
		}},
		{"InstructionID", func() error {
			_, err := c.CancelInstruction(ctx, CancelRequest{InstructionID: pan, AppInstance: testAppInstance()})
			return err
		}},
		{"InstructionID", creds(func(r *CredentialsRequest) { r.InstructionID = pan })},
		{"TokenID", creds(func(r *CredentialsRequest) { r.TokenID = pan })},
		{"Transactions[0].TransactionReferenceID", creds(func(r *CredentialsRequest) { r.Transactions[0].TransactionReferenceID = pan })},
		{"Transactions[0].MerchantName", creds(func(r *CredentialsRequest) { r.Transactions[0].MerchantName = spaced })},
		{"Transactions[0].MerchantURL", creds(func(r *CredentialsRequest) { r.Transactions[0].MerchantURL = "https://shop.example/c/" + pan })},
		{"Transactions[0].MandateIDs[0]", creds(func(r *CredentialsRequest) { r.Transactions[0].MandateIDs = []string{pan} })},
		{"Transactions[0].ShippingAddress.Line1", creds(func(r *CredentialsRequest) {
			r.Transactions[0].ShippingAddress = &Address{Line1: spaced}
		})},
		{"InstructionID", confirm(func(r *ConfirmRequest) { r.InstructionID = pan })},
		{"Confirmations[0].DynamicDataID", confirm(func(r *ConfirmRequest) { r.Confirmations[0].DynamicDataID = pan })},
		{"Confirmations[0].TransactionReferenceID", confirm(func(r *ConfirmRequest) { r.Confirmations[0].TransactionReferenceID = pan })},
		{"Confirmations[0].Order.OrderID", confirm(func(r *ConfirmRequest) { r.Confirmations[0].Order = &Order{OrderID: pan} })},
		{"TokenID", enroll(func(r *EnrollCardRequest) { r.TokenID = pan })},
		{"Consumer.ConsumerID", enroll(func(r *EnrollCardRequest) { r.Consumer.ConsumerID = pan })},
		{"Consumer.Email", enroll(func(r *EnrollCardRequest) { r.Consumer.Email = pan + "@example.com" })},
		{"Consents[0].ID", enroll(func(r *EnrollCardRequest) {
			r.Consents = []Consent{{ID: pan, Type: "PERSONALIZATION", Source: "CLIENT", AcceptedAt: t0}}
		})},
	} {
		err := tc.call()
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, tc.field)
		assert.Equal(t, tc.field, ie.Field)
		assert.Equal(t, "looks like a card number", ie.Reason, tc.field)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
		s := testutil.NewSecrets()
		for _, v := range []string{pan, spaced, dashed, "41111111"} {
			s.Add("card number", v)
		}
		s.Check(t, "the refusal of "+tc.field, fmt.Sprintf("%v %+v %#v", err, err, err), testutil.Text)
	}
	assert.Zero(t, f.count(), "no request left the client")
}

func TestBadIDsAreRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	f := newFakeVIC(t)
	c, err := New(f.config(t, nil), WithoutVerification(), WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	ctx := context.Background()
	for name, id := range map[string]string{
		"empty": "", "space": "INS 1", "newline": "INS-1\n", "non-ASCII": "INS-é", "too long": strings.Repeat("I", 65),
	} {
		_, err := c.CancelInstruction(ctx, CancelRequest{InstructionID: id, AppInstance: testAppInstance()})
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, name)
		assert.Equal(t, "InstructionID", ie.Field, name)
	}
	for name, ref := range map[string]string{"underscore": "CR_1", "too long": "CR-" + strings.Repeat("a", 34), "space": "CR 1"} {
		_, err := c.CancelInstruction(ctx, CancelRequest{InstructionID: "INS-1", ClientReferenceID: ref, AppInstance: testAppInstance()})
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, name)
		assert.Equal(t, "ClientReferenceID", ie.Field, name)
	}
	assert.Zero(t, f.count(), "no request left the client")
}
