package transport

import (
	"errors"
	"strings"
)

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
