package slack

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
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
	if max < 1 {
		return ""
	}
	buf := make([]byte, 0, min(len(s), 4*max)+3)
	n := 0         // characters written
	cut := 0       // len(buf) at the last piece boundary with n <= max-1: room for …
	space := false // a space is due before the next visible character
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if r == utf8.RuneError && size == 1 {
			r = '\uFFFD'
		}
		var piece string
		switch {
		case r == ' ' || r >= '\t' && r <= '\r' || r >= utf8.RuneSelf && unicode.IsSpace(r):
			space = n > 0
			continue
		case r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0xad && unicode.Is(unicode.Cf, r):
			continue // C0, DEL, C1; bidi, zero-width and other invisible format characters
		case r == '&':
			piece = "&amp;"
		case r == '<':
			piece = "&lt;"
		case r == '>':
			piece = "&gt;"
		case r == '`' && inCode:
			piece = "'"
		}
		width := 1
		if piece != "" {
			width = len(piece)
		}
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
		if piece != "" {
			buf = append(buf, piece...)
		} else {
			buf = utf8.AppendRune(buf, r)
		}
		n += width
		if n <= max-1 {
			cut = len(buf)
		}
	}
	return string(buf)
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
