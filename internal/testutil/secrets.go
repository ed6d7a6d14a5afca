package testutil

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Secrets is the set of values a test must never find in output: logs,
// errors, stored rows, tool results, pages. It is the one scanner every test
// uses, because a bare substring search is wrong both ways: the CVV2 "623"
// is inside "****8623", and a three-digit dynamic value matches any number.
//
//   - Long values (api keys, shared secrets, card numbers, tokens) are found
//     as substrings.
//   - Short values (a CVV2, an OTP) are found as whole words that are not the
//     fraction of a decimal ("311.123µs" is a duration, not the CVV2 123);
//     in JSON text, only inside JSON strings.
//   - Dynamic values (a random three-digit dynamic CVV2) are found only next
//     to a name that gives them away (cvv2, dynamicDataValue).
//
// Prefer distinctive fixtures (a CVV2 such as 917 that no port, status or
// count is likely to hold) so a word match is a real leak.
type Secrets struct {
	mu      sync.Mutex
	long    map[string]string
	short   map[string]string
	dynamic map[string]string
}

// NewSecrets returns an empty scanner.
func NewSecrets() *Secrets {
	return &Secrets{long: map[string]string{}, short: map[string]string{}, dynamic: map[string]string{}}
}

// Add registers v, named name in reports. Values of eight bytes or fewer are
// short (whole-word matches); longer ones are substrings. Empty v is ignored.
func (s *Secrets) Add(name, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(v) <= 8 {
		s.short[v] = name
	} else {
		s.long[v] = name
	}
}

// AddDynamic registers a random short value (a dynamic CVV2) that is found
// only next to a name that gives it away.
func (s *Secrets) AddDynamic(name, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dynamic[v] = name
}

// Mode says how short secrets are searched.
type Mode int

const (
	// Text: as whole words.
	Text Mode = iota
	// JSON: as JSON string values, one document per line (bare numbers are
	// durations and counters); a value of up to five bytes only as a whole
	// string.
	JSON
	// LongOnly: not at all, for text that holds binary data or byte slices
	// printed as decimal numbers, where any three digits occur.
	LongOnly
)

// Check fails t once per kind of secret found in text, quoting a short
// excerpt and saying where.
func (s *Secrets) Check(t testing.TB, where, text string, mode Mode) {
	t.Helper()
	for name, ex := range s.Find(text, mode) {
		t.Errorf("%s shows the %s: …%s…", where, name, ex)
	}
}

// Find returns, per kind of secret found in text, an excerpt.
func (s *Secrets) Find(text string, mode Mode) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]string{}
	for v, name := range s.long {
		if i := strings.Index(text, v); i >= 0 && found[name] == "" {
			found[name] = excerpt(text, i, len(v))
		}
	}
	for v, name := range s.short {
		if found[name] != "" || mode == LongOnly {
			continue
		}
		if mode == JSON {
			word := regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`)
			for _, str := range jsonStrings(text) {
				if str == v || (len(v) >= 6 && word.MatchString(str)) {
					found[name] = excerpt(str, 0, len(str))
					break
				}
			}
			continue
		}
		// Not inside a longer word or number: neither a word character
		// nor a dot on the left ("311.623µs"), and on the right neither a
		// word character, nor a decimal point followed by a digit
		// ("duration=623.895µs"), nor µ (a duration's unit, "623µs"; ms,
		// ns and s are word characters already); a sentence's full stop
		// ("cvv 623.") still ends the secret.
		re := regexp.MustCompile(`(?:^|[^0-9A-Za-z_.])` + regexp.QuoteMeta(v) + `(?:$|[^0-9A-Za-z_.µ]|\.(?:$|[^0-9]))`)
		if loc := re.FindStringIndex(text); loc != nil {
			found[name] = excerpt(text, loc[0], loc[1]-loc[0])
		}
	}
	for v, name := range s.dynamic {
		if found[name] != "" {
			continue
		}
		re := regexp.MustCompile(`(?i)(cvv2?|dynamic_?data_?value|dynamicValue)\W{0,6}` + regexp.QuoteMeta(v) + `\b`)
		if loc := re.FindStringIndex(text); loc != nil {
			found[name] = excerpt(text, loc[0], loc[1]-loc[0])
		}
	}
	return found
}

// jsonStrings returns every string (keys and values) of the JSON documents in
// text, one document per line; lines that are not JSON are returned whole.
func jsonStrings(text string) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			out = append(out, line)
			continue
		}
		walk(v)
	}
	return out
}

func excerpt(text string, i, n int) string {
	return text[max(0, i-40):min(len(text), i+n+40)]
}

// Counts returns how many long, short and dynamic values are registered.
func (s *Secrets) Counts() (long, short, dynamic int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.long), len(s.short), len(s.dynamic)
}
