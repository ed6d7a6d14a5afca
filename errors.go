package visa

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Product names the Visa surface an error came from.
type Product string

// Products an APIError can come from.
const (
	ProductVIC     Product = "VIC"
	ProductVTS     Product = "VTS"
	ProductAuth    Product = "Auth"
	ProductGateway Product = "Gateway"
	// ProductMerchant is the merchant's authorizer (the sandbox's, in
	// agent/agenttest), which the agent calls at step 15 of the journey.
	ProductMerchant Product = "Merchant"
)

// Sentinel errors. An *APIError matches them with errors.Is according to
// its HTTP status and Visa code or reason; local failures wrap them too.
var (
	ErrUnauthorized       = errors.New("visa: unauthorized")
	ErrForbidden          = errors.New("visa: forbidden")
	ErrNotFound           = errors.New("visa: not found")
	ErrConflict           = errors.New("visa: conflict")
	ErrRateLimited        = errors.New("visa: rate limited")
	ErrInvalidRequest     = errors.New("visa: invalid request")
	ErrServerUnavailable  = errors.New("visa: server unavailable")
	ErrOTPInvalid         = errors.New("visa: OTP invalid")
	ErrOTPExpired         = errors.New("visa: OTP expired")
	ErrOTPLimitExceeded   = errors.New("visa: OTP limit exceeded")
	ErrTokenInactive      = errors.New("visa: token not active")
	ErrInstructionExpired = errors.New("visa: instruction not active")
	ErrEnrollmentExpired  = errors.New("visa: enrollment expired")
	ErrCardDeclined       = errors.New("visa: card declined")
	ErrCardExpired        = errors.New("visa: card expired")
	ErrSessionInvalid     = errors.New("visa: auth session invalid")
	ErrStepUpRequired     = errors.New("visa: step-up required")
	ErrAssuranceInvalid   = errors.New("visa: assurance invalid")
	ErrAmountExceeded     = errors.New("visa: amount exceeds the authorized limit")
	ErrEncryption         = errors.New("visa: encryption failure")

	// ErrNetwork is matched by a call that got no usable HTTP answer:
	// connection refused or reset, TLS failure, a response cut short,
	// after any retries. Whether a write reached Visa is then unknown.
	// (Cancellation and deadlines match the context errors instead.)
	ErrNetwork = errors.New("visa: network failure")

	// ErrInvalidInput is matched by every *InputError: the caller's input
	// was refused before anything was sent.
	ErrInvalidInput = errors.New("visa: invalid input")
	// ErrResponseTooLarge means a response body exceeded the read limit.
	ErrResponseTooLarge = errors.New("visa: response too large")
	// ErrMalformedResponse means a response could not be decoded
	// (bad JSON, bad MLE envelope, missing required field).
	ErrMalformedResponse = errors.New("visa: malformed response")
)

// codeSentinels maps Visa codes and reasons (docs/wire.md §10.1) to the
// sentinel they match in addition to the one of their HTTP status.
var codeSentinels = map[string]error{
	// Gateway
	"APIKEY_MISSING": ErrUnauthorized, "APIKEY_UNKNOWN": ErrUnauthorized,
	"APIKEY_WRONG_PRODUCT": ErrForbidden,
	"XPAY_MISSING":         ErrUnauthorized, "XPAY_MALFORMED": ErrUnauthorized,
	"XPAY_EXPIRED": ErrUnauthorized, "XPAY_INVALID": ErrUnauthorized,
	"MLE_REQUIRED": ErrEncryption, "MLE_KEYID_MISSING": ErrEncryption,
	"MLE_KEYID_UNKNOWN": ErrEncryption, "MLE_DECRYPT_FAILED": ErrEncryption,
	"MLE_IAT_INVALID": ErrEncryption,
	// VTS reasons
	"invalidEncryptedData":    ErrEncryption,
	"cardExpired":             ErrCardExpired,
	"provisioningDeclined":    ErrCardDeclined,
	"enrollmentExpired":       ErrEnrollmentExpired,
	"sessionInvalid":          ErrSessionInvalid,
	"stepUpRequired":          ErrStepUpRequired,
	"noActiveChallenge":       ErrStepUpRequired,
	"invalidOtp":              ErrOTPInvalid,
	"otpExpired":              ErrOTPExpired,
	"otpAttemptsExceeded":     ErrOTPLimitExceeded,
	"otpRequestsExceeded":     ErrOTPLimitExceeded,
	"tokenDeleted":            ErrTokenInactive,
	"tokenSuspended":          ErrTokenInactive,
	"invalidTokenState":       ErrTokenInactive,
	"enrollmentAlreadyUsed":   ErrConflict,
	"enrollmentNotFound":      ErrNotFound,
	"notFound":                ErrNotFound,
	"stepUpRequestNotFound":   ErrNotFound,
	"clientReferenceMismatch": ErrInvalidRequest,
	// VIC codes
	"TOKEN_NOT_ACTIVE":                ErrTokenInactive,
	"TOKEN_NOT_ENROLLED":              ErrTokenInactive,
	"ASSURANCE_INVALID":               ErrAssuranceInvalid,
	"AMOUNT_EXCEEDS_AUTHENTICATION":   ErrAmountExceeded,
	"AMOUNT_EXCEEDS_MANDATE":          ErrAmountExceeded,
	"INSTRUCTION_NOT_ACTIVE":          ErrInstructionExpired,
	"TOKEN_NOT_FOUND":                 ErrNotFound,
	"INSTRUCTION_NOT_FOUND":           ErrNotFound,
	"UNKNOWN_TRANSACTION_REFERENCE":   ErrNotFound,
	"DUPLICATE_TRANSACTION_REFERENCE": ErrConflict,
}

// APIError is an error answered by Visa (or the sandbox): either format of
// docs/wire.md §10.1, MLE-encrypted or not. Error() is one line without
// secrets; branch with errors.Is against the sentinels, or errors.As to
// read the fields.
type APIError struct {
	// Product is the surface that answered.
	Product Product
	// HTTPStatus is the response status code.
	HTTPStatus int
	// Code is responseStatus.code (gateway and VIC errors).
	Code string
	// Reason is errorResponse.reason (VTS errors).
	Reason string
	// Message, Info and Severity are Visa's human-readable details.
	Message  string
	Info     string
	Severity string
	// CorrelationID is the X-CORRELATION-ID response header.
	CorrelationID string
	// Retryable says whether repeating the call may succeed: 408, 429
	// and 5xx other than 501 and 505, the statuses the SDK's one retry
	// classifier retries (a write only on 429; see docs/wire.md §10.3).
	Retryable bool
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Error returns one readable line, e.g.
// `visa: VTS 400 invalidOtp: wrong code (correlation id 1f2e...)`. The
// operation is named by the *OperationError that wraps every error a
// service method returns.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("visa: ")
	if e.Product != "" {
		b.WriteString(oneLine(string(e.Product)))
		b.WriteByte(' ')
	}
	b.WriteString(strconv.Itoa(e.HTTPStatus))
	if id := e.id(); id != "" {
		b.WriteByte(' ')
		b.WriteString(id)
	} else if t := http.StatusText(e.HTTPStatus); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Message))
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id ")
		b.WriteString(oneLine(e.CorrelationID))
		b.WriteByte(')')
	}
	return b.String()
}

// id returns the Visa code, else the reason.
func (e *APIError) id() string {
	if e.Code != "" {
		return oneLine(e.Code)
	}
	return oneLine(e.Reason)
}

// Is reports whether the error matches target, one of the sentinels:
// by HTTP status class, and by Visa code or reason.
func (e *APIError) Is(target error) bool {
	if s, ok := codeSentinels[e.Code]; ok && s == target {
		return true
	}
	if s, ok := codeSentinels[e.Reason]; ok && s == target {
		return true
	}
	switch target {
	case ErrUnauthorized:
		return e.HTTPStatus == http.StatusUnauthorized
	case ErrForbidden:
		return e.HTTPStatus == http.StatusForbidden
	case ErrNotFound:
		return e.HTTPStatus == http.StatusNotFound
	case ErrConflict:
		return e.HTTPStatus == http.StatusConflict
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusTooManyRequests
	case ErrInvalidRequest:
		return e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusUnprocessableEntity ||
			e.HTTPStatus == http.StatusRequestEntityTooLarge
	case ErrServerUnavailable:
		return e.HTTPStatus >= 500
	}
	return false
}

// InputError reports caller input refused before anything was sent. It
// names the field and the rule, never the value.
type InputError struct {
	// Field is the offending field, e.g. "PAN" or "Amount".
	Field string
	// Reason says what is wrong, e.g. "fails the Luhn check".
	Reason string
}

// Error returns e.g. `visa: invalid input: PAN: fails the Luhn check`.
func (e *InputError) Error() string {
	return "visa: invalid input: " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// NewInputError returns an *InputError for field and reason.
func NewInputError(field, reason string) error { return &InputError{Field: field, Reason: reason} }

// maxLineField bounds each field an APIError prints in Error().
const maxLineField = 300

// oneLine keeps an error line on one line and bounded: every control
// character and Unicode line or paragraph separator becomes a space, and
// the text is cut (on a rune boundary) after maxLineField bytes.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxLineField {
		cut := maxLineField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
