package sandbox

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vicgo/visa/internal/xpay"
	"github.com/vicgo/visa/jwe"
)

// product says which gateway rules a route follows.
type product int

const (
	productVTS product = iota
	productVIC
)

func (p product) String() string {
	if p == productVIC {
		return "VIC"
	}
	return "VTS"
}

// Skew is the clock skew allowed for X-Pay timestamps and MLE iat.
const Skew = 300 * time.Second

// apiErr is an application error; the gateway renders it in the format of
// the product (VTS errorResponse, VIC responseStatus inside MLE).
type apiErr struct {
	status int
	code   string // VTS reason or VIC code
	msg    string
}

func (e *apiErr) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiErr {
	return &apiErr{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// call is one authenticated request as a handler sees it: the plaintext
// JSON body and the time the gateway judged it at.
type call struct {
	r    *http.Request
	body []byte
	now  time.Time
}

// handler is an application handler: it returns the response object
// (nil means {}) or an error.
type handler func(c *call) (any, *apiErr)

// correlationHeader is set on every response.
const correlationHeader = "X-CORRELATION-ID"

type ctxKey int

const (
	correlationKey ctxKey = iota
	// pendingKey carries the pendingEvents of a FaultPendingEvents fault
	// from the fault injector to the VIC wrapper.
	pendingKey
)

func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// writeJSON writes v as JSON (no HTML escaping) with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"responseStatus":{"status":500,"code":"INTERNAL","severity":"ERROR","message":"cannot encode response","info":""}}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ResponseStatus is the gateway and VIC error body (docs/wire.md §10.1).
type ResponseStatus struct {
	Status   int    `json:"status"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Info     string `json:"info"`
}

// ErrorResponse is the VTS application error body (docs/wire.md §10.1).
type ErrorResponse struct {
	Status  int     `json:"status"`
	Reason  string  `json:"reason"`
	Message string  `json:"message"`
	Ref     *string `json:"ref"`
}

func responseStatusBody(status int, code, msg, info string) map[string]ResponseStatus {
	return map[string]ResponseStatus{"responseStatus": {Status: status, Code: code, Severity: "ERROR", Message: msg, Info: info}}
}

// writeGatewayError writes a plaintext responseStatus error.
func writeGatewayError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, responseStatusBody(status, code, msg, ""))
}

func vtsErrorBody(e *apiErr) map[string]ErrorResponse {
	return map[string]ErrorResponse{"errorResponse": {Status: e.status, Reason: e.code, Message: e.msg}}
}

// readBody reads the request body within the size limit; it writes 413 and
// returns false when the body is too large.
func (s *Sandbox) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeGatewayError(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE",
				fmt.Sprintf("request body exceeds %d bytes", s.opts.maxBody))
			return nil, false
		}
		writeGatewayError(w, http.StatusBadRequest, "INVALID_REQUEST", "cannot read request body")
		return nil, false
	}
	return body, true
}

// apiKeyOf returns the api key of the raw query: apikey, or apiKey (S1's
// VTS client).
func apiKeyOf(rawQuery string) (string, bool) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", false
	}
	for _, name := range []string{"apikey", "apiKey"} {
		if v := q.Get(name); v != "" {
			return v, true
		}
	}
	return "", false
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authenticate applies the api key and X-Pay rules of docs/wire.md §2.1.
func (s *Sandbox) authenticate(p product, r *http.Request, body []byte, now time.Time) *apiErr {
	key, ok := apiKeyOf(r.URL.RawQuery)
	if !ok {
		return errf(http.StatusUnauthorized, "APIKEY_MISSING", "apikey query parameter is required")
	}
	own, other, secret := VTSAPIKey, VICAPIKey, VTSSharedSecret
	if p == productVIC {
		own, other, secret = VICAPIKey, VTSAPIKey, VICSharedSecret
	}
	switch {
	case eq(key, own):
	case eq(key, other):
		return errf(http.StatusForbidden, "APIKEY_WRONG_PRODUCT", "the api key is not provisioned for %s", p)
	default:
		return errf(http.StatusUnauthorized, "APIKEY_UNKNOWN", "unknown api key")
	}
	token := r.Header.Get("X-Pay-Token")
	err := xpay.Verify(token, secret, xpay.ResourcePath(r.URL.EscapedPath()), r.URL.RawQuery, body, now, Skew)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, xpay.ErrMissing):
		return errf(http.StatusUnauthorized, "XPAY_MISSING", "x-pay-token header is required")
	case errors.Is(err, xpay.ErrMalformed):
		return errf(http.StatusUnauthorized, "XPAY_MALFORMED", "x-pay-token must be xv2:<timestamp>:<hmac>")
	case errors.Is(err, xpay.ErrExpired):
		return errf(http.StatusUnauthorized, "XPAY_EXPIRED", "x-pay-token timestamp is more than 300 seconds from the server time")
	default:
		return errf(http.StatusUnauthorized, "XPAY_INVALID", "x-pay-token does not match the request")
	}
}

// vts wraps a VTS handler: body limit, api key, X-Pay, errorResponse.
func (s *Sandbox) vts(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		now := s.now()
		if e := s.authenticate(productVTS, r, body, now); e != nil {
			writeGatewayError(w, e.status, e.code, e.msg)
			return
		}
		res, e := h(&call{r: r, body: body, now: now})
		if e != nil {
			writeJSON(w, e.status, vtsErrorBody(e))
			return
		}
		if res == nil {
			res = struct{}{}
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// vic wraps a VIC handler: body limit, api key, X-Pay, MLE in and out.
func (s *Sandbox) vic(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		now := s.now()
		if e := s.authenticate(productVIC, r, body, now); e != nil {
			writeGatewayError(w, e.status, e.code, e.msg)
			return
		}
		plain, enc, e := s.openMLE(r, body, now)
		if e != nil {
			writeGatewayError(w, e.status, e.code, e.msg)
			return
		}
		var res any
		status := http.StatusOK
		e = checkUTF8(plain)
		if events, ok := r.Context().Value(pendingKey).([]string); ok && e == nil {
			status, res = http.StatusAccepted, pendingBody(r, plain, events)
		} else if e == nil {
			res, e = h(&call{r: r, body: plain, now: now})
		}
		if e != nil {
			status = e.status
			res = responseStatusBody(e.status, e.code, e.msg, "")
		} else if res == nil {
			res = struct{}{}
		}
		b, err := marshal(res)
		if err != nil {
			writeGatewayError(w, http.StatusInternalServerError, "INTERNAL", "cannot encode response")
			return
		}
		compact, err := s.sealMLE(b, enc, now)
		if err != nil {
			writeGatewayError(w, http.StatusInternalServerError, "INTERNAL", "cannot encrypt response")
			return
		}
		writeRaw(w, status, jwe.MarshalEnvelope(compact))
	}
}

// openMLE applies the MLE rules of docs/wire.md §2.2 and returns the
// plaintext body and the enc to answer with.
func (s *Sandbox) openMLE(r *http.Request, body []byte, now time.Time) ([]byte, string, *apiErr) {
	keyID := r.Header.Get("keyId")
	if keyID == "" {
		return nil, "", errf(http.StatusBadRequest, "MLE_KEYID_MISSING", "keyId header is required")
	}
	if keyID != MLEKeyID {
		return nil, "", errf(http.StatusBadRequest, "MLE_KEYID_UNKNOWN", "unknown MLE key id")
	}
	if len(bytes.TrimSpace(body)) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodDelete) {
		return nil, jwe.EncA128GCM, nil
	}
	compact, ok := jwe.ParseEnvelope(body)
	if !ok {
		return nil, "", errf(http.StatusBadRequest, "MLE_REQUIRED", `request body must be an MLE envelope {"encData":"<JWE>"}`)
	}
	// One parse of the header on the way that succeeds: Decrypt's. Only a
	// failure looks again, to tell a foreign kid from a bad JWE.
	plain, hdr, err := s.mleDec.Decrypt(compact)
	if err != nil {
		h, perr := jwe.ParseHeader(compact)
		switch {
		case perr != nil:
			return nil, "", errf(http.StatusBadRequest, "MLE_DECRYPT_FAILED", "encData is not a compact JWE")
		case h.KeyID != keyID:
			return nil, "", errf(http.StatusBadRequest, "MLE_KEYID_UNKNOWN", "JWE kid does not match the keyId header")
		}
		return nil, "", errf(http.StatusBadRequest, "MLE_DECRYPT_FAILED", "cannot decrypt encData")
	}
	if hdr.KeyID != keyID {
		return nil, "", errf(http.StatusBadRequest, "MLE_KEYID_UNKNOWN", "JWE kid does not match the keyId header")
	}
	if err := hdr.CheckIssuedAt(now, Skew); err != nil {
		return nil, "", errf(http.StatusBadRequest, "MLE_IAT_INVALID", "JWE iat must be milliseconds within 300 seconds of the server time")
	}
	enc := hdr.Enc
	if enc != jwe.EncA256GCM {
		enc = jwe.EncA128GCM
	}
	return plain, enc, nil
}

// checkUTF8 refuses a decrypted VIC body that is not UTF-8 (RFC 8259
// §8.1; docs/wire.md §2.2). Go's JSON decoder would otherwise turn the bad
// bytes into U+FFFD and accept the request silently; a client that hands
// its JOSE library a string without an encoding sends Latin-1. The message
// gives the offset of the first bad byte, never the bytes.
func checkUTF8(plain []byte) *apiErr {
	if utf8.Valid(plain) {
		return nil
	}
	off := 0
	for off < len(plain) {
		r, size := utf8.DecodeRune(plain[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return vicInvalid("the decrypted request body is not valid UTF-8 (first bad byte at offset %d): encode the JSON as UTF-8 before encrypting it", off)
}

// pendingBody is the 202 answer of docs/wire.md §6.7: the request's
// clientReferenceId (either casing), the instruction of the path if any,
// status PENDING and the pending events. The request is not processed.
func pendingBody(r *http.Request, plain []byte, events []string) map[string]any {
	var ref struct {
		Lower string `json:"clientReferenceId"`
		Upper string `json:"clientReferenceID"`
	}
	_ = json.Unmarshal(plain, &ref) // best effort: a pending answer echoes what it can
	out := map[string]any{"status": statusPending, "pendingEvents": events}
	switch {
	case ref.Lower != "":
		out["clientReferenceId"] = ref.Lower
	case ref.Upper != "":
		out["clientReferenceId"] = ref.Upper
	}
	if id := r.PathValue("id"); id != "" {
		out["instructionId"] = id
	}
	return out
}

// sealMLE encrypts a response body to the client's MLE key.
func (s *Sandbox) sealMLE(plain []byte, enc string, now time.Time) (string, error) {
	e := s.mleEnc128
	if enc == jwe.EncA256GCM {
		e = s.mleEnc256
	}
	return e.Encrypt(plain, now)
}

// ---- request decoding helpers ----

// decode unmarshals a JSON object body into dst; errors name the field.
func decode(body []byte, dst any) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "request body is required"
	}
	if trimmed[0] != '{' {
		return "request body must be a JSON object"
	}
	if err := json.Unmarshal(trimmed, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return te.Field + " has the wrong type"
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return "malformed JSON at offset " + strconv.FormatInt(se.Offset, 10)
		}
		return "malformed JSON: " + firstLine(err.Error())
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// flexString is a JSON string that also accepts a number (S2 sends
// integers for dates and expiry months and years).
type flexString string

// UnmarshalJSON accepts a string or a number.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	*f = flexString(n.String())
	return nil
}

// required returns "<name> is required" for the first empty value of
// name/value pairs, or "".
func required(pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return pairs[i] + " is required"
		}
	}
	return ""
}

// refID resolves the two casings of clientReferenceID (docs/wire.md §11.4).
func refID(upper, lower string) (string, string) {
	switch {
	case upper != "" && lower != "" && upper != lower:
		return "", "clientReferenceID and clientReferenceId differ"
	case upper != "":
		return upper, ""
	case lower != "":
		return lower, ""
	}
	return "", "clientReferenceID is required"
}

// epochSeconds parses a decimal epoch-seconds string of at most 12 digits.
func epochSeconds(s string) (time.Time, bool) {
	if s == "" || len(s) > 12 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
