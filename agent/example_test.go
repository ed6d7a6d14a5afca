package agent_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

// Add a card, buy with it, and list the purchases, against the in-process
// sandbox. A repeated purchase with the same idempotency key returns the
// first one's outcome instead of charging again.
func Example() {
	ctx := context.Background()
	sb, err := sandbox.New(sandbox.WithPlainHTTP())
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	cfg := sb.Config()

	st, _ := memstore.New()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, _ := fido.NewSealer("k1", map[string][]byte{"k1": key})
	merchant, _ := agenttest.NewSandboxMerchant(sb.MerchantURL(), cfg)
	a, err := agent.New(cfg, st, sealer, agent.WithMerchant(merchant))
	if err != nil {
		log.Fatal(err)
	}

	user := store.User{ID: "alice", Email: "alice@example.com", Country: "US", Language: "en"}
	device := agent.Device{ClientDeviceID: "alice-laptop-00000000001", AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0", ApplicationName: "Shopping Agent", CountryCode: "US", IPAddress: "203.0.113.7",
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"}}}
	pan, _ := visa.ParsePAN(sandbox.CardHappy)
	cvv, _ := visa.ParseCVV2("917")
	added, err := a.AddCard(ctx, agent.AddCardRequest{User: user, Device: device,
		Card:       vts.Card{PAN: pan, CVV2: cvv, ExpirationDate: vts.ExpirationDate{Month: 12, Year: 2039}},
		Cardholder: &agenttest.ScriptedCardholder{OTPs: []string{sandbox.GoldenOTP}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("card:", added.Card.TokenStatus, added.Card.VICEnrollment, "step-up", added.StepUp)

	buy := agent.PurchaseRequest{IdempotencyKey: "order-1001", UserID: user.ID, TokenID: added.Card.TokenID,
		Device: device, Amount: visa.MustParseAmount("25.00", "USD"), Description: "A book",
		Merchant: agent.MerchantInfo{Name: "Bookshop", URL: "https://books.example", CountryCode: "US"}}
	receipt, err := a.Purchase(ctx, buy)
	switch {
	case agent.MayHaveCharged(err):
		fmt.Println("do not retry: the reconciler settles it")
	case errors.Is(err, agent.ErrDeclined):
		fmt.Println("declined")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("purchase:", receipt.Transaction.Status, receipt.Transaction.Amount, receipt.Transaction.Currency)

	again, err := a.Purchase(ctx, buy) // a retry after a timeout, say
	fmt.Println("repeat:", again.Transaction.Status, "replayed", again.Replayed, "same", again.Transaction.ID == receipt.Transaction.ID, err)

	for tx, err := range a.Transactions(ctx, store.TxFilter{UserID: user.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listed:", tx.Status, tx.Amount, tx.MerchantName)
	}
	fmt.Println("sandbox charges:", sb.ChargesFor(receipt.Transaction.TransactionReferenceID))
	// Output:
	// card: ACTIVE ENROLLED step-up OTPSMS
	// purchase: COMPLETED 25.00 USD
	// repeat: COMPLETED replayed true same true <nil>
	// listed: COMPLETED 25.00 Bookshop
	// sandbox charges: 1
}
