package slack

import (
	"fmt"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// A change event's report carries the API call that caused it
// (report.Change): the message says what changed, who did it, from where,
// how, and what that change made wrong or fixed. Every part of the change is
// the event's untrusted text (a session name, a user agent, even the API
// name are the caller's to shape) and goes through inert like any other
// cloud text.

// maxChangeResolved is how many fixed findings the change block names
// before it counts the rest.
const maxChangeResolved = 10

// changeBlocks are the blocks that open a change event's message; nil for
// any other report.
func changeBlocks(rep *report.Report) []block {
	c := rep.Change
	if c == nil {
		return nil
	}
	what := ":pencil2: *Changed*"
	switch {
	case c.Deleted:
		what = ":wastebasket: *Deleted*"
	case strings.HasPrefix(c.Event, "Create"):
		what = ":new: *Created*"
	}
	line := what + " " + orDash(code(c.ConnectionID, 80))
	if c.TunnelID != "" {
		line += " tunnel " + code(c.TunnelID, 80)
	}
	if c.Region != "" {
		line += " in " + regionLink(c.Region)
	}
	line += " by " + code(c.Event, 64)
	lines := []string{line}

	who := "*Who* " + orDash(text(c.Actor, 200))
	if c.SourceIP != "" {
		who += " · *from* " + code(c.SourceIP, 64)
	}
	who += " · *via* " + c.Via()
	if !c.Time.IsZero() {
		who += " · *at* " + c.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	lines = append(lines, who)
	if len(c.Changed) > 0 {
		set := make([]string, 0, len(c.Changed))
		for _, p := range c.Changed {
			set = append(set, code(p, 64))
		}
		lines = append(lines, "*Set* "+strings.Join(set, ", "))
	}

	var fresh []report.Finding
	for _, f := range rep.Findings {
		if f.Status == report.StatusNew {
			fresh = append(fresh, f)
		}
	}
	switch {
	case len(fresh) > 0:
		lines = append(lines, fmt.Sprintf(":warning: *Now wrong:* %s (%s), below", report.Plural(len(fresh), "new finding"), severityCounts(fresh, ", ")))
	case len(rep.Findings) == 0 && len(rep.Errors) == 0 && len(rep.Summary.RegionsFailed) == 0:
		lines = append(lines, ":white_check_mark: Nothing is wrong with it now.")
	}
	if len(rep.Resolved) > 0 {
		verb := "*Fixed by this change*"
		if c.Deleted {
			verb = "*Closed with the connection*"
		}
		lines = append(lines, fmt.Sprintf(":white_check_mark: %s (%d):", verb, len(rep.Resolved)))
		for i, f := range rep.Resolved {
			if i == maxChangeResolved {
				lines = append(lines, fmt.Sprintf("…and %d more", len(rep.Resolved)-maxChangeResolved))
				break
			}
			lines = append(lines, "• "+resolvedText(f))
		}
	}
	return sectionBlocks(strings.Join(lines, "\n"))
}

// resolvedText names one fixed finding: its title, rule and tunnel.
func resolvedText(f report.Finding) string {
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	s := text(title, maxTitle)
	if f.TunnelID != "" {
		s += " on tunnel " + code(f.TunnelID, 80)
	}
	if f.Rule != "" {
		s += "  " + code(f.Rule, 64)
	}
	return s
}

// changeFallback is the notification text's lead for a change event. The
// fallback is mrkdwn without the verbatim switch, so it holds only our
// words and the values that cannot link or mention (safeToken).
func changeFallback(c *report.Change) string {
	s := "VPN change"
	if safeToken(c.Event) {
		s += ": " + c.Event
	}
	if safeToken(c.ConnectionID) {
		s += " on " + c.ConnectionID
	}
	return s
}

// changeWorthSaying reports whether a change event's report has news even
// with no finding, error or failed region: the findings it fixed.
func changeWorthSaying(rep *report.Report) bool {
	return rep.Change != nil && len(rep.Resolved) > 0
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
