package check

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
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
// milliseconds is found only when it happens to pass the Luhn check, and a
// span starting with 0 never is. A group glued to a letter ("a1234", as in
// hexadecimal or base64 ids and hashes) is part of a word and never counts:
// a card number pasted into a field is set apart by spaces, punctuation or
// the field's ends, and ids Visa or the SDK generate must not be refused by
// chance.
func HasCardNumber(s string) bool {
	found := false
	runsNormalized(normalize(s), true, func(_, _ int, pan bool) bool {
		found = pan
		return !pan
	})
	return found
}

// MaskCardNumbers returns s with every run of digits that holds a card number
// replaced by "[number removed]". s is normalised to NFKC first, so the
// result may differ from s in more than the removed runs. Masking errs on the
// safe side: unlike HasCardNumber, it also masks a number glued to letters
// ("x4111111111111111y"), since removing a number that was not a card's
// costs nothing.
func MaskCardNumbers(s string) string {
	s = normalize(s)
	var b strings.Builder
	last := 0
	runsNormalized(s, false, func(start, end int, pan bool) bool {
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

// runsNormalized calls f for every maximal run of digits and separators of
// the normalised text s that starts and ends with a digit, with its byte
// offsets and whether it holds a card number; f returns false to stop. With
// words set, a group of digits glued to a letter is part of a word and
// never part of a card number.
func runsNormalized(s string, words bool, f func(start, end int, pan bool) bool) {
	var digitBuf [32]byte
	var groupBuf [16]int
	digits := digitBuf[:0] // on the stack unless a run is longer
	groups := groupBuf[:0] // digit offsets where a span may start or end
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		start, end := i, i
		digits, groups = digits[:0], groups[:0]
		glued := words && i > 0 && letterBefore(s, i) // the first group follows a letter
		groupStart, prevSep := 0, false
		closeGroup := func(gluedAfter bool) {
			if glued || gluedAfter {
				// A group glued to a letter ("a1234", "1234b") is part of
				// a word, an id's hex or base64: it cannot begin, end or
				// join a span, so the spans end at it.
				groups = append(groups, -1)
			} else {
				if len(groups) == 0 || groups[len(groups)-1] != groupStart {
					groups = append(groups, groupStart)
				}
				groups = append(groups, len(digits))
			}
			glued = false
		}
		j := i
		for j < len(s) {
			r, size := rune(s[j]), 1
			if r >= 0x80 {
				r, size = utf8.DecodeRuneInString(s[j:])
			}
			if r >= '0' && r <= '9' {
				if prevSep {
					groupStart = len(digits)
				}
				digits = append(digits, byte(r-'0'))
				end, prevSep = j+size, false
				j += size
				continue
			}
			if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
				// A letter (or a digit of another script) ends the run.
				break
			}
			if !prevSep {
				closeGroup(false)
			}
			prevSep = true
			j += size
		}
		if !prevSep {
			closeGroup(words && j < len(s)) // stopped at a letter right after a digit
		}
		if !f(start, end, luhnSpan(digits, groups)) {
			return
		}
		i = end
	}
}

// letterBefore reports whether the character before s[i] is a letter or a
// mark.
func letterBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsMark(r)
}

// luhnSpan reports whether consecutive whole groups of d, 13 to 19 digits
// together, that do not start with 0 pass the Luhn check. bounds lists each
// usable group as its start and end offsets in d (consecutive groups share
// the offset between them), with -1 where a group glued to a letter breaks
// the sequence. No card scheme issues numbers starting with 0 (the ISO/IEC
// 7812 major industry identifier 0 is not a card range), so zero-padded
// counters ("device-00000000000001008") are not taken for card numbers.
func luhnSpan(d []byte, bounds []int) bool {
	for a := 0; a < len(bounds); a++ {
		if bounds[a] < 0 {
			continue
		}
		for b := a + 1; b < len(bounds) && bounds[b] >= 0; b++ {
			n := bounds[b] - bounds[a]
			if n > 19 {
				break
			}
			if n >= 13 && d[bounds[a]] != 0 && luhn(d[bounds[a]:bounds[b]]) {
				return true
			}
		}
	}
	return false
}

// NewUUID returns a random (version 4) UUID that HasCardNumber passes. The
// SDK makes such ids for references Visa sees (a mandate id, a transaction
// reference, a journey id), and every id it sends or stores is screened for
// card numbers; about one random UUID in 8,000 has groups of digits that
// read as one ("63147090-9936-4477-…": sixteen digits passing the Luhn
// check). Such a UUID is drawn again, so an id the SDK makes is never
// refused by its own screen.
func NewUUID() string { return newUUID(uuid.NewString) }

func newUUID(draw func() string) string {
	for {
		if id := draw(); !HasCardNumber(id) {
			return id
		}
	}
}
