package mcpserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/authframe"
	"github.com/vicgo/visa/sandbox"
	"github.com/vicgo/visa/sandbox/sandboxtest"
)

func TestHandlesExpire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	hs := newHandleSet(func() time.Time { return now })
	id, ok := hs.put("asr_", &handle{assurance: &assuranceEntry{tokenID: "t"}}, time.Minute)
	require.True(t, ok)
	assert.NotNil(t, hs.get(id))
	now = now.Add(time.Minute)
	assert.Nil(t, hs.get(id), "expired")
	assert.Zero(t, hs.len())
	id, _ = hs.put("asr_", &handle{assurance: &assuranceEntry{tokenID: "t"}}, time.Minute)
	assert.NotNil(t, hs.take(id))
	assert.Nil(t, hs.take(id), "single use")
	now = now.Add(time.Hour)
	_, _ = hs.put("sess_", &handle{session: &sessionEntry{}}, time.Minute)
	assert.Equal(t, 1, hs.len(), "expired handles are swept")
}

func TestScrub(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"token 4111111111111111 refused": "token ****1111 refused",
		"code 456789, id 12345678901":    "code 456789, id 12345678901",
		"4000000000009995":               "****9995",
		"":                               "",
	} {
		assert.Equal(t, want, scrub(in))
	}
}

func TestDecodeArgs(t *testing.T) {
	t.Parallel()
	type in struct {
		PAN  string `json:"pan"`
		N    int    `json:"n"`
		List []int  `json:"list"`
	}
	cases := map[string]string{
		`{"pan": 4111111111111111}`: "invalid argument pan: must be a string",
		`{"n": "x"}`:                "invalid argument n: must be an integer",
		`{"list": {}}`:              "invalid argument list: must be a list",
		`{"pan": "x"} {}`:           "invalid argument arguments: must be one JSON object",
		`{"pan":`:                   "invalid argument arguments: are not valid JSON",
		`{"4111111111111111": 1}`:   "invalid argument (unnamed): is not an argument of this tool",
		`[1]`:                       "invalid argument arguments: must be an object",
	}
	for raw, want := range cases {
		var v in
		err := decodeArgs(json.RawMessage(raw), &v)
		require.Error(t, err, raw)
		assert.Equal(t, want, err.Error(), raw)
		assert.ErrorIs(t, err, ErrInvalidArgument)
		assert.ErrorIs(t, err, visa.ErrInvalidInput)
	}
	var v in
	require.NoError(t, decodeArgs(nil, &v))
	require.NoError(t, decodeArgs(json.RawMessage("null"), &v))
	big := make([]byte, MaxArgumentBytes+1)
	assert.ErrorIs(t, decodeArgs(big, &v), ErrInvalidArgument)
}

// TestWithBridge wires a real authframe.Bridge, relayed through the store:
// add-card reaches the passkey step and answers PASSKEY_REQUIRED with the
// Bridge's page under the public URL; cancelling removes the half-added
// card. (The page itself runs in a browser; authframe's own tests drive it.)
func TestWithBridge(t *testing.T) {
	t.Parallel()
	sbx := sandboxtest.Start(t, sandbox.WithPlainHTTP())
	b, err := authframe.NewBridge(sbx.Config(), authframe.WithPathPrefix("/passkey/"))
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	s, err := New(sbx.Config(), WithBridge(b, "https://agent.example.com"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := context.Background()
	r, err := s.addCard(ctx, &AddCardInput{User: UserInput{ID: "u1", Email: "u1@example.com", Country: "US"}, StepUpMethod: "OTPSMS",
		Card: &CardInput{PAN: sandbox.CardHappy, CVV2: "123", ExpiryMonth: 12, ExpiryYear: time.Now().Year() + 2}})
	require.NoError(t, err)
	for r.Status == StatusOTPRequired {
		r, err = s.addCardContinue(ctx, &ContinueInput{FlowID: r.FlowID, OTP: sandbox.GoldenOTP})
		require.NoError(t, err)
	}
	require.Equal(t, StatusPasskeyRequired, r.Status, "%+v", r)
	assert.True(t, strings.HasPrefix(r.PageURL, "https://agent.example.com/passkey/"), r.PageURL)

	// The low-level passkey tools refuse to run with a Bridge.
	_, err = s.attestationOptions(ctx, &AttestationInput{VProvisionedTokenID: "t", ClientReferenceID: "CR-1",
		Action: "AUTHENTICATE", ConsumerID: "u1", Email: "u1@example.com"})
	assert.ErrorIs(t, err, errBridgeLowLevel)

	end, err := s.addCardContinue(ctx, &ContinueInput{FlowID: r.FlowID, Cancel: true})
	require.NoError(t, err)
	assert.Equal(t, StatusCancelled, end.Status)
	assert.Equal(t, 1, sbx.Inspect().TokensByStatus["DELETED"], "the half-added token is deleted")
}
