package reliability

import (
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// oversize is longer than any field the wire allows.
var oversize = strings.Repeat("x", 70<<10)

// countedSandbox is a sandbox behind a request-counting server, and a
// Config pointing at the counter.
type countedSandbox struct {
	sbx *sandbox.Sandbox
	h   *countingHandler
	cfg visa.Config
}

func newCountedSandbox(t *testing.T) *countedSandbox {
	t.Helper()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	h := &countingHandler{h: sbx.Handler()}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := sbx.Config()
	cfg.VTSBaseURL, cfg.VICBaseURL, cfg.AuthBaseURL = srv.URL, srv.URL, srv.URL
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 1}
	return &countedSandbox{sbx: sbx, h: h, cfg: cfg}
}

// badCase is one malformed call; good is the same call with valid input,
// which must reach the server (so the bad one is refused for the field it
// breaks, not for some other reason).
type badCase struct {
	name string
	bad  func(ctx context.Context) error
}

type badGroup struct {
	method string
	good   func(ctx context.Context) error
	cases  []badCase
}

// runBadGroups runs every group: the control reaches the server; each bad
// call gives visa.ErrInvalidInput and sends nothing.
func runBadGroups(t *testing.T, cs *countedSandbox, groups []badGroup) {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	for _, g := range groups {
		t.Run(g.method, func(t *testing.T) {
			if g.good != nil {
				before := cs.h.n.Load()
				err := g.good(ctx)
				assert.False(t, errors.Is(err, visa.ErrInvalidInput), "control of %s refused as input: %v", g.method, err)
				assert.Greater(t, cs.h.n.Load(), before, "control of %s reached the server", g.method)
			}
			for _, c := range g.cases {
				before := cs.h.n.Load()
				err := c.bad(ctx)
				if assert.Error(t, err, c.name) {
					assert.ErrorIs(t, err, visa.ErrInvalidInput, "%s: %v", c.name, err)
					assert.Less(t, len(err.Error()), 512, "%s: a short message", c.name)
					assert.NotContains(t, err.Error(), sandbox.CardHappy, c.name)
				}
				assert.Equal(t, before, cs.h.n.Load(), "%s: no request sent", c.name)
			}
		})
	}
}

func mustAmount(v, cur string) visa.Amount { return visa.MustParseAmount(v, cur) }

func assurance(t *testing.T) fido.Assurance {
	b, err := fido.NewBlob("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	require.NoError(t, err)
	return fido.Assurance{FidoBlob: b, Identifier: "ID-reliability", RPID: "localhost"}
}

// TestBadInputParsers: the constructors of the root package refuse
// malformed values with visa.ErrInvalidInput, so that a negative,
// malformed or unknown-currency amount, a bad PAN, CVV2 or OTP cannot even
// be built.
func TestBadInputParsers(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "4111", "4111111111111112", "41111111111111a1", "4111-1111-1111-1111x", strings.Repeat("4", 40), oversize} {
		_, err := visa.ParsePAN(s)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, "PAN %.20q", s)
	}
	for _, s := range []string{"", "1", "12a", "12345", " 123"} {
		_, err := visa.ParseCVV2(s)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, "CVV2 %q", s)
	}
	for _, s := range []string{"", "12", "abcdef", "12345678901234567890", oversize} {
		_, err := visa.ParseOTP(s)
		assert.ErrorIs(t, err, visa.ErrInvalidInput, "OTP %.20q", s)
	}
	for _, a := range [][2]string{
		{"-1.00", "USD"}, {"1.2.3", "USD"}, {"abc", "USD"}, {"1e5", "USD"}, {"", "USD"}, {"1.001", "USD"},
		{"10", "JPYY"}, {"10.00", "ZZZ"}, {"10.00", ""}, {"10.00", "US"}, {oversize, "USD"}, {"99999999999999999999999", "USD"},
		{"+1.00", "USD"}, {" 1.00", "USD"}, {"NaN", "USD"}, {"Inf", "USD"},
	} {
		_, err := visa.ParseAmount(a[0], a[1])
		assert.ErrorIs(t, err, visa.ErrInvalidInput, "amount %.20q %q", a[0], a[1])
	}
	for _, m := range []int64{-1, -100} {
		_, err := visa.NewAmountMinor(m, "USD")
		assert.ErrorIs(t, err, visa.ErrInvalidInput, "minor %d", m)
	}
	_, err := visa.NewAmountMinor(100, "ZZZ")
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
}

// TestBadInputVTS: every VTS method refuses malformed input before
// sending anything.
func TestBadInputVTS(t *testing.T) {
	t.Parallel()
	cs := newCountedSandbox(t)
	c, err := vts.New(cs.cfg)
	require.NoError(t, err)
	goodCard := func() vts.Card { return card(t, sandbox.CardHappy) }
	withCard := func(mut func(*vts.Card)) func(context.Context) error {
		return func(ctx context.Context) error {
			cd := goodCard()
			mut(&cd)
			_, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: cd})
			return err
		}
	}
	sc := visa.SessionContext{SecureToken: visa.NewSecret("st-reliability")}
	browser := visa.BrowserData{UserAgent: "Mozilla/5.0", IPAddress: "203.0.113.7", BrowserLanguage: "en-US",
		BrowserJavaEnabled: "false", BrowserJavascriptEnabled: "true", BrowserColorDepth: "24",
		BrowserScreenHeight: "1080", BrowserScreenWidth: "1920", BrowserTimeZone: "0"}
	mi := vts.MerchantIdentifier{ExternalClientID: sandbox.ExternalClientID, ApplicationURL: "https://www.bestbuy.com", MerchantName: "Best Buy"}
	attest := func(mut func(*vts.AttestationOptionsRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := vts.AttestationOptionsRequest{VProvisionedTokenID: "tok-unknown", ClientReferenceID: visa.NewClientReferenceID(),
				Type: visa.ActionAuthenticate, SessionContext: sc, BrowserData: browser, Amount: mustAmount("10.00", "USD"), MerchantIdentifier: mi, Email: "a@example.com"}
			mut(&r)
			_, err := c.AttestationOptions(ctx, r)
			return err
		}
	}
	tokenID := func(call func(context.Context, string) error) []badCase {
		var out []badCase
		for _, id := range []string{"", ".", "..", "a/b", "../vts/panEnrollments", oversize} {
			out = append(out, badCase{"token id " + trunc(id), func(ctx context.Context) error { return call(ctx, id) }})
		}
		return out
	}
	groups := []badGroup{
		{method: "EnrollPAN", good: withCard(func(*vts.Card) {}), cases: []badCase{
			{"no PAN", withCard(func(c *vts.Card) { c.PAN = visa.PAN{} })},
			{"expired card", withCard(func(c *vts.Card) { c.ExpirationDate = vts.ExpirationDate{Month: 1, Year: 2020} })},
			{"month 13", withCard(func(c *vts.Card) { c.ExpirationDate.Month = 13 })},
			{"month 0", withCard(func(c *vts.Card) { c.ExpirationDate.Month = 0 })},
			{"two-digit year", withCard(func(c *vts.Card) { c.ExpirationDate.Year = 29 })},
			{"no expiry", withCard(func(c *vts.Card) { c.ExpirationDate = vts.ExpirationDate{} })},
			{"oversize name", withCard(func(c *vts.Card) { c.Name = oversize })},
		}},
		{method: "ProvisionToken", good: func(ctx context.Context) error {
			_, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: "enr-unknown", Email: "a@example.com", ExpirationDate: goodCard().ExpirationDate})
			return err
		}, cases: []badCase{
			{"no enrollment id", func(ctx context.Context) error {
				_, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{Email: "a@example.com", ExpirationDate: goodCard().ExpirationDate})
				return err
			}},
			{"enrollment id with a slash", func(ctx context.Context) error {
				_, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: "a/../b", Email: "a@example.com", ExpirationDate: goodCard().ExpirationDate})
				return err
			}},
			{"no email", func(ctx context.Context) error {
				_, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: "enr-unknown", ExpirationDate: goodCard().ExpirationDate})
				return err
			}},
			{"oversize email", func(ctx context.Context) error {
				_, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: "enr-unknown", Email: oversize + "@example.com", ExpirationDate: goodCard().ExpirationDate})
				return err
			}},
		}},
		{method: "ProvisionTokenWithPAN", good: func(ctx context.Context) error {
			_, err := c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: goodCard(), Email: "a@example.com"})
			return err
		}, cases: []badCase{
			{"no PAN", func(ctx context.Context) error {
				cd := goodCard()
				cd.PAN = visa.PAN{}
				_, err := c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: cd, Email: "a@example.com"})
				return err
			}},
			{"expired card", func(ctx context.Context) error {
				cd := goodCard()
				cd.ExpirationDate = vts.ExpirationDate{Month: 1, Year: 2020}
				_, err := c.ProvisionTokenWithPAN(ctx, vts.ProvisionTokenWithPANRequest{Card: cd, Email: "a@example.com"})
				return err
			}},
		}},
		{method: "GetToken", good: func(ctx context.Context) error {
			_, err := c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "tok-unknown"})
			return err
		}, cases: tokenID(func(ctx context.Context, id string) error {
			_, err := c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
			return err
		})},
		{method: "DeleteToken", cases: tokenID(func(ctx context.Context, id string) error {
			_, err := c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id})
			return err
		})},
		{method: "SuspendToken", cases: tokenID(func(ctx context.Context, id string) error {
			_, err := c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id})
			return err
		})},
		{method: "ResumeToken", cases: tokenID(func(ctx context.Context, id string) error {
			_, err := c.ResumeToken(ctx, vts.ResumeTokenRequest{VProvisionedTokenID: id})
			return err
		})},
		{method: "GetPANEnrollment", cases: []badCase{{"no id", func(ctx context.Context) error {
			_, err := c.GetPANEnrollment(ctx, vts.GetPANEnrollmentRequest{})
			return err
		}}}},
		{method: "GetContent", cases: []badCase{{"no guid", func(ctx context.Context) error {
			_, err := c.GetContent(ctx, vts.GetContentRequest{})
			return err
		}}, {"guid with a slash", func(ctx context.Context) error {
			_, err := c.GetContent(ctx, vts.GetContentRequest{GUID: "../x"})
			return err
		}}}},
		{method: "AttestationOptions", good: attest(func(*vts.AttestationOptionsRequest) {}), cases: []badCase{
			{"no token", attest(func(r *vts.AttestationOptionsRequest) { r.VProvisionedTokenID = "" })},
			{"unknown action", attest(func(r *vts.AttestationOptionsRequest) { r.Type = "PAY_ME" })},
			{"no secureToken", attest(func(r *vts.AttestationOptionsRequest) { r.SessionContext = visa.SessionContext{} })},
			{"no browser data", attest(func(r *vts.AttestationOptionsRequest) { r.BrowserData = visa.BrowserData{} })},
			{"no merchant", attest(func(r *vts.AttestationOptionsRequest) { r.MerchantIdentifier = vts.MerchantIdentifier{} })},
			{"oversize merchant name", attest(func(r *vts.AttestationOptionsRequest) { r.MerchantIdentifier.MerchantName = oversize })},
		}},
		{method: "DeviceBinding", cases: []badCase{
			{"no token", func(ctx context.Context) error {
				_, err := c.DeviceBinding(ctx, vts.DeviceBindingRequest{ClientReferenceID: visa.NewClientReferenceID(), SessionContext: sc, Email: "a@example.com"})
				return err
			}},
			{"no secureToken", func(ctx context.Context) error {
				_, err := c.DeviceBinding(ctx, vts.DeviceBindingRequest{VProvisionedTokenID: "tok-unknown", ClientReferenceID: visa.NewClientReferenceID(), Email: "a@example.com"})
				return err
			}},
		}},
		{method: "SelectStepUpMethod", cases: []badCase{{"no step-up id", func(ctx context.Context) error {
			_, err := c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{VProvisionedTokenID: "tok-unknown", ClientReferenceID: visa.NewClientReferenceID()})
			return err
		}}}},
		{method: "ValidateOTP", cases: []badCase{{"no OTP", func(ctx context.Context) error {
			_, err := c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: "tok-unknown", ClientReferenceID: visa.NewClientReferenceID()})
			return err
		}}}},
	}
	// The request counter proves nothing was sent; the controls are the
	// only calls that changed the sandbox.
	runBadGroups(t, cs, groups)
}

func trunc(s string) string {
	if len(s) > 24 {
		return s[:12] + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return "\"" + s + "\""
}

// TestBadInputVIC: every VIC method refuses malformed input before
// encrypting or sending anything.
func TestBadInputVIC(t *testing.T) {
	t.Parallel()
	cs := newCountedSandbox(t)
	c, err := vic.New(cs.cfg)
	require.NoError(t, err)
	before := cs.sbx.Inspect()
	ai := device(1).AppInstance
	instr := func(mut func(*vic.CreateInstructionRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := vic.CreateInstructionRequest{ConsumerID: "user-1", TokenID: "tok-unknown", AppInstance: ai, Assurance: assurance(t),
				DFPSessionID: "dfp-1", ConsumerPrompt: "buy headphones",
				Mandates: []vic.Mandate{{Description: "Headphones", DeclineThreshold: mustAmount("100.00", "USD"), Quantity: 1}}}
			mut(&r)
			_, err := c.CreateInstruction(ctx, r)
			return err
		}
	}
	creds := func(mut func(*vic.CredentialsRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := vic.CredentialsRequest{ClientReferenceID: visa.NewClientReferenceID(), InstructionID: "ins-unknown", TokenID: "tok-unknown",
				Transactions: []vic.TransactionData{{Amount: mustAmount("10.00", "USD"), MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}}}
			mut(&r)
			_, err := c.RetrieveCredentials(ctx, r)
			return err
		}
	}
	confirm := func(mut func(*vic.ConfirmRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := vic.ConfirmRequest{ClientReferenceID: visa.NewClientReferenceID(), InstructionID: "ins-unknown",
				Confirmations: []vic.Confirmation{{TransactionReferenceID: "ins-unknown", DynamicDataID: "dd-1", Status: vic.TransactionApproved,
					Amount: mustAmount("10.00", "USD"), ResponseCode: "00", MerchantName: "Best Buy"}}}
			mut(&r)
			_, err := c.ConfirmTransaction(ctx, r)
			return err
		}
	}
	enroll := func(mut func(*vic.EnrollCardRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := vic.EnrollCardRequest{Consumer: vic.Consumer{ConsumerID: "user-1", Email: "a@example.com", CountryCode: "US", LanguageCode: "en"},
				AppInstance: ai, TokenID: "tok-unknown", Assurance: assurance(t), Ceremony: fido.Register, DFPSessionID: "dfp-1"}
			mut(&r)
			_, err := c.EnrollCard(ctx, r)
			return err
		}
	}
	groups := []badGroup{
		{method: "CreateInstruction", good: instr(func(*vic.CreateInstructionRequest) {}), cases: []badCase{
			{"no token", instr(func(r *vic.CreateInstructionRequest) { r.TokenID = "" })},
			{"no consumer", instr(func(r *vic.CreateInstructionRequest) { r.ConsumerID = "" })},
			{"no assurance", instr(func(r *vic.CreateInstructionRequest) { r.Assurance = fido.Assurance{} })},
			{"no mandate", instr(func(r *vic.CreateInstructionRequest) { r.Mandates = nil })},
			{"mandate without amount", instr(func(r *vic.CreateInstructionRequest) { r.Mandates[0].DeclineThreshold = visa.Amount{} })},
			{"mandate with negative quantity", instr(func(r *vic.CreateInstructionRequest) { r.Mandates[0].Quantity = -1 })},
			{"mandate without description", instr(func(r *vic.CreateInstructionRequest) { r.Mandates[0].Description = "" })},
			{"oversize description", instr(func(r *vic.CreateInstructionRequest) { r.Mandates[0].Description = oversize })},
			{"oversize prompt", instr(func(r *vic.CreateInstructionRequest) { r.ConsumerPrompt = oversize })},
			{"bad app instance", instr(func(r *vic.CreateInstructionRequest) { r.AppInstance.CountryCode = "USA" })},
		}},
		{method: "UpdateInstruction", cases: []badCase{
			{"no instruction id", func(ctx context.Context) error {
				_, err := c.UpdateInstruction(ctx, vic.UpdateInstructionRequest{ConsumerID: "user-1", TokenID: "tok-unknown", AppInstance: ai, Assurance: assurance(t),
					Mandates: []vic.Mandate{{Description: "x", DeclineThreshold: mustAmount("1.00", "USD")}}})
				return err
			}},
		}},
		{method: "CancelInstruction", cases: []badCase{
			{"no instruction id", func(ctx context.Context) error {
				_, err := c.CancelInstruction(ctx, vic.CancelRequest{AppInstance: ai})
				return err
			}},
			{"instruction id with a slash", func(ctx context.Context) error {
				_, err := c.CancelInstruction(ctx, vic.CancelRequest{InstructionID: "../cards", AppInstance: ai})
				return err
			}},
		}},
		{method: "RetrieveCredentials", good: creds(func(*vic.CredentialsRequest) {}), cases: []badCase{
			{"no instruction id", creds(func(r *vic.CredentialsRequest) { r.InstructionID = "" })},
			{"no token", creds(func(r *vic.CredentialsRequest) { r.TokenID = "" })},
			{"no transaction", creds(func(r *vic.CredentialsRequest) { r.Transactions = nil })},
			{"transaction without amount", creds(func(r *vic.CredentialsRequest) { r.Transactions[0].Amount = visa.Amount{} })},
			{"bad merchant country", creds(func(r *vic.CredentialsRequest) { r.Transactions[0].MerchantCountryCode = "USA" })},
			{"no merchant name", creds(func(r *vic.CredentialsRequest) { r.Transactions[0].MerchantName = "" })},
			{"oversize merchant name", creds(func(r *vic.CredentialsRequest) { r.Transactions[0].MerchantName = oversize })},
		}},
		{method: "ConfirmTransaction", good: confirm(func(*vic.ConfirmRequest) {}), cases: []badCase{
			{"no instruction id", confirm(func(r *vic.ConfirmRequest) { r.InstructionID = "" })},
			{"no confirmation", confirm(func(r *vic.ConfirmRequest) { r.Confirmations = nil })},
			{"unknown status", confirm(func(r *vic.ConfirmRequest) { r.Confirmations[0].Status = "MAYBE" })},
			{"no amount", confirm(func(r *vic.ConfirmRequest) { r.Confirmations[0].Amount = visa.Amount{} })},
		}},
		{method: "EnrollCard", good: enroll(func(*vic.EnrollCardRequest) {}), cases: []badCase{
			{"no token", enroll(func(r *vic.EnrollCardRequest) { r.TokenID = "" })},
			{"no assurance", enroll(func(r *vic.EnrollCardRequest) { r.Assurance = fido.Assurance{} })},
			{"no consumer id", enroll(func(r *vic.EnrollCardRequest) { r.Consumer.ConsumerID = "" })},
			{"bad email", enroll(func(r *vic.EnrollCardRequest) { r.Consumer.Email = "not an email" })},
			{"unknown ceremony", enroll(func(r *vic.EnrollCardRequest) { r.Ceremony = "DANCE" })},
		}},
	}
	runBadGroups(t, cs, groups)
	after := cs.sbx.Inspect()
	assert.Equal(t, before.InstructionsCreated, after.InstructionsCreated)
	assert.Equal(t, before.CredentialsIssued, after.CredentialsIssued)
	assert.Equal(t, before.ConfirmationsTotal, after.ConfirmationsTotal)
}

// TestBadInputAuthFrame: the Direct frame refuses a bad device id, a
// missing session and a bad authentication context before any request.
func TestBadInputAuthFrame(t *testing.T) {
	t.Parallel()
	cs := newCountedSandbox(t)
	d, err := authframe.NewDirect(cs.cfg)
	require.NoError(t, err)
	ac := visa.AuthenticationContext{Action: visa.ActionAuthenticate, Identifier: "id", Payload: "p", Endpoint: "e"}
	groups := []badGroup{
		{method: "Open", good: func(ctx context.Context) error {
			s, err := d.Open(ctx, authframe.OpenRequest{ClientDeviceID: device(1).ClientDeviceID})
			if err == nil {
				return d.Close(ctx, s)
			}
			return err
		}, cases: []badCase{
			{"no device id", func(ctx context.Context) error {
				_, err := d.Open(ctx, authframe.OpenRequest{})
				return err
			}},
			{"short device id", func(ctx context.Context) error {
				_, err := d.Open(ctx, authframe.OpenRequest{ClientDeviceID: "short"})
				return err
			}},
			{"oversize device id", func(ctx context.Context) error {
				_, err := d.Open(ctx, authframe.OpenRequest{ClientDeviceID: oversize})
				return err
			}},
		}},
		{method: "Authenticate", cases: []badCase{
			{"nil session", func(ctx context.Context) error {
				_, err := d.Authenticate(ctx, nil, ac)
				return err
			}},
			{"session without secureToken", func(ctx context.Context) error {
				_, err := d.Authenticate(ctx, &authframe.Session{}, ac)
				return err
			}},
		}},
		{method: "Close", cases: []badCase{
			{"nil session", func(ctx context.Context) error { return d.Close(ctx, nil) }},
		}},
	}
	runBadGroups(t, cs, groups)
}

// TestBadInputAgent: AddCard and Purchase refuse malformed requests with
// no request to Visa and no record stored.
func TestBadInputAgent(t *testing.T) {
	t.Parallel()
	cs := newCountedSandbox(t)
	st, err := memstore.New()
	require.NoError(t, err)
	m, err := agenttest.NewSandboxMerchant(cs.sbx.MerchantURL(), cs.cfg)
	require.NoError(t, err)
	a, err := agent.New(cs.cfg, st, newSealer(t), agent.WithMerchant(m))
	require.NoError(t, err)
	ctx := ctxTimeout(t, time.Minute)
	u, dev := user(1), device(1)
	added, err := a.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, sandbox.CardHappy), Device: dev, Cardholder: golden()})
	require.NoError(t, err)

	addCard := func(mut func(*agent.AddCardRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := agent.AddCardRequest{User: user(2), Card: card(t, sandbox.CardHappy), Device: device(2), Cardholder: golden()}
			mut(&r)
			_, err := a.AddCard(ctx, r)
			return err
		}
	}
	buy := func(mut func(*agent.PurchaseRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := purchaseReq(u, added.Card, dev, "10.00")
			mut(&r)
			_, err := a.Purchase(ctx, r)
			return err
		}
	}
	groups := []badGroup{
		{method: "AddCard", cases: []badCase{
			{"no PAN", addCard(func(r *agent.AddCardRequest) { r.Card.PAN = visa.PAN{} })},
			{"expired card", addCard(func(r *agent.AddCardRequest) { r.Card.ExpirationDate = vts.ExpirationDate{Month: 1, Year: 2020} })},
			{"no user id", addCard(func(r *agent.AddCardRequest) { r.User.ID = "" })},
			{"oversize user id", addCard(func(r *agent.AddCardRequest) { r.User.ID = oversize })},
			{"user id with spaces", addCard(func(r *agent.AddCardRequest) { r.User.ID = "a user" })},
			{"bad email", addCard(func(r *agent.AddCardRequest) { r.User.Email = "nope" })},
			{"oversize name", addCard(func(r *agent.AddCardRequest) { r.Card.Name = oversize })},
			{"no device", addCard(func(r *agent.AddCardRequest) { r.Device = agent.Device{} })},
		}},
		{method: "Purchase", cases: []badCase{
			{"zero amount", buy(func(r *agent.PurchaseRequest) { r.Amount = visa.Amount{} })},
			{"no user id", buy(func(r *agent.PurchaseRequest) { r.UserID = "" })},
			{"no token id", buy(func(r *agent.PurchaseRequest) { r.TokenID = "" })},
			{"oversize merchant name", buy(func(r *agent.PurchaseRequest) { r.Merchant.Name = oversize })},
			{"oversize description", buy(func(r *agent.PurchaseRequest) { r.Description = oversize })},
			{"oversize prompt", buy(func(r *agent.PurchaseRequest) { r.ConsumerPrompt = oversize })},
			{"oversize order id", buy(func(r *agent.PurchaseRequest) { r.OrderID = oversize })},
			{"merchant url not http", buy(func(r *agent.PurchaseRequest) { r.Merchant.URL = "javascript:alert(1)" })},
			{"bad merchant country", buy(func(r *agent.PurchaseRequest) { r.Merchant.CountryCode = "U" })},
			{"someone else's card", buy(func(r *agent.PurchaseRequest) { r.UserID = "user-2" })},
		}},
	}
	runBadGroups(t, cs, groups)
	for _, err := range st.ListCards(ctx, "user-2") {
		require.NoError(t, err)
		t.Error("a card was stored for a refused AddCard")
	}
	_, err = st.GetUser(ctx, "user-2")
	assert.ErrorIs(t, err, store.ErrNotFound, "no user stored for a refused AddCard")
	for tx, err := range st.ListTransactions(ctx, store.TxFilter{}) {
		require.NoError(t, err)
		t.Errorf("a transaction was stored for a refused purchase: %s", tx.ID)
	}
}

// TestBadInputStores: both stores refuse malformed records with
// store.ErrInvalid and keep nothing (the SQLite tables are read back with
// database/sql).
func TestBadInputStores(t *testing.T) {
	t.Parallel()
	ctx := ctxTimeout(t, time.Minute)
	mem, err := memstore.New()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "bad.db")
	sq, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sq.Close() })
	for name, st := range map[string]store.Store{"memstore": mem, "sqlstore": sq} {
		t.Run(name, func(t *testing.T) {
			goodUser := store.User{ID: "user-1", Email: "a@example.com", Country: "US", Language: "en"}
			require.NoError(t, st.PutUser(ctx, goodUser))
			goodCard := store.Card{TokenID: "tok-1", UserID: "user-1", Last4: "1234", ExpiryMonth: 12, ExpiryYear: 2030,
				TokenStatus: store.TokenActive, VICEnrollment: store.VICEnrolled}
			require.NoError(t, st.PutCard(ctx, goodCard))
			goodTx := store.Transaction{ID: "tx-1", UserID: "user-1", TokenID: "tok-1", ClientReferenceID: "cr-1", MandateID: "m-1",
				Amount: "10.00", Currency: "USD", Status: store.TxPending}

			users := map[string]func(*store.User){
				"no id": func(u *store.User) { u.ID = "" }, "oversize id": func(u *store.User) { u.ID = oversize },
				"id with space": func(u *store.User) { u.ID = "a b" }, "bad country": func(u *store.User) { u.Country = "USA" },
				"oversize email": func(u *store.User) { u.Email = oversize },
			}
			for n, mut := range users {
				u := goodUser
				u.ID = "user-bad"
				mut(&u)
				assert.ErrorIs(t, st.PutUser(ctx, u), store.ErrInvalid, "user %s", n)
			}
			cards := map[string]func(*store.Card){
				"no token": func(c *store.Card) { c.TokenID = "" }, "last4 of 5": func(c *store.Card) { c.Last4 = "12345" },
				"a PAN as last4": func(c *store.Card) { c.Last4 = sandbox.CardHappy }, "month 13": func(c *store.Card) { c.ExpiryMonth = 13 },
				"year 29": func(c *store.Card) { c.ExpiryYear = 29 }, "unknown status": func(c *store.Card) { c.TokenStatus = "MAYBE" },
				"art not http": func(c *store.Card) { c.CardArtURL = "javascript:alert(1)" }, "oversize token": func(c *store.Card) { c.TokenID = oversize },
			}
			for n, mut := range cards {
				c := goodCard
				c.TokenID = "tok-bad"
				mut(&c)
				assert.ErrorIs(t, st.PutCard(ctx, c), store.ErrInvalid, "card %s", n)
			}
			txs := map[string]func(*store.Transaction){
				"no id": func(x *store.Transaction) { x.ID = "" }, "negative amount": func(x *store.Transaction) { x.Amount = "-1.00" },
				"malformed amount": func(x *store.Transaction) { x.Amount = "1,00" }, "too many decimals": func(x *store.Transaction) { x.Amount = "1.0001" },
				"unknown currency": func(x *store.Transaction) { x.Currency = "ZZZ" }, "lower-case currency": func(x *store.Transaction) { x.Currency = "usd" },
				"unknown status":    func(x *store.Transaction) { x.Status = "MAYBE" },
				"PAN in the reason": func(x *store.Transaction) { x.FailureReason = "card " + sandbox.CardHappy },
				"oversize merchant": func(x *store.Transaction) { x.MerchantName = oversize },
			}
			for n, mut := range txs {
				x := goodTx
				x.ID = "tx-bad"
				mut(&x)
				assert.ErrorIs(t, st.CreateTransaction(ctx, x), store.ErrInvalid, "transaction %s", n)
			}
			require.NoError(t, st.CreateTransaction(ctx, goodTx))
			reason := "card " + sandbox.CardHappy
			for n, call := range map[string]func() error{
				"unknown target status": func() error {
					_, err := st.TransitionTransaction(ctx, "tx-1", store.TxPending, "MAYBE", store.TxUpdate{})
					return err
				},
				"PAN in the reason": func() error {
					_, err := st.TransitionTransaction(ctx, "tx-1", store.TxPending, store.TxFailed, store.TxUpdate{FailureReason: &reason})
					return err
				},
				"empty id": func() error {
					_, err := st.TransitionTransaction(ctx, "", store.TxPending, store.TxFailed, store.TxUpdate{})
					return err
				},
				"bad filter": func() error {
					for _, err := range st.ListTransactions(ctx, store.TxFilter{Limit: -1}) {
						return err
					}
					return nil
				},
			} {
				assert.ErrorIs(t, call(), store.ErrInvalid, n)
			}
			got, err := st.GetTransaction(ctx, "tx-1")
			require.NoError(t, err)
			assert.Equal(t, store.TxPending, got.Status, "a refused transition changes nothing")
			_, err = st.GetUser(ctx, "user-bad")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = st.GetCard(ctx, "tok-bad")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = st.GetTransaction(ctx, "tx-bad")
			assert.ErrorIs(t, err, store.ErrNotFound)
		})
	}
	// The SQLite file holds exactly the good rows.
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	for table, want := range map[string]int{"users": 1, "cards": 1, "transactions": 1} {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n), table)
		assert.Equal(t, want, n, table)
	}
}
