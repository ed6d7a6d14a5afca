package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/vicgo/visa/tap"
)

// Option configures a Sandbox. Options are applied in order by New; an
// option that returns an error makes New fail.
type Option func(*options) error

type options struct {
	plainHTTP      bool
	addr           string
	clock          Clock
	lifetimes      Lifetimes
	faults         FaultPlan
	seed           *int64
	logger         *slog.Logger
	maxBody        int64
	allowedOrigins []string
	freshKeys      bool
	keyDir         string
	retention      time.Duration
	maxRetained    int
	inMemory       bool
	mutualTLS      bool
	merchantTAP    *tap.Verifier
}

// Defaults of the options.
const (
	// DefaultAddr is where New listens: an ephemeral loopback port.
	DefaultAddr = "127.0.0.1:0"
	// DefaultMaxBody bounds request bodies; larger ones get 413.
	DefaultMaxBody = 1 << 20
	// DefaultRetention is how long finished or expired state (enrollments,
	// instructions, credentials, authorizations) is kept for inspection
	// before the janitor drops it.
	DefaultRetention = 30 * time.Minute
)

func defaultOptions() options {
	return options{
		addr:        DefaultAddr,
		clock:       SystemClock{},
		maxBody:     DefaultMaxBody,
		retention:   DefaultRetention,
		maxRetained: DefaultMaxRetained,
		logger:      slog.New(slog.DiscardHandler),
	}
}

// WithMutualTLS makes the TLS server require a client certificate issued
// by the sandbox's CA (Visa's two-way SSL). The sandbox issues one, and
// Config carries it, so a client configured from Config connects; a client
// without it is refused during the handshake. It needs TLS: it cannot be
// combined with WithPlainHTTP.
func WithMutualTLS() Option {
	return func(o *options) error { o.mutualTLS = true; return nil }
}

// WithPlainHTTP serves plain HTTP instead of TLS.
func WithPlainHTTP() Option {
	return func(o *options) error { o.plainHTTP = true; return nil }
}

// WithAddr sets the listen address (default 127.0.0.1:0). Base URLs always
// name the host "localhost" (the WebAuthn RP id), whatever the listen host.
func WithAddr(addr string) Option {
	return func(o *options) error {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("sandbox: WithAddr: %w", err)
		}
		o.addr = addr
		return nil
	}
}

// WithClock makes the sandbox judge every lifetime and skew on c, for
// example a *ManualClock.
func WithClock(c Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("sandbox: WithClock: nil clock")
		}
		o.clock = c
		return nil
	}
}

// WithLifetimes overrides the durations of docs/wire.md §11.3; zero fields
// keep their defaults.
func WithLifetimes(l Lifetimes) Option {
	return func(o *options) error { o.lifetimes = l; return nil }
}

// WithFaults installs a fault plan from the start (see SetFaults).
func WithFaults(p FaultPlan) Option {
	return func(o *options) error {
		if err := p.validate(); err != nil {
			return err
		}
		o.faults = p
		return nil
	}
}

// WithSeed fixes the starting value of random fault injection's PRNG
// (overriding FaultPlan.Seed), so a run can be replayed.
func WithSeed(seed int64) Option {
	return func(o *options) error { o.seed = &seed; return nil }
}

// WithLogger sets the logger of request records (method, route, status,
// duration, correlation id; never a body, query string or secret).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("sandbox: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithMaxBody bounds request bodies (default 1 MiB); larger bodies get 413.
func WithMaxBody(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return errors.New("sandbox: WithMaxBody: limit must be positive")
		}
		o.maxBody = n
		return nil
	}
}

// WithAllowedOrigins lists the origins allowed to post commands to the Auth
// iFrame page; empty means any http://localhost:* origin.
func WithAllowedOrigins(origins ...string) Option {
	return func(o *options) error { o.allowedOrigins = append([]string(nil), origins...); return nil }
}

// WithFreshKeys generates new MLE, signing and TLS keys for this sandbox
// instead of reusing the ones generated once per process.
func WithFreshKeys() Option {
	return func(o *options) error { o.freshKeys = true; return nil }
}

// WithKeyDir loads the sandbox's keys (MLE pairs, signing key, TLS CA) from
// dir, generating and writing them there on first use, so a restarted
// sandbox keeps the credentials its clients were configured with.
func WithKeyDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("sandbox: WithKeyDir: empty directory")
		}
		o.keyDir = dir
		return nil
	}
}

// WithRetention sets how long finished or expired state is kept before the
// janitor drops it (default 30 min). Cumulative counters of Inspect are
// never dropped.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("sandbox: WithRetention: duration must be positive")
		}
		o.retention = d
		return nil
	}
}

// WithMerchantTAP makes the merchant authorizer require a Trusted Agent
// Protocol signature with the tag agent-payer-auth, checked by v (its keys,
// nonce store, clock and lenience). A charge without a valid one is
// refused before it is decided, with the status tap.Status gives (400 or
// 401, 503 when v's nonce store fails) and a gateway error whose reason is
// the tap.Reason's code in upper case (SIGNATURE_EXPIRED, ...).
func WithMerchantTAP(v *tap.Verifier) Option {
	return func(o *options) error {
		if v == nil {
			return errors.New("sandbox: WithMerchantTAP: nil verifier")
		}
		o.merchantTAP = v
		return nil
	}
}

// WithMaxRetained bounds the state the sandbox keeps by count as well as
// by time (WithRetention): at most n records of each kind (enrollments,
// tokens, instructions, merchant authorizations, iFrame sessions,
// passkeys) beyond those a live journey still needs. When a kind grows
// past n, the oldest records no journey needs are evicted first, down to
// n less an eighth. Never evicted: an instruction that can still issue
// credentials or has a credential not yet confirmed (chargeable, or
// charged and awaiting its confirmation), the authorizations of such an
// instruction, a token with such an instruction, an outstanding one-time
// passcode or not yet activated, an unused unexpired enrollment, an iFrame
// session not yet used or expired, and redeemed fidoBlob ids (kept until
// the blob expires, so a replay is always refused). The default is
// DefaultMaxRetained; n = 0 turns the count bound off (time only).
// Cumulative counters of Inspect are never lowered.
func WithMaxRetained(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("sandbox: WithMaxRetained: count must not be negative")
		}
		o.maxRetained = n
		return nil
	}
}
