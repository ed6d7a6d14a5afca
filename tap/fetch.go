package tap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vicgo/visa/tap/httpsig"
)

// Fetch defaults.
const (
	// DefaultMaxKeySetBytes bounds a fetched JWKS or directory.
	DefaultMaxKeySetBytes = 64 << 10
	// DefaultKeySetTTL is how long a fetched set is kept when its answer
	// names no max-age; answers' max-age is clamped to [1 min, 24 h].
	DefaultKeySetTTL = time.Hour
	// DefaultFailureTTL is how long a failed fetch is remembered before the
	// next attempt.
	DefaultFailureTTL = time.Minute
	// DefaultRefreshInterval is the least time between two fetches of a
	// set for a keyid it lacked (key rotation).
	DefaultRefreshInterval = 30 * time.Second
	maxKeys                = 64
)

// FetchOption configures a JWKS or Directories resolver.
type FetchOption func(*fetchConfig) error

type fetchConfig struct {
	client     *http.Client
	now        func() time.Time
	maxBytes   int64
	ttl        time.Duration
	failureTTL time.Duration
	refresh    time.Duration
	allowed    map[string]bool
}

// WithHTTPClient sets the client of fetches. It is copied, never modified;
// the copy follows no redirect.
func WithHTTPClient(c *http.Client) FetchOption {
	return func(f *fetchConfig) error {
		if c == nil {
			return errors.New("tap: WithHTTPClient: nil client")
		}
		f.client = c
		return nil
	}
}

// WithFetchClock sets the clock of the cache.
func WithFetchClock(now func() time.Time) FetchOption {
	return func(f *fetchConfig) error {
		if now == nil {
			return errors.New("tap: WithFetchClock: nil clock")
		}
		f.now = now
		return nil
	}
}

// WithMaxKeySetBytes bounds a fetched set (default 64 KiB).
func WithMaxKeySetBytes(n int64) FetchOption {
	return func(f *fetchConfig) error {
		if n <= 0 {
			return errors.New("tap: WithMaxKeySetBytes: must be positive")
		}
		f.maxBytes = n
		return nil
	}
}

// WithCacheTTL sets how long a set is kept when its answer names no
// max-age (default 1 h).
func WithCacheTTL(d time.Duration) FetchOption {
	return func(f *fetchConfig) error {
		if d <= 0 {
			return errors.New("tap: WithCacheTTL: must be positive")
		}
		f.ttl = d
		return nil
	}
}

// WithAllowedAgents restricts Directories to these https origins.
func WithAllowedAgents(origins ...string) FetchOption {
	return func(f *fetchConfig) error {
		f.allowed = map[string]bool{}
		for _, o := range origins {
			d, err := directoryURL(o)
			if err != nil {
				return fmt.Errorf("tap: WithAllowedAgents: %q is not an https origin", o)
			}
			f.allowed[strings.TrimSuffix(d, DirectoryPath)] = true
		}
		return nil
	}
}

type keySetCache struct {
	cfg       fetchConfig
	directory bool
	mu        sync.Mutex
	sets      map[string]*keySet
}

type keySet struct {
	ready   chan struct{} // closed when the fetch in flight ends
	keys    []keyEntry
	err     error
	fetched time.Time
	expires time.Time
}

func newKeySetCache(directory bool, opts []FetchOption) (*keySetCache, error) {
	cfg := fetchConfig{now: time.Now, maxBytes: DefaultMaxKeySetBytes, ttl: DefaultKeySetTTL,
		failureTTL: DefaultFailureTTL, refresh: DefaultRefreshInterval}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	var c http.Client
	if cfg.client != nil {
		c = *cfg.client
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.client = &c
	return &keySetCache{cfg: cfg, directory: directory, sets: map[string]*keySet{}}, nil
}

// lookup finds q's key in the set at u, fetching it when absent, stale,
// or lacking the keyid (at most once per refresh interval).
func (c *keySetCache) lookup(ctx context.Context, u string, q KeyQuery) (*httpsig.VerifyingKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		set, err := c.get(ctx, u, attempt == 1)
		if err != nil {
			return nil, err
		}
		for _, e := range set.keys {
			if e.kid == q.KeyID || e.thumb == q.KeyID {
				k, err := e.verifyingKey(q)
				if err != nil {
					return nil, &VerifyError{Reason: ErrKeyUnavailable, Detail: "the published key does not fit its algorithm", Err: err}
				}
				return k, nil
			}
		}
		if c.cfg.now().Sub(set.fetched) < c.cfg.refresh {
			break
		}
	}
	return nil, ErrUnknownKey
}

// get returns the set at u, fetching it when there is none, it is stale,
// or refresh asks for it. Concurrent callers share one fetch.
func (c *keySetCache) get(ctx context.Context, u string, refresh bool) (*keySet, error) {
	c.mu.Lock()
	s := c.sets[u]
	now := c.cfg.now()
	if s != nil {
		select {
		case <-s.ready:
			if now.Before(s.expires) && !refresh {
				c.mu.Unlock()
				return s, s.err
			}
		default:
			c.mu.Unlock()
			select {
			case <-s.ready:
				return s, s.err
			case <-ctx.Done():
				return nil, &VerifyError{Reason: ErrKeyUnavailable, Err: ctx.Err()}
			}
		}
	}
	if len(c.sets) > 1024 {
		for k, old := range c.sets {
			select {
			case <-old.ready:
				if !now.Before(old.expires) {
					delete(c.sets, k)
				}
			default:
			}
		}
	}
	n := &keySet{ready: make(chan struct{})}
	c.sets[u] = n
	c.mu.Unlock()

	// A canceled caller must not leave a failure cached for the others.
	n.keys, n.expires, n.err = c.fetch(context.WithoutCancel(ctx), u)
	n.fetched = c.cfg.now()
	if n.err != nil {
		n.expires = n.fetched.Add(c.cfg.failureTTL)
	}
	close(n.ready)
	return n, n.err
}

func (c *keySetCache) fetch(ctx context.Context, u string) ([]keyEntry, time.Time, error) {
	fail := func(reason error, detail string, err error) ([]keyEntry, time.Time, error) {
		r := ErrKeyUnavailable
		return nil, time.Time{}, &VerifyError{Reason: r, Detail: detail, Err: errors.Join(reason, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(nil, "bad key set URL", err)
	}
	if c.directory {
		req.Header.Set("Accept", DirectoryMediaType)
	} else {
		req.Header.Set("Accept", "application/jwk-set+json, application/json")
	}
	resp, err := c.cfg.client.Do(req)
	if err != nil {
		return fail(nil, "key set fetch failed", err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(ErrDirectoryRedirect, "the key set answered with a redirect (not followed)", nil)
	case resp.StatusCode != http.StatusOK:
		return fail(nil, "the key set answered HTTP "+strconv.Itoa(resp.StatusCode), nil)
	}
	if c.directory {
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if mt != DirectoryMediaType && mt != "application/json" && mt != "application/jwk-set+json" {
			return fail(nil, "the directory's media type is not "+DirectoryMediaType, nil)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.maxBytes+1))
	if err != nil {
		return fail(nil, "key set read failed", err)
	}
	if int64(len(body)) > c.cfg.maxBytes {
		return fail(nil, "the key set is over "+strconv.FormatInt(c.cfg.maxBytes, 10)+" bytes", nil)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fail(nil, "the key set is not a JWKS", err)
	}
	if len(set.Keys) > maxKeys {
		return fail(nil, "the key set holds more than "+strconv.Itoa(maxKeys)+" keys", nil)
	}
	return entriesOf(set), c.cfg.now().Add(maxAge(resp.Header.Get("Cache-Control"), c.cfg.ttl)), nil
}

// maxAge reads max-age from Cache-Control, clamped to [1 min, 24 h].
func maxAge(cc string, def time.Duration) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(d), "=")
		if strings.EqualFold(k, "no-store") || strings.EqualFold(k, "no-cache") {
			return time.Minute
		}
		if strings.EqualFold(k, "max-age") {
			if n, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil {
				return min(max(time.Duration(n)*time.Second, time.Minute), 24*time.Hour)
			}
		}
	}
	return def
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
