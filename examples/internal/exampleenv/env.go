package exampleenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/store/sqlite"
	"github.com/vicgo/visa/vts"
)

// Options choose the store and the logging of an example.
type Options struct {
	// DB is a SQLite file; empty means an in-memory store.
	DB string
	// Log receives the SDK's records (nil: discarded).
	Log io.Writer
	// Debug lowers the log level to debug.
	Debug bool
	// Sandbox options for the in-process sandbox.
	Sandbox []sandbox.Option
}

// Env is a ready environment.
type Env struct {
	Config      visa.Config
	MerchantURL string
	// Sandbox is the in-process sandbox, nil when VISA_* points elsewhere.
	Sandbox *sandbox.Sandbox
	Store   store.Store
	Sealer  *fido.Sealer
}

// Configured reports whether the environment names a Visa (or a
// standalone sandbox) to talk to.
func Configured() bool {
	return os.Getenv("VISA_VTS_API_KEY") != "" || os.Getenv("VISA_VIC_API_KEY") != ""
}

// Setup builds the environment.
func Setup(ctx context.Context, o Options) (*Env, error) {
	e := &Env{}
	if Configured() {
		cfg, err := visa.ConfigFromEnv()
		if err != nil {
			return nil, err
		}
		e.Config, e.MerchantURL = cfg, os.Getenv("VISA_MERCHANT_URL")
	} else {
		s, err := sandbox.New(o.Sandbox...)
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox: %w", err)
		}
		e.Sandbox, e.Config, e.MerchantURL = s, s.Config(), s.MerchantURL()
	}
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	if o.Log != nil {
		e.Config.Logger = slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: level}))
	}
	var err error
	if o.DB == "" {
		e.Store, err = memstore.New()
	} else {
		e.Store, err = sqlite.Open(ctx, o.DB)
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if spec := os.Getenv("VISA_SEALER_KEYS"); spec != "" {
		e.Sealer, err = fido.ParseKeyring(spec)
	} else {
		// A fresh key per run: passkeys sealed now cannot be opened by a
		// later run. Set VISA_SEALER_KEYS ("kid:base64key") to keep them.
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		kid := "run-" + time.Now().UTC().Format("20060102150405")
		e.Sealer, err = fido.NewSealer(kid, map[string][]byte{kid: key})
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return e, nil
}

// Agent returns an agent over the environment, with the merchant when one
// is known.
func (e *Env) Agent(opts ...agent.Option) (*agent.Agent, error) {
	if e.MerchantURL != "" {
		m, err := agenttest.NewSandboxMerchant(e.MerchantURL, e.Config)
		if err != nil {
			return nil, err
		}
		opts = append([]agent.Option{agent.WithMerchant(m)}, opts...)
	}
	return agent.New(e.Config, e.Store, e.Sealer, opts...)
}

// Close releases the store and the sandbox.
func (e *Env) Close() {
	if e.Store != nil {
		_ = e.Store.Close()
	}
	if e.Sandbox != nil {
		_ = e.Sandbox.Close()
	}
}

// Where describes what the environment talks to.
func (e *Env) Where() string {
	vic, _, _ := e.Config.BaseURLs()
	if e.Sandbox != nil {
		return "in-process sandbox at " + vic
	}
	return vic
}

// User is the example's shopper.
func User() store.User {
	return store.User{ID: "user-alice", Email: "alice@example.com", Country: "US", Language: "en"}
}

// DeviceID is the example's device: a stable 24-character clientDeviceId.
const DeviceID = "example-device-000000001"

// Device is the example's device.
func Device() agent.Device {
	return agent.Device{ClientDeviceID: DeviceID, AppInstance: visa.AppInstance{
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) vicgo-example", ApplicationName: "vicgo example agent",
		CountryCode: "US", IPAddress: "203.0.113.7", ClientDeviceID: DeviceID,
		DeviceData: visa.DeviceData{Type: "Desktop", Brand: "Generic"},
	}}
}

// Card parses a test card (CVV2 123, expiring in three years).
func Card(pan string) (vts.Card, error) {
	p, err := visa.ParsePAN(pan)
	if err != nil {
		return vts.Card{}, err
	}
	c, err := visa.ParseCVV2("123")
	if err != nil {
		return vts.Card{}, err
	}
	return vts.Card{PAN: p, CVV2: c, Name: "Alice Doe",
		ExpirationDate: vts.ExpirationDate{Month: 12, Year: time.Now().Year() + 3}}, nil
}

// ErrNoMerchant means purchases need VISA_MERCHANT_URL when VISA_* points away
// from the in-process sandbox.
var ErrNoMerchant = errors.New("no merchant: set VISA_MERCHANT_URL (for a standalone sandbox: its /sandbox/v1/merchant/authorizations)")
