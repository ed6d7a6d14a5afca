package visa_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

func ExampleParsePAN() {
	pan, err := visa.ParsePAN("4111 1111 1111 1111")
	if err != nil {
		panic(err)
	}
	fmt.Println(pan)
	fmt.Printf("%+v %#v %q\n", pan, pan, pan)
	b, _ := json.Marshal(struct {
		Card visa.PAN `json:"card"`
	}{pan})
	fmt.Println(string(b))
	fmt.Println(pan.Last4(), len(pan.Reveal()))

	_, err = visa.ParsePAN("4111 1111 1111 1112")
	fmt.Println(err)
	// Output:
	// ****1111
	// ****1111 visa.PAN(****1111) "****1111"
	// {"card":"****1111"}
	// 1111 16
	// visa: invalid input: PAN: fails the Luhn check
}

func ExampleSecret() {
	key := visa.NewSecret("SBXVTSAPIKEY01")
	fmt.Println(key)
	fmt.Printf("%v %+v %#v %s %q\n", key, key, key, key, key)

	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("calling VTS", "apikey", key)

	// The clear value is reachable only by name.
	fmt.Println(key.Reveal())
	// Output:
	// [REDACTED]
	// [REDACTED] [REDACTED] visa.Secret([REDACTED]) [REDACTED] "[REDACTED]"
	// level=INFO msg="calling VTS" apikey=[REDACTED]
	// SBXVTSAPIKEY01
}

func ExampleParseAmount() {
	a, err := visa.ParseAmount("129.99", "USD")
	if err != nil {
		panic(err)
	}
	c := a.Currency()
	fmt.Println(a, a.Minor())
	// VIC bodies carry the alpha code, VTS bodies the numeric one.
	fmt.Println(a.Value(), c.Alpha, c.Numeric)

	yen := visa.MustParseAmount("710", "392")
	fmt.Println(yen)

	_, err = visa.ParseAmount("12.345", "USD")
	fmt.Println(err)
	// Output:
	// 129.99 USD 12999
	// 129.99 USD 840
	// 710 JPY
	// visa: invalid input: Amount: has more decimal places than USD allows
}

func ExampleConfigFromLookup() {
	env := map[string]string{
		"VISA_VTS_API_KEY":       "SBXVTSAPIKEY01",
		"VISA_VTS_SHARED_SECRET": "sbx-vts-shared-secret",
		"VISA_CLIENT_APP_ID":     "SBXAPP01",
		"VISA_VTS_BASE_URL":      "http://localhost:8099",
		"VISA_TIMEOUT":           "30s",
	}
	cfg, err := visa.ConfigFromLookup(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Timeout, cfg.VTS.APIKey)

	// The Auth iFrame needs only the VTS api key and client app id.
	fmt.Println(cfg.ValidateFor(visa.ProductAuth))

	// VTS needs more; every missing field is named, never a value.
	err = cfg.ValidateFor(visa.ProductVTS)
	fmt.Println(errors.Is(err, visa.ErrInvalidInput))
	fmt.Println(err)
	// Output:
	// 30s [REDACTED]
	// <nil>
	// true
	// visa: invalid input: VTS.ClientWalletAccountID: is required (set VISA_CLIENT_WALLET_ACCOUNT_ID)
	// visa: invalid input: VTS.EncAPIKey: is required (set VISA_ENC_API_KEY)
	// visa: invalid input: VTS.EncSharedSecret: is required (set VISA_ENC_SHARED_SECRET)
	// visa: invalid input: VTS.HashSecret: is required (set VISA_HASH_SECRET)
}

func ExampleBrowserData_Normalize() {
	var b visa.BrowserData
	// A browser or the iFrame may send booleans and numbers.
	_ = json.Unmarshal([]byte(`{"browserJavaEnabled":false,"browserColorDepth":24,
		"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)","ipAddress":"203.0.113.7"}`), &b)
	n := b.Normalize()
	fmt.Println(n.BrowserJavaEnabled, n.BrowserColorDepth, n.IPAddress)
	fmt.Println(n.UserAgent)
	fmt.Println(n.Normalize() == n)
	// Output:
	// false 24 203.0.113.7
	// TW96aWxsYS81LjAgKE1hY2ludG9zaDsgSW50ZWwgTWFjIE9TIFggMTBfMTVfNyk
	// true
}

func ExampleAPIError() {
	// What vts.ValidateOTP hands back after a wrong OTP.
	var err error = &visa.OperationError{
		Operation: "vts.ValidateOTP",
		Meta:      visa.ResponseMeta{Operation: "vts.ValidateOTP", StatusCode: 400, CorrelationID: "7c9e6679", Attempts: 1},
		Err: &visa.APIError{Product: visa.ProductVTS, HTTPStatus: 400, Reason: "invalidOtp",
			Message: "The code entered is not valid", CorrelationID: "7c9e6679"},
	}
	err = fmt.Errorf("step 7: %w", err)

	switch {
	case errors.Is(err, visa.ErrOTPInvalid):
		fmt.Println("ask the user to enter the code again")
	case errors.Is(err, visa.ErrOTPLimitExceeded):
		fmt.Println("request a new code")
	}
	if apiErr, ok := errors.AsType[*visa.APIError](err); ok {
		fmt.Println(apiErr.HTTPStatus, apiErr.Reason, apiErr.CorrelationID, apiErr.Retryable)
	}
	fmt.Println(visa.IsRetryable(err))
	fmt.Println(err)
	// Output:
	// ask the user to enter the code again
	// 400 invalidOtp 7c9e6679 false
	// false
	// step 7: visa: vts.ValidateOTP: VTS 400 invalidOtp: The code entered is not valid (correlation id 7c9e6679)
}

func ExampleIsRetryable() {
	// A 503 with Retry-After, as the transport reports it once its own
	// retries are spent.
	busy := &visa.APIError{Product: visa.ProductVIC, HTTPStatus: 503, Retryable: true, RetryAfter: 2 * time.Second}
	// A connection refused before anything was sent.
	refused := &visa.RequestError{Method: "POST", URL: "https://sandbox.api.visa.com/vacp/v1/instructions?apikey=REDACTED",
		Attempts: 3, Unsent: true, Err: syscall.ECONNREFUSED}
	// A POST whose connection broke after it was sent: it may have reached Visa.
	reset := &visa.RequestError{Method: "POST", Attempts: 1, Err: syscall.ECONNRESET}
	fmt.Println(visa.IsRetryable(busy), busy.RetryAfter, errors.Is(busy, visa.ErrServerUnavailable))
	fmt.Println(visa.IsRetryable(refused), errors.Is(refused, visa.ErrNetwork))
	fmt.Println(visa.IsRetryable(reset))
	// Output:
	// true 2s true
	// true true
	// false
}

func ExampleConfig_EnvLines() {
	cfg := visa.Config{
		VTSBaseURL: "http://localhost:8099",
		VTS:        visa.VTSCredentials{APIKey: visa.NewSecret("SBXVTSAPIKEY01"), ClientAppID: "SBXAPP01"},
	}
	// Secrets appear in clear: only for throw-away sandbox credentials.
	for _, l := range cfg.EnvLines() {
		fmt.Println(l)
	}
	// Output:
	// VISA_VTS_BASE_URL=http://localhost:8099
	// VISA_VTS_API_KEY=SBXVTSAPIKEY01
	// VISA_CLIENT_APP_ID=SBXAPP01
}

func ExampleNewClientReferenceID() {
	ref := visa.NewClientReferenceID()
	fmt.Println(ref[:3], len(ref), check.ReferenceID(ref))
	// Output: CR- 35 true
}
