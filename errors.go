package visa

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Product names the Visa surface an error came from.
type Product string

// Products an APIError can come from.
const (
	ProductVIC     Product = "VIC"
	ProductVTS     Product = "VTS"
	ProductAuth    Product = "Auth"
	ProductGateway Product = "Gateway"
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

	// ErrInvalidInput is matched by every *InputError: the caller's input
	// was refused before anything was sent.
	ErrInvalidInput = errors.New("visa: invalid input")
	// ErrResponseTooLarge means a response body exceeded the read limit.
	ErrResponseTooLarge = errors.New("visa: response too large")
	// ErrMalformedResponse means a response could not be decoded
	// (bad JSON, bad MLE envelope, missing required field).
	ErrMalformedResponse = errors.New("visa: malformed response")
)

// codeSentinels maps Visa codes and reasons (visa-wire.md §10.1) to the
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
	"DUPLICATE_TRANSACTION_REFERENCE": ErrConflict,
}

// APIError is an error answered by Visa (or the sandbox): either format of
// visa-wire.md §10.1, MLE-encrypted or not. Error() is one line without
// secrets; branch with errors.Is against the sentinels, or errors.As to
// read the fields.
type APIError struct {
	// Operation is the SDK operation, e.g. "vts.ProvisionToken".
	Operation string
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
	// Retryable says whether repeating the call may succeed (429, 5xx).
	Retryable bool
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Error returns one readable line, e.g.
// `visa: vts.ValidateOTP: VTS 400 invalidOtp: wrong code (correlation id 1f2e...)`.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("visa: ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	if e.Product != "" {
		b.WriteString(string(e.Product))
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

// oneLine keeps an error line on one line and bounded.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// ParseAPIError builds an *APIError from an error response: the plaintext
// body (already MLE-decrypted by the caller when it was encrypted) in
// either Visa format, the status and the headers (X-CORRELATION-ID,
// Retry-After). A body in neither format still gives an *APIError with
// the status. It never copies the body into the error beyond Visa's
// message fields.
func ParseAPIError(op string, product Product, status int, header http.Header, body []byte) *APIError {
	e := &APIError{Operation: op, Product: product, HTTPStatus: status}
	if header != nil {
		e.CorrelationID = header.Get("X-Correlation-Id")
		e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	}
	var env struct {
		ResponseStatus *struct {
			Status   json.Number `json:"status"`
			Code     string      `json:"code"`
			Severity string      `json:"severity"`
			Message  string      `json:"message"`
			Info     string      `json:"info"`
		} `json:"responseStatus"`
		ErrorResponse *struct {
			Status  json.Number `json:"status"`
			Reason  string      `json:"reason"`
			Message string      `json:"message"`
			Details any         `json:"details"`
		} `json:"errorResponse"`
	}
	if json.Unmarshal(body, &env) == nil {
		switch {
		case env.ResponseStatus != nil:
			rs := env.ResponseStatus
			e.Code, e.Severity, e.Message, e.Info = rs.Code, rs.Severity, rs.Message, rs.Info
			if product == ProductVTS || product == "" {
				if strings.HasPrefix(rs.Code, "APIKEY_") || strings.HasPrefix(rs.Code, "XPAY_") || strings.HasPrefix(rs.Code, "MLE_") {
					e.Product = ProductGateway
				}
			}
		case env.ErrorResponse != nil:
			er := env.ErrorResponse
			e.Reason, e.Message = er.Reason, er.Message
		}
	}
	if strings.HasPrefix(e.Code, "APIKEY_") || strings.HasPrefix(e.Code, "XPAY_") || strings.HasPrefix(e.Code, "MLE_") {
		e.Product = ProductGateway
	}
	e.Retryable = status == http.StatusTooManyRequests || status >= 500
	return e
}

// parseRetryAfter reads a Retry-After value in delta-seconds or HTTP-date
// form; it returns 0 when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// ParseRetryAfter reads a Retry-After header value (delta-seconds or
// HTTP-date) relative to now; 0 when absent, past or malformed.
func ParseRetryAfter(v string, now time.Time) time.Duration { return parseRetryAfter(v, now) }
