package agent_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/agent"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/store"
	"github.com/vicgo/visa/store/memstore"
)

var (
	oldKey = bytes.Repeat([]byte{0xA1}, 32)
	newKey = bytes.Repeat([]byte{0xB2}, 32)
)

const resealBlob = "eyJhbGciOiJSUzI1NiJ9.eyJ0eXAiOiJmaWRvLWFzc2VydGlvbiJ9.c2lnbmF0dXJl"

func keyring(t testing.TB, current string, keys map[string][]byte) *fido.Sealer {
	t.Helper()
	s, err := fido.NewSealer(current, keys)
	require.NoError(t, err)
	return s
}

// resealFixture is a store whose passkeys were sealed under the old key:
// nCards cards with two devices each, the first passkey in the format the
// SDK wrote before the device was bound.
type resealFixture struct {
	st   *memstore.Store
	pks  []store.Passkey
	blob fido.Blob
}

func newResealFixture(t *testing.T, nCards int) *resealFixture {
	t.Helper()
	ctx := context.Background()
	st, err := memstore.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	blob, err := fido.NewBlob(resealBlob)
	require.NoError(t, err)
	old := keyring(t, "old", map[string][]byte{"old": oldKey})
	f := &resealFixture{st: st, blob: blob}
	require.NoError(t, st.PutUser(ctx, store.User{ID: "alice", Email: "alice@example.com", Country: "US", Language: "en"}))
	for i := range nCards {
		tok := fmt.Sprintf("vpt-%04d", i)
		require.NoError(t, st.PutCard(ctx, store.Card{TokenID: tok, UserID: "alice", TokenReferenceID: "DNITHE" + tok,
			Last4: "8717", ExpiryMonth: 12, ExpiryYear: 2029, TokenStatus: store.TokenActive, VICEnrollment: store.VICEnrolled}))
		for _, dev := range []string{"phone-aZ3-_k9aZ3-_k9aZ3-", "laptop-k9aZ3-_k9aZ3-_k9a"} {
			p := store.Passkey{UserID: "alice", TokenID: tok, DeviceID: dev, Identifier: "ID-" + dev, RPID: "localhost"}
			if i == 0 && dev[0] == 'p' {
				p.SealedBlob = legacySeal(t, oldKey, resealBlob, p.UserID, p.TokenID)
			} else {
				p.SealedBlob, err = old.Seal(blob, fido.Binding{UserID: p.UserID, TokenID: p.TokenID, DeviceID: p.DeviceID})
				require.NoError(t, err)
			}
			require.NoError(t, st.PutPasskey(ctx, p))
			f.pks = append(f.pks, p)
		}
	}
	return f
}

// legacySeal seals as the SDK did before the device was bound (format 1).
func legacySeal(t *testing.T, key []byte, clear, userID, tokenID string) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	header := []byte{1, 3, 'o', 'l', 'd'}
	ad := append([]byte("vicgo/fido/blob-at-rest\x00"), header...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(userID)))
	ad = append(ad, userID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(tokenID)))
	ad = append(ad, tokenID...)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	return aead.Seal(append(bytes.Clone(header), nonce...), nonce, []byte(clear), ad)
}

// openAll opens every stored passkey with s, bound to its own row.
func (f *resealFixture) openAll(t *testing.T, s *fido.Sealer) []error {
	t.Helper()
	var errs []error
	for _, want := range f.pks {
		p, err := f.st.GetPasskey(context.Background(), want.TokenID, want.DeviceID)
		require.NoError(t, err)
		b, err := s.Open(p.SealedBlob, fido.Binding{UserID: p.UserID, TokenID: p.TokenID, DeviceID: p.DeviceID})
		if err == nil && !b.Equal(f.blob) {
			err = errors.New("opened to another blob")
		}
		errs = append(errs, err)
	}
	return errs
}

// TestResealAfterRotationOpensWithNewKeyOnly is the rotation case: after the
// keyring rotates and Reseal runs, every passkey opens with the new key
// alone and none with the old one; the legacy blob is bound to its device.
func TestResealAfterRotationOpensWithNewKeyOnly(t *testing.T) {
	t.Parallel()
	f := newResealFixture(t, 3)
	rotated := keyring(t, "new", map[string][]byte{"new": newKey, "old": oldKey})
	rep, err := agent.Reseal(context.Background(), f.st, rotated)
	require.NoError(t, err)
	assert.Equal(t, agent.ResealReport{Scanned: 6, Resealed: 6}, rep)

	for i, err := range f.openAll(t, keyring(t, "new", map[string][]byte{"new": newKey})) {
		assert.NoError(t, err, "passkey %d opens with the new key alone", i)
	}
	for i, err := range f.openAll(t, keyring(t, "old", map[string][]byte{"old": oldKey})) {
		assert.ErrorIs(t, err, fido.ErrUnknownKey, "passkey %d does not open with the old key", i)
	}
	// The legacy blob is now bound to its device.
	legacy, err := f.st.GetPasskey(context.Background(), f.pks[0].TokenID, f.pks[0].DeviceID)
	require.NoError(t, err)
	_, err = rotated.Open(legacy.SealedBlob, fido.Binding{UserID: "alice", TokenID: f.pks[0].TokenID, DeviceID: f.pks[1].DeviceID})
	assert.ErrorIs(t, err, fido.ErrOpenFailed)

	// A second run finds nothing to do.
	rep, err = agent.Reseal(context.Background(), f.st, rotated)
	require.NoError(t, err)
	assert.Equal(t, agent.ResealReport{Scanned: 6}, rep)
}

// flakyStore fails PutPasskey from the nth call on, as a crash would
// stop a run.
type flakyStore struct {
	store.Store
	failFrom int64
	n        atomic.Int64
}

var errCrash = errors.New("the process died")

func (s *flakyStore) PutPasskey(ctx context.Context, p store.Passkey) error {
	if s.n.Add(1) >= s.failFrom {
		return errCrash
	}
	return s.Store.PutPasskey(ctx, p)
}

func TestResealResumes(t *testing.T) {
	t.Parallel()
	f := newResealFixture(t, 3)
	rotated := keyring(t, "new", map[string][]byte{"new": newKey, "old": oldKey})
	rep, err := agent.Reseal(context.Background(), &flakyStore{Store: f.st, failFrom: 3}, rotated)
	require.ErrorIs(t, err, errCrash)
	assert.Equal(t, 2, rep.Resealed, "two passkeys were rewritten before the crash")

	rep, err = agent.Reseal(context.Background(), f.st, rotated)
	require.NoError(t, err)
	assert.Equal(t, agent.ResealReport{Scanned: 6, Resealed: 4}, rep, "the second run does the rest, and only the rest")
	for i, err := range f.openAll(t, keyring(t, "new", map[string][]byte{"new": newKey})) {
		assert.NoError(t, err, "passkey %d", i)
	}

	// A cancelled context stops the run before any write.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = agent.Reseal(ctx, f.st, rotated)
	require.ErrorIs(t, err, context.Canceled)
}

// racingStore registers the passkey anew (as AddCard would) right after
// Reseal has read it and before Reseal checks it again.
type racingStore struct {
	store.Store
	once   sync.Once
	racing func()
}

func (s *racingStore) GetPasskey(ctx context.Context, tokenID, deviceID string) (store.Passkey, error) {
	s.once.Do(s.racing)
	return s.Store.GetPasskey(ctx, tokenID, deviceID)
}

func TestResealKeepsARegistrationMadeMeanwhile(t *testing.T) {
	t.Parallel()
	f := newResealFixture(t, 1)
	rotated := keyring(t, "new", map[string][]byte{"new": newKey, "old": oldKey})
	other, err := fido.NewBlob("eyJuZXciOiJyZWdpc3RyYXRpb24ifQ.bmV3LWJsb2I.c2ln")
	require.NoError(t, err)
	first := f.pks[0]
	var registered []byte
	st := &racingStore{Store: f.st, racing: func() {
		p := first
		var err error
		p.SealedBlob, err = rotated.Seal(other, fido.Binding{UserID: p.UserID, TokenID: p.TokenID, DeviceID: p.DeviceID})
		require.NoError(t, err)
		registered = p.SealedBlob
		require.NoError(t, f.st.PutPasskey(context.Background(), p))
	}}
	rep, err := agent.Reseal(context.Background(), st, rotated)
	require.NoError(t, err)
	assert.Equal(t, agent.ResealReport{Scanned: 2, Resealed: 1, Skipped: 1}, rep)
	got, err := f.st.GetPasskey(context.Background(), first.TokenID, first.DeviceID)
	require.NoError(t, err)
	assert.Equal(t, registered, []byte(got.SealedBlob), "the new registration stands")
}

func TestResealReportsWhatItCannotOpen(t *testing.T) {
	t.Parallel()
	f := newResealFixture(t, 2)
	// The old key left the keyring before the reseal ran: those blobs fail,
	// the run goes on, and nothing is written for them.
	lost := keyring(t, "new", map[string][]byte{"new": newKey})
	rep, err := agent.Reseal(context.Background(), f.st, lost)
	require.NoError(t, err)
	assert.Equal(t, 4, rep.Scanned)
	assert.Zero(t, rep.Resealed)
	require.Len(t, rep.Failed, 4)
	for _, fl := range rep.Failed {
		assert.ErrorIs(t, fl.Err, fido.ErrUnknownKey)
		assert.NotContains(t, fl.Err.Error(), resealBlob)
	}
	_, err = agent.Reseal(context.Background(), nil, lost)
	assert.Error(t, err)
	_, err = agent.Reseal(context.Background(), f.st, nil)
	assert.Error(t, err)
}

// TestResealWhileServing runs Reseal while other goroutines register
// passkeys under the current key: afterwards every passkey opens with the
// new key alone.
func TestResealWhileServing(t *testing.T) {
	t.Parallel()
	f := newResealFixture(t, 4)
	rotated := keyring(t, "new", map[string][]byte{"new": newKey, "old": oldKey})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, p := range f.pks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sealed, err := rotated.Seal(f.blob, fido.Binding{UserID: p.UserID, TokenID: p.TokenID, DeviceID: p.DeviceID})
			assert.NoError(t, err)
			p.SealedBlob = sealed
			assert.NoError(t, f.st.PutPasskey(context.Background(), p))
		}()
	}
	var rep agent.ResealReport
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		rep, err = agent.Reseal(context.Background(), f.st, rotated)
	}()
	close(start)
	wg.Wait()
	require.NoError(t, err)
	assert.Empty(t, rep.Failed)
	for i, err := range f.openAll(t, keyring(t, "new", map[string][]byte{"new": newKey})) {
		assert.NoError(t, err, "passkey %d", i)
	}
}
