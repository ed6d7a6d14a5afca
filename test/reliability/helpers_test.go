package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/vts"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is an io.Writer safe for concurrent loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func device(n int) agent.Device {
	id := fmt.Sprintf("device-%017d", n)
	return agent.Device{ClientDeviceID: id, AppInstance: visa.AppInstance{
		ClientDeviceID: id, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ApplicationName: "Reliability Agent",
		CountryCode: "US", IPAddress: "203.0.113.7", DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Apple"},
	}}
}

const testCVV2 = "123"

func card(t testing.TB, pan string) vts.Card {
	t.Helper()
	p, err := visa.ParsePAN(pan)
	require.NoError(t, err)
	c, err := visa.ParseCVV2(testCVV2)
	require.NoError(t, err)
	return vts.Card{PAN: p, CVV2: c, ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}, Name: "Alice Doe"}
}

func user(n int) store.User {
	return store.User{ID: fmt.Sprintf("user-%d", n), Email: fmt.Sprintf("user%d@example.com", n), Country: "US", Language: "en"}
}

func golden() *agenttest.ScriptedCardholder {
	return &agenttest.ScriptedCardholder{Method: vts.MethodOTPSMS, OTPs: []string{sandbox.GoldenOTP}}
}

func newSealer(t testing.TB) *fido.Sealer {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := fido.NewSealer("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	return s
}

func purchaseReq(u store.User, c store.Card, dev agent.Device, amount string) agent.PurchaseRequest {
	return agent.PurchaseRequest{UserID: u.ID, TokenID: c.TokenID, Device: dev,
		Amount:         visa.MustParseAmount(amount, "USD"),
		Merchant:       agent.MerchantInfo{Name: "Best Buy", URL: "https://www.bestbuy.com", CountryCode: "US", CategoryCode: "5732"},
		Description:    "Noise-cancelling headphones",
		ConsumerPrompt: "buy the Sony headphones under $130"}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
