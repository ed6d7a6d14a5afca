package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSecrets: the scanner finds each form of leak and ignores the numbers
// that only look like a secret.
func TestSecrets(t *testing.T) {
	t.Parallel()
	s := NewSecrets()
	s.Add("PAN", "4111111111111111")
	s.Add("api key", "K7QX2ZP9R4TW8YV3MN6B")
	s.Add("CVV2", "623")
	s.Add("OTP", "456789")
	s.AddDynamic("dynamic value", "847")
	for _, tc := range []struct {
		text string
		mode Mode
		want string
	}{
		{"card 4111111111111111", Text, "PAN"},
		{`{"msg":"wrong code 456789 typed"}`, JSON, "OTP"},
		{"otp=456789 refused", Text, "OTP"},
		{`{"cvv2":"623"}`, JSON, "CVV2"},
		{"cvv 623 refused", Text, "CVV2"},
		{"the cvv was 623.", Text, "CVV2"},
		{"cvv=623. Next", Text, "CVV2"},
		{`{"dynamicDataValue":"847"}`, JSON, "dynamic value"},
		{"{CVV2:847 Amount:1.00}", Text, "dynamic value"},
		{"apikey=K7QX2ZP9R4TW8YV3MN6B", LongOnly, "api key"},
		// Look-alikes that are not leaks.
		{"card ****8623 added", Text, ""},
		{"listening on 127.0.0.1:46231", Text, ""},
		{"took 311.623µs", Text, ""},
		{`attempt=1 duration=623.895µs status=200`, Text, ""},
		{"select step-up method ......    623µs  code sent", Text, ""},
		{`{"duration":456789,"status":623,"n":847}`, JSON, ""},
		{"time.Date(2026, 11, 25, 9, 30, 57, 456789000, time.UTC) 203.0.113.7 847", Text, ""},
		{"[45 623 200 847]", LongOnly, ""},
	} {
		got := s.Find(tc.text, tc.mode)
		if tc.want == "" {
			assert.Empty(t, got, tc.text)
			continue
		}
		assert.Contains(t, got, tc.want, tc.text)
	}
}
