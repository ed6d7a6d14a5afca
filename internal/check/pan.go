package check

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const reasonCardNumber = "looks like a card number"

// HasCardNumber reports whether s holds a card number anywhere: 13 to 19
// digits that pass the Luhn check, written in one run or in groups. The text
// is first brought to Unicode NFKC (so full-width, circled or superscript
// digits count as digits), and then any character that is neither a letter
// nor a digit separates groups: "4111 1111 1111 1111", "4111.1111.1111.1111",
// "4111-1111-1111-1111", a no-break space or a slash all hide nothing.
// Only whole groups are combined ("4111 1111 1111 1111 2026" holds a card
// number; a 20-digit order number does not), so a 13-digit time stamp in
// milliseconds is found only when it happens to pass the Luhn check.
func HasCardNumber(s string) bool {
	found := false
	runs(s, func(_, _ int, pan bool) bool {
		found = pan
		return !pan
	})
	return found
}

// MaskCardNumbers returns s with every run of digits that holds a card number
// replaced by "[number removed]". s is normalised to NFKC first, so the
// result may differ from s in more than the removed runs.
func MaskCardNumbers(s string) string {
	s = normalize(s)
	var b strings.Builder
	last := 0
	runsNormalized(s, func(start, end int, pan bool) bool {
		if pan {
			b.WriteString(s[last:start])
			b.WriteString("[number removed]")
			last = end
		}
		return true
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s // NFKC leaves ASCII as it is
	}
	return norm.NFKC.String(s)
}

// runs normalises s and calls f for every maximal run of digits and
// separators that starts and ends with a digit, with its byte offsets in the
// normalised text and whether it holds a card number; f returns false to
// stop.
func runs(s string, f func(start, end int, pan bool) bool) {
	runsNormalized(normalize(s), f)
}

func runsNormalized(s string, f func(start, end int, pan bool) bool) {
	var digits []byte
	var groups []int
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		start, end := i, i
		digits, groups = digits[:0], append(groups[:0], 0)
		prevSep := false
		for j := i; j < len(s); {
			r, size := rune(s[j]), 1
			if r >= 0x80 {
				r, size = utf8.DecodeRuneInString(s[j:])
			}
			switch {
			case r >= '0' && r <= '9':
				if prevSep {
					groups = append(groups, len(digits))
				}
				digits = append(digits, byte(r-'0'))
				end, prevSep = j+size, false
			case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
				// A letter (or a digit of another script) ends the run.
				j = len(s)
				continue
			default:
				prevSep = true
			}
			j += size
		}
		groups = append(groups, len(digits))
		if !f(start, end, luhnSpan(digits, groups)) {
			return
		}
		i = end
	}
}

// luhnSpan reports whether whole groups of d, 13 to 19 digits together, pass
// the Luhn check.
func luhnSpan(d []byte, groups []int) bool {
	for a := 0; a < len(groups); a++ {
		for b := a + 1; b < len(groups); b++ {
			n := groups[b] - groups[a]
			if n > 19 {
				break
			}
			if n >= 13 && luhn(d[groups[a]:groups[b]]) {
				return true
			}
		}
	}
	return false
}
