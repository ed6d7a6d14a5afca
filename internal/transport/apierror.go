package transport

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/jsontext"
	"github.com/vicgo/visa/internal/retry"
)

// parseAPIError builds the *visa.APIError of an error answer: the
// plaintext body in either Visa format (docs/wire.md §10.1), the status
// and the headers (X-CORRELATION-ID, Retry-After).
//
// VIC application errors travel MLE-encrypted; Do decrypts them first and
// passes the plaintext here. A body in neither format (empty, HTML from a
// proxy, an undecrypted envelope) still gives an *APIError with the
// status. When status is 0 the body's own status is used. Visa's message
// fields are the only text copied from the body.
func parseAPIError(product visa.Product, status int, header http.Header, body []byte, now time.Time) *visa.APIError {
	e := &visa.APIError{Product: product, HTTPStatus: status}
	if header != nil {
		e.CorrelationID = header.Get("X-Correlation-Id")
		e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil {
		var f map[string]json.RawMessage
		if json.Unmarshal(top["responseStatus"], &f) == nil && f != nil {
			e.Code, e.Severity = jsontext.Text(f["code"]), jsontext.Text(f["severity"])
			e.Message, e.Info = jsontext.Text(f["message"]), jsontext.Text(f["info"])
		} else if json.Unmarshal(top["errorResponse"], &f) == nil && f != nil {
			e.Reason, e.Message = jsontext.Text(f["reason"]), jsontext.Text(f["message"])
		}
		if e.HTTPStatus == 0 && f != nil {
			if n, err := strconv.Atoi(jsontext.Text(f["status"])); err == nil && n >= 100 && n <= 599 {
				e.HTTPStatus = n
			}
		}
	}
	if isGatewayCode(e.Code) {
		e.Product = visa.ProductGateway
	}
	e.Retryable = retry.RetryableStatus(e.HTTPStatus)
	return e
}

// isGatewayCode reports whether code is one of the gateway's (api key,
// X-Pay-Token, MLE envelope), which both products share.
func isGatewayCode(code string) bool {
	return strings.HasPrefix(code, "APIKEY_") || strings.HasPrefix(code, "XPAY_") || strings.HasPrefix(code, "MLE_")
}

// parseRetryAfter reads a Retry-After value in delta-seconds or HTTP-date
// form (RFC 9110 §10.2.3); it returns 0 when absent, past or malformed,
// and caps the wait at one day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	const maxWait = 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > int64(maxWait/time.Second) {
			return maxWait
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxWait)
		}
	}
	return 0
}
