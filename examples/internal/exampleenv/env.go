package exampleenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/vts"
)

// Options choose the store and the logging of an example.
type Options struct {
	// OpenStore opens the example's store; nil means an in-memory one.
	// An example with a -db flag opens store/sqlite here, so the others
	// do not compile SQLite.
	OpenStore func(ctx context.Context) (store.Store, error)
	// Out, when set, receives the line saying which Visa the example
	// talks to.
	Out io.Writer
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
// standalone sandbox) to talk to: any variable of visa.ConfigFromEnv set.
func Configured() bool {
	for _, v := range visa.EnvVars {
		if os.Getenv(v.Name) != "" {
			return true
		}
	}
	return false
}

// Setup builds the environment. With VISA_* set it uses that Visa once it
// answers, and fails otherwise: it never falls back to the in-process
// sandbox.
func Setup(ctx context.Context, o Options) (*Env, error) {
	e := &Env{}
	if Configured() {
		cfg, err := visa.ConfigFromEnv()
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("the VISA_* environment: %w", err)
		}
		if err := Reachable(ctx, cfg); err != nil {
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
	if o.Out != nil {
		fmt.Fprintf(o.Out, "talking to %s\n", e.Where())
	}
	var err error
	if o.OpenStore == nil {
		e.Store, err = memstore.New()
	} else {
		e.Store, err = o.OpenStore(ctx)
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
		return "an in-process sandbox at " + vic + " (no VISA_* variable set)"
	}
	return vic + " (from the VISA_* environment, " + string(e.Config.Environment) + ")"
}

// Reachable checks that every base URL of cfg answers HTTP (any status
// will do) within a few seconds, naming the variable to fix when one does
// not.
func Reachable(ctx context.Context, cfg visa.Config) error {
	tlsCfg, err := cfg.TLS.ClientConfig()
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	vic, vtsURL, auth := cfg.BaseURLs()
	for _, b := range [][2]string{{"VISA_VIC_BASE_URL", vic}, {"VISA_VTS_BASE_URL", vtsURL}, {"VISA_AUTH_BASE_URL", auth}} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b[1]+"/", nil)
		if err != nil {
			return fmt.Errorf("%s: %w", b[0], err)
		}
		res, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s is %s, which does not answer (%v): start it (README.md, \"Pointing at Visa's sandbox\") "+
				"or unset the VISA_* variables to use an in-process sandbox", b[0], b[1], errors.Unwrap(err))
		}
		_ = res.Body.Close()
	}
	return nil
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
