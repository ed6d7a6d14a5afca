package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/agent/agenttest"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
	"github.com/vicgo/visa/tap"
	"github.com/vicgo/visa/tap/httpsig"
)

// TestPurchaseTAPSigned: against a merchant that requires the Trusted Agent
// Protocol, the whole purchase runs with the charge TAP-signed; an agent
// that does not sign is refused at the merchant, and since the merchant
// answered and never recorded the charge, nothing was charged.
func TestPurchaseTAPSigned(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	vk, err := httpsig.NewVerifyingKey("", key.Public())
	require.NoError(t, err)
	clock := sandbox.NewManualClock(time.Now())
	v, err := tap.NewVerifier(tap.StaticKeys{"shopping-agent": vk}, tap.WithClock(clock.Now))
	require.NoError(t, err)
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP(), sandbox.WithClock(clock), sandbox.WithMerchantTAP(v))
	cfg := sbx.Config()
	signer, err := tap.NewSigner(key, tap.WithKeyID("shopping-agent"), tap.WithDefaultTag(tap.TagPayer), tap.WithSignerClock(clock.Now))
	require.NoError(t, err)
	st, err := memstore.New(memstore.WithClock(clock.Now))
	require.NoError(t, err)
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	sealer, err := fido.NewSealer("k1", map[string][]byte{"k1": k})
	require.NoError(t, err)
	e := &env{sbx: sbx, clock: clock, cfg: cfg, st: st, sealer: sealer}

	signed, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg, agenttest.WithTAP(signer))
	require.NoError(t, err)
	a, err := agent.New(cfg, st, e.sealer, agent.WithMerchant(signed), agent.WithClock(clock.Now))
	require.NoError(t, err)
	e.agent = a
	ctx := context.Background()
	u, dev := user(500), deviceN(500)
	c := e.addCard(t, u, "4111111111111111", dev)

	rec, err := a.Purchase(ctx, purchaseReq(u, c, dev, "15.00"))
	require.NoError(t, err)
	assert.Equal(t, store.TxCompleted, rec.Transaction.Status)
	assert.Equal(t, 1, sbx.ChargesFor(rec.Transaction.TransactionReferenceID))

	plain, err := agenttest.NewSandboxMerchant(sbx.MerchantURL(), cfg)
	require.NoError(t, err)
	unsigned, err := agent.New(cfg, st, e.sealer, agent.WithMerchant(plain), agent.WithClock(clock.Now))
	require.NoError(t, err)
	rec, err = unsigned.Purchase(ctx, purchaseReq(u, c, dev, "16.00"))
	require.Error(t, err)
	assert.False(t, agent.MayHaveCharged(err), "the merchant refused the charge and has no record of it: %v", err)
	assert.Equal(t, store.TxCancelled, rec.Transaction.Status)
	assert.Zero(t, sbx.ChargesFor(rec.Transaction.TransactionReferenceID))
}
