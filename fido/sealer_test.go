package fido_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/fido"
)

var (
	key1 = bytes.Repeat([]byte{0x11}, 32)
	key2 = bytes.Repeat([]byte{0x22}, 32)
	key3 = bytes.Repeat([]byte{0x33}, 32)

	bindAlice = fido.Binding{UserID: "user-alice", TokenID: "vpt-0001", DeviceID: "aZ3-_k9aZ3-_k9aZ3-_k9aZ3"}
)

func newSealer(t testing.TB, current string, keys map[string][]byte) *fido.Sealer {
	t.Helper()
	s, err := fido.NewSealer(current, keys)
	require.NoError(t, err)
	return s
}

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1", map[string][]byte{"k1": key1})
	b := mustBlob(t, secretBlob)
	sealed, err := s.Seal(b, bindAlice)
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), secretBlob)
	assert.Equal(t, 1+1+2+12+len(secretBlob)+16, len(sealed), "version ‖ kid len ‖ kid ‖ nonce ‖ ciphertext ‖ tag")
	assert.Equal(t, byte(2), sealed[0], "format 2 binds the device")
	assert.Equal(t, "k1", string(sealed[2:4]))

	got, err := s.Open(sealed, bindAlice)
	require.NoError(t, err)
	assert.True(t, got.Equal(b))

	again, err := s.Seal(b, bindAlice)
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "fresh nonce on every seal")

	kid, err := s.KeyID(sealed)
	require.NoError(t, err)
	assert.Equal(t, "k1", kid)
	assert.False(t, s.NeedsRotation(sealed))
	assert.Equal(t, "k1", s.CurrentKeyID())
	assert.Equal(t, []string{"k1"}, s.KeyIDs())
}

func TestSealerRotation(t *testing.T) {
	t.Parallel()
	b := mustBlob(t, secretBlob)
	old := newSealer(t, "k1", map[string][]byte{"k1": key1})
	sealed, err := old.Seal(b, bindAlice)
	require.NoError(t, err)

	rotated := newSealer(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	assert.True(t, rotated.NeedsRotation(sealed))
	got, err := rotated.Open(sealed, bindAlice)
	require.NoError(t, err)
	assert.True(t, got.Equal(b))

	resealed, err := rotated.Reseal(sealed, bindAlice)
	require.NoError(t, err)
	kid, err := rotated.KeyID(resealed)
	require.NoError(t, err)
	assert.Equal(t, "k2", kid)
	assert.False(t, rotated.NeedsRotation(resealed))

	// Once k1 is retired, the resealed blob still opens; the old one does not.
	retired := newSealer(t, "k2", map[string][]byte{"k2": key2})
	got, err = retired.Open(resealed, bindAlice)
	require.NoError(t, err)
	assert.True(t, got.Equal(b))
	_, err = retired.Open(sealed, bindAlice)
	require.ErrorIs(t, err, fido.ErrUnknownKey)
	assert.Contains(t, err.Error(), `"k1"`)
	assert.True(t, retired.NeedsRotation(sealed), "well-formed, under a key other than the current one")
	_, err = retired.Reseal(sealed, bindAlice)
	require.ErrorIs(t, err, fido.ErrUnknownKey)
}

func TestSealerOpenFailures(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1", map[string][]byte{"k1": key1, "k2": key2})
	sealed, err := s.Seal(mustBlob(t, secretBlob), bindAlice)
	require.NoError(t, err)
	const kidEnd, nonceEnd = 4, 4 + 12

	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	setByte := func(i int, v byte) []byte {
		c := bytes.Clone(sealed)
		c[i] = v
		return c
	}
	withKID := func(kid string) []byte {
		c := []byte{2, byte(len(kid))}
		c = append(c, kid...)
		return append(c, sealed[kidEnd:]...)
	}
	tests := []struct {
		name   string
		sealed []byte
		bind   fido.Binding
		s      *fido.Sealer
		err    error
	}{
		{"wrong key under same kid", sealed, bindAlice, newSealer(t, "k1", map[string][]byte{"k1": key3}), fido.ErrOpenFailed},
		{"unknown kid", sealed, bindAlice, newSealer(t, "k9", map[string][]byte{"k9": key1}), fido.ErrUnknownKey},
		{"kid swapped to another known key", withKID("k2"), bindAlice, s, fido.ErrOpenFailed},
		{"kid swapped to an unknown key", withKID("kx"), bindAlice, s, fido.ErrUnknownKey},
		{"kid renamed, same key material", withKID("k1"), bindAlice, newSealer(t, "k1", map[string][]byte{"k1": key1}), nil},
		{"tampered version", flip(0), bindAlice, s, fido.ErrSealedMalformed},
		{"kid length zero", setByte(1, 0), bindAlice, s, fido.ErrSealedMalformed},
		{"kid length over 64", setByte(1, 65), bindAlice, s, fido.ErrSealedMalformed},
		{"kid length spans nonce and ciphertext", setByte(1, 60), bindAlice, s, fido.ErrSealedMalformed},
		{"kid not printable", setByte(3, 0x07), bindAlice, s, fido.ErrSealedMalformed},
		{"tampered kid byte", flip(3), bindAlice, s, fido.ErrUnknownKey},
		{"tampered nonce", flip(kidEnd + 5), bindAlice, s, fido.ErrOpenFailed},
		{"tampered ciphertext", flip(nonceEnd + 3), bindAlice, s, fido.ErrOpenFailed},
		{"tampered tag", flip(len(sealed) - 1), bindAlice, s, fido.ErrOpenFailed},
		{"truncated tag", sealed[:len(sealed)-1], bindAlice, s, fido.ErrOpenFailed},
		{"truncated to header", sealed[:nonceEnd], bindAlice, s, fido.ErrSealedMalformed},
		{"truncated to 3 bytes", sealed[:3], bindAlice, s, fido.ErrSealedMalformed},
		{"empty", nil, bindAlice, s, fido.ErrSealedMalformed},
		{"appended byte", append(bytes.Clone(sealed), 0), bindAlice, s, fido.ErrOpenFailed},
		{"too long", make([]byte, 70_000), bindAlice, s, fido.ErrSealedMalformed},
		{"moved to another user", sealed, fido.Binding{UserID: "user-mallory", TokenID: "vpt-0001", DeviceID: bindAlice.DeviceID}, s, fido.ErrOpenFailed},
		{"moved to another token", sealed, fido.Binding{UserID: "user-alice", TokenID: "vpt-0002", DeviceID: bindAlice.DeviceID}, s, fido.ErrOpenFailed},
		{"fields shifted between user and token", sealed, fido.Binding{UserID: "user-alicev", TokenID: "pt-0001", DeviceID: bindAlice.DeviceID}, s, fido.ErrOpenFailed},
		{"moved to another device", sealed, fido.Binding{UserID: "user-alice", TokenID: "vpt-0001", DeviceID: "dev-mallory-0000000000000"}, s, fido.ErrOpenFailed},
		{"opened without the device", sealed, fido.Binding{UserID: "user-alice", TokenID: "vpt-0001"}, s, fido.ErrOpenFailed},
		{"fields shifted between token and device", sealed, fido.Binding{UserID: "user-alice", TokenID: "vpt-0001" + bindAlice.DeviceID[:1], DeviceID: bindAlice.DeviceID[1:]}, s, fido.ErrOpenFailed},
		{"format 1 header", setByte(0, 1), bindAlice, s, fido.ErrLegacySealed},
		{"empty user", sealed, fido.Binding{TokenID: "vpt-0001"}, s, fido.ErrInvalidBinding},
		{"empty token", sealed, fido.Binding{UserID: "user-alice"}, s, fido.ErrInvalidBinding},
		{"oversized binding", sealed, fido.Binding{UserID: strings.Repeat("u", 1025), TokenID: "t"}, s, fido.ErrInvalidBinding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := tc.s.Open(tc.sealed, tc.bind)
			if tc.err == nil {
				require.NoError(t, err)
				assert.Equal(t, secretBlob, b.Reveal())
				return
			}
			require.ErrorIs(t, err, tc.err)
			assert.True(t, b.IsZero())
			assertNoLeak(t, err.Error(), secretBlob)
			assertNoLeak(t, err.Error(), string(key1))
			assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(key1))
		})
	}
}

func TestSealerSealErrors(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1", map[string][]byte{"k1": key1})
	_, err := s.Seal(fido.Blob{}, bindAlice)
	require.ErrorIs(t, err, fido.ErrBlobEmpty)
	_, err = s.Seal(mustBlob(t, secretBlob), fido.Binding{UserID: "u"})
	require.ErrorIs(t, err, fido.ErrInvalidBinding)
	assertNoLeak(t, err.Error(), secretBlob)

	_, err = s.KeyID([]byte{2, 1, 'k'})
	require.ErrorIs(t, err, fido.ErrSealedMalformed)
	assert.False(t, s.NeedsRotation([]byte("garbage")))
}

func TestNewSealerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
	}{
		{"no keys", "k1", nil},
		{"current missing", "k2", map[string][]byte{"k1": key1}},
		{"short key", "k1", map[string][]byte{"k1": key1[:16]}},
		{"long key", "k1", map[string][]byte{"k1": append(bytes.Clone(key1), 0)}},
		{"empty kid", "", map[string][]byte{"": key1}},
		{"kid with space", "k 1", map[string][]byte{"k 1": key1}},
		{"kid with control", "k\n1", map[string][]byte{"k\n1": key1}},
		{"kid non-ascii", "kä", map[string][]byte{"kä": key1}},
		{"kid too long", strings.Repeat("k", 65), map[string][]byte{strings.Repeat("k", 65): key1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := fido.NewSealer(tc.current, tc.keys)
			require.ErrorIs(t, err, fido.ErrInvalidKeyring)
			assert.Nil(t, s)
			for _, k := range tc.keys {
				if len(k) > 0 {
					assert.NotContains(t, err.Error(), string(k))
					assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(k))
				}
			}
		})
	}
	s, err := fido.NewSealer(strings.Repeat("k", 64), map[string][]byte{strings.Repeat("k", 64): key1})
	require.NoError(t, err, "a 64-character kid is allowed")
	sealed, err := s.Seal(mustBlob(t, "abc"), bindAlice)
	require.NoError(t, err)
	_, err = s.Open(sealed, bindAlice)
	require.NoError(t, err)
}

func TestNewSealerCopiesKeys(t *testing.T) {
	t.Parallel()
	k := bytes.Clone(key1)
	s := newSealer(t, "k1", map[string][]byte{"k1": k})
	sealed, err := s.Seal(mustBlob(t, secretBlob), bindAlice)
	require.NoError(t, err)
	clear(k) // the caller wipes its copy
	_, err = s.Open(sealed, bindAlice)
	require.NoError(t, err)
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	spec := "k2:" + b64(key2) + ", k1:" + base64.RawURLEncoding.EncodeToString(key1)
	s, err := fido.ParseKeyring(spec)
	require.NoError(t, err)
	assert.Equal(t, "k2", s.CurrentKeyID())
	assert.Equal(t, []string{"k1", "k2"}, s.KeyIDs())

	// It interoperates with a Sealer built from the same keys.
	sealed, err := newSealer(t, "k1", map[string][]byte{"k1": key1}).Seal(mustBlob(t, secretBlob), bindAlice)
	require.NoError(t, err)
	got, err := s.Open(sealed, bindAlice)
	require.NoError(t, err)
	assert.Equal(t, secretBlob, got.Reveal())

	for _, bad := range []string{
		"",
		"k1",
		"k1:",
		":" + b64(key1),
		"k1:" + b64(key1) + ",",
		"k1:" + b64(key1) + ",k1:" + b64(key2),
		"k1:not*base64!",
		"k1:" + b64(key1[:31]),
		"k 1:" + b64(key1),
	} {
		_, err := fido.ParseKeyring(bad)
		require.ErrorIs(t, err, fido.ErrInvalidKeyring, "spec %q", bad)
		assert.NotContains(t, err.Error(), b64(key1))
		assert.NotContains(t, err.Error(), b64(key2))
	}
}

type sealerHolder struct {
	s  fido.Sealer
	p  *fido.Sealer
	Pp *fido.Sealer
}

func TestSealerNeverPrintsKeys(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	h := sealerHolder{s: *s, p: s, Pp: s}
	for _, v := range []any{s, *s, h, &h} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
			out := fmt.Sprintf(verb, v)
			for _, k := range [][]byte{key1, key2} {
				assert.NotContains(t, out, string(k[:8]))
				assert.NotContains(t, out, fmt.Sprintf("%x", k[:8]))
				assert.NotContains(t, out, "17 17 17 17")
				assert.NotContains(t, out, "34 34 34 34")
			}
		}
	}
	assert.Equal(t, "fido.Sealer{current:k2 keys:[k1 k2]}", s.String())
}

func TestSealerConcurrent(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1", map[string][]byte{"k1": key1})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			bind := fido.Binding{UserID: fmt.Sprint("u", i), TokenID: "t"}
			b := mustBlob(t, fmt.Sprint("blob", i))
			sealed, err := s.Seal(b, bind)
			if err != nil {
				errs <- err
				return
			}
			got, err := s.Open(sealed, bind)
			if err == nil && !got.Equal(b) {
				err = fmt.Errorf("blob %d mismatch", i)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
