package transport

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vicgo/visa"
)

// RequestError reports a call that got no usable HTTP answer: a network
// failure (after any retries), a failed body read, or cancellation. It
// unwraps to the cause, so errors.Is(err, context.Canceled) and
// errors.As(err, &netErr) work. Its URL is redacted, and its cause never
// carries the *url.Error text (which would hold the api key).
type RequestError struct {
	// Op is the SDK operation, e.g. "vic.InitiatePurchaseInstruction".
	Op string
	// Method and URL (redacted: apikey=REDACTED) of the request.
	Method string
	URL    string
	// Attempts is the number of HTTP attempts made.
	Attempts int
	// StatusCode is the status of the last response, 0 if none arrived.
	StatusCode int
	// Err is the cause.
	Err error
}

// Error returns one line, e.g. `visa: vts.GetToken: GET
// https://cert.api.visa.com/vts/provisionedTokens/T1?apikey=REDACTED: dial
// tcp 10.0.0.1:443: connect: connection refused (3 attempts)`.
func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString("visa: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	if e.Err != nil {
		// The cause may quote what the server sent (a malformed header,
		// say): keep it to one bounded line.
		b.WriteString(": ")
		b.WriteString(boundCause(e.Err.Error()))
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt)")
	} else {
		b.WriteString(" attempts)")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, visa.ErrNetwork) true for every cause but the
// caller's own cancellation or deadline.
func (e *RequestError) Is(target error) bool {
	return target == visa.ErrNetwork && !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
}

// responseError reports an answer that could not be used: oversize or
// undecodable (bad JSON, bad MLE). It matches its sentinel
// (visa.ErrResponseTooLarge or visa.ErrMalformedResponse) and the cause.
type responseError struct {
	op            string
	status        int
	correlationID string
	sentinel      error
	detail        string
	cause         error
}

func (e *responseError) Error() string {
	var b strings.Builder
	b.WriteString("visa: ")
	b.WriteString(e.op)
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.sentinel.Error(), "visa: "))
	if e.status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.status))
		b.WriteByte(')')
	}
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	if e.correlationID != "" {
		b.WriteString(" (correlation id ")
		b.WriteString(oneLine(e.correlationID))
		b.WriteByte(')')
	}
	return b.String()
}

func (e *responseError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

// scrubbedError replaces the text of an error that quotes a secret (for
// example a custom RoundTripper's message quoting the URL). errors.Is
// still sees the original (so context.Canceled and sentinels match), but
// it is not reachable through Unwrap or errors.As, where its own Error()
// would print the secret.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the original error matches target.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// scrubError returns err, or a scrubbedError when its text holds a secret
// the client knows.
func (c *Client) scrubError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if s := c.scrub(msg); s != msg {
		return &scrubbedError{msg: s, err: err}
	}
	return err
}

// scrub replaces every secret the client knows by REDACTED.
func (c *Client) scrub(s string) string { return scrubText(s, c.secrets) }

func scrubText(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redactedValue)
		}
	}
	return s
}

// Bound returns err with its text kept to one printable line of at most
// 512 bytes; errors.Is and errors.As still see err. Callers outside the
// transport (the Auth iFrame, the merchant) use it on net/http errors,
// whose text can quote what a server sent.
func Bound(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if b := boundCause(msg); b != msg {
		return &boundedError{msg: b, err: err}
	}
	return err
}

type boundedError struct {
	msg string
	err error
}

func (e *boundedError) Error() string { return e.msg }
func (e *boundedError) Unwrap() error { return e.err }

// maxCauseLen bounds the cause text in a RequestError's message.
const maxCauseLen = 512

// boundCause keeps a cause's text printable, on one line and at most
// maxCauseLen bytes (cut at a rune boundary).
func boundCause(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	if len(s) > maxCauseLen {
		cut := maxCauseLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return s
}
