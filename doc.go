// Package visa is the root of the Go SDK for Visa Intelligent Commerce
// (VIC), the Visa Token Service (VTS) and the Visa Auth iFrame. It holds
// what every service package shares, and imports only the standard
// library.
//
// # Configuration
//
// A [Config] carries every credential of the wire reference (VIC api key,
// shared secret and MLE keys; VTS api key, shared secret, encryption key
// and hash secret; optional mutual TLS), the [Environment] ([Sandbox] or
// [Production]) with explicit base URLs per service, and the HTTP
// behaviour (client, timeout, [RetryPolicy], *slog.Logger, user-agent
// suffix). One Config builds every client: vts.New(cfg), vic.New(cfg).
// [ConfigFromEnv] reads the VISA_* variables listed in [EnvVars];
// [Config.ValidateFor] checks what the chosen products need and names
// each missing or malformed field:
//
//	cfg, err := visa.ConfigFromEnv()
//	if err != nil {
//		return err // e.g. "visa: invalid input: VISA_TIMEOUT: must be a positive Go duration such as 30s"
//	}
//	if err := cfg.ValidateFor(visa.ProductVTS, visa.ProductAuth); err != nil {
//		return err // e.g. "visa: invalid input: VTS.APIKey: is required (set VISA_VTS_API_KEY)"
//	}
//
// # Errors
//
// Visa answers errors in two shapes (responseStatus and errorResponse);
// [ParseAPIError] turns either into an [*APIError] with the HTTP status,
// Visa code or reason, message, correlation id and whether a retry may
// help. Branch with errors.Is against the sentinels ([ErrOTPInvalid],
// [ErrTokenInactive], [ErrRateLimited], ...) and read the fields with
// errors.As; [IsRetryable] answers the retry question for any error.
// Input refused before anything is sent is an [*InputError], matching
// [ErrInvalidInput], that names the field and never its value.
//
// # Values that never print
//
// [PAN], [CVV2], [OTP] and [Secret] hold card data and credentials. Every
// way of printing them (fmt verbs, slog, JSON, text) shows only a mask:
// "****1111" for a PAN, "[REDACTED]" for the rest. The clear value comes
// only from the explicitly named Reveal method, which the wire encoders
// call:
//
//	pan, err := visa.ParsePAN("4111 1111 1111 1111") // Luhn-checked
//	log.Info("enrolling", "pan", pan)                 // pan=****1111
//
// They do not hold the value in clear either: it is encrypted under a key
// made when the process starts, so printers that walk fields by reflection
// (testify's diff, deep dumpers, debuggers) find the mask and ciphertext
// only, and encoding/gob refuses them ([ErrSecretNotEncodable]). Compare
// them with ==, Equal (constant time) or reflect.DeepEqual: all three
// compare values, since a value encrypts to the same bytes within a
// process.
//
// # Wire vocabulary
//
// The types more than one service puts on the wire: [Amount] (a decimal
// held in minor units, with its ISO 4217 [Currency] in alpha and numeric
// form), [BrowserData] and its idempotent [BrowserData.Normalize],
// [AppInstance], [SessionContext], [AuthenticationContext], and the
// [Action], [ReasonCode] and [TokenStatus] constants. Field names follow
// docs/wire.md exactly in their JSON tags.
package visa
