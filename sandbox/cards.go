package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/vicgo/visa/internal/check"
)

// Test cards (docs/wire.md §11.6). Any other Luhn-valid PAN starting with
// 4 behaves like CardHappy.
const (
	// CardHappy: device binding challenges with OTPSMS and OTPEMAIL; the
	// merchant approves.
	CardHappy = "4111111111111111"
	// CardNoStepUp: device binding returns APPROVED; the token becomes
	// ACTIVE at once.
	CardNoStepUp = "4012888888881881"
	// CardProvisioningDeclined: enrollment succeeds, provisioning returns
	// 400 provisioningDeclined.
	CardProvisioningDeclined = "4000000000000002"
	// CardInsufficientFunds: everything succeeds up to credentials; the
	// merchant declines with 51.
	CardInsufficientFunds = "4000000000009995"
	// CardExpired: enrollment returns 400 cardExpired whatever the expiry.
	CardExpired = "4000000000000069"
)

// cardBehaviour is what a test card makes the sandbox do; the PAN itself is
// not kept once a token exists.
type cardBehaviour uint8

const (
	behaveHappy cardBehaviour = iota
	behaveNoStepUp
	behaveDeclineProvisioning
	behaveInsufficientFunds
)

func behaviourOf(pan string) cardBehaviour {
	switch pan {
	case CardNoStepUp:
		return behaveNoStepUp
	case CardProvisioningDeclined:
		return behaveDeclineProvisioning
	case CardInsufficientFunds:
		return behaveInsufficientFunds
	}
	return behaveHappy
}

// checkPAN applies the §5.1 PAN rules: digits, 13 to 19 long, Luhn, Visa.
func checkPAN(pan string) string {
	if len(pan) < 13 || len(pan) > 19 || !allDigits(pan) {
		return "accountNumber must be 13 to 19 digits"
	}
	if !check.Luhn(pan) {
		return "accountNumber fails the Luhn check"
	}
	if pan[0] != '4' {
		return "accountNumber is not a Visa card"
	}
	return ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// expiry is a card or token expiry month and year.
type expiry struct {
	Month string `json:"month"`
	Year  string `json:"year"`
}

// parseExpiry normalizes month "1".."12" to "01".."12" and a year of two or
// four digits to four.
func parseExpiry(month, year string) (expiry, string) {
	m, err := strconv.Atoi(strings.TrimSpace(month))
	if err != nil || m < 1 || m > 12 {
		return expiry{}, "expirationDate.month must be 1 to 12"
	}
	y, err := strconv.Atoi(strings.TrimSpace(year))
	switch {
	case err != nil || y < 0:
		return expiry{}, "expirationDate.year must be a year"
	case y < 100:
		y += 2000
	case y < 2000 || y > 2199:
		return expiry{}, "expirationDate.year must be a year"
	}
	return expiry{Month: pad2(m), Year: strconv.Itoa(y)}, ""
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// past reports whether the card expired before now (a card is valid
// through the last day of its month).
func (e expiry) past(now time.Time) bool {
	m, _ := strconv.Atoi(e.Month)
	y, _ := strconv.Atoi(e.Year)
	end := time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.Before(end)
}

func (e expiry) same(o expiry) bool { return e == o }

// newTokenPAN returns a Luhn-valid 16-digit PAN with prefix 489537 that
// differs from cardPAN.
func newTokenPAN(cardPAN string) string {
	for {
		body := "489537" + randDigits(9)
		pan := body + luhnDigit(body)
		if pan != cardPAN {
			return pan
		}
	}
}

// luhnDigit returns the check digit that makes body+digit Luhn-valid.
func luhnDigit(body string) string {
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return strconv.Itoa((10 - sum%10) % 10)
}

func randDigits(n int) string {
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("sandbox: crypto/rand failed: " + err.Error())
		}
		for _, c := range buf {
			if c < 250 && len(out) < n { // 250 = 25*10: no modulo bias
				out = append(out, '0'+c%10)
			}
		}
	}
	return string(out)
}

const idAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// newID returns prefix + 22 random characters: opaque, at most 64
// characters, unguessable.
func newID(prefix string) string {
	var raw [22]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("sandbox: crypto/rand failed: " + err.Error())
	}
	b := []byte(prefix)
	for _, c := range raw {
		b = append(b, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(b)
}

// Card art (§5.1 cardMetaData, GET /vts/cps/getContent/{guid}).
const cardArtGUID = "CARDART-SBX-VISA-0001"

// cardArtPNG is a small PNG in Visa blue, base64.
var cardArtPNG = func() string {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	blue := color.RGBA{R: 0x1a, G: 0x1f, B: 0x71, A: 0xff}
	gold := color.RGBA{R: 0xf7, G: 0xb6, B: 0x00, A: 0xff}
	for y := range 40 {
		for x := range 64 {
			c := blue
			if y >= 30 && y < 34 {
				c = gold
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic("sandbox: card art: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}()

func cardMetaData() map[string]any {
	return map[string]any{"cardData": []map[string]string{{"contentType": "digitalCardArt", "guid": cardArtGUID}}}
}

// maskEmail returns a***e@example.com style masking.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	if len(local) == 1 {
		return local + "***@" + domain
	}
	return local[:1] + "***" + local[len(local)-1:] + "@" + domain
}
