package mcpserver_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/mcpserver"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/sqlite"
)

// connectAs connects a client whose every call carries an auth.TokenInfo
// for sub, as the HTTP side's auth.RequireBearerToken puts it.
func connectAs(t *testing.T, srv *mcpserver.Server, sub string, scopes ...string) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	registerSession(srv, ss, sub, scopes)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agent-" + sub, Version: "v0.0.1"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close(); _ = ss.Wait() })
	return cs
}

type identity struct {
	sub    string
	scopes []string
}

var (
	sessionsMu sync.Mutex
	sessions   = map[*mcpserver.Server]map[*mcp.ServerSession]identity{}
)

// registerSession installs (once per server) a middleware giving each
// session's tool calls the TokenInfo of its identity.
func registerSession(srv *mcpserver.Server, ss *mcp.ServerSession, sub string, scopes []string) {
	sessionsMu.Lock()
	defer sessionsMu.Unlock()
	m, ok := sessions[srv]
	if !ok {
		m = map[*mcp.ServerSession]identity{}
		sessions[srv] = m
		srv.MCP().AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				if r, ok := req.(*mcp.CallToolRequest); ok {
					sessionsMu.Lock()
					id, ok := m[r.Session]
					sessionsMu.Unlock()
					if ok {
						r.Extra = &mcp.RequestExtra{TokenInfo: &auth.TokenInfo{UserID: id.sub, Scopes: id.scopes}}
					}
				}
				return next(ctx, method, req)
			}
		})
	}
	m[ss] = identity{sub: sub, scopes: scopes}
}

// TestUsersAreIsolated: with authentication, user B cannot see or use user
// A's cards, journeys, handles or transactions: each is "not" B's.
func TestUsersAreIsolated(t *testing.T) {
	e := newEnv(t, mcpserver.WithRequireAuth(true), mcpserver.WithCardArguments(true))
	alice, bob := connectAs(t, e.srv, "alice"), connectAs(t, e.srv, "bob")
	anon := e.client

	res := e.callOn(t, anon, "list-cards", map[string]any{})
	require.True(t, res.IsError, "a call without identity is refused")
	assert.Contains(t, text(res), "signed-in")

	// The schemas take no userId.
	tools, err := alice.ListTools(context.Background(), nil)
	require.NoError(t, err)
	for _, tl := range tools.Tools {
		props, _ := tl.InputSchema.(map[string]any)["properties"].(map[string]any)
		assert.NotContains(t, props, "userId", tl.Name)
		assert.NotContains(t, props, "consumerId", tl.Name)
	}

	user := map[string]any{"email": "alice@example.com", "country": "US"}
	r := okOn[mcpserver.FlowResult](t, e, alice, "add-card", map[string]any{"user": user, "card": cardArgs(testPAN), "stepUpMethod": "OTPSMS"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	// Bob cannot answer or cancel Alice's journey.
	res = e.callOn(t, bob, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "not an add-card journey of yours")
	res = e.callOn(t, bob, "add-card-continue", map[string]any{"flowId": r.FlowID, "cancel": true})
	require.True(t, res.IsError)
	r = okOn[mcpserver.FlowResult](t, e, alice, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	tok := r.Card.TokenID

	// A userId naming someone else is refused.
	res = e.callOn(t, bob, "list-cards", map[string]any{"userId": "alice"})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "invalid argument userId")
	assert.Empty(t, okOn[mcpserver.ListCardsResult](t, e, bob, "list-cards", map[string]any{}).Cards)
	assert.Len(t, okOn[mcpserver.ListCardsResult](t, e, alice, "list-cards", map[string]any{}).Cards, 1)

	// Bob cannot pay with, read or delete Alice's card.
	args := purchaseArgs(newUser(0), tok, "10.00")
	delete(args, "userId")
	res = e.callOn(t, bob, "purchase", args)
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "invalid argument tokenId")
	for _, tool := range []string{"get-token-status", "delete-token"} {
		res = e.callOn(t, bob, tool, map[string]any{"vProvisionedTokenId": tok})
		require.True(t, res.IsError, tool)
		assert.Contains(t, text(res), "not a card of yours", tool)
	}
	res = e.callOn(t, bob, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok, "clientReferenceId": "CR-1",
		"action": "AUTHENTICATE", "email": "bob@example.com"})
	require.True(t, res.IsError)

	// Alice's purchase, journey and session handle are hers alone.
	p := okOn[mcpserver.FlowResult](t, e, alice, "purchase", args)
	require.Equal(t, mcpserver.StatusCompleted, p.Status, "%+v", p)
	res = e.callOn(t, bob, "purchase-continue", map[string]any{"flowId": p.FlowID})
	require.True(t, res.IsError)
	assert.Empty(t, okOn[mcpserver.ListTransactionsResult](t, e, bob, "list-transactions", map[string]any{}).Transactions)
	assert.Len(t, okOn[mcpserver.ListTransactionsResult](t, e, alice, "list-transactions", map[string]any{}).Transactions, 1)
	res = e.callOn(t, bob, "confirm-transaction-events", map[string]any{"instructionId": p.Transaction.InstructionID, "clientReferenceId": "CR-1",
		"confirmations": []any{map[string]any{"transactionReferenceId": "r", "dynamicDataId": "d", "status": "APPROVED", "amount": "1.00", "currency": "USD"}}})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "not an instruction of yours")

	sess := okOn[mcpserver.AttestationResult](t, e, alice, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": "CR-2", "action": "AUTHENTICATE", "email": "alice@example.com"})
	res = e.callOn(t, bob, "authenticate-passkey", map[string]any{"sessionHandle": sess.SessionHandle})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "unknown or expired")
	e.assertNoSecrets(t)
}

// TestOutcomesAfterTheMerchant: each fault after the charge comes back
// CHARGED_UNCONFIRMED or OUTCOME_UNKNOWN, never FAILED, and a repeated
// purchase with the same key charges once.
func TestOutcomesAfterTheMerchant(t *testing.T) {
	confirmations := "POST /vacp/v1/instructions/{id}/confirmations"
	for _, c := range []struct {
		name   string
		rules  []sandbox.FaultRule
		status string
	}{
		{"confirmation 503", []sandbox.FaultRule{{Endpoint: confirmations, Kind: sandbox.Status503}}, mcpserver.StatusChargedUnconfirmed},
		{"confirmation dropped", []sandbox.FaultRule{{Endpoint: confirmations, Kind: sandbox.DropAfterProcessing}}, mcpserver.StatusChargedUnconfirmed},
		{"merchant answer lost", []sandbox.FaultRule{
			{Endpoint: "POST /sandbox/v1/merchant/authorizations", Kind: sandbox.DropAfterProcessing, Count: 1},
			// Every attempt of the look-up fails: a GET, which the SDK's
			// one retry classifier repeats on a 500.
			{Endpoint: "GET /sandbox/v1/merchant/authorizations/{transactionReferenceId}", Kind: sandbox.Status500},
		}, mcpserver.StatusOutcomeUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := newUser(60)
			card := e.addCard(t, u, testPAN)
			require.NoError(t, e.sbx.SetFaults(sandbox.FaultPlan{Rules: c.rules}))
			args := purchaseArgs(u, card.Card.TokenID, "42.00")
			args["orderId"] = "order-1"
			p := ok[mcpserver.FlowResult](t, e, "purchase", args)
			require.Equal(t, c.status, p.Status, "%+v", p)
			assert.Contains(t, p.Next, "Do NOT purchase again")
			assert.NotContains(t, p.Error, "agent:", "no Go error chain")
			// The same order again: the first outcome, no second charge.
			again := ok[mcpserver.FlowResult](t, e, "purchase", args)
			assert.NotEqual(t, mcpserver.StatusFailed, again.Status)
			assert.Equal(t, p.FlowID, again.FlowID)
			assert.Equal(t, 1, e.sbx.Inspect().ApprovalsTotal, "charged once")
			// Followed, and even asked to cancel, it is what the record says
			// (the repeated purchase may have settled it: the merchant
			// answers now): at once, since nobody holds it, never FAILED or
			// CANCELLED, and the charge stays.
			for _, args := range []map[string]any{{"flowId": p.FlowID}, {"flowId": p.FlowID, "cancel": true}} {
				follow := ok[mcpserver.FlowResult](t, e, "purchase-continue", args)
				assert.Equal(t, again.Status, follow.Status, "%v: %+v", args, follow)
				require.NotNil(t, follow.Transaction)
				if follow.Status != mcpserver.StatusCompleted {
					assert.Equal(t, c.status, follow.Status)
					assert.Contains(t, follow.Next, "Do NOT purchase again")
				}
			}
			assert.Equal(t, 1, e.sbx.Inspect().ApprovalsTotal, "charged once")
			e.sbx.ClearFaults()
		})
	}
}

// TestContinueOnAnotherInstance: an OTP journey started on one server is
// continued on another sharing the SQLite store, and after a restart.
func TestContinueOnAnotherInstance(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "visa.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := fido.NewSealer("k", map[string][]byte{"k": make([]byte, 32)})
	require.NoError(t, err)
	key := make([]byte, mcpserver.MinDeviceKeyLen)
	e := newEnv(t, mcpserver.WithStore(st), mcpserver.WithSealer(sealer), mcpserver.WithDeviceKey(key))
	u := newUser(70)
	r := ok[mcpserver.FlowResult](t, e, "add-card", map[string]any{"user": u.args(), "card": cardArgs(testPAN)})
	require.Equal(t, mcpserver.StatusChooseStepUp, r.Status)

	other, err := mcpserver.New(e.cfg, mcpserver.WithStore(st), mcpserver.WithSealer(sealer), mcpserver.WithDeviceKey(key),
		mcpserver.WithFrame(e.frame), mcpserver.WithMerchant(e.merchant))
	require.NoError(t, err)
	r = okOn[mcpserver.FlowResult](t, e, connect(t, other), "add-card-continue", map[string]any{"flowId": r.FlowID, "method": "OTPSMS"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	require.NoError(t, other.Close())

	// A "restart": a new server on the same file.
	st2, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st2.Close() })
	restarted, err := mcpserver.New(e.cfg, mcpserver.WithStore(st2), mcpserver.WithSealer(sealer), mcpserver.WithDeviceKey(key),
		mcpserver.WithFrame(e.frame), mcpserver.WithMerchant(e.merchant))
	require.NoError(t, err)
	t.Cleanup(func() { _ = restarted.Close() })
	cs := connect(t, restarted)
	r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": "000000"})
	require.Equal(t, mcpserver.StatusOTPRequired, r.Status, "%+v", r)
	assert.Equal(t, "otp_invalid", r.LastErrorCode)
	require.NotNil(t, r.AttemptsLeft)
	assert.Equal(t, 2, *r.AttemptsLeft)
	r = okOn[mcpserver.FlowResult](t, e, cs, "add-card-continue", map[string]any{"flowId": r.FlowID, "otp": sandbox.GoldenOTP})
	require.Equal(t, mcpserver.StatusCompleted, r.Status, "%+v", r)
	p := okOn[mcpserver.FlowResult](t, e, cs, "purchase", purchaseArgs(u, r.Card.TokenID, "5.00"))
	assert.Equal(t, mcpserver.StatusCompleted, p.Status, "%+v", p)
}

// TestSchemasAModelCanFollow walks every tool's schemas: no null unions, a
// title, and an enum on every status, method and action argument.
func TestSchemasAModelCanFollow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tools, err := e.client.ListTools(context.Background(), nil)
	require.NoError(t, err)
	for _, tl := range tools.Tools {
		assert.NotEmpty(t, tl.Title, tl.Name)
		require.NotNil(t, tl.Annotations, tl.Name)
		assert.NotEmpty(t, tl.Annotations.Title, tl.Name)
		walk(t, tl.Name+" input", tl.InputSchema, true)
		walk(t, tl.Name+" output", tl.OutputSchema, false)
	}
	byName := map[string]*mcp.Tool{}
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
	}
	for _, name := range []string{"purchase", "delete-token", "cancel-purchase-instruction", "initiate-purchase-instruction"} {
		assert.True(t, *byName[name].Annotations.DestructiveHint, name)
	}
	assert.True(t, byName["purchase"].Annotations.IdempotentHint)
	assert.NotEqual(t, byName["purchase-continue"].InputSchema, byName["add-card-continue"].InputSchema)
}

func walk(t *testing.T, where string, schema any, input bool) {
	t.Helper()
	var sc jsonschema.Schema
	data, err := jsonMarshal(schema)
	require.NoError(t, err)
	require.NoError(t, sc.UnmarshalJSON(data))
	var visit func(path string, s *jsonschema.Schema)
	visit = func(path string, s *jsonschema.Schema) {
		if s == nil {
			return
		}
		for _, ty := range s.Types {
			assert.NotEqual(t, "null", ty, "%s: %s is a null union", where, path)
		}
		for name, p := range s.Properties {
			if name == "status" || name == "method" || name == "action" || name == "stepUpMethod" {
				if input || where[len(where)-6:] == "output" && isJourneyTool(where) {
					assert.NotEmpty(t, p.Enum, "%s: %s.%s has no enum", where, path, name)
				}
			}
			visit(path+"."+name, p)
		}
		visit(path+"[]", s.Items)
	}
	visit("", &sc)
}

func isJourneyTool(where string) bool {
	for _, n := range []string{"add-card", "purchase", "list-transactions"} {
		if len(where) > len(n) && where[:len(n)] == n {
			return true
		}
	}
	return false
}

// TestPurchaseContinueWithReconciler: purchase-continue (following, and
// trying to cancel) races two reconcilers (this instance's agent and
// another's, sharing the store) settling a purchase left charged and
// unconfirmed, or with its merchant answer lost. Leases keep them apart:
// the card is charged once, every answer on the way is one the record
// allows, a cancel never takes back a charge, and the end is COMPLETED.
func TestPurchaseContinueWithReconciler(t *testing.T) {
	t.Parallel()
	confirmations := "POST /vacp/v1/instructions/{id}/confirmations"
	for i, c := range []struct {
		name    string
		rules   []sandbox.FaultRule
		status  string
		allowed []string
	}{
		{"charged unconfirmed", []sandbox.FaultRule{{Endpoint: confirmations, Kind: sandbox.Status503}}, mcpserver.StatusChargedUnconfirmed,
			[]string{mcpserver.StatusChargedUnconfirmed, mcpserver.StatusInProgress, mcpserver.StatusCompleted}},
		{"merchant answer lost", []sandbox.FaultRule{
			{Endpoint: "POST /sandbox/v1/merchant/authorizations", Kind: sandbox.DropAfterProcessing, Count: 1},
			// Every attempt of the look-up fails until the faults are
			// cleared (the retry classifier repeats a GET on a 500).
			{Endpoint: "GET /sandbox/v1/merchant/authorizations/{transactionReferenceId}", Kind: sandbox.Status500},
		}, mcpserver.StatusOutcomeUnknown,
			[]string{mcpserver.StatusOutcomeUnknown, mcpserver.StatusChargedUnconfirmed, mcpserver.StatusInProgress, mcpserver.StatusCompleted}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			other, err := mcpserver.New(e.cfg, mcpserver.WithStore(e.st), mcpserver.WithFrame(e.frame), mcpserver.WithMerchant(e.merchant))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, other.Close()) })
			u := newUser(140 + i)
			card := e.addCard(t, u, testPAN)
			require.NoError(t, e.sbx.SetFaults(sandbox.FaultPlan{Rules: c.rules}))
			p := ok[mcpserver.FlowResult](t, e, "purchase", purchaseArgs(u, card.Card.TokenID, "42.00"))
			require.Equal(t, c.status, p.Status, "%+v", p)
			require.Equal(t, 1, e.sbx.Inspect().ApprovalsTotal)
			e.sbx.ClearFaults()

			ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
			defer stop()
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				seen   = map[string]int{}
				passes = 0
			)
			settled := func() bool {
				rec, err := e.st.GetJourney(ctx, p.FlowID)
				return err == nil && rec.Status.Final()
			}
			for _, a := range []*mcpserver.Server{e.srv, other} {
				wg.Go(func() {
					for !settled() && ctx.Err() == nil {
						if _, err := a.Agent().Reconcile(ctx); err != nil && ctx.Err() == nil {
							t.Errorf("reconcile: %v", err)
							return
						}
						mu.Lock()
						passes++
						mu.Unlock()
					}
				})
			}
			for g := range 4 {
				wg.Go(func() {
					for n := 0; ctx.Err() == nil; n++ {
						args := map[string]any{"flowId": p.FlowID, "cancel": (g+n)%2 == 0}
						res, err := e.client.CallTool(ctx, &mcp.CallToolParams{Name: "purchase-continue", Arguments: args})
						if err != nil {
							t.Errorf("purchase-continue: %v", err)
							return
						}
						if res.IsError {
							t.Errorf("purchase-continue %v: %s", args, text(res))
							return
						}
						var r mcpserver.FlowResult
						data, _ := json.Marshal(res.StructuredContent)
						if err := json.Unmarshal(data, &r); err != nil {
							t.Errorf("purchase-continue: %v", err)
							return
						}
						mu.Lock()
						seen[r.Status]++
						mu.Unlock()
						if r.Status == mcpserver.StatusCompleted {
							return
						}
					}
				})
			}
			wg.Wait()
			require.NoError(t, ctx.Err(), "the purchase settled")
			for status := range seen {
				assert.Contains(t, c.allowed, status, "purchase-continue answered %s (all: %v)", status, seen)
			}
			t.Logf("answers %v, reconcile passes %d", seen, passes)
			final := ok[mcpserver.FlowResult](t, e, "purchase-continue", map[string]any{"flowId": p.FlowID, "cancel": true})
			assert.Equal(t, mcpserver.StatusCompleted, final.Status, "%+v", final)
			snap := e.sbx.Inspect()
			assert.Equal(t, 1, snap.ApprovalsTotal, "charged once")
			for id, n := range snap.ApprovalsPerCredential {
				assert.Equal(t, 1, n, "credential %s approved once", id)
			}
			txs := ok[mcpserver.ListTransactionsResult](t, e, "list-transactions", map[string]any{"userId": u.id}).Transactions
			require.Len(t, txs, 1)
			assert.Equal(t, "COMPLETED", txs[0].Status)
			e.assertNoSecrets(t)
		})
	}
}

// TestProvisionTokenBoundToCaller: with authentication and card arguments
// turned on, the token provision-token-given-pan-data makes is the
// caller's card: listed for the caller, usable by the low-level tools for
// the caller alone ("not a card of yours" to anyone else), recorded as
// enrolled once enroll-card succeeds. Without card arguments the tool is
// not offered at all.
func TestProvisionTokenBoundToCaller(t *testing.T) {
	t.Parallel()
	off := newEnv(t, mcpserver.WithRequireAuth(true))
	tools, err := connectAs(t, off.srv, "alice").ListTools(context.Background(), nil)
	require.NoError(t, err)
	for _, tl := range tools.Tools {
		assert.NotEqual(t, "provision-token-given-pan-data", tl.Name, "card arguments are off by default with authentication")
	}

	e := newEnv(t, mcpserver.WithRequireAuth(true), mcpserver.WithCardArguments(true))
	alice, bob := connectAs(t, e.srv, "alice"), connectAs(t, e.srv, "bob")
	p := okOn[mcpserver.ProvisionResult](t, e, alice, "provision-token-given-pan-data", map[string]any{"card": cardArgs(testPAN), "email": "alice@example.com"})
	tok, crid := p.VProvisionedTokenID, p.ClientReferenceID
	cards := okOn[mcpserver.ListCardsResult](t, e, alice, "list-cards", map[string]any{}).Cards
	require.Len(t, cards, 1)
	assert.Equal(t, tok, cards[0].TokenID)
	assert.Empty(t, okOn[mcpserver.ListCardsResult](t, e, bob, "list-cards", map[string]any{}).Cards)
	stored, err := e.st.GetCard(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, "alice", stored.UserID)
	assert.Equal(t, store.VICNone, stored.VICEnrollment)

	for _, tool := range []string{"get-token-status", "delete-token"} {
		res := e.callOn(t, bob, tool, map[string]any{"vProvisionedTokenId": tok})
		require.True(t, res.IsError, tool)
		assert.Contains(t, text(res), "not a card of yours", tool)
	}
	res := e.callOn(t, bob, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok, "clientReferenceId": crid,
		"action": "AUTHENTICATE", "email": "bob@example.com"})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "not a card of yours")

	// Alice onboards it with the low-level tools (steps 3-9).
	a := okOn[mcpserver.AttestationResult](t, e, alice, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "action": "AUTHENTICATE", "email": "alice@example.com"})
	b := okOn[mcpserver.DeviceBindingResult](t, e, alice, "device-binding-request", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "sessionHandle": a.SessionHandle, "email": "alice@example.com", "expiryMonth": 12, "expiryYear": 2030})
	require.Equal(t, "CHALLENGE", b.Status)
	okOn[mcpserver.StepUpResult](t, e, alice, "submit-idv-step-up-method", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "stepUpRequestId": b.StepUpMethods[0].StepUpRequestID})
	okOn[mcpserver.StatusResult](t, e, alice, "validate-otp", map[string]any{"vProvisionedTokenId": tok, "clientReferenceId": crid, "otp": sandbox.GoldenOTP})
	reg := okOn[mcpserver.AttestationResult](t, e, alice, "get-device-attestation-options", map[string]any{"vProvisionedTokenId": tok,
		"clientReferenceId": crid, "action": "REGISTER", "sessionHandle": a.SessionHandle, "email": "alice@example.com"})
	pk := okOn[mcpserver.PasskeyResult](t, e, alice, "authenticate-passkey", map[string]any{"sessionHandle": reg.SessionHandle})
	en := okOn[mcpserver.EnrollCardResult](t, e, alice, "enroll-card", map[string]any{"vProvisionedTokenId": tok,
		"assuranceHandle": pk.AssuranceHandle, "consumer": map[string]any{"email": "alice@example.com", "country": "US", "language": "en"}})
	assert.Equal(t, "ACTIVE", en.Status)
	stored, err = e.st.GetCard(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, store.VICEnrolled, stored.VICEnrollment, "the reconciler keeps an enrolled card")
	assert.Equal(t, store.TokenActive, stored.TokenStatus)

	// Deleting it removes the caller's record too.
	d := okOn[mcpserver.DeleteTokenResult](t, e, alice, "delete-token", map[string]any{"vProvisionedTokenId": tok})
	assert.True(t, d.RemovedFromStore)
	assert.Empty(t, okOn[mcpserver.ListCardsResult](t, e, alice, "list-cards", map[string]any{}).Cards)
	e.assertNoSecrets(t)
}
