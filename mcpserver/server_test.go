package mcpserver_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vicgo/visa/internal/testutil"
	"github.com/vicgo/visa/sandbox/sandboxtest"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
)

func TestListToolsAndSchemas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.client.ListTools(context.Background(), nil)
	require.NoError(t, err)
	got := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		got[tool.Name] = tool
	}
	// The names of Visa's own MCP tools, and the journey tools.
	for _, name := range []string{"enroll-card", "initiate-purchase-instruction", "update-purchase-instruction",
		"cancel-purchase-instruction", "retrieve-payment-credentials", "confirm-transaction-events",
		"provision-token-given-pan-data", "get-device-attestation-options", "device-binding-request",
		"submit-idv-step-up-method", "validate-otp", "get-token-status", "delete-token", "get-transaction-credentials", "confirmations",
		"authenticate-passkey", "add-card", "add-card-continue", "purchase", "purchase-continue", "list-transactions", "list-cards"} {
		assert.Contains(t, got, name)
	}
	assert.Len(t, got, len(mcpserver.ToolNames()))

	required := map[string][]string{
		"add-card":                       {"user"},
		"add-card-continue":              {"flowId"},
		"purchase":                       {"tokenId", "amount", "currency", "merchant", "description"},
		"purchase-continue":              {"flowId"},
		"update-purchase-instruction":    {"instructionId", "vProvisionedTokenId", "assuranceHandle", "mandates"},
		"provision-token-given-pan-data": {"card", "email"},
		"get-device-attestation-options": {"vProvisionedTokenId", "clientReferenceId", "action", "email"},
		"device-binding-request":         {"vProvisionedTokenId", "clientReferenceId", "sessionHandle", "email"},
		"submit-idv-step-up-method":      {"vProvisionedTokenId", "clientReferenceId", "stepUpRequestId"},
		"validate-otp":                   {"vProvisionedTokenId", "clientReferenceId", "otp"},
		"authenticate-passkey":           {"sessionHandle"},
		"enroll-card":                    {"vProvisionedTokenId", "assuranceHandle", "consumer"},
		"initiate-purchase-instruction":  {"vProvisionedTokenId", "assuranceHandle", "mandates"},
		"cancel-purchase-instruction":    {"instructionId"},
		"retrieve-payment-credentials":   {"instructionId", "vProvisionedTokenId", "transactions"},
		"confirm-transaction-events":     {"instructionId", "clientReferenceId", "confirmations"},
		"get-token-status":               {"vProvisionedTokenId"},
		"delete-token":                   {"vProvisionedTokenId"},
	}
	for name, fields := range required {
		tool := got[name]
		require.NotNil(t, tool, name)
		assert.NotEmpty(t, tool.Description, name)
		schema, ok := tool.InputSchema.(map[string]any)
		require.True(t, ok, "%s input schema is %T", name, tool.InputSchema)
		assert.Equal(t, "object", schema["type"], name)
		assert.Equal(t, false, schema["additionalProperties"], name)
		req, _ := schema["required"].([]any)
		var have []string
		for _, r := range req {
			have = append(have, r.(string))
		}
		assert.ElementsMatch(t, fields, have, "%s required fields", name)
		assert.NotNil(t, tool.OutputSchema, name)
	}
	assert.True(t, got["list-transactions"].Annotations.ReadOnlyHint)
	assert.True(t, *got["delete-token"].Annotations.DestructiveHint)
	assert.False(t, got["purchase"].Annotations.ReadOnlyHint)
	// The card's own schema requires the number and expiry, not the CVV2.
	card := got["add-card"].InputSchema.(map[string]any)["properties"].(map[string]any)["card"].(map[string]any)
	assert.ElementsMatch(t, []any{"pan", "expiryMonth", "expiryYear"}, card["required"])
}

func TestAddCardThenPurchase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := newUser(1)

	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN)})
	require.Equal(t, mcpserver.StatusChooseStepUp, r.Status, "%+v", r)
	require.NotEmpty(t, r.FlowID)
	require.NotEmpty(t, r.Methods)
	for _, m := range r.Methods {
		assert.Contains(t, m.Destination, "*", "destinations are masked")
	}

	// An answer of the wrong kind, or an unknown method, is refused.
	assert.Contains(t, fails(t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": "123456"}), "invalid argument otp")
	assert.Contains(t, fails(t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": "PIGEON"}), "invalid argument method")

	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "method": "OTPSMS"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	assert.Equal(t, "OTPSMS", r.Method)
	assert.NotEmpty(t, r.CodeExpiresAt)

	// A wrong code is asked again, with the reason.
	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": "000000"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	assert.Equal(t, 1, r.Attempt)
	assert.NotEmpty(t, r.LastError)

	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	require.NotNil(t, r.Card)
	assert.Equal(t, "ACTIVE", r.Card.TokenStatus)
	assert.Equal(t, "ENROLLED", r.Card.VICEnrollment)
	assert.Equal(t, "OTPSMS", r.StepUp)
	assert.Len(t, r.Card.Last4, 4)

	// A finished flow still tells its outcome, and takes no more answers.
	again := ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID})
	assert.Equal(t, mcpserver.StatusCompleted, again.Status)
	assert.Contains(t, fails(t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": "456789"}), "is not expected now")

	cards := ok[mcpserver.ListCardsResult](t, e, "list-cards", map[string]any{"userId": u.id})
	require.Len(t, cards.Cards, 1)
	assert.Equal(t, r.Card.TokenID, cards.Cards[0].TokenID)

	p := ok[mcpserver.FlowResult](t, e, "purchase", purchaseArgs(u, r.Card.TokenID, "129.99"))
	require.Equal(t, mcpserver.StatusCompleted, p.Status, "%+v", p)
	require.NotNil(t, p.Transaction)
	assert.Equal(t, "COMPLETED", p.Transaction.Status)
	assert.True(t, p.Transaction.Confirmed)
	assert.Equal(t, "129.99", p.Transaction.Amount)
	require.NotNil(t, p.Authorization)
	assert.True(t, p.Authorization.Approved)
	assert.Equal(t, "00", p.Authorization.ResponseCode)
	require.NotNil(t, p.Credential)
	assert.False(t, p.Credential.Revealed)
	assert.True(t, strings.HasPrefix(p.Credential.PaymentToken, "****"), p.Credential.PaymentToken)
	assert.Empty(t, p.Credential.PaymentTokenNumber)
	assert.Empty(t, p.Credential.DynamicDataValue)
	assert.NotEmpty(t, p.Credential.DynamicDataID)

	txs := ok[mcpserver.ListTransactionsResult](t, e, "list-transactions", map[string]any{"userId": u.id})
	require.Len(t, txs.Transactions, 1)
	assert.Equal(t, p.Transaction.ID, txs.Transactions[0].ID)
	assert.Equal(t, "COMPLETED", txs.Transactions[0].Status)
	none := ok[mcpserver.ListTransactionsResult](t, e, "list-transactions", map[string]any{"userId": u.id, "status": "DECLINED"})
	assert.Empty(t, none.Transactions)

	snap := e.sbx.Inspect()
	assert.Equal(t, 1, snap.ApprovalsTotal)
	require.NotEmpty(t, e.merchant.seen(), "the merchant saw the clear credential")
	e.assertNoSecrets(t)
}

func TestAddCardShortcuts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// A preferred method skips the question.
	u := newUser(2)
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "stepUpMethod": "OTPEMAIL"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	assert.Equal(t, "OTPEMAIL", r.Method)
	// resend asks for a new code.
	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "resend": true})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	assert.Equal(t, 2, e.sbx.Inspect().OTPsSentByMethod["OTPEMAIL"])

	// A card Visa does not challenge is added in one call.
	u3 := newUser(3)
	r = ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u3.args(), "card": cardArgs(sandbox.CardNoStepUp)})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	assert.Equal(t, "APPROVED", r.StepUp)

	// A declined payment is a DECLINED result, recorded and confirmed.
	u4 := newUser(4)
	c := e.addCard(t, u4, sandbox.CardInsufficientFunds)
	p := ok[mcpserver.FlowResult](t, e, "purchase", purchaseArgs(u4, c.Card.TokenID, "42.00"))
	require.Equal(t, mcpserver.StatusDeclined, p.Status, "%+v", p)
	assert.Equal(t, "51", p.Authorization.ResponseCode)
	assert.Equal(t, "DECLINED", p.Transaction.Status)
	assert.True(t, p.Transaction.Confirmed)
	e.assertNoSecrets(t)
}

func TestRevealCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, mcpserver.WithRevealCredentials(true))
	u := newUser(5)
	c := e.addCard(t, u, sandbox.CardNoStepUp)
	p := ok[mcpserver.FlowResult](t, e, "purchase", purchaseArgs(u, c.Card.TokenID, "10.00"))
	require.Equal(t, mcpserver.StatusCompleted, p.Status, "%+v", p)
	// purchase never returns the clear credential, even on a server that
	// reveals them (retrieve-payment-credentials does).
	require.False(t, p.Credential.Revealed)
	assert.Empty(t, p.Credential.PaymentTokenNumber)
	assert.Empty(t, p.Credential.DynamicDataValue)
	e.assertNoSecrets(t)
}

func TestCancelFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := newUser(7)
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "stepUpMethod": "OTPSMS"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status)
	r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "cancel": true})
	require.Equal(t, mcpserver.StatusCancelled, r.Status, "%+v", r)
	assert.Equal(t, "cancelled", r.ErrorCode)
	for c, err := range e.st.ListCards(context.Background(), u.id) {
		assert.Failf(t, "a card remained", "%v %v", c.TokenID, err)
	}
	// A flow id is not interchangeable between journeys.
	assert.Contains(t, fails(t, e, "purchase-continue", map[string]any{"flowId": r.FlowID}), "invalid argument flowId")
}

func TestOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hs := httptest.NewServer(e.srv.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "http-agent", Version: "v0.0.1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL, DisableStandaloneSSE: true}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })

	tools, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, tools.Tools, len(mcpserver.ToolNames()))

	u := newUser(10)
	r := okOn[mcpserver.FlowResult](t, e, cs, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "stepUpMethod": "OTPSMS"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	p := okOn[mcpserver.FlowResult](t, e, cs, "purchase", purchaseArgs(u, r.Card.TokenID, "25.50"))
	require.Equal(t, mcpserver.StatusCompleted, p.Status, "%+v", p)
	res := e.callOn(t, cs, "purchase", map[string]any{"userId": u.id})
	assert.True(t, res.IsError)
	assert.Contains(t, text(res), "invalid argument")
	e.assertNoSecrets(t)
}

func TestBadArgumentsNameTheFieldAndStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := newUser(20)
	long := strings.Repeat("x", mcpserver.MaxStringBytes+1)
	withCard := func(mut func(c map[string]any)) map[string]any {
		c := cardArgs(testPAN)
		mut(c)
		return map[string]any{"user": u.args(), "card": c}
	}
	purchase := func(mut func(p map[string]any)) map[string]any {
		p := purchaseArgs(u, "tok-1", "10.00")
		mut(p)
		return p
	}
	cases := []struct {
		name, tool string
		args       any
		field      string
	}{
		{"bad PAN", "add-card", withCard(func(c map[string]any) { c["pan"] = "4111111111111112" }), "card.pan"},
		{"PAN as a number", "add-card", withCard(func(c map[string]any) { c["pan"] = 4111111111111111 }), "card.pan"},
		{"missing PAN", "add-card", withCard(func(c map[string]any) { delete(c, "pan") }), "card.pan"},
		{"missing CVV2", "add-card", withCard(func(c map[string]any) { delete(c, "cvv2") }), "card.cvv2"},
		{"bad CVV2", "add-card", withCard(func(c map[string]any) { c["cvv2"] = "12a" }), "card.cvv2"},
		{"expired card", "add-card", withCard(func(c map[string]any) { c["expiryYear"] = 2001 }), "card.expiryYear"},
		{"bad month", "add-card", withCard(func(c map[string]any) { c["expiryMonth"] = 13 }), "card.expiryMonth"},
		{"oversize name", "add-card", withCard(func(c map[string]any) { c["name"] = long }), "card.name"},
		{"unknown argument", "add-card", withCard(func(c map[string]any) { c["pin"] = "1234" }), "pin"},
		{"missing email", "add-card", map[string]any{"user": map[string]any{"id": u.id, "country": "US"}, "card": cardArgs(testPAN)}, "user.email"},
		{"bad user id", "add-card", map[string]any{"user": map[string]any{"id": "a b", "email": u.email, "country": "US"}, "card": cardArgs(testPAN)}, "user.id"},
		{"bad country", "add-card", map[string]any{"user": map[string]any{"id": u.id, "email": u.email, "country": "usa"}, "card": cardArgs(testPAN)}, "user.country"},
		{"bad device", "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "device": map[string]any{"clientDeviceId": "short"}}, "device.clientDeviceId"},
		{"bad device IP", "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "device": map[string]any{"ipAddress": "300.1.1.1"}}, "device.ipAddress"},
		{"bad step-up", "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "stepUpMethod": "PIGEON"}, "stepUpMethod"},
		{"missing amount", "purchase", purchase(func(p map[string]any) { delete(p, "amount") }), "amount"},
		{"unknown currency", "purchase", purchase(func(p map[string]any) { p["currency"] = "XYZ" }), "currency"},
		{"negative amount", "purchase", purchase(func(p map[string]any) { p["amount"] = "-5" }), "amount"},
		{"amount as number", "purchase", purchase(func(p map[string]any) { p["amount"] = 10 }), "amount"},
		{"empty token id", "purchase", purchase(func(p map[string]any) { p["tokenId"] = "" }), "tokenId"},
		{"unknown token id", "purchase", purchase(func(p map[string]any) {}), "tokenId"},
		{"oversize token id", "purchase", purchase(func(p map[string]any) { p["tokenId"] = long }), "tokenId"},
		{"bad merchant URL", "purchase", purchase(func(p map[string]any) {
			p["merchant"] = map[string]any{"name": "X", "url": "ftp://x", "countryCode": "US"}
		}), "merchant.url"},
		{"missing description", "purchase", purchase(func(p map[string]any) { delete(p, "description") }), "description"},
		{"unknown flow", "add-card-continue", map[string]any{"flowId": "flow_nope"}, "flowId"},
		{"empty flow", "purchase-continue", map[string]any{"flowId": ""}, "flowId"},
		{"empty token status", "get-token-status", map[string]any{"vProvisionedTokenId": ""}, "vProvisionedTokenId"},
		{"oversize delete", "delete-token", map[string]any{"vProvisionedTokenId": long}, "vProvisionedTokenId"},
		{"provision bad PAN", "provision-token-given-pan-data", map[string]any{"card": map[string]any{"pan": "1234", "expiryMonth": 1, "expiryYear": 2030}, "email": u.email}, "card.pan"},
		{"provision bad email", "provision-token-given-pan-data", map[string]any{"card": cardArgs(testPAN), "email": "nobody"}, "email"},
		{"empty OTP", "validate-otp", map[string]any{"vProvisionedTokenId": "t", "clientReferenceId": "CR-1", "otp": ""}, "otp"},
		{"bad action", "get-device-attestation-options", map[string]any{"vProvisionedTokenId": "t", "clientReferenceId": "CR-1", "action": "PAY", "email": u.email}, "action"},
		{"unknown session", "device-binding-request", map[string]any{"vProvisionedTokenId": "t", "clientReferenceId": "CR-1", "sessionHandle": "sess_x", "email": u.email}, "sessionHandle"},
		{"unknown assurance", "authenticate-passkey", map[string]any{"sessionHandle": "sess_x"}, "sessionHandle"},
		{"no mandates", "initiate-purchase-instruction", map[string]any{"vProvisionedTokenId": "t", "assuranceHandle": "asr_x", "consumerId": u.id, "mandates": []any{}}, "mandates"},
		{"mandate currency", "initiate-purchase-instruction", map[string]any{"vProvisionedTokenId": "t", "assuranceHandle": "asr_x", "consumerId": u.id,
			"mandates": []any{map[string]any{"description": "d", "amount": "1.00", "currency": "ZZZ"}}}, "mandates[0].currency"},
		{"unused assurance", "enroll-card", map[string]any{"vProvisionedTokenId": "t", "assuranceHandle": "asr_x", "consumer": u.args()}, "assuranceHandle"},
		{"transaction currency", "retrieve-payment-credentials", map[string]any{"instructionId": "i", "vProvisionedTokenId": "t",
			"transactions": []any{map[string]any{"amount": "1.00", "currency": "QQQ", "merchant": merchantArgs()}}}, "transactions[0].currency"},
		{"too many transactions", "retrieve-payment-credentials", map[string]any{"instructionId": "i", "vProvisionedTokenId": "t",
			"transactions": make([]any, mcpserver.MaxListItems+1)}, "transactions"},
		{"confirmation status", "confirm-transaction-events", map[string]any{"instructionId": "i", "clientReferenceId": "CR-1",
			"confirmations": []any{map[string]any{"transactionReferenceId": "r", "dynamicDataId": "d", "status": "MAYBE", "amount": "1.00", "currency": "USD"}}}, "confirmations[0].status"},
		{"empty cancel", "cancel-purchase-instruction", map[string]any{"instructionId": "", "consumerId": u.id}, "instructionId"},
		{"list limit", "list-transactions", map[string]any{"userId": u.id, "limit": 100000}, "limit"},
		{"list status", "list-transactions", map[string]any{"userId": u.id, "status": "LOST"}, "status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := fails(t, e, c.tool, c.args)
			assert.Contains(t, msg, "invalid argument "+c.field+":", msg)
			assert.NotContains(t, msg, testPAN)
			assert.NotContains(t, msg, long)
		})
	}
	e.storeIsEmpty(t, u.id)
	snap := e.sbx.Inspect()
	assert.Zero(t, snap.TokensCreated, "nothing was sent to Visa")
	assert.Zero(t, snap.EnrollmentsCreated)
	e.assertNoSecrets(t)
}

func TestNew(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	_, err := mcpserver.New(visa.Config{})
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	for _, opt := range []mcpserver.Option{mcpserver.WithStore(nil), mcpserver.WithSealer(nil), mcpserver.WithMerchant(nil),
		mcpserver.WithFrame(nil), mcpserver.WithBridge(nil, "x"), mcpserver.WithWaitTimeout(0), mcpserver.WithCardEntryTTL(-1),
		mcpserver.WithHandleTTL(0), mcpserver.WithPublicURL("not a url"), mcpserver.WithApplication("", "")} {
		_, err := mcpserver.New(sbx.Config(), opt)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
	}
	s, err := mcpserver.New(sbx.Config())
	require.NoError(t, err)
	e := &env{logs: &testutil.LogBuffer{}}
	res := e.callOn(t, connect(t, s), "purchase", purchaseArgs(newUser(1), "tok", "1.00"))
	assert.True(t, res.IsError)
	assert.Contains(t, text(res), "no merchant")
	assert.NotNil(t, s.Agent())
	assert.NotNil(t, s.Store())
	require.NoError(t, s.Close())
	_, err = s.Store().GetUser(context.Background(), "u")
	assert.ErrorIs(t, err, store.ErrClosed, "the default store is closed with the server")
}

// BenchmarkToolCall measures one tool call through the MCP client and
// server in memory: argument decoding, validation, the store read and the
// structured result (list-cards of a user with one card).
func BenchmarkToolCall(b *testing.B) {
	sbx := sandboxtest.Start(b, sandbox.WithPlainHTTP())
	srv, err := mcpserver.New(sbx.Config())
	require.NoError(b, err)
	b.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(b, err)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(ctx, ct, nil)
	require.NoError(b, err)
	b.Cleanup(func() { _ = cs.Close(); _ = ss.Wait() })
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add-card", Arguments: map[string]any{"user": newUser(1).args(), "card": cardArgs(sandbox.CardNoStepUp)}})
	require.NoError(b, err)
	require.False(b, res.IsError)
	args := map[string]any{"userId": newUser(1).id}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list-cards", Arguments: args})
		if err != nil || res.IsError {
			b.Fatal(err, res)
		}
	}
}

// TestConcurrentFlows runs several add-card flows at once through one
// client: each answer reaches its own flow.
func TestConcurrentFlows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 3
	var wg sync.WaitGroup
	tokens := make([]string, n)
	for i := range n {
		wg.Go(func() {
			u := newUser(100 + i)
			r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN), "stepUpMethod": "OTPSMS"})
			if !assert.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r) {
				return
			}
			r = ok[mcpserver.FlowResult](t, e, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
			if assert.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r) {
				tokens[i] = r.Card.TokenID
				c, err := e.st.GetCard(context.Background(), r.Card.TokenID)
				assert.NoError(t, err)
				assert.Equal(t, u.id, c.UserID)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tok := range tokens {
		assert.NotEmpty(t, tok)
		assert.False(t, seen[tok])
		seen[tok] = true
	}
	e.assertNoSecrets(t)
}
