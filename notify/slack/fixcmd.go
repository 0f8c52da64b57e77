package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// The command that fixes a finding is shown once per connection: each
// finding's own call sends the connection's other settings as they are,
// so two of them run one after the other would undo each other, and a
// gateway takes one change at a time anyway. A connection with one
// fixable finding shows the command under it; one with several shows the
// combined call under the last of them.

// fixCommand shows a command as a code block, or "" when it is too long
// to show whole (a cut command must never be pasted).
func fixCommand(cli string) string {
	if cli == "" || utf8.RuneCountInString(cli) > maxCLI {
		return ""
	}
	v := inert(cli, maxCLI+200, true)
	if strings.HasSuffix(v, "…") && !strings.HasSuffix(cli, "…") {
		return ""
	}
	return "```" + v + "```"
}

// alone reports whether f is its connection's only fixable finding: its
// own call is the connection's whole change.
func alone(f *report.Finding) bool { return f.Fixer != nil && f.Fixer.Fixable() == 1 }

// findingFix is what a finding's details add under its remediation: the
// command, when the finding is its connection's only fixable one.
func findingFix(f *report.Finding) string {
	switch {
	case alone(f):
		if cmd := fixCommand(f.FixNow().CLI); cmd != "" {
			return "\n_Command:_\n" + cmd
		}
	case f.Fixer == nil && f.Fix != nil:
		// A report read back from JSON: the combined call is not known.
		return "\n_Command:_ `vpncheck fix --connection " + inert(f.ConnectionID, 80, true) + "` prints the one change for this connection."
	}
	return ""
}

// connectionFix is the block that closes a connection's details when
// several of its findings are fixed by one change: that change, once.
func connectionFix(g *report.Group) (block, bool) {
	var x report.Fixer
	n := 0
	for i := range g.Findings {
		if f := &g.Findings[i]; f.Fixer != nil && !alone(f) {
			x = f.Fixer
			n++
		}
	}
	if x == nil {
		return block{}, false
	}
	s := "_One change fixes the " + report.Plural(n, "finding") + " above_ (a gateway takes one change at a time: never one call per finding):"
	if cmd := fixCommand(x.Combined().CLI); cmd != "" {
		s += "\n" + cmd
	} else {
		s += " `vpncheck fix --connection " + inert(g.ConnectionID, 80, true) + "` prints it."
	}
	return sectionBlock(truncMrkdwn(s, sectionBudget)), true
}
