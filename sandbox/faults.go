package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultType names a kind of injected failure.
type FaultType string

// Fault types.
const (
	// FaultLatency delays the request, then serves it normally.
	FaultLatency FaultType = "latency"
	// FaultRateLimited answers 429 with Retry-After without processing.
	FaultRateLimited FaultType = "rate_limited"
	// FaultStatus500 answers 500 without processing.
	FaultStatus500 FaultType = "status_500"
	// FaultStatus503 answers 503 without processing.
	FaultStatus503 FaultType = "status_503"
	// FaultResetBeforeProcessing resets the connection (TCP RST) before
	// the request is processed: nothing changes.
	FaultResetBeforeProcessing FaultType = "reset_before_processing"
	// FaultDropAfterProcessing processes the request fully (state
	// changes!) and then closes the connection without a response.
	FaultDropAfterProcessing FaultType = "drop_after_processing"
	// FaultTruncatedBody processes the request and sends half the
	// response body under a Content-Length of the whole, then closes.
	FaultTruncatedBody FaultType = "truncated_body"
	// FaultMalformedJSON processes the request and answers with a body
	// that is not valid JSON.
	FaultMalformedJSON FaultType = "malformed_json"
	// FaultInvalidMLE processes the request and answers with an encData
	// that cannot be decrypted.
	FaultInvalidMLE FaultType = "invalid_mle"
	// FaultPendingEvents makes a VIC endpoint answer HTTP 202 with
	// status PENDING and pendingEvents (docs/wire.md §6.7): the request is
	// authenticated and decrypted, then left unprocessed, as when the
	// cardholder still has something to do. Other endpoints serve the
	// request normally.
	FaultPendingEvents FaultType = "pending_events"
)

var faultTypes = map[FaultType]bool{
	FaultLatency: true, FaultRateLimited: true, FaultStatus500: true, FaultStatus503: true,
	FaultResetBeforeProcessing: true, FaultDropAfterProcessing: true, FaultTruncatedBody: true,
	FaultMalformedJSON: true, FaultInvalidMLE: true, FaultPendingEvents: true,
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms"); a JSON number is read as milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or 250.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("sandbox: duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("sandbox: duration must be a string such as \"250ms\" or a number of milliseconds")
	}
	*d = Duration(time.Duration(ms) * time.Millisecond)
	return nil
}

// FaultKind is one failure: a type and its parameters.
type FaultKind struct {
	Type       FaultType `json:"type"`
	Delay      Duration  `json:"delay,omitempty"`      // FaultLatency
	RetryAfter Duration  `json:"retryAfter,omitempty"` // FaultRateLimited
	// PendingEvents are the pendingEvents of FaultPendingEvents; empty
	// means DefaultPendingEvents.
	PendingEvents []string `json:"pendingEvents,omitempty"`
}

// Latency delays a request by d before serving it.
func Latency(d time.Duration) FaultKind { return FaultKind{Type: FaultLatency, Delay: Duration(d)} }

// RateLimited answers 429 with a Retry-After of retryAfter (rounded up to
// whole seconds, at least 1).
func RateLimited(retryAfter time.Duration) FaultKind {
	return FaultKind{Type: FaultRateLimited, RetryAfter: Duration(retryAfter)}
}

// DefaultPendingEvents is what FaultPendingEvents lists when its kind
// names no events. Visa's event names are not public (docs/wire.md §6.7).
const DefaultPendingEvents = "CARDHOLDER_ACTION_PENDING"

// PendingEvents makes a VIC endpoint answer HTTP 202 with these
// pendingEvents (DefaultPendingEvents when none are given) without
// processing the request (docs/wire.md §6.7).
func PendingEvents(events ...string) FaultKind {
	return FaultKind{Type: FaultPendingEvents, PendingEvents: events}
}

// pendingEvents returns the events a FaultPendingEvents kind answers with.
func (k FaultKind) pendingEvents() []string {
	if len(k.PendingEvents) == 0 {
		return []string{DefaultPendingEvents}
	}
	return append([]string(nil), k.PendingEvents...)
}

// Fault kinds without parameters.
var (
	Status500             = FaultKind{Type: FaultStatus500}
	Status503             = FaultKind{Type: FaultStatus503}
	ResetBeforeProcessing = FaultKind{Type: FaultResetBeforeProcessing}
	DropAfterProcessing   = FaultKind{Type: FaultDropAfterProcessing}
	TruncatedBody         = FaultKind{Type: FaultTruncatedBody}
	MalformedJSON         = FaultKind{Type: FaultMalformedJSON}
	InvalidMLE            = FaultKind{Type: FaultInvalidMLE}
)

// FaultRule injects Kind into requests of one endpoint.
type FaultRule struct {
	// Endpoint is a route pattern exactly as the sandbox registers it
	// ("POST /vacp/v1/instructions/{id}/credentials"), or a prefix of
	// "METHOD /path" ("POST /vacp/") or of the path ("/vts/"). Empty
	// matches every endpoint.
	Endpoint string `json:"endpoint"`
	// Kind is the failure to inject.
	Kind FaultKind `json:"kind"`
	// Count is how many times the rule fires; 0 means always.
	Count int `json:"count,omitempty"`
	// Probability is the chance the rule fires on a matching request; 0
	// means 1 (always).
	Probability float64 `json:"probability,omitempty"`
}

// FaultPlan says which faults to inject. Rules are tried in order and the
// first that fires wins; otherwise, with probability Rate, a kind drawn
// from Kinds is injected. Decisions use a PRNG seeded with Seed, so a
// plan replays identically for the same sequence of requests.
type FaultPlan struct {
	Rules []FaultRule `json:"rules,omitempty"`
	Rate  float64     `json:"rate,omitempty"`
	Kinds []FaultKind `json:"kinds,omitempty"`
	Seed  int64       `json:"seed,omitempty"`
}

func (k FaultKind) validate() error {
	if !faultTypes[k.Type] {
		return fmt.Errorf("sandbox: unknown fault type %q", k.Type)
	}
	if k.Type == FaultLatency && (k.Delay <= 0 || time.Duration(k.Delay) > 5*time.Minute) {
		return fmt.Errorf("sandbox: latency fault needs a delay between 0 and 5m")
	}
	if k.RetryAfter < 0 {
		return fmt.Errorf("sandbox: negative retryAfter")
	}
	if len(k.PendingEvents) > 0 && k.Type != FaultPendingEvents {
		return fmt.Errorf("sandbox: pendingEvents belongs to a %s fault", FaultPendingEvents)
	}
	for _, e := range k.PendingEvents {
		if strings.TrimSpace(e) == "" || len(e) > 64 {
			return fmt.Errorf("sandbox: a pending event must be 1 to 64 characters")
		}
	}
	return nil
}

func (p FaultPlan) validate() error {
	for i, r := range p.Rules {
		if err := r.Kind.validate(); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
		if r.Count < 0 || r.Probability < 0 || r.Probability > 1 {
			return fmt.Errorf("sandbox: rules[%d]: count must be >= 0 and probability in [0,1]", i)
		}
	}
	if p.Rate < 0 || p.Rate > 1 {
		return fmt.Errorf("sandbox: rate must be in [0,1]")
	}
	if p.Rate > 0 && len(p.Kinds) == 0 {
		return fmt.Errorf("sandbox: a rate needs kinds")
	}
	for i, k := range p.Kinds {
		if err := k.validate(); err != nil {
			return fmt.Errorf("kinds[%d]: %w", i, err)
		}
	}
	return nil
}

// faultInjector decides and applies faults.
type faultInjector struct {
	mu        sync.Mutex
	plan      FaultPlan
	fired     []int
	rng       *rand.Rand
	seed      int64
	forceSeed bool
	injected  map[FaultType]int
}

func newFaultInjector(p FaultPlan, seed int64, force bool) *faultInjector {
	f := &faultInjector{injected: map[FaultType]int{}, seed: seed, forceSeed: force}
	f.set(p)
	return f
}

func (f *faultInjector) set(p FaultPlan) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seed := p.Seed
	if f.forceSeed {
		seed = f.seed
	}
	f.plan = p
	f.fired = make([]int, len(p.Rules))
	f.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

func matchEndpoint(rule, pattern string, r *http.Request) bool {
	if rule == "" || rule == pattern {
		return true
	}
	return strings.HasPrefix(r.Method+" "+r.URL.Path, rule) || strings.HasPrefix(r.URL.Path, rule)
}

// decide returns the fault for a request, if any.
func (f *faultInjector) decide(pattern string, r *http.Request) (FaultKind, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, rule := range f.plan.Rules {
		if !matchEndpoint(rule.Endpoint, pattern, r) {
			continue
		}
		if rule.Count > 0 && f.fired[i] >= rule.Count {
			continue
		}
		if rule.Probability > 0 && rule.Probability < 1 && f.rng.Float64() >= rule.Probability {
			continue
		}
		f.fired[i]++
		f.injected[rule.Kind.Type]++
		return rule.Kind, true
	}
	if f.plan.Rate > 0 && len(f.plan.Kinds) > 0 && f.rng.Float64() < f.plan.Rate {
		k := f.plan.Kinds[f.rng.IntN(len(f.plan.Kinds))]
		f.injected[k.Type]++
		return k, true
	}
	return FaultKind{}, false
}

func (f *faultInjector) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.injected))
	for k, v := range f.injected {
		out[string(k)] = v
	}
	return out
}

// SetFaults replaces the fault plan (and restarts its PRNG and counts of
// rules that fire a limited number of times).
func (s *Sandbox) SetFaults(p FaultPlan) error {
	if err := p.validate(); err != nil {
		return err
	}
	s.faults.set(p)
	return nil
}

// ClearFaults removes every fault.
func (s *Sandbox) ClearFaults() { s.faults.set(FaultPlan{}) }

// wrap injects faults into one route.
func (f *faultInjector) wrap(s *Sandbox, pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := f.decide(pattern, r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		s.opts.logger.Debug("sandbox fault injected", "fault", string(k.Type), "path", r.URL.Path, "correlationId", correlationID(r.Context()))
		switch k.Type {
		case FaultLatency:
			t := time.NewTimer(time.Duration(k.Delay))
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-s.done:
			}
			t.Stop()
			next.ServeHTTP(w, r)
		case FaultRateLimited:
			secs := int((time.Duration(k.RetryAfter) + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			writeGatewayError(w, http.StatusTooManyRequests, "RATE_LIMITED", "too many requests (injected)")
		case FaultStatus500:
			writeGatewayError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error (injected)")
		case FaultStatus503:
			writeGatewayError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "service unavailable (injected)")
		case FaultResetBeforeProcessing:
			hijackClose(w, true)
		case FaultDropAfterProcessing:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			hijackClose(w, false)
		case FaultTruncatedBody:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			rec.copyHeader(w)
			body := rec.buf.Bytes()
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.status)
			_, _ = w.Write(body[:len(body)/2])
			_ = http.NewResponseController(w).Flush()
			hijackClose(w, false)
		case FaultMalformedJSON:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			rec.copyHeader(w)
			body := rec.buf.Bytes()
			writeRaw(w, rec.status, append([]byte(`{"malformed":`), body[:len(body)/2]...))
		case FaultInvalidMLE:
			rec := newRecorder()
			next.ServeHTTP(rec, r)
			rec.copyHeader(w)
			writeRaw(w, rec.status, []byte(`{"encData":"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMTI4R0NNIiwia2lkIjoiU0JYLU1MRS1LRVktMDEifQ.AAAAAAAA.AAAAAAAAAAAAAAAA.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"}`))
		case FaultPendingEvents:
			// The VIC wrapper answers 202 once the request is authenticated.
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pendingKey, k.pendingEvents())))
		}
	})
}

// hijackClose takes the connection over and closes it; with reset, the
// close sends a TCP RST instead of a FIN.
func hijackClose(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if reset {
		nc := conn
		if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
			nc = tc.NetConn()
		}
		if tcp, ok := nc.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = nc.Close()
		return
	}
	_ = conn.Close()
}

// recorder buffers a response a fault then mangles.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.status = code }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }

func (r *recorder) copyHeader(w http.ResponseWriter) {
	for k, v := range r.h {
		if k == "Content-Length" {
			continue
		}
		w.Header()[k] = v
	}
}
