package slack

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
	// A digest lists every open finding with its age: the count of those
	// unchanged would say its total a second time.
	if line := unchangedLine(rep, now); line != "" && !(l.Digest && len(rep.Findings) > 0) {
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
	if f.Side != "" {
		s += ", " + text(f.Side, 16) + " side"
	}
	return s
}

// openFor says how long a fixed finding was open.
func openFor(f report.Finding, now time.Time) string {
	end := now
	if f.ResolvedAt != nil {
		end = *f.ResolvedAt
	}
	if f.OpenSince().IsZero() || end.IsZero() {
		return ""
	}
	return ", open " + age(end.Sub(f.OpenSince()))
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
		return cmp.Compare(a.OpenSince().Unix(), b.OpenSince().Unix())
	})
	lines := make([]string, len(open))
	for i, f := range open {
		lines[i] = severityEmoji[f.Severity] + " " + findingLine(f)
		if !f.OpenSince().IsZero() && !now.IsZero() {
			lines[i] += " · open " + age(now.Sub(f.OpenSince()))
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
	// The total is the header's; the digest says how it divides.
	title := fmt.Sprintf(":clipboard: *Digest: everything open* · %s on %s, worst and oldest first",
		report.CountOf(open).Join(", "), report.Plural(len(report.ByConnection(open)), "connection"))
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

// failureBlocks says what became of the failures of earlier runs: those
// that ended (a region scanned again, with what it holds now), and those
// that go on, said when they began and listed here again only because
// this run posts anyway.
func failureBlocks(p *packer, left *leftOut, rep *report.Report, now time.Time) {
	l := &rep.Lifecycle
	if len(l.Recovered) > 0 {
		lines := make([]string, len(l.Recovered))
		for i, e := range l.Recovered {
			lines[i] = ":white_check_mark: " + recoveredLine(rep, e, now)
		}
		title := fmt.Sprintf(":white_check_mark: *Scanned again (%d)*: failing in earlier runs, read whole in this one", len(l.Recovered))
		summaryList(p, left, "ended failures", title, lines, maxChangeLines)
	}
	if still := rep.StillFailing(); len(still) > 0 {
		lines := make([]string, len(still))
		for i, e := range still {
			lines[i] = errorLines([]report.ErrorEntry{e})[0] + " · since " + failingSince(e.FirstSeen, now)
		}
		title := fmt.Sprintf(":hourglass_flowing_sand: *Still failing (%d)*: said when each began", len(still))
		summaryList(p, left, "failures still going on", title, lines, maxErrorLines)
	}
}

// recoveredLine is one ended failure: where, since when, and what its
// place holds now.
func recoveredLine(rep *report.Report, e report.ErrorEntry, now time.Time) string {
	var where []string
	if e.Region != "" {
		where = append(where, regionText(e.Region))
	}
	if e.ConnectionID != "" {
		where = append(where, code(e.ConnectionID, 80))
	}
	s := strings.Join(where, " ")
	if e.Code != "" {
		s += " " + code(e.Code, 80)
	}
	s += ", failing since " + failingSince(e.FirstSeen, now)
	var there []report.Finding
	for _, f := range rep.Findings {
		if f.Region == e.Region && (e.ConnectionID == "" || f.ConnectionID == e.ConnectionID) && (e.AccountID == "" || f.AccountID == "" || f.AccountID == e.AccountID) {
			there = append(there, f)
		}
	}
	if len(there) == 0 {
		return s + ": no findings there now"
	}
	s += fmt.Sprintf(": now %s there (%s) on %s", report.Plural(len(there), "finding"), report.CountOf(there).Join(", "),
		report.Plural(len(report.ByConnection(there)), "connection"))
	if n := len(there) - countOpen(there); n > 0 {
		s += fmt.Sprintf(", %d of them new", n)
	}
	return s
}

func countOpen(fs []report.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Status == report.StatusOpen {
			n++
		}
	}
	return n
}

// failingSince is when a failure began, with its age.
func failingSince(since, now time.Time) string {
	if since.IsZero() {
		return "an earlier run"
	}
	s := since.UTC().Format("2006-01-02 15:04 UTC")
	if !now.IsZero() {
		s += " (" + age(now.Sub(since)) + ")"
	}
	return s
}

// recoveredWords counts the ended failures for a title: regions scanned
// again, else scan errors gone.
func recoveredWords(rs []report.ErrorEntry) string {
	if r := recoveredRegions(rs); len(r) > 0 {
		return report.Plural(len(r), "region") + " scanned again"
	}
	return report.Plural(len(rs), "scan error") + " gone"
}

// recoveredRegions are the regions whose failure ended, each once.
func recoveredRegions(rs []report.ErrorEntry) []string {
	var out []string
	for _, e := range rs {
		if e.Region != "" && e.ConnectionID == "" && !slices.Contains(out, e.Region) {
			out = append(out, e.Region)
		}
	}
	return out
}
