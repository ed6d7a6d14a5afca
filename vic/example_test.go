package vic_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// exampleSetup onboards a card in an in-process sandbox and returns what
// a purchase needs: the client, the token, the device and a passkey
// assertion for amount (steps 1 to 12, done here with the agent).
func exampleSetup(amount visa.Amount) (sbx *sandbox.Sandbox, c *vic.Client, token string, ai visa.AppInstance, as fido.Assurance, dfp string, err error) {
	sbx, err = sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		return
	}
	cfg := sbx.Config()
	st, _ := memstore.New()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, _ := fido.NewSealer("k", map[string][]byte{"k": key})
	a, err := agent.New(cfg, st, sealer)
	if err != nil {
		return
	}
	dev := "exampledevice-0000000001"
	ai = visa.AppInstance{UserAgent: "Mozilla/5.0", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", ClientDeviceID: dev, DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}
	pan, _ := visa.ParsePAN("4111 1111 1111 1111")
	cvv, _ := visa.ParseCVV2("123")
	res, err := a.AddCard(context.Background(), agent.AddCardRequest{
		User:   store.User{ID: "user-1", Email: "alice@example.com", Country: "US", Language: "en"},
		Card:   vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 2}},
		Device: agent.Device{ClientDeviceID: dev, AppInstance: ai}, Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{"456789"}},
	})
	if err != nil {
		return
	}
	token = res.Card.TokenID
	vtsc, _ := vts.New(cfg)
	frame, _ := authframe.NewDirect(cfg)
	ctx := context.Background()
	s, err := frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: dev})
	if err != nil {
		return
	}
	ao, err := vtsc.AttestationOptions(ctx, vts.AttestationOptionsRequest{VProvisionedTokenID: token, Type: visa.ActionAuthenticate,
		ClientReferenceID: visa.NewClientReferenceID(), SessionContext: s.SessionContext, BrowserData: s.BrowserData, Amount: amount,
		Email: "alice@example.com", MerchantIdentifier: vts.MerchantIdentifier{ExternalClientID: cfg.VIC.ExternalClientID,
			ApplicationURL: "https://www.bestbuy.com", MerchantName: "Best Buy"}})
	if err != nil {
		return
	}
	as, err = frame.Authenticate(ctx, s, ao.AuthenticationContext)
	c, _ = vic.New(cfg)
	return sbx, c, token, ai, as, s.DFPSessionID, err
}

// The purchase half of the journey against the sandbox: an instruction
// (Step 13), a verified credential (Step 14) and the confirmation of the
// merchant's result (Step 16).
func ExampleClient_purchase() {
	amount := visa.MustParseAmount("129.99", "USD")
	sbx, c, token, ai, as, dfp, err := exampleSetup(amount)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sbx.Close()
	ctx := context.Background()

	ins, err := c.CreateInstruction(ctx, vic.CreateInstructionRequest{
		ConsumerID: "user-1", TokenID: token, AppInstance: ai, Assurance: as, DFPSessionID: dfp,
		ConsumerPrompt: "noise-cancelling headphones under $130",
		Mandates:       []vic.Mandate{{Description: "Noise-cancelling headphones", DeclineThreshold: amount, PreferredMerchantName: "Best Buy"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("instruction:", ins.Status)

	cr, err := c.RetrieveCredentials(ctx, vic.CredentialsRequest{
		ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID, TokenID: token,
		Transactions: []vic.TransactionData{{Amount: amount, MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cred := cr.Credentials.DynamicData[0]
	fmt.Println("credentials:", cr.Status, "verified:", cr.Credentials.Verified)
	fmt.Println("token prints masked:", strings.HasPrefix(cred.PaymentToken.String(), "****"))
	fmt.Println("dynamic value prints as:", cred.DynamicDataValue)

	// Step 15 happens at the merchant; then the result is confirmed.
	_, err = c.ConfirmTransaction(ctx, vic.ConfirmRequest{
		ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID,
		Confirmations: []vic.Confirmation{{TransactionReferenceID: cred.TransactionReferenceID, DynamicDataID: cred.DynamicDataID,
			Status: vic.TransactionApproved, Amount: amount, ResponseCode: "00"}},
	})
	fmt.Println("confirmed:", err == nil)

	// The instruction's single credential is spent.
	_, err = c.RetrieveCredentials(ctx, vic.CredentialsRequest{
		ClientReferenceID: ins.ClientReferenceID, InstructionID: ins.InstructionID, TokenID: token,
		Transactions: []vic.TransactionData{{TransactionReferenceID: "again", Amount: amount, MerchantName: "Best Buy", MerchantCountryCode: "US", MerchantURL: "https://www.bestbuy.com"}},
	})
	fmt.Println("second credential refused:", errors.Is(err, visa.ErrInstructionExpired))
	// Output:
	// instruction: ACTIVE
	// credentials: COMPLETED verified: true
	// token prints masked: true
	// dynamic value prints as: [REDACTED]
	// confirmed: true
	// second credential refused: true
}

// Verifying a signedPayload with a key source of your own.
func ExampleVerifier() {
	_, err := vic.NewVerifier(vic.StaticKeys{}, vic.WithAlgorithms("HS256"))
	fmt.Println(errors.Is(err, visa.ErrInvalidInput))
	_, err = vic.DecodeCredentialsUnverified("not-a-jwt")
	fmt.Println(errors.Is(err, vic.ErrPayloadInvalid))
	// Output:
	// true
	// true
}
