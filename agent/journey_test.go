package agent_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

type env struct {
	sbx   *sandbox.Sandbox
	cfg   visa.Config
	st    store.Store
	agent *agent.Agent
}

func newEnv(t *testing.T, opts ...agent.Option) *env {
	t.Helper()
	sbx := sandbox.Start(t)
	cfg := sbx.Config()
	st, err := memstore.New()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	m, err := agent.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	a, err := agent.New(cfg, st, sealer, append([]agent.Option{agent.WithMerchant(m)}, opts...)...)
	require.NoError(t, err)
	return &env{sbx: sbx, cfg: cfg, st: st, agent: a}
}

func device(id string) agent.Device {
	return agent.Device{ClientDeviceID: id, AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Example Agent", CountryCode: "US",
		IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
	}}
}

func card(t *testing.T, pan string) vts.Card {
	p, err := visa.ParsePAN(pan)
	require.NoError(t, err)
	c, err := visa.ParseCVV2("123")
	require.NoError(t, err)
	return vts.Card{PAN: p, CVV2: c, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}, Name: "Alice Doe"}
}

func TestJourneySmoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := store.User{ID: "user-1", Email: "alice@example.com", Country: "US", Language: "en"}
	dev := device("aZ3-_k9aZ3-_k9aZ3-_k9aZ3")
	added, err := e.agent.AddCard(ctx, agent.AddCardRequest{User: u, Card: card(t, "4111111111111111"), Device: dev,
		Cardholder: &agent.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: []string{"456789"}}})
	require.NoError(t, err)
	assert.Equal(t, store.TokenActive, added.Card.TokenStatus)
	assert.Equal(t, store.VICEnrolled, added.Card.VICEnrollment)

	rec, err := e.agent.Purchase(ctx, agent.PurchaseRequest{UserID: u.ID, TokenID: added.Card.TokenID, Device: dev,
		Amount:   visa.MustParseAmount("129.99", "USD"),
		Merchant: agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US"},
		Description: "Noise-cancelling headphones"})
	require.NoError(t, err)
	assert.Equal(t, store.TxCompleted, rec.Transaction.Status)
	assert.True(t, rec.Authorization.Approved)
}
