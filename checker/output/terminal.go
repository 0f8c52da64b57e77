package output

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// TerminalText makes text from cloud data (connection names, tunnel ids,
// tag keys, error messages) inert for a terminal, in one pass whose cost
// is linear in what it reads (it stops once max characters are out):
//   - C0 controls show as their control pictures (ESC as ␛, BEL as ␇), so
//     no escape sequence (CSI, OSC, the 8-bit forms) can reach the terminal,
//     and DEL as ␡;
//   - C1 controls, bidi overrides and isolates, zero-width and other
//     invisible format characters show as <U+XXXX>;
//   - an invalid byte shows as U+FFFD (a lone 0x9B is CSI to some terminals);
//   - each run of white space, line breaks included, becomes one space, and
//     the ends are trimmed, so a value never starts a line of its own;
//   - at most max characters come out, ending with … when cut.
//
// Every string of a report goes through it before the text writer prints it.
func TerminalText(s string, max int) string {
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
		var piece []byte
		switch {
		case r == utf8.RuneError && size == 1:
			piece = utf8.AppendRune(tmp[:0], '\uFFFD')
		case r == ' ' || r >= '\t' && r <= '\r' || r >= utf8.RuneSelf && unicode.IsSpace(r):
			space = n > 0
			continue
		case r < 0x20:
			piece = utf8.AppendRune(tmp[:0], 0x2400+r)
		case r == 0x7f:
			piece = utf8.AppendRune(tmp[:0], '␡')
		case r >= 0x80 && r <= 0x9f || r >= 0xad && unicode.Is(unicode.Cf, r):
			piece = fmt.Appendf(tmp[:0], "<U+%04X>", r)
		default:
			piece = utf8.AppendRune(tmp[:0], r)
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
