package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/vic"
	"github.com/vicgo/visa/vts"
)

// deadURL is a loopback address nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

var app = visa.AppInstance{UserAgent: "ua", ApplicationName: "app", CountryCode: "US", IPAddress: "203.0.113.7",
	ClientDeviceID: "aZ3-_k9aZ3-_k9aZ3-_k9abc", DeviceData: visa.DeviceData{Type: "Mobile", Brand: "Brand"}}

// TestNetworkFailureIsReachable: a network failure from each of vts, vic,
// authframe and the merchant is a *visa.RequestError (errors.As from the
// root package), matches visa.ErrNetwork, and is named by one
// *visa.OperationError with the operation.
func TestNetworkFailureIsReachable(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t)
	dead := deadURL(t)
	cfg := sb.Config()
	cfg.VICBaseURL, cfg.VTSBaseURL, cfg.AuthBaseURL = dead, dead, dead
	cfg.Retry = visa.RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	ctx := context.Background()

	vc, err := vts.New(cfg)
	require.NoError(t, err)
	ic, err := vic.New(cfg, vic.WithoutVerification())
	require.NoError(t, err)
	frame, err := authframe.NewDirect(cfg)
	require.NoError(t, err)
	merchant, err := agenttest.NewSandboxMerchant(dead+"/sandbox/v1/merchant/authorizations", cfg)
	require.NoError(t, err)

	calls := map[string]func() error{
		"vts.GetToken": func() error {
			_, err := vc.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "T1"})
			return err
		},
		"vic.CancelInstruction": func() error {
			_, err := ic.CancelInstruction(ctx, vic.CancelRequest{InstructionID: "I1", AppInstance: app})
			return err
		},
		"authframe.Open": func() error {
			_, err := frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: app.ClientDeviceID})
			return err
		},
		"merchant.Authorize": func() error {
			_, err := merchant.Authorize(ctx, agent.Charge{TransactionReferenceID: "R1"})
			return err
		},
		"merchant.Lookup": func() error {
			_, err := merchant.Lookup(ctx, "R1")
			return err
		},
	}
	for op, call := range calls {
		err := call()
		var re *visa.RequestError
		require.ErrorAs(t, err, &re, op)
		assert.ErrorIs(t, err, visa.ErrNetwork, op)
		assert.True(t, re.Unsent, "%s: connection refused: nothing was sent", op)
		assert.Equal(t, 2, re.Attempts, "%s: not sent, so retried whatever the method", op)
		var oe *visa.OperationError
		require.ErrorAs(t, err, &oe, op)
		assert.Equal(t, op, oe.Operation)
		assert.Equal(t, 2, oe.Meta.Attempts, op)
		assert.Regexp(t, `^visa: `+op+`: `, err.Error())
		assert.True(t, visa.IsRetryable(err), "%s: provably unsent", op)
	}
}

type countingRT struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

type opRecorder struct {
	visa.NopObserver
	mu  sync.Mutex
	ops []string
}

func (r *opRecorder) OperationEnd(_ context.Context, op visa.OperationInfo, res visa.OperationResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op.Operation+" "+op.Route)
}

// TestWrapTransportWithSandboxTLS: the in-process sandbox serves TLS under
// its own CA (Config.TLS.RootCAsPEM); an instrumenting RoundTripper given
// as Config.WrapTransport sees every exchange of vts, vic, the iFrame
// handshake and the JWKS fetch, and the Observer every operation.
func TestWrapTransportWithSandboxTLS(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t)
	cfg := sb.Config()
	require.NotEmpty(t, cfg.TLS.RootCAsPEM, "the sandbox serves TLS with its own root")
	rt := &countingRT{}
	cfg.WrapTransport = func(next http.RoundTripper) http.RoundTripper { rt.next = next; return rt }
	obs := &opRecorder{}
	cfg.Observer = obs
	ctx := context.Background()

	vc, err := vts.New(cfg)
	require.NoError(t, err)
	_, err = vc.GetToken(ctx, vts.GetTokenRequest{VProvisionedTokenID: "no-such-token"})
	require.ErrorIs(t, err, visa.ErrNotFound, "an answer from the sandbox, over TLS")
	ic, err := vic.New(cfg)
	require.NoError(t, err)
	_, err = ic.CancelInstruction(ctx, vic.CancelRequest{InstructionID: "no-such-instruction", AppInstance: app})
	var ae *visa.APIError
	require.ErrorAs(t, err, &ae)
	frame, err := authframe.NewDirect(cfg)
	require.NoError(t, err)
	_, err = frame.Open(ctx, authframe.OpenRequest{ClientDeviceID: app.ClientDeviceID})
	require.NoError(t, err)
	if cfg.SignedPayload.JWKSURL != "" {
		_, err = vic.NewJWKS(cfg.SignedPayload.JWKSURL, nil).Key(ctx, "")
		assert.True(t, errors.Is(err, vic.ErrKeysUnavailable), "without the sandbox's root, the JWKS is not trusted")
	}
	assert.GreaterOrEqual(t, rt.n.Load(), int32(4))
	assert.Contains(t, obs.ops, "vts.GetToken /vts/provisionedTokens/{vProvisionedTokenID}")
	assert.Contains(t, obs.ops, "vic.CancelInstruction /vacp/v1/instructions/{instructionId}/cancel")
	assert.Contains(t, obs.ops, "authframe.Open ")
}
