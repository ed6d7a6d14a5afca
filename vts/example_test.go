package vts_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/vts"
)

// exampleEnv starts an in-process sandbox and a client for it; stop it
// with the returned function.
func exampleEnv() (*env, func()) {
	clock := sandbox.NewManualClock(time.Now().Truncate(time.Second))
	sb, err := sandbox.New(sandbox.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	c, err := vts.New(sb.Config(), vts.WithClock(clock.Now))
	if err != nil {
		log.Fatal(err)
	}
	return &env{sb: sb, clock: clock, c: c, hc: sb.HTTPClient()}, func() { _ = sb.Close() }
}

// Steps 1 and 2: enroll a card, then provision a token for the agent.
func ExampleClient_ProvisionToken() {
	sb, err := sandbox.New()
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	c, err := vts.New(sb.Config())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	pan, _ := visa.ParsePAN("4111 1111 1111 1111")
	cvv, _ := visa.ParseCVV2("123")
	exp := vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}
	enr, err := c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: exp, Name: "Alice Doe"}})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.ProvisionToken(ctx, vts.ProvisionTokenRequest{
		VPanEnrollmentID: enr.VPanEnrollmentID, Email: "alice@example.com", ExpirationDate: exp,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("card:", pan) // a visa.PAN prints masked
	fmt.Println("enrolled card last4:", enr.PaymentInstrument.Last4)
	fmt.Println("token status:", tok.TokenInfo.TokenStatus)
	fmt.Println("token last4 is the token's own:", len(tok.TokenInfo.Last4) == 4 && tok.TokenInfo.Last4 != "1111")
	fmt.Println("has a token reference id:", tok.TokenReferenceID != "")
	// Output:
	// card: ****1111
	// enrolled card last4: 1111
	// token status: INACTIVE
	// token last4 is the token's own: true
	// has a token reference id: true
}

// A declined test card fails at provisioning with visa.ErrCardDeclined.
func ExampleClient_ProvisionToken_declined() {
	e, stop := exampleEnv()
	defer stop()
	_, err := e.provision(context.Background(), "4000000000000002")
	fmt.Println("declined:", errors.Is(err, visa.ErrCardDeclined))
	// Output:
	// declined: true
}

// Steps 4 to 7: the probe, device binding and the OTP step-up, with one
// client reference id for the whole flow.
func ExampleClient_DeviceBinding() {
	e, stop := exampleEnv()
	defer stop()
	ctx := context.Background()
	tok, err := e.provision(ctx, "4111111111111111")
	if err != nil {
		log.Fatal(err)
	}
	id := tok.VProvisionedTokenID
	s, err := e.openSession(ctx) // step 3: the Auth iFrame session
	if err != nil {
		log.Fatal(err)
	}
	ref := vts.WithClientReferenceID(visa.NewClientReferenceID())

	probe, err := e.c.AttestationOptions(ctx, vts.AttestationOptionsRequest{
		VProvisionedTokenID: id, Type: visa.ActionAuthenticate,
		SessionContext: s.Session, BrowserData: s.BrowserData, MerchantIdentifier: agent, Email: email,
	}, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("probe action:", probe.AuthenticationContext.Action)

	bind, err := e.c.DeviceBinding(ctx, vts.DeviceBindingRequest{
		VProvisionedTokenID: id, SessionContext: s.Session, BrowserData: s.BrowserData, Email: email,
	}, ref)
	if err != nil {
		log.Fatal(err)
	}
	var methods []string
	for _, m := range bind.StepUpRequest {
		methods = append(methods, m.Method)
	}
	fmt.Println("binding:", bind.Status, strings.Join(methods, " "))

	sel, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{
		VProvisionedTokenID: id, StepUpRequestID: bind.StepUpRequest[0].Identifier,
	}, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("OTP limits:", sel.MaxOTPRequestsAllowed, sel.MaxOTPVerificationAllowed)
	fmt.Println("OTP valid for:", sel.CodeExpiration.Sub(e.clock.Now()))

	otp, _ := visa.ParseOTP("456789") // the sandbox's golden OTP
	if _, err := e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: id, OTP: otp}, ref); err != nil {
		log.Fatal(err)
	}
	got, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token status:", got.TokenInfo.TokenStatus)
	// Output:
	// probe action: REGISTER
	// binding: CHALLENGE OTPSMS OTPEMAIL
	// OTP limits: 3 3
	// OTP valid for: 5m0s
	// token status: ACTIVE
}

// A wrong code costs an attempt; after three the challenge is locked
// until a new OTP is requested.
func ExampleClient_ValidateOTP() {
	e, stop := exampleEnv()
	defer stop()
	ctx := context.Background()
	tok, err := e.provision(ctx, "4111111111111111")
	if err != nil {
		log.Fatal(err)
	}
	s, err := e.openSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ref := visa.NewClientReferenceID()
	bind, err := e.c.DeviceBinding(ctx, s.binding(tok.VProvisionedTokenID, ref))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := e.c.SelectStepUpMethod(ctx, vts.SelectStepUpMethodRequest{
		VProvisionedTokenID: tok.VProvisionedTokenID, ClientReferenceID: ref, StepUpRequestID: bind.StepUpRequest[1].Identifier,
	}); err != nil {
		log.Fatal(err)
	}
	wrong, _ := visa.ParseOTP("000000")
	for i := 1; i <= 4; i++ {
		_, err := e.c.ValidateOTP(ctx, vts.ValidateOTPRequest{VProvisionedTokenID: tok.VProvisionedTokenID, ClientReferenceID: ref, OTP: wrong})
		fmt.Printf("attempt %d: invalid=%v locked=%v\n", i, errors.Is(err, visa.ErrOTPInvalid), errors.Is(err, visa.ErrOTPLimitExceeded))
	}
	// Output:
	// attempt 1: invalid=true locked=false
	// attempt 2: invalid=true locked=false
	// attempt 3: invalid=true locked=false
	// attempt 4: invalid=false locked=true
}

// Step 8 registers a passkey once the token is bound; step 11 asks to
// authenticate a purchase with it.
func ExampleClient_AttestationOptions() {
	e, stop := exampleEnv()
	defer stop()
	ctx := context.Background()
	tok, err := e.provision(ctx, "4111111111111111")
	if err != nil {
		log.Fatal(err)
	}
	id := tok.VProvisionedTokenID
	s, ref, err := e.bind(ctx, id) // steps 3 to 7
	if err != nil {
		log.Fatal(err)
	}
	reg, err := e.c.AttestationOptions(ctx, vts.AttestationOptionsRequest{
		VProvisionedTokenID: id, ClientReferenceID: ref, Type: visa.ActionRegister,
		SessionContext: s.Session, BrowserData: s.BrowserData, MerchantIdentifier: agent, Email: email,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("step 8:", reg.AuthenticationContext.Action)
	if _, err := s.authenticate(ctx, reg.AuthenticationContext); err != nil { // step 9, in the iFrame
		log.Fatal(err)
	}

	p, err := e.openSession(ctx) // step 10: a fresh session per purchase
	if err != nil {
		log.Fatal(err)
	}
	pay, err := e.c.AttestationOptions(ctx, vts.AttestationOptionsRequest{
		VProvisionedTokenID: id, ClientReferenceID: visa.NewClientReferenceID(), Type: visa.ActionAuthenticate,
		Amount:         visa.MustParseAmount("129.99", "USD"),
		SessionContext: p.Session, BrowserData: p.BrowserData, Email: email,
		MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: "visaagent", ApplicationURL: "https://agent.example.com", MerchantName: "Best Buy"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("step 11:", pay.AuthenticationContext.Action)
	// Output:
	// step 8: REGISTER
	// step 11: AUTHENTICATE
}

// Suspend, resume and delete a token; a deleted token stays readable.
func ExampleClient_DeleteToken() {
	e, stop := exampleEnv()
	defer stop()
	ctx := context.Background()
	tok, err := e.provision(ctx, "4012888888881881") // binds without OTP
	if err != nil {
		log.Fatal(err)
	}
	id := tok.VProvisionedTokenID
	if _, _, err := e.bind(ctx, id); err != nil {
		log.Fatal(err)
	}
	status := func() visa.TokenStatus {
		got, err := e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: id})
		if err != nil {
			log.Fatal(err)
		}
		return got.TokenInfo.TokenStatus
	}
	fmt.Println(status())
	if _, err := e.c.SuspendToken(ctx, vts.SuspendTokenRequest{VProvisionedTokenID: id}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(status())
	if _, err := e.c.ResumeToken(ctx, vts.ResumeTokenRequest{VProvisionedTokenID: id}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(status())
	if _, err := e.c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(status())
	_, err = e.c.DeleteToken(ctx, vts.DeleteTokenRequest{VProvisionedTokenID: id})
	fmt.Println("deleted twice is inactive:", errors.Is(err, visa.ErrTokenInactive))
	_, err = e.c.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "TOK-unknown"})
	fmt.Println("unknown token is not found:", errors.Is(err, visa.ErrNotFound))
	// Output:
	// ACTIVE
	// SUSPENDED
	// ACTIVE
	// DELETED
	// deleted twice is inactive: true
	// unknown token is not found: true
}

// An enrollment lives five minutes.
func ExampleClient_EnrollPAN() {
	e, stop := exampleEnv()
	defer stop()
	ctx := context.Background()
	card := e.card("4111111111111111")
	enr, err := e.c.EnrollPAN(ctx, vts.EnrollPANRequest{Card: card})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("last4:", enr.PaymentInstrument.Last4, "card art:", len(enr.CardMetaData.CardArt()) > 0)

	e.clock.Advance(6 * time.Minute)
	_, err = e.c.ProvisionToken(ctx, vts.ProvisionTokenRequest{VPanEnrollmentID: enr.VPanEnrollmentID, Email: email, ExpirationDate: card.ExpirationDate})
	fmt.Println("expired:", errors.Is(err, visa.ErrEnrollmentExpired))
	// Output:
	// last4: 1111 card art: true
	// expired: true
}

// Bad input is refused before anything is sent, naming the field.
func ExampleClient_GetToken_invalidInput() {
	e, stop := exampleEnv()
	defer stop()
	_, err := e.c.GetToken(context.Background(), vts.GetTokenRequest{})
	var ie *visa.InputError
	fmt.Println(errors.As(err, &ie), ie.Field)
	fmt.Println(err)
	// Output:
	// true VProvisionedTokenID
	// visa: vts.GetToken: invalid input: VProvisionedTokenID: is required
}
