package slack

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// What changed since the last run, said once each: fixed findings, re-rated
// ones, ones an exception now covers; then the open findings that did not
// change, as one line of counts, and the regions whose findings stay open
// because they could not be checked.
func lifecycleBlocks(p *packer, left *leftOut, rep *report.Report, now time.Time) {
	l := &rep.Lifecycle
	if len(rep.Resolved) > 0 && rep.Change == nil { // a change event's own block names what it fixed
		lines := make([]string, len(rep.Resolved))
		for i, f := range rep.Resolved {
			lines[i] = ":white_check_mark: " + findingLine(f) + openFor(f, now)
		}
		summaryList(p, left, "fixed findings", fmt.Sprintf(":white_check_mark: *Fixed since the last run (%d)*", len(rep.Resolved)), lines, maxChangeLines)
	}
	if len(l.SeverityChanged) > 0 {
		lines := make([]string, len(l.SeverityChanged))
		for i, f := range l.SeverityChanged {
			arrow, was := ":arrow_up:", "?"
			if f.PreviousSeverity != nil {
				was = f.PreviousSeverity.String()
				if *f.PreviousSeverity > f.Severity {
					arrow = ":arrow_down:"
				}
			}
			lines[i] = fmt.Sprintf("%s %s: now *%s*, was %s", arrow, findingLine(f), f.Severity, was)
		}
		summaryList(p, left, "re-rated findings", fmt.Sprintf(":arrows_counterclockwise: *Severity changed (%d)*", len(l.SeverityChanged)), lines, maxChangeLines)
	}
	if len(l.NewlySuppressed) > 0 {
		lines := make([]string, len(l.NewlySuppressed))
		for i, f := range l.NewlySuppressed {
			lines[i] = ":no_bell: " + findingLine(f)
		}
		summaryList(p, left, "newly excepted findings", fmt.Sprintf(":no_bell: *Now covered by an exception (%d)*: no longer reported", len(l.NewlySuppressed)), lines, maxChangeLines)
	}
	if line := unchangedLine(rep, now); line != "" {
		p.addHere(sectionBlock(line))
	}
	if len(l.Held) > 0 {
		regions := "the region"
		if len(l.Held) > 1 {
			regions = "these regions"
		}
		p.addHere(sectionBlock(fmt.Sprintf(":warning: Findings in %s stay open: %s could not be checked.", regionList(l.Held), regions)))
	}
}

// findingLine names a finding briefly: severity, title, rule, where.
func findingLine(f report.Finding) string {
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	g := report.Group{ConnectionID: f.ConnectionID, ConnectionName: f.ConnectionName, Region: f.Region}
	s := fmt.Sprintf("*%s* · %s %s · %s", capitalize(f.Severity.String()), text(title, 100), code(f.Rule, 64), place(&g, 80))
	if f.TunnelID != "" {
		s += ", tunnel " + code(f.TunnelID, 80)
	}
	return s
}

// openFor says how long a fixed finding was open.
func openFor(f report.Finding, now time.Time) string {
	end := now
	if f.ResolvedAt != nil {
		end = *f.ResolvedAt
	}
	if f.FirstSeen.IsZero() || end.IsZero() {
		return ""
	}
	return ", open " + age(end.Sub(f.FirstSeen))
}

// unchangedLine counts the open findings that are neither new nor
// re-rated, with the oldest one's age.
func unchangedLine(rep *report.Report, now time.Time) string {
	l := &rep.Lifecycle
	if !l.Stateful {
		return ""
	}
	var same []report.Finding
	for _, f := range rep.Findings {
		if f.Status == report.StatusOpen && f.PreviousSeverity == nil {
			same = append(same, f)
		}
	}
	if len(same) == 0 {
		return ""
	}
	s := fmt.Sprintf(":hourglass_flowing_sand: *Still open:* %s unchanged since earlier runs (%s) on %s",
		report.Plural(len(same), "finding"), report.CountOf(same).Join(", "), report.Plural(len(report.ByConnection(same)), "connection"))
	if !l.OldestOpen.IsZero() {
		s += "; the oldest open since " + l.OldestOpen.UTC().Format(time.DateOnly)
		if !now.IsZero() {
			s += " (" + age(now.Sub(l.OldestOpen)) + ")"
		}
	}
	return s + "."
}

// age is a duration in whole days, or hours under two days.
func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "under an hour"
	case d < 48*time.Hour:
		return report.Plural(int(d/time.Hour), "hour")
	}
	return report.Plural(int(d/(24*time.Hour)), "day")
}

// digestBlocks lists every open finding, worst and oldest first, across
// messages while the budget allows; it returns how many it left out.
func digestBlocks(p *packer, rep *report.Report, now time.Time) int {
	open := slices.Clone(rep.Findings)
	slices.SortStableFunc(open, func(a, b report.Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		return cmp.Compare(a.FirstSeen.Unix(), b.FirstSeen.Unix())
	})
	lines := make([]string, len(open))
	for i, f := range open {
		lines[i] = severityEmoji[f.Severity] + " " + findingLine(f)
		if !f.FirstSeen.IsZero() && !now.IsZero() {
			lines[i] += " · open " + age(now.Sub(f.FirstSeen))
		}
		if f.Status != report.StatusOpen {
			lines[i] += " · _new_"
		}
	}
	// Suppressed findings are listed too: an exception is a decision
	// someone must see again.
	for _, f := range rep.Lifecycle.Suppressed {
		lines = append(lines, ":no_bell: "+findingLine(f)+" · _suppressed by an exception_")
	}
	title := fmt.Sprintf(":clipboard: *Digest: everything open* · %s (%s) on %s, worst and oldest first",
		report.Plural(len(open), "finding"), report.CountOf(open).Join(", "), report.Plural(len(report.ByConnection(open)), "connection"))
	if n := rep.Summary.Suppressed; n > 0 {
		title += fmt.Sprintf("; %d more suppressed by exceptions", n)
	}
	if len(p.cur) > 0 {
		p.addHere(dividerBlock())
	}
	shown := p.list(title, lines, func(n int) string {
		return fmt.Sprintf("…and %s: see the complete report", report.Plural(n, "more open finding"))
	}, true)
	return max(len(lines)-shown, 0)
}

// fullReport is the complete report as the file for the summary's thread:
// the same JSON as `vpncheck check --format json`.
func fullReport(rep *report.Report, meta Meta) (*File, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	name := "vpncheck-report"
	if !meta.Now.IsZero() {
		name += "-" + meta.Now.UTC().Format("20060102T150405Z")
	}
	if meta.RunKey != "" {
		h := sha256.Sum256([]byte(meta.RunKey))
		name += "-" + hex.EncodeToString(h[:4])
	}
	return &File{Name: name + ".json", Title: "VPN check: the complete report", Content: buf.Bytes()}, nil
}
