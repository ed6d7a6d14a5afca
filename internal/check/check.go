package check

import (
	"encoding/base64"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds shared by the packages that validate.
const (
	// MaxID bounds an id, in bytes.
	MaxID = 128
	// MaxEmail bounds an email address, in bytes (RFC 5321's path limit).
	MaxEmail = 254
	// MaxURL bounds a URL, in bytes.
	MaxURL = 2048
)

// ID refuses an empty id, one longer than max bytes, one with anything but
// visible ASCII, and one that holds a card number.
func ID(s string, max int) string {
	switch {
	case s == "":
		return "is required"
	case len(s) > max:
		return "is too long"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return "must be visible ASCII without spaces"
		}
	}
	if HasCardNumber(s) {
		return reasonCardNumber
	}
	return ""
}

// ClientReferenceID refuses anything but 1 to 36 characters of
// [A-Za-z0-9-] (the clientReferenceId of VTS and VIC calls, docs/wire.md
// §1), and a value holding a card number.
func ClientReferenceID(s string) string {
	if len(s) == 0 || len(s) > 36 {
		return "must be 1 to 36 characters of [A-Za-z0-9-]"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' {
			return "must be 1 to 36 characters of [A-Za-z0-9-]"
		}
	}
	if HasCardNumber(s) {
		return reasonCardNumber
	}
	return ""
}

// ClientDeviceID refuses anything but 24 characters of [A-Za-z0-9_-] (the
// device's clientDeviceId).
func ClientDeviceID(s string) string {
	if len(s) != 24 || !base64URL(s) {
		return "must be 24 characters of [A-Za-z0-9_-]"
	}
	return ""
}

// Email refuses anything but a plain address as VTS and VIC take it:
// local@domain, at most 254 bytes (64 for the local part), a dot-atom local
// part (no leading, trailing or doubled dot), and a domain of at least two
// labels of letters, digits and inner hyphens whose last label is letters.
func Email(s string) string {
	const bad = "must be an email address such as alice@example.com"
	if s == "" {
		return "is required"
	}
	if len(s) > MaxEmail {
		return "is too long"
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 {
		return bad
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return bad
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !alnum(c) && !strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", rune(c)) {
			return bad
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || len(domain) > 253 {
		return bad
	}
	for i, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad
		}
		for j := 0; j < len(l); j++ {
			if !alnum(l[j]) && l[j] != '-' {
				return bad
			}
		}
		if i == len(labels)-1 && (len(l) < 2 || !letters(l)) {
			return bad
		}
	}
	if HasCardNumber(s) {
		return reasonCardNumber
	}
	return ""
}

// Country refuses anything but an ISO 3166-1 alpha-2 code in upper case.
func Country(s string) string {
	if len(s) != 2 || !upper(s) {
		return "must be an ISO 3166-1 alpha-2 code such as US"
	}
	return ""
}

// Language refuses anything but a BCP 47-shaped tag: a 2 to 8 letter
// primary subtag, then hyphenated alphanumeric subtags of 1 to 8
// characters, 35 bytes at most ("en", "en-US").
func Language(s string) string {
	const bad = "must be a language tag such as en or en-US"
	if s == "" || len(s) > 35 {
		return bad
	}
	for i, part := range strings.Split(s, "-") {
		if len(part) == 0 || len(part) > 8 || (i == 0 && len(part) < 2) {
			return bad
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			if !(c|0x20 >= 'a' && c|0x20 <= 'z') && (i == 0 || c < '0' || c > '9') {
				return bad
			}
		}
	}
	return ""
}

// MCC refuses anything but a merchant category code of four digits.
func MCC(s string) string {
	if len(s) != 4 {
		return "must be 4 digits"
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "must be 4 digits"
		}
	}
	return ""
}

// URL refuses anything but an absolute https URL with a host, at most max
// bytes, without user information; plain http is accepted only for a
// loopback host (localhost, 127.0.0.0/8, ::1), the rule of every endpoint
// the SDK sends card data to. A URL holding a card number is refused.
func URL(s string, max int) string {
	if s == "" {
		return "is required"
	}
	if len(s) > max {
		return "is too long"
	}
	if !plainHTTPS(s) {
		if r := parsedURL(s); r != "" {
			return r
		}
	}
	if HasCardNumber(s) {
		return reasonCardNumber
	}
	return ""
}

// parsedURL is URL's rule for what url.Parse makes of s.
func parsedURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "" || u.Host == "":
		return "must be an absolute URL with a host"
	case u.User != nil:
		return "must not contain user information"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !Loopback(u.Hostname()) {
			return "must use https (plain http only for localhost, 127.0.0.1 or ::1)"
		}
	default:
		return "must use https"
	}
	return ""
}

// plainHTTPS reports whether s is an https URL of the plainest form:
// "https://" (any case), a host of letters, digits, dots and hyphens with
// an optional port of digits, then visible ASCII without '%'. url.Parse
// accepts every such URL with that host, no user information and no
// opaque part, so parsedURL would return "" for it (FuzzPlainHTTPS checks
// this); it saves the *url.URL url.Parse allocates. Anything else goes
// through url.Parse.
func plainHTTPS(s string) bool {
	const scheme = "https://"
	if len(s) <= len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return false
	}
	rest := s[len(scheme):]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	if hasPort {
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	for i := end; i < len(rest); i++ {
		if c := rest[i]; c < 0x21 || c > 0x7e || c == '%' {
			return false
		}
	}
	return true
}

// Loopback reports whether host (without port) is "localhost" or a
// loopback IP address (127.0.0.0/8, ::1).
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && a.IsLoopback()
}

// Text refuses free text (a merchant name, a description, what the shopper
// asked for) that is longer than max bytes, not UTF-8, holds control
// characters or holds a card number. Empty text is refused when required.
func Text(s string, max int, required bool) string {
	switch {
	case s == "":
		if required {
			return "is required"
		}
		return ""
	case len(s) > max:
		return "is too long"
	case !utf8.ValidString(s):
		return "must be UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not hold control characters"
	case HasCardNumber(s):
		return reasonCardNumber
	}
	return ""
}

// Luhn reports whether s is all ASCII digits (at least two) and passes the
// Luhn check.
func Luhn(s string) bool {
	if len(s) < 2 {
		return false
	}
	d := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		d[i] = s[i] - '0'
	}
	return luhn(d)
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i])
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func letters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func upper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ReferenceID reports whether s has the clientReferenceId form the SDK
// makes and sends (visa.NewClientReferenceID): 1 to 36 characters of
// [A-Za-z0-9-].
func ReferenceID(s string) bool {
	if len(s) == 0 || len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && !alnum(c) {
			return false
		}
	}
	return true
}

// Base64URL returns base64url of s without padding, the form of the
// merchantIdentifier fields (docs/wire.md §2.5).
func Base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
