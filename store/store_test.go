package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vicgo/visa/store"
)

func TestCanTransition(t *testing.T) {
	t.Parallel()
	P, AU, I, CR, CI, AZ, AD := store.TxPending, store.TxAuthenticated, store.TxInstructed,
		store.TxCredentialsRequested, store.TxCredentialsIssued, store.TxAuthorizing, store.TxAuthorized
	D, C, F, X := store.TxDeclined, store.TxCompleted, store.TxFailed, store.TxCancelled
	allowed := map[store.TxStatus][]store.TxStatus{
		P:  {AU, I, CR, CI, AZ, AD, F, X},
		AU: {I, CR, CI, AZ, AD, F, X},
		I:  {CR, CI, AZ, AD, F, X},
		CR: {CI, AZ, AD, F, X},
		CI: {CR, AZ, AD, D, F, X},
		AZ: {CR, AD, D, F, X},
		AD: {C, F, X},
	}
	for _, from := range store.TxStatuses {
		for _, to := range store.TxStatuses {
			want := false
			for _, a := range allowed[from] {
				want = want || a == to
			}
			assert.Equal(t, want, store.CanTransition(from, to), "%s → %s", from, to)
		}
		assert.False(t, store.CanTransition(from, "BOGUS"))
		assert.False(t, store.CanTransition("BOGUS", from))
	}
}

func TestFinal(t *testing.T) {
	t.Parallel()
	var finals []store.TxStatus
	for _, s := range store.TxStatuses {
		require.True(t, s.Valid())
		if s.Final() {
			finals = append(finals, s)
		}
	}
	assert.Equal(t, []store.TxStatus{store.TxDeclined, store.TxCompleted, store.TxFailed, store.TxCancelled}, finals)
	assert.False(t, store.TxStatus("").Valid())
	assert.False(t, store.TxStatus("pending").Valid(), "statuses are upper case")
}

func TestCanTransitionToken(t *testing.T) {
	t.Parallel()
	all := []store.TokenStatus{store.TokenInactive, store.TokenActive, store.TokenSuspended, store.TokenDeleted}
	for _, from := range all {
		for _, to := range all {
			assert.Equal(t, from != to && from != store.TokenDeleted, store.CanTransitionToken(from, to), "%s → %s", from, to)
		}
		assert.False(t, store.CanTransitionToken(from, "GONE"))
	}
}

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		id       string
		from, to store.TxStatus
		upd      store.TxUpdate
		want     error
	}{
		{"move", "tx", store.TxPending, store.TxInstructed, store.TxUpdate{InstructionID: store.Ptr("INS-1")}, nil},
		{"field update", "tx", store.TxInstructed, store.TxInstructed, store.TxUpdate{MandateID: store.Ptr("m")}, nil},
		{"confirm final", "tx", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true}, nil},
		{"update final", "tx", store.TxDeclined, store.TxDeclined, store.TxUpdate{Confirmed: true, ResponseCode: store.Ptr("00")}, store.ErrConflict},
		{"touch final", "tx", store.TxCompleted, store.TxCompleted, store.TxUpdate{}, store.ErrConflict},
		{"leave final", "tx", store.TxDeclined, store.TxCompleted, store.TxUpdate{}, store.ErrConflict},
		{"skip to completed", "tx", store.TxPending, store.TxCompleted, store.TxUpdate{}, store.ErrConflict},
		{"no id", "", store.TxPending, store.TxInstructed, store.TxUpdate{}, store.ErrInvalid},
		{"bad from", "tx", "X", store.TxInstructed, store.TxUpdate{}, store.ErrInvalid},
		{"bad to", "tx", store.TxPending, "X", store.TxUpdate{}, store.ErrInvalid},
		{"bad field", "tx", store.TxPending, store.TxInstructed, store.TxUpdate{DynamicDataID: store.Ptr("a b")}, store.ErrInvalid},
	}
	for _, c := range cases {
		err := store.CheckTransition(c.id, c.from, c.to, c.upd)
		if c.want == nil {
			assert.NoError(t, err, c.name)
		} else {
			assert.ErrorIs(t, err, c.want, c.name)
		}
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	err := store.Transaction{ID: "tx", UserID: "u", TokenID: "t", Amount: "1.00", Currency: "usd", Status: store.TxPending}.Validate()
	require.ErrorIs(t, err, store.ErrInvalid)
	assert.False(t, errors.Is(err, store.ErrConflict))
	var ve *store.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, store.ValidationError{Record: "transaction", Field: "Currency", Reason: ve.Reason}, *ve)
	assert.Equal(t, "store: invalid transaction.Currency: "+ve.Reason, err.Error())
	assert.NotContains(t, err.Error(), "usd", "the rejected value is not echoed")
}

func TestCurrencies(t *testing.T) {
	t.Parallel()
	for code, ok := range map[string]bool{
		"USD": true, "EUR": true, "JPY": true, "KWD": true, "ZWG": true, "XCG": true, "VED": true, "XOF": true,
		"ZZZ": false, "XXX": false, "XTS": false, "XAU": false, "usd": false, "US": false, "USDD": false, "840": false, "": false,
		" USD": false, "HRK": false, // withdrawn: not in the SDK's one currency table (visa.LookupCurrency)
	} {
		assert.Equal(t, ok, store.KnownCurrency(code), code)
	}
	x := store.Transaction{ID: "tx", UserID: "u", TokenID: "t", Amount: "1", Currency: "ZZZ", Status: store.TxPending}
	err := x.Validate()
	require.ErrorIs(t, err, store.ErrInvalid)
	assert.NotContains(t, err.Error(), "ZZZ")
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	x := store.Transaction{ID: "tx", UserID: "u", TokenID: "t", Currency: "USD", Status: store.TxPending}
	for amount, ok := range map[string]bool{
		"0": true, "0.00": true, "129.99": true, "1.5": true, "1.234": true, "999999999999999.999": true,
		"": false, "-1": false, "+1": false, "1.": false, ".5": false, "01": false, "1.2345": false,
		"1e3": false, "1,00": false, " 1": false, "1000000000000000": false, "١٢": false,
	} {
		x.Amount = amount
		assert.Equal(t, ok, x.Validate() == nil, "%q", amount)
	}
}

func TestLanguageTags(t *testing.T) {
	t.Parallel()
	u := store.User{ID: "u", Email: "u@example.com"}
	for tag, ok := range map[string]bool{
		"": true, "en": true, "en-US": true, "zh-Hant-TW": true, "es-419": true, "fil": true,
		"e": false, "en_US": false, "en-": false, "-en": false, "1n": false, "en--US": false, "en-toolongsub": false,
	} {
		u.Language = tag
		assert.Equal(t, ok, u.Validate() == nil, "%q", tag)
	}
}

func TestFreeTextRefusesCardNumbers(t *testing.T) {
	t.Parallel()
	x := store.Transaction{ID: "tx", UserID: "u", TokenID: "t", Amount: "1", Currency: "USD", Status: store.TxFailed}
	for reason, ok := range map[string]bool{
		"declined by issuer":                 true,
		"order 123456789012 failed":          true,  // 12 digits: an order number
		"at 1767225600123 ms":                true,  // 13 digits, not Luhn-valid: an epoch in ms
		"correlation 4111111111111112":       true,  // 16 digits failing Luhn
		"card 378282246310005 refused":       false, // Amex, 15 digits
		"card 4111 1111 1111 1111 2029":      false, // grouped, then an expiry
		"ids 4111-1111-1111-1112 and 12":     true,
		"card 4111111111111111 refused":      false,
		"card 4111 1111 1111 1111 refused":   false,
		"card 4111-1111-1111-1111 refused":   false,
		"pan=5555555555554444":               false,
		"codes 123456 and 7890123 and 45678": true,
	} {
		x.FailureReason = reason
		err := x.Validate()
		assert.Equal(t, ok, err == nil, "%q", reason)
		if err != nil {
			assert.NotContains(t, err.Error(), "1111")
		}
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", store.MaxTextLen) // 2 bytes each
	for in, want := range map[string]string{
		"declined by issuer":                       "declined by issuer",
		"a\nb\tc":                                  "a b c",
		"bad \xff byte":                            "bad   byte",
		"card 4111 1111 1111 1111 refused":         "card [number removed] refused",
		"x4111111111111111y and 5555555555554444.": "x[number removed]y and [number removed].",
		"at 1767225600123 ms":                      "at 1767225600123 ms",
		"ids 12-34 and 4111-1111-1111-1111-":       "ids 12-34 and [number removed]-",
	} {
		got := store.Reason(in)
		assert.Equal(t, want, got, "%q", in)
	}
	got := store.Reason(long)
	assert.LessOrEqual(t, len(got), store.MaxTextLen)
	assert.True(t, utf8.ValidString(got))
	for _, in := range []string{long, "err: a\nb", "card 4111111111111111", "\x00\x01", "bad \xff"} {
		x := store.Transaction{ID: "tx", UserID: "u", TokenID: "t", Amount: "1", Currency: "USD",
			Status: store.TxFailed, FailureReason: store.Reason(in)}
		assert.NoError(t, x.Validate(), "Reason(%q) is accepted", in)
	}
}

// TestNoSecretFields proves the records have no field for a secret: a caller
// cannot store a PAN, CVV2, OTP, secureToken or clear fidoBlob by accident.
func TestNoSecretFields(t *testing.T) {
	t.Parallel()
	forbidden := regexp.MustCompile(`(?i)pan|cvv|cvc|otp|securetoken|fidoblob|cardnumber|cryptogram|dynamicdatavalue`)
	for _, v := range []any{store.User{}, store.Card{}, store.Passkey{}, store.Transaction{}, store.TxUpdate{}, store.TxFilter{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			assert.False(t, forbidden.MatchString(f.Name), "%s.%s", typ.Name(), f.Name)
			if f.Name == "SealedBlob" {
				assert.Equal(t, reflect.TypeFor[store.SealedBlob](), f.Type, "the blob field only takes sealed bytes")
			}
		}
	}
}

func TestSealedBlobNeverPrints(t *testing.T) {
	t.Parallel()
	secret := []byte("SEALED-CIPHERTEXT")
	p := store.Passkey{UserID: "u", TokenID: "t", DeviceID: "d", Identifier: "i", SealedBlob: secret}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, p.SealedBlob), fmt.Sprintf(verb, p))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("passkey", "blob", p.SealedBlob, "passkey", p)
	out = append(out, buf.String(), p.SealedBlob.String())
	hexed := fmt.Sprintf("%x", secret)
	for _, s := range out {
		assert.NotContains(t, s, "SEALED")
		assert.NotContains(t, s, hexed)
		assert.NotContains(t, s, "83, 69, 65") // the bytes as %v of a []byte would print them
	}
	assert.Equal(t, "[sealed fidoBlob len=17]", p.SealedBlob.String())
}

func TestStamp(t *testing.T) {
	t.Parallel()
	in := timeIn("2026-03-04T05:06:07.123456789+02:00")
	got := store.Stamp(in)
	assert.True(t, got.Equal(timeIn("2026-03-04T03:06:07.123456Z")))
	assert.Equal(t, "UTC", got.Location().String())
}

// TestCursorOneSpelling: a cursor has one spelling. Base64 leaves some low
// bits of its last character unused; a lenient decoder reads a cursor whose
// last character was altered in those bits as the original, so an altered
// cursor would be accepted. Every cursor's every one-character change is
// refused.
func TestCursorOneSpelling(t *testing.T) {
	t.Parallel()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	f := store.TxFilter{UserID: "alice", Limit: 2}
	for i := range 200 {
		tx := store.Transaction{ID: fmt.Sprintf("tx-%d", i), CreatedAt: time.Unix(1700000000+int64(i), 0)}
		f.Cursor = store.CursorAfter(f, tx)
		p, err := f.After()
		require.NoError(t, err)
		require.Equal(t, tx.ID, p.ID)
		last := len(f.Cursor) - 1
		for _, c := range alphabet {
			if byte(c) == f.Cursor[last] {
				continue
			}
			g := f
			g.Cursor = f.Cursor[:last] + string(c)
			_, err := g.After()
			require.ErrorIs(t, err, store.ErrInvalid, "cursor %q with its last character changed to %q", f.Cursor, c)
		}
	}
}
