package mcpserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

// predictable is the default device id of version 0.1.0: an unkeyed hash
// of the user id, the same in every deployment, so anyone who knew a user
// id knew the device its passkeys were bound to.
func predictable(userID string) string {
	sum := sha256.Sum256([]byte("vicgo visa-mcp device\x00" + userID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:24]
}

func defaultDevice(t *testing.T, s *Server, userID string) string {
	t.Helper()
	var a args
	d := s.device("device", userID, "US", nil, &a)
	require.NoError(t, a.err())
	require.Empty(t, check.ClientDeviceID(d.ClientDeviceID))
	return d.ClientDeviceID
}

// TestDefaultDeviceIDIsKeyed: two deployments give the same user different
// default device ids, neither of them the unkeyed hash; one deployment
// (one key) gives the same id every time.
func TestDefaultDeviceIDIsKeyed(t *testing.T) {
	t.Parallel()
	cfg := sandboxtest.Start(t, sandbox.WithPlainHTTP()).Config()
	a, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })

	idA := defaultDevice(t, a, "alice")
	assert.NotEqual(t, predictable("alice"), idA, "the default device id is not computable from the user id alone")
	assert.NotEqual(t, idA, defaultDevice(t, b, "alice"), "another deployment, another key, another id")
	assert.Equal(t, idA, defaultDevice(t, a, "alice"), "stable within a deployment")
	assert.NotEqual(t, idA, defaultDevice(t, a, "bob"))
}

// TestWithDeviceKey: the same key on two Servers (two replicas, or a
// restart) gives the same default device id.
func TestWithDeviceKey(t *testing.T) {
	t.Parallel()
	cfg := sandboxtest.Start(t, sandbox.WithPlainHTTP()).Config()
	key := bytes.Repeat([]byte{0x5a}, MinDeviceKeyLen)
	a, err := New(cfg, WithDeviceKey(key))
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	same := bytes.Clone(key)
	clear(key) // the option copied it
	b, err := New(cfg, WithDeviceKey(same))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	assert.Equal(t, defaultDevice(t, a, "alice"), defaultDevice(t, b, "alice"))
	assert.NotEqual(t, predictable("alice"), defaultDevice(t, a, "alice"))

	_, err = New(cfg, WithDeviceKey(same[:16]))
	assert.ErrorIs(t, err, visa.ErrInvalidInput, "a short key is refused")
}
