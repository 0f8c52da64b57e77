package report

import (
	"unicode"
	"unicode/utf8"
)

// OneLine is s as one line of at most max characters, in one pass whose
// cost is linear in what it reads (it stops once max characters are out):
// each run of white space, line breaks included, becomes one space and the
// ends are trimmed; an invalid byte is U+FFFD; every other character is
// what show appends for it to dst (nothing: it is dropped), counted as the
// characters appended. A line cut short ends with …, between two of show's
// pieces, never inside one. Each sink's sanitiser is a show of its own
// (checker/output for a terminal, notify/slack for mrkdwn).
func OneLine(s string, max int, show func(dst []byte, r rune) []byte) string {
	if max < 1 {
		return ""
	}
	buf := make([]byte, 0, min(len(s), 4*max)+3)
	n := 0         // characters written
	cut := 0       // len(buf) at the last piece boundary with n <= max-1: room for …
	space := false // a space is due before the next visible character
	var tmp [16]byte
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if r == utf8.RuneError && size == 1 {
			r = '\uFFFD'
		}
		if r == ' ' || r >= '\t' && r <= '\r' || r >= utf8.RuneSelf && unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		piece := show(tmp[:0], r)
		if len(piece) == 0 {
			continue
		}
		width := utf8.RuneCount(piece)
		need := width
		if space {
			need++
		}
		if n+need > max {
			return string(buf[:cut]) + "…"
		}
		if space {
			buf = append(buf, ' ')
			n++
			space = false
		}
		buf = append(buf, piece...)
		n += width
		if n <= max-1 {
			cut = len(buf)
		}
	}
	return string(buf)
}
