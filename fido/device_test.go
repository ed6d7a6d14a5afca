package fido_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/fido"
	"github.com/vicgo/visa/internal/testutil"
)

// TestSealedBlobDoesNotOpenForAnotherDevice is the copied-row case: the
// device id is part of the passkey's key, so a sealed blob copied to the
// same user's and token's row of another device must not open.
func TestSealedBlobDoesNotOpenForAnotherDevice(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1", map[string][]byte{"k1": key1})
	phone := fido.Binding{UserID: "user-alice", TokenID: "vpt-0001", DeviceID: "phone-aZ3-_k9aZ3-_k9aZ3-"}
	laptop := phone
	laptop.DeviceID = "laptop-k9aZ3-_k9aZ3-_k9a"
	sealed, err := s.Seal(mustBlob(t, secretBlob), phone)
	require.NoError(t, err)

	got, err := s.Open(sealed, phone)
	require.NoError(t, err)
	assert.Equal(t, secretBlob, got.Reveal())

	for name, bind := range map[string]fido.Binding{"another device": laptop, "no device": {UserID: phone.UserID, TokenID: phone.TokenID}} {
		b, err := s.Open(sealed, bind)
		require.ErrorIs(t, err, fido.ErrOpenFailed, name)
		assert.True(t, b.IsZero(), name)
		_, err = s.Reseal(sealed, bind)
		require.ErrorIs(t, err, fido.ErrOpenFailed, "Reseal does not move a blob to %s", name)
	}
}

// legacySeal builds a format-1 envelope, as the SDK sealed before the
// device was bound: AD = domain ‖ 0 ‖ header ‖ user ‖ token.
func legacySeal(t *testing.T, kid string, key []byte, clear string, userID, tokenID string) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	header := append([]byte{1, byte(len(kid))}, kid...)
	ad := append([]byte("vicgo/fido/blob-at-rest\x00"), header...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(userID)))
	ad = append(ad, userID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(tokenID)))
	ad = append(ad, tokenID...)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	out := append(bytes.Clone(header), nonce...)
	return aead.Seal(out, nonce, []byte(clear), ad)
}

// TestLegacyBlobOpensOnlyThroughReseal: a blob sealed before the device
// was bound opens once, in Reseal, and comes back bound to the device.
func TestLegacyBlobOpensOnlyThroughReseal(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	old := legacySeal(t, "k1", key1, secretBlob, bindAlice.UserID, bindAlice.TokenID)
	assert.True(t, s.NeedsRotation(old), "format 1 needs resealing")
	_, err := s.Open(old, bindAlice)
	require.ErrorIs(t, err, fido.ErrLegacySealed)
	assert.NotContains(t, err.Error(), secretBlob)

	// A legacy blob under the current key needs resealing too.
	current := legacySeal(t, "k2", key2, secretBlob, bindAlice.UserID, bindAlice.TokenID)
	assert.True(t, s.NeedsRotation(current))

	// The migration checks user and token as format 1 did.
	_, err = s.Reseal(old, fido.Binding{UserID: "user-mallory", TokenID: bindAlice.TokenID, DeviceID: bindAlice.DeviceID})
	require.ErrorIs(t, err, fido.ErrOpenFailed)

	resealed, err := s.Reseal(old, bindAlice)
	require.NoError(t, err)
	assert.False(t, s.NeedsRotation(resealed))
	kid, err := s.KeyID(resealed)
	require.NoError(t, err)
	assert.Equal(t, "k2", kid)
	got, err := s.Open(resealed, bindAlice)
	require.NoError(t, err)
	assert.Equal(t, secretBlob, got.Reveal())
	other := bindAlice
	other.DeviceID = "another-device-000000000"
	_, err = s.Open(resealed, other)
	require.ErrorIs(t, err, fido.ErrOpenFailed, "after the migration the blob is bound to its device")
}

// blobHolder is a struct a caller might compare in a test.
type blobHolder struct {
	Blob fido.Blob
	Note string
}

// TestBlobShowsOnlyTheMaskToReflection covers testify's diff, %#v and
// %+v, JSON, gob and a reflection walk for fido.Blob.
func TestBlobShowsOnlyTheMaskToReflection(t *testing.T) {
	t.Parallel()
	const otherBlob = "eyJvdGhlciI6ImJsb2IifQ.ZGlmZmVyZW50LXNlY3JldC1ibG9i.c2ln"
	sec := testutil.NewSecrets()
	sec.Add("fidoBlob", secretBlob)
	sec.Add("the other fidoBlob", otherBlob)
	a, b := blobHolder{Blob: mustBlob(t, secretBlob)}, blobHolder{Blob: mustBlob(t, otherBlob)}

	ft := &fakeT{}
	require.False(t, assert.Equal(ft, a, b))
	require.Len(t, ft.msgs, 1)
	assert.Contains(t, ft.msgs[0], "Diff:")
	assert.Contains(t, ft.msgs[0], "[REDACTED fidoBlob len="+strconv.Itoa(len(secretBlob))+"]")
	sec.Check(t, "testify's diff", ft.msgs[0], testutil.Text)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		sec.Check(t, verb, fmt.Sprintf(verb, a), testutil.Text)
	}
	j, err := json.Marshal(a)
	require.NoError(t, err)
	sec.Check(t, "encoding/json", string(j), testutil.JSON)

	var buf bytes.Buffer
	err = gob.NewEncoder(&buf).Encode(a)
	require.ErrorIs(t, err, visa.ErrSecretNotEncodable)
	sec.Check(t, "gob", buf.String()+err.Error(), testutil.Text)

	var texts []string
	walkStrings(reflect.ValueOf(&a), func(s string) { texts = append(texts, s) })
	sec.Check(t, "a reflection walk", strings.Join(texts, "\n"), testutil.Text)

	// Equality stays usable.
	assert.True(t, assert.ObjectsAreEqual(a, blobHolder{Blob: mustBlob(t, secretBlob)}))
	assert.True(t, a.Blob.Equal(mustBlob(t, secretBlob)))
	assert.True(t, a.Blob == mustBlob(t, secretBlob))
}

// TestSealerKeysUnreachableByReflection: a deep printer that follows the
// Sealer's fields must not reach the AES key schedule, whose first words
// are the key itself.
func TestSealerKeysUnreachableByReflection(t *testing.T) {
	t.Parallel()
	key := []byte("K3y-that-must-not-print-0123456!")
	require.Len(t, key, 32)
	s := newSealer(t, "k1", map[string][]byte{"k1": key})
	type agentish struct {
		Sealer *fido.Sealer
		N      int
	}
	ft := &fakeT{}
	require.False(t, assert.Equal(ft, agentish{s, 1}, agentish{s, 2}))
	out := ft.msgs[0]
	// The key schedule holds the key's words in either byte order
	// (the assembly implementations keep them little-endian).
	var keyWords []uint64
	for i := 0; i < 32; i += 4 {
		keyWords = append(keyWords, uint64(binary.BigEndian.Uint32(key[i:])), uint64(binary.LittleEndian.Uint32(key[i:])))
	}
	for _, w := range keyWords {
		for _, form := range []string{strconv.FormatUint(w, 10), strconv.FormatUint(w, 16)} {
			assert.NotContains(t, out, form, "testify's dump shows a word of the key")
		}
	}
	assert.NotContains(t, out, "aead")
	var words []uint64
	walkInts(reflect.ValueOf(s), func(u uint64) { words = append(words, u) })
	for _, w := range keyWords {
		assert.NotContains(t, words, w, "a reflection walk reaches the key")
	}
}

// fakeT keeps the message of a failed assertion.
type fakeT struct{ msgs []string }

func (f *fakeT) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// walk visits every value reachable from v, exported or not.
func walk(v reflect.Value, seen map[uintptr]bool, visit func(reflect.Value)) {
	visit(v)
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walk(v.Elem(), seen, visit)
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), seen, visit)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walk(v.Field(i), seen, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walk(v.Index(i), seen, visit)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walk(it.Key(), seen, visit)
			walk(it.Value(), seen, visit)
		}
	}
}

func walkStrings(v reflect.Value, found func(string)) {
	walk(v, map[uintptr]bool{}, func(v reflect.Value) {
		switch {
		case v.Kind() == reflect.String:
			found(v.String())
		case (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Type().Elem().Kind() == reflect.Uint8:
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			found(string(b))
		}
	})
}

func walkInts(v reflect.Value, found func(uint64)) {
	walk(v, map[uintptr]bool{}, func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint, reflect.Uintptr:
			found(v.Uint())
		}
	})
}
