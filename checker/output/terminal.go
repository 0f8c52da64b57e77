package output

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
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
	if len(s) <= max && plainLine(s) {
		return s // what OneLine would give, without building its copy
	}
	return report.OneLine(s, max, terminalPiece)
}

// plainLine says whether s is printable ASCII with single spaces between
// words: every character one a terminal shows as itself, nothing to fold.
// Most of a report's text is (75,000 findings' messages, ids and names).
func plainLine(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return false
			}
			continue
		}
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// terminalPiece is what a terminal is shown of r.
func terminalPiece(dst []byte, r rune) []byte {
	switch {
	case r < 0x20:
		return utf8.AppendRune(dst, 0x2400+r)
	case r == 0x7f:
		return utf8.AppendRune(dst, '␡')
	case r >= 0x80 && r <= 0x9f || r >= 0xad && unicode.Is(unicode.Cf, r):
		return fmt.Appendf(dst, "<U+%04X>", r)
	}
	return utf8.AppendRune(dst, r)
}
