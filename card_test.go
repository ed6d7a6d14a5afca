package visa_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

func TestParsePAN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, reason string
	}{
		{name: "visa 16", in: "4111111111111111", want: "4111111111111111"},
		{name: "spaces", in: "4111 1111 1111 1111", want: "4111111111111111"},
		{name: "hyphens", in: "4111-1111-1111-1111", want: "4111111111111111"},
		{name: "amex 15", in: "3782 822463 10005", want: "378282246310005"},
		{name: "12 digits", in: "400000000002", want: "400000000002"},
		{name: "19 digits", in: "4000000000000000006", want: "4000000000000000006"},
		{name: "sandbox token", in: "489537000000001", want: "489537000000001"},
		{name: "empty", in: "", reason: "is empty"},
		{name: "only separators", in: " - - ", reason: "is empty"},
		{name: "bad luhn", in: "4111111111111112", reason: "fails the Luhn check"},
		{name: "letters", in: "4111111111111a11", reason: "must contain only digits"},
		{name: "dot", in: "4111.1111.1111.1111", reason: "must contain only digits"},
		{name: "unicode digits", in: "４１１１１１１１１１１１１１１１", reason: "must contain only digits"},
		{name: "tab", in: "4111\t1111111111111", reason: "must contain only digits"},
		{name: "sign", in: "+4111111111111111", reason: "must contain only digits"},
		{name: "11 digits", in: "40000000006", reason: "must have 12 to 19 digits"},
		{name: "20 digits", in: "40000000000000000002", reason: "must have 12 to 19 digits"},
		{name: "huge", in: string(make([]byte, 1<<16)), reason: "must have 12 to 19 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := visa.ParsePAN(tt.in)
			if tt.reason != "" {
				var ie *visa.InputError
				require.ErrorAs(t, err, &ie)
				assert.ErrorIs(t, err, visa.ErrInvalidInput)
				assert.Equal(t, "PAN", ie.Field)
				assert.Equal(t, tt.reason, ie.Reason)
				assert.True(t, p.IsZero())
				if len(tt.in) >= 4 && len(tt.in) < 100 {
					assert.NotContains(t, err.Error(), tt.in[len(tt.in)-4:], "error must not carry digits")
				}
				assert.NotRegexp(t, `[0-9]{3}`, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Reveal())
			assert.Equal(t, tt.want[len(tt.want)-4:], p.Last4())
			assert.Equal(t, "****"+p.Last4(), p.String())
		})
	}
}

func TestPANEqualAndZero(t *testing.T) {
	t.Parallel()
	a, b := mustPAN(t, "4111111111111111"), mustPAN(t, "4111 1111 1111 1111")
	assert.True(t, a.Equal(b))
	assert.False(t, a.Equal(mustPAN(t, "4012888888881881")))
	var z visa.PAN
	assert.True(t, z.IsZero())
	assert.Empty(t, z.Last4())
	assert.Empty(t, z.Reveal())
	assert.Empty(t, z.String())
}

func TestLuhn(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"4111111111111111": true, "4012888888881881": true, "79927398713": true, "0": false, // at least two digits
		"4111111111111112": false, "79927398710": false, "": false, "12a4": false, "-0": false,
	} {
		assert.Equal(t, want, check.Luhn(s), s)
	}
}

func TestParseCVV2AndOTP(t *testing.T) {
	t.Parallel()
	type parser func(string) (any, error)
	cvv := func(s string) (any, error) { return visa.ParseCVV2(s) }
	otp := func(s string) (any, error) { return visa.ParseOTP(s) }
	tests := []struct {
		name  string
		parse parser
		field string
		in    string
		ok    bool
	}{
		{"cvv 3", cvv, "CVV2", "123", true},
		{"cvv 4", cvv, "CVV2", "1234", true},
		{"cvv empty", cvv, "CVV2", "", false},
		{"cvv 2", cvv, "CVV2", "12", false},
		{"cvv 5", cvv, "CVV2", "12345", false},
		{"cvv letters", cvv, "CVV2", "12a", false},
		{"cvv space", cvv, "CVV2", " 123", false},
		{"cvv sign", cvv, "CVV2", "-12", false},
		{"otp 4", otp, "OTP", "4567", true},
		{"otp 6", otp, "OTP", "456789", true},
		{"otp 8", otp, "OTP", "45678901", true},
		{"otp empty", otp, "OTP", "", false},
		{"otp 3", otp, "OTP", "456", false},
		{"otp 9", otp, "OTP", "456789012", false},
		{"otp letters", otp, "OTP", "45678x", false},
		{"otp spaces", otp, "OTP", "456 789", false},
		{"otp unicode", otp, "OTP", "٤٥٦٧٨٩", false},
	}
	for _, tt := range tests {
		v, err := tt.parse(tt.in)
		if tt.ok {
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.in, v.(interface{ Reveal() string }).Reveal(), tt.name)
			continue
		}
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, tt.name)
		assert.Equal(t, tt.field, ie.Field, tt.name)
		if tt.in != "" {
			assert.NotContains(t, err.Error(), tt.in, tt.name)
		}
		assert.True(t, v.(interface{ IsZero() bool }).IsZero(), tt.name)
	}
}

func TestCardJSONRoundTrip(t *testing.T) {
	t.Parallel()
	var in struct {
		PAN  visa.PAN  `json:"pan"`
		CVV2 visa.CVV2 `json:"cvv2"`
		OTP  visa.OTP  `json:"otp"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"pan":"4111 1111 1111 1111","cvv2":"123","otp":"456789"}`), &in))
	assert.Equal(t, "4111111111111111", in.PAN.Reveal())
	assert.Equal(t, "123", in.CVV2.Reveal())
	assert.Equal(t, "456789", in.OTP.Reveal())

	out, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"pan":"****1111","cvv2":"[REDACTED]","otp":"[REDACTED]"}`, string(out))

	// A logged (masked) value never parses back.
	err = json.Unmarshal(out, &in)
	require.ErrorIs(t, err, visa.ErrInvalidInput)

	for _, bad := range []string{`{"pan":"4111111111111112"}`, `{"pan":4111111111111111}`, `{"cvv2":"12"}`, `{"otp":true}`} {
		var v struct {
			PAN  visa.PAN  `json:"pan"`
			CVV2 visa.CVV2 `json:"cvv2"`
			OTP  visa.OTP  `json:"otp"`
		}
		err := json.Unmarshal([]byte(bad), &v)
		require.ErrorIs(t, err, visa.ErrInvalidInput, bad)
		assert.NotContains(t, err.Error(), "4111", bad)
	}
	var p visa.PAN
	require.NoError(t, json.Unmarshal([]byte(`null`), &p))
	assert.True(t, p.IsZero())
}

func TestInputError(t *testing.T) {
	t.Parallel()
	err := visa.NewInputError("Amount", "is empty")
	assert.Equal(t, "visa: invalid input: Amount: is empty", err.Error())
	assert.ErrorIs(t, err, visa.ErrInvalidInput)
	assert.NotErrorIs(t, err, visa.ErrInvalidRequest)
	var ie *visa.InputError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, "Amount", ie.Field)
}
