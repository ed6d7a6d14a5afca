package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/testutil"
)

// recorder is a visa.Observer that writes down every event.
type recorder struct {
	mu     sync.Mutex
	events []string
	infos  []visa.OperationInfo
	ends   []visa.AttemptResult
	result visa.OperationResult
}

type ctxKey string

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) OperationStart(ctx context.Context, op visa.OperationInfo) context.Context {
	r.mu.Lock()
	r.infos = append(r.infos, op)
	r.mu.Unlock()
	r.add("op-start " + op.Operation)
	return context.WithValue(ctx, ctxKey("op"), op.Operation)
}

func (r *recorder) AttemptStart(ctx context.Context, a visa.AttemptInfo) context.Context {
	r.add(fmt.Sprintf("attempt-start %d parent=%v", a.Attempt, ctx.Value(ctxKey("op"))))
	return context.WithValue(ctx, ctxKey("attempt"), a.Attempt)
}

func (r *recorder) AttemptEnd(ctx context.Context, a visa.AttemptInfo, res visa.AttemptResult) {
	r.mu.Lock()
	r.ends = append(r.ends, res)
	r.mu.Unlock()
	r.add(fmt.Sprintf("attempt-end %d ctx=%v status=%d code=%s retry=%v (%s)", a.Attempt, ctx.Value(ctxKey("attempt")),
		res.StatusCode, res.Code, res.Retry, res.RetryReason))
}

func (r *recorder) OperationEnd(ctx context.Context, op visa.OperationInfo, res visa.OperationResult) {
	r.mu.Lock()
	r.result = res
	r.mu.Unlock()
	r.add(fmt.Sprintf("op-end %s ctx=%v attempts=%d status=%d err=%v", op.Operation, ctx.Value(ctxKey("op")),
		res.Meta.Attempts, res.Meta.StatusCode, res.Err != nil))
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// TestObserverSeesEveryOperationAndAttempt: one operation, a 503 retried
// (a GET), then a 400 with a Visa code; the events come in order, with
// the route template (no id, no query), the code and correlation ids, and
// no secret in anything the observer receives.
func TestObserverSeesEveryOperationAndAttempt(t *testing.T) {
	t.Parallel()
	f := newFakeVisa(t, true, func(n int, _ recorded) reply {
		if n == 1 {
			return reply{Status: 503, Header: map[string]string{"X-Correlation-Id": "corr-1"}}
		}
		return reply{Status: 400, Header: map[string]string{"X-Correlation-Id": "corr-2"}, Encrypt: true,
			Body: `{"responseStatus":{"status":400,"code":"INSTRUCTION_NOT_ACTIVE","message":"expired"}}`}
	})
	rec := &recorder{}
	cfg := testConfig(f.URL())
	cfg.Observer = rec
	c := newClient(t, cfg, visa.ProductVIC, withWaitHook((&waits{}).hook))
	meta, err := c.Do(bg, &Request{Op: "vic.GetInstruction", Method: http.MethodGet,
		Path: "/vacp/v1/instructions/{instructionId}", PathParams: []string{"INSTR-SECRET-ID-77"},
		Query: []QueryParam{{"secretToken", "Q-VALUE"}}}, nil)
	require.Error(t, err)
	assert.Equal(t, []string{
		"op-start vic.GetInstruction",
		"attempt-start 1 parent=vic.GetInstruction",
		"attempt-end 1 ctx=1 status=503 code= retry=true (server error)",
		"attempt-start 2 parent=vic.GetInstruction",
		"attempt-end 2 ctx=2 status=400 code=INSTRUCTION_NOT_ACTIVE retry=false (status not retried)",
		"op-end vic.GetInstruction ctx=vic.GetInstruction attempts=2 status=400 err=true",
	}, rec.all())
	assert.Equal(t, visa.OperationInfo{Operation: "vic.GetInstruction", Product: visa.ProductVIC, Method: "GET",
		Route: "/vacp/v1/instructions/{instructionId}", Host: strings.TrimPrefix(f.URL(), "http://")}, rec.infos[0])
	assert.Equal(t, "corr-1", rec.ends[0].CorrelationID)
	assert.Equal(t, "corr-2", rec.ends[1].CorrelationID)
	assert.Equal(t, visa.ResponseMeta{Operation: "vic.GetInstruction", StatusCode: 400, CorrelationID: "corr-2", Attempts: 2}, rec.result.Meta)
	assert.Equal(t, meta, rec.result.Meta)
	assert.Same(t, err, rec.result.Err)

	// Nothing the observer saw holds a credential, the id or the query.
	s := testutil.NewSecrets()
	for name, v := range map[string]string{"vic key": testVICKey, "vic secret": testVICSecret, "vts key": testVTSKey,
		"id": "INSTR-SECRET-ID-77", "query": "Q-VALUE"} {
		s.Add(name, v)
	}
	text := fmt.Sprintf("%+v %+v %+v", rec.infos, rec.ends, rec.result.Meta)
	s.Check(t, "observer events", text, testutil.Text)
}

// TestObserverWriteOn429: a write answered 429 is retried (the gateway
// throttled it), the same write answered 503 is not.
func TestObserverWriteOn429(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int
		attempts int
		reason   string
	}{{429, 2, "throttled"}, {503, 1, "write may have reached the server"}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			f := newFakeVisa(t, false, func(n int, _ recorded) reply {
				if n == 1 {
					return reply{Status: tc.status}
				}
				return reply{Status: 200, Body: `{}`}
			})
			rec := &recorder{}
			cfg := testConfig(f.URL())
			cfg.Observer = rec
			c := newClient(t, cfg, visa.ProductVTS, withWaitHook((&waits{}).hook))
			meta, _ := c.Do(bg, &Request{Op: "vts.EnrollPAN", Method: http.MethodPost, Path: "/vts/panEnrollments", Body: map[string]string{"a": "b"}}, nil)
			assert.Equal(t, tc.attempts, meta.Attempts)
			assert.Len(t, f.requests(), tc.attempts)
			require.NotEmpty(t, rec.ends)
			assert.Equal(t, tc.reason, rec.ends[0].RetryReason)
		})
	}
}

// countingRT is an instrumenting RoundTripper, as otelhttp's would be.
type countingRT struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestWrapTransportWithTLS: Config.WrapTransport wraps the transport the
// SDK built with Config.TLS (here the test server's root), so the
// wrapped client trusts the server; a custom HTTPClient transport with
// Config.TLS is still refused, pointing at WrapTransport.
func TestWrapTransportWithTLS(t *testing.T) {
	t.Parallel()
	f := newFakeVisaTLS(t)
	cfg := testConfig(f.URL())
	cfg.TLS.RootCAsPEM = f.rootPEM
	var wrapped *countingRT
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		tr, ok := rt.(*http.Transport)
		require.True(t, ok, "the SDK's own *http.Transport is what gets wrapped")
		require.NotNil(t, tr.TLSClientConfig.RootCAs)
		wrapped = &countingRT{next: rt}
		return wrapped
	}
	c := newClient(t, cfg, visa.ProductVTS)
	defer c.CloseIdleConnections()
	_, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/vts/provisionedTokens/{id}", PathParams: []string{"T1"}}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 1, wrapped.n.Load())

	cfg.WrapTransport = nil
	cfg.HTTPClient = &http.Client{Transport: &countingRT{next: http.DefaultTransport}}
	_, err = New(cfg, visa.ProductVTS)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	assert.Contains(t, err.Error(), "WrapTransport")
}

// TestInsecureSkipVerify is the reproducer of an insecure client: a caller's HTTPClient
// that switches certificate verification off never sends a signed request
// with the api key to a server whose certificate is not trusted, in
// production; in sandbox mode only a loopback host is allowed, with one
// warning at construction.
func TestInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	insecure := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	emptyPool := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	}
	t.Run("production refused", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisaTLS(t) // an untrusted certificate on 127.0.0.1
		for name, hc := range map[string]*http.Client{"skip verify": insecure(), "empty pool": emptyPool()} {
			cfg := testConfig(f.URL())
			cfg.Environment = visa.Production
			cfg.HTTPClient = hc
			for _, p := range []visa.Product{visa.ProductVIC, visa.ProductVTS} {
				c, err := New(cfg, p)
				require.Nil(t, c, name)
				var ie *visa.InsecureTLSError
				require.ErrorAs(t, err, &ie, name)
				assert.ErrorIs(t, err, visa.ErrInsecureTLS)
				assert.ErrorIs(t, err, visa.ErrInvalidInput)
				assert.NotContains(t, err.Error(), testVICKey)
			}
			_, err := NewUnsigned(cfg, visa.ProductAuth, f.URL()+"/vts-auth/authenticate?apikey="+testVTSKey, nil)
			require.ErrorIs(t, err, visa.ErrInsecureTLS, name)
			assert.NotContains(t, err.Error(), testVTSKey)
		}
		assert.Empty(t, f.requests(), "no request reached the untrusted server")
	})
	t.Run("sandbox non-loopback refused", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig("https://sandbox.api.visa.com")
		cfg.VTSBaseURL = "https://cert.api.visa.com"
		cfg.HTTPClient = insecure()
		_, err := New(cfg, visa.ProductVIC)
		require.ErrorIs(t, err, visa.ErrInsecureTLS)
		assert.Contains(t, err.Error(), "sandbox.api.visa.com")
		_, err = New(cfg, visa.ProductVTS)
		require.ErrorIs(t, err, visa.ErrInsecureTLS)
	})
	t.Run("sandbox loopback warns once", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisaTLS(t) // an untrusted certificate on 127.0.0.1
		var logs testutil.LogBuffer
		cfg := testConfig(f.URL())
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		cfg.HTTPClient = insecure()
		c := newClient(t, cfg, visa.ProductVTS)
		defer c.CloseIdleConnections()
		for range 3 {
			_, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/x"}, nil)
			require.NoError(t, err)
		}
		assert.Equal(t, 1, strings.Count(logs.String(), "certificate verification is off"), logs.String())
		assert.Contains(t, logs.String(), "level=WARN")
		assert.NotContains(t, logs.String(), testVTSKey)
	})
	t.Run("verification on is untouched", func(t *testing.T) {
		t.Parallel()
		f := newFakeVisaTLS(t) // an untrusted certificate on 127.0.0.1
		cfg := testConfig(f.URL())
		cfg.Environment = visa.Production
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{}}
		c := newClient(t, cfg, visa.ProductVTS)
		_, err := c.Do(bg, &Request{Op: "vts.GetToken", Method: http.MethodGet, Path: "/x"}, nil)
		var re *visa.RequestError
		require.ErrorAs(t, err, &re, "the untrusted certificate is refused")
		assert.False(t, errors.Is(err, context.Canceled))
	})
}

// tlsFake is a fakeVisa served over TLS with httptest's certificate, and
// that certificate in PEM (what a caller would put in Config.TLS).
type tlsFake struct {
	*fakeVisa
	rootPEM []byte
}

func newFakeVisaTLS(t *testing.T) *tlsFake {
	t.Helper()
	f := &fakeVisa{t: t, respond: func(int, recorded) reply { return reply{Status: 200, Body: `{}`} }}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return &tlsFake{fakeVisa: f, rootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})}
}
