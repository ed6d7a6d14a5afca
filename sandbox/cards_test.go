package sandbox

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/vicgo/visa/internal/check"
)

func TestCardHelpers(t *testing.T) {
	t.Parallel()
	for range 200 {
		pan := newTokenPAN(CardHappy)
		assert.True(t, check.Luhn(pan), pan)
		assert.True(t, strings.HasPrefix(pan, "489537"))
		assert.Len(t, pan, 16)
		d := randDigits(3)
		assert.Len(t, d, 3)
		assert.True(t, allDigits(d))
	}
	assert.Equal(t, "3", luhnDigit("7992739871"))
	assert.Equal(t, "a***e@example.com", maskEmail("alice@example.com"))
	assert.Equal(t, "b***@example.com", maskEmail("b@example.com"))
	assert.Equal(t, "***", maskEmail("nope"))
	for _, tc := range []struct{ m, y, want, msg string }{
		{"1", "29", "01/2029", ""}, {"12", "2031", "12/2031", ""}, {"0", "2030", "", "month"}, {"5", "1999", "", "year"}, {"x", "2030", "", "month"},
	} {
		e, msg := parseExpiry(tc.m, tc.y)
		if tc.msg != "" {
			assert.Contains(t, msg, tc.msg)
			continue
		}
		assert.Equal(t, tc.want, e.Month+"/"+e.Year)
	}
	e, _ := parseExpiry("02", "2027")
	assert.False(t, e.past(time.Date(2027, 2, 28, 23, 0, 0, 0, time.UTC)), "valid through the end of its month")
	assert.True(t, e.past(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, behaveHappy, behaviourOf("4242424242424242"))
	assert.NotEmpty(t, checkPAN("4111"))
	assert.Empty(t, checkPAN(CardHappy))
	assert.Len(t, newID("X-"), 24)
}
