package visa_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, currency string
		minor           int64
		str             string
	}{
		{"129.99", "USD", 12999, "129.99 USD"},
		{"129.99", "840", 12999, "129.99 USD"},
		{"129.99", "usd", 12999, "129.99 USD"},
		{"0", "USD", 0, "0.00 USD"},
		{"0.00", "USD", 0, "0.00 USD"},
		{"710", "USD", 71000, "710.00 USD"},
		{"7.1", "USD", 710, "7.10 USD"},
		{"007.50", "EUR", 750, "7.50 EUR"},
		{"0.01", "GBP", 1, "0.01 GBP"},
		{"710", "JPY", 710, "710 JPY"},
		{"710", "392", 710, "710 JPY"},
		{"1.234", "KWD", 1234, "1.234 KWD"},
		{"1.5", "BHD", 1500, "1.500 BHD"},
		{"12.3456", "CLF", 123456, "12.3456 CLF"},
		{"5", "036", 500, "5.00 AUD"},
		{"9999999999999.99", "USD", visa.MaxAmountMinor, "9999999999999.99 USD"},
		{"999999999999999", "JPY", visa.MaxAmountMinor, "999999999999999 JPY"},
		{"000000000000000000000000001", "USD", 100, "1.00 USD"},
	}
	for _, tt := range tests {
		a, err := visa.ParseAmount(tt.value, tt.currency)
		require.NoError(t, err, "%s %s", tt.value, tt.currency)
		assert.Equal(t, tt.minor, a.Minor(), "%s %s", tt.value, tt.currency)
		assert.Equal(t, tt.str, a.String())
		back, err := visa.ParseAmount(a.Value(), a.Currency().Numeric)
		require.NoError(t, err)
		assert.Equal(t, a, back, "Value round-trips")
	}
}

func TestParseAmountRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, currency, field string
	}{
		{"-1", "USD", "Amount"},
		{"+1", "USD", "Amount"},
		{"1e3", "USD", "Amount"},
		{"1E3", "USD", "Amount"},
		{"1.", "USD", "Amount"},
		{".5", "USD", "Amount"},
		{".", "USD", "Amount"},
		{"12.345", "USD", "Amount"},
		{"12.340", "USD", "Amount"},
		{"1.0", "JPY", "Amount"},
		{"1.2345", "KWD", "Amount"},
		{"abc", "USD", "Amount"},
		{"", "USD", "Amount"},
		{" 1", "USD", "Amount"},
		{"1 ", "USD", "Amount"},
		{"1,000.00", "USD", "Amount"},
		{"1.2.3", "USD", "Amount"},
		{"0x10", "USD", "Amount"},
		{"NaN", "USD", "Amount"},
		{"Inf", "USD", "Amount"},
		{"١٢", "USD", "Amount"},
		{"10000000000000", "USD", "Amount"},
		{"1000000000000000", "JPY", "Amount"},
		{"99999999999999999999999999999", "USD", "Amount"},
		{strings.Repeat("9", 1000), "USD", "Amount"},
		{"1.00", "XXX", "Currency"},
		{"1.00", "", "Currency"},
		{"1.00", "84", "Currency"},
		{"1.00", "HRK", "Currency"},
		{"1.00", "US D", "Currency"},
	}
	for _, tt := range tests {
		a, err := visa.ParseAmount(tt.value, tt.currency)
		var ie *visa.InputError
		require.ErrorAs(t, err, &ie, "%q %q", tt.value, tt.currency)
		assert.Equal(t, tt.field, ie.Field, "%q %q", tt.value, tt.currency)
		assert.True(t, a.IsZero())
	}
}

func TestMustParseAmountPanics(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { visa.MustParseAmount("-1", "USD") })
	assert.Equal(t, int64(100), visa.MustParseAmount("1", "USD").Minor())
}

func TestNewAmountMinor(t *testing.T) {
	t.Parallel()
	a, err := visa.NewAmountMinor(12999, "USD")
	require.NoError(t, err)
	assert.Equal(t, "129.99", a.Value())
	a, err = visa.NewAmountMinor(5, "KWD")
	require.NoError(t, err)
	assert.Equal(t, "0.005", a.Value())
	a, err = visa.NewAmountMinor(5, "CLF")
	require.NoError(t, err)
	assert.Equal(t, "0.0005", a.Value())
	for _, bad := range []int64{-1, visa.MaxAmountMinor + 1} {
		_, err = visa.NewAmountMinor(bad, "USD")
		require.ErrorIs(t, err, visa.ErrInvalidInput)
	}
	_, err = visa.NewAmountMinor(1, "ZZZ")
	require.ErrorIs(t, err, visa.ErrInvalidInput)
}

// TestAmountValue checks Value against the plain decimal form for every
// exponent in use, and that it allocates only its string.
func TestAmountValue(t *testing.T) {
	for _, tc := range []struct {
		cur  string
		want map[int64]string
	}{
		{"JPY", map[int64]string{0: "0", 7: "7", 1234: "1234", visa.MaxAmountMinor: strconv.FormatInt(visa.MaxAmountMinor, 10)}},
		{"USD", map[int64]string{0: "0.00", 1: "0.01", 10: "0.10", 99: "0.99", 100: "1.00", 12999: "129.99"}},
		{"KWD", map[int64]string{0: "0.000", 5: "0.005", 999: "0.999", 1000: "1.000", 123456: "123.456"}},
		{"CLF", map[int64]string{0: "0.0000", 5: "0.0005", 10000: "1.0000", 123456789: "12345.6789"}},
	} {
		for minor, want := range tc.want {
			a, err := visa.NewAmountMinor(minor, tc.cur)
			require.NoError(t, err)
			assert.Equal(t, want, a.Value(), "%d %s", minor, tc.cur)
		}
	}
	a := visa.MustParseAmount("129.99", "USD")
	if n := testing.AllocsPerRun(100, func() { _ = a.Value() }); n > 1 {
		t.Errorf("Value allocates %v times, want 1", n)
	}
}

func TestAmountZero(t *testing.T) {
	t.Parallel()
	var z visa.Amount
	assert.True(t, z.IsZero())
	assert.Empty(t, z.String())
	assert.False(t, visa.MustParseAmount("0", "USD").IsZero())
}

func TestAmountCmpAddSub(t *testing.T) {
	t.Parallel()
	a, b := visa.MustParseAmount("10.50", "USD"), visa.MustParseAmount("0.75", "840")
	c, ok := a.Cmp(b)
	assert.True(t, ok)
	assert.Equal(t, 1, c)
	c, _ = b.Cmp(a)
	assert.Equal(t, -1, c)
	c, _ = a.Cmp(a)
	assert.Equal(t, 0, c)
	_, ok = a.Cmp(visa.MustParseAmount("1", "EUR"))
	assert.False(t, ok)

	sum, err := a.Add(b)
	require.NoError(t, err)
	assert.Equal(t, "11.25 USD", sum.String())
	diff, err := a.Sub(b)
	require.NoError(t, err)
	assert.Equal(t, "9.75 USD", diff.String())
	zero, err := a.Sub(a)
	require.NoError(t, err)
	assert.Equal(t, "0.00 USD", zero.String())

	_, err = b.Sub(a)
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	_, err = a.Add(visa.MustParseAmount("1", "EUR"))
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	_, err = a.Add(visa.Amount{})
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	max, err := visa.NewAmountMinor(visa.MaxAmountMinor, "USD")
	require.NoError(t, err)
	_, err = max.Add(visa.MustParseAmount("0.01", "USD"))
	require.ErrorIs(t, err, visa.ErrInvalidInput)
	same, err := max.Add(visa.MustParseAmount("0", "USD"))
	require.NoError(t, err)
	assert.Equal(t, max, same)
}

func TestAmountJSON(t *testing.T) {
	t.Parallel()
	type order struct {
		Total visa.Amount  `json:"total"`
		Tip   *visa.Amount `json:"tip,omitempty"`
		None  visa.Amount  `json:"none"`
	}
	in := order{Total: visa.MustParseAmount("129.99", "USD"), Tip: new(visa.MustParseAmount("710", "JPY"))}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"total":{"value":"129.99","currency":"USD"},"tip":{"value":"710","currency":"JPY"},"none":null}`, string(b))
	var out order
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	for in, want := range map[string]string{
		`{"value":129.99,"currency":"840"}`:    "129.99 USD",
		`{"value":"0","currency":"usd"}`:       "0.00 USD",
		`{"currency":"KWD","value":"1.5"}`:     "1.500 KWD",
		`{"value":"1","currency":"EUR","x":1}`: "1.00 EUR",
	} {
		var a visa.Amount
		require.NoError(t, json.Unmarshal([]byte(in), &a), in)
		assert.Equal(t, want, a.String(), in)
	}
	for _, bad := range []string{
		`{"value":"-1","currency":"USD"}`, `{"value":-1,"currency":"USD"}`, `{"value":1e3,"currency":"USD"}`,
		`{"value":"1","currency":"XYZ"}`, `{"currency":"USD"}`, `{"value":null,"currency":"USD"}`,
		`{"value":true,"currency":"USD"}`, `{"value":"1"}`, `"1.00 USD"`, `[1]`, `{"value":{},"currency":"USD"}`,
	} {
		var a visa.Amount
		require.ErrorIs(t, json.Unmarshal([]byte(bad), &a), visa.ErrInvalidInput, bad)
	}
	var a visa.Amount
	require.NoError(t, json.Unmarshal([]byte(`null`), &a))
	assert.True(t, a.IsZero())
}

func TestCurrencyTable(t *testing.T) {
	t.Parallel()
	all := visa.Currencies()
	require.Greater(t, len(all), 150)
	alpha, numeric := map[string]bool{}, map[string]bool{}
	for i, c := range all {
		assert.Regexp(t, `^[A-Z]{3}$`, c.Alpha)
		assert.Regexp(t, `^[0-9]{3}$`, c.Numeric, c.Alpha)
		assert.Contains(t, []int{0, 2, 3, 4}, c.Exponent, c.Alpha)
		assert.False(t, alpha[c.Alpha], "duplicate %s", c.Alpha)
		assert.False(t, numeric[c.Numeric], "duplicate %s", c.Numeric)
		alpha[c.Alpha], numeric[c.Numeric] = true, true
		if i > 0 {
			assert.Less(t, all[i-1].Alpha, c.Alpha, "sorted")
		}
		byAlpha, ok := visa.LookupCurrency(c.Alpha)
		require.True(t, ok)
		byNumeric, ok := visa.LookupCurrency(c.Numeric)
		require.True(t, ok)
		assert.Equal(t, c, byAlpha)
		assert.Equal(t, c, byNumeric)
	}
	for code, want := range map[string]visa.Currency{
		"USD": {"USD", "840", 2}, "EUR": {"EUR", "978", 2}, "JPY": {"JPY", "392", 0}, "KRW": {"KRW", "410", 0},
		"KWD": {"KWD", "414", 3}, "BHD": {"BHD", "048", 3}, "JOD": {"JOD", "400", 3}, "OMR": {"OMR", "512", 3},
		"TND": {"TND", "788", 3}, "LYD": {"LYD", "434", 3}, "IQD": {"IQD", "368", 3}, "CLF": {"CLF", "990", 4},
		"AUD": {"AUD", "036", 2}, "ALL": {"ALL", "008", 2}, "DZD": {"DZD", "012", 2}, "CLP": {"CLP", "152", 0},
		"ISK": {"ISK", "352", 0}, "VND": {"VND", "704", 0}, "XOF": {"XOF", "952", 0}, " gbp ": {"GBP", "826", 2},
	} {
		got, ok := visa.LookupCurrency(code)
		require.True(t, ok, code)
		assert.Equal(t, want, got, code)
	}
	for _, code := range []string{"", "XXX", "XAU", "HRK", "36", "0840", "999", "EURO"} {
		_, ok := visa.LookupCurrency(code)
		assert.False(t, ok, code)
	}
	all[0].Alpha = "MUTATED"
	assert.NotEqual(t, "MUTATED", visa.Currencies()[0].Alpha, "Currencies returns a copy")
}
