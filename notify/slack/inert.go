package slack

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Connection names, tunnel ids, tag keys, regions and error messages are
// written by anyone who may modify a VPN connection. Everything a message
// shows of them goes through inert, the one sanitiser of the Slack sink;
// the renderer adds mrkdwn of its own (bold, links to the console) only
// around what inert returned.

// inert makes cloud text safe to show in Slack mrkdwn, in one pass whose
// cost is linear in what it reads (it stops once max characters are out):
//   - control and format characters (C0, C1, bidi overrides and isolates,
//     zero-width characters, Unicode tag characters) are dropped, and an
//     invalid byte becomes U+FFFD;
//   - each run of white space, line breaks included, becomes one space, and
//     the ends are trimmed, so a value can never start a line of its own;
//   - &, < and > become entities, so no value can open a link, a mention
//     or <!channel>;
//   - with inCode, a backtick becomes ', so the value cannot end the code
//     span it is shown in;
//   - at most max characters come out (an entity counts as its length),
//     ending with … when cut; an entity is never split.
func inert(s string, max int, inCode bool) string {
	if inCode {
		return report.OneLine(s, max, codePiece)
	}
	return report.OneLine(s, max, textPiece)
}

// textPiece is what mrkdwn is shown of r; codePiece, in a code span.
func textPiece(dst []byte, r rune) []byte { return inertPiece(dst, r, false) }
func codePiece(dst []byte, r rune) []byte { return inertPiece(dst, r, true) }

func inertPiece(dst []byte, r rune, inCode bool) []byte {
	switch {
	case r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0xad && unicode.Is(unicode.Cf, r):
		return dst // C0, DEL, C1; bidi, zero-width and other invisible format characters
	case r == '&':
		return append(dst, "&amp;"...)
	case r == '<':
		return append(dst, "&lt;"...)
	case r == '>':
		return append(dst, "&gt;"...)
	case r == '`' && inCode:
		return append(dst, '\'')
	}
	return utf8.AppendRune(dst, r)
}

// text is cloud text for running mrkdwn text.
func text(s string, max int) string { return inert(s, max, false) }

// code shows cloud text as inline code: nothing inside it is formatted,
// turned into an emoji or linked.
func code(s string, max int) string {
	v := inert(s, max, true)
	if v == "" {
		return ""
	}
	return "`" + v + "`"
}

// regionRE is what a region id looks like; only such a region gets a link
// to the console, so a link is always one the renderer made.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+){1,4}$`)

// linkable reports whether region may appear in a console link.
func linkable(region string) bool { return len(region) <= 40 && regionRE.MatchString(region) }

// safeToken reports whether s may appear bare in a fallback text:
// letters, digits, - and _ only, so nothing in it can link or mention.
func safeToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}

// truncRunes cuts our own text to at most max characters, ending with an
// ellipsis when cut.
func truncRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
