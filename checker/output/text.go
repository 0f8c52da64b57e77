package output

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

type textWriter struct{}

// Field limits of the text report, in characters: room for any real
// value, while a 10 MB name stays one readable line.
const (
	maxTermID      = 100
	maxTermName    = 200
	maxTermMessage = 1000
)

// Report writes the report for a terminal: a summary line, then findings
// grouped by connection (worst connection first, worst finding first), then
// scan errors. Every value from the report passes TerminalText, so the
// only line breaks and escapes are the writer's own.
func (textWriter) Report(w io.Writer, r *report.Report) error {
	b := bufio.NewWriter(w)
	writeSummary(b, r)
	writeConnections(b, r)
	writeResolved(b, r.Resolved)
	writeErrors(b, r.Errors)
	return b.Flush()
}

// termID, termMsg, termList and termRegion pass report values through
// TerminalText at their field's limit.
func termID(v string) string  { return TerminalText(v, maxTermID) }
func termMsg(v string) string { return TerminalText(v, maxTermMessage) }

func termList(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = termID(v)
	}
	return strings.Join(out, ", ")
}

func termRegion(r string) string {
	if r == report.UnknownRegion {
		return "(" + report.UnknownRegionText + ")"
	}
	return termID(r)
}

// writeSummary writes the summary line and the notes under it.
func writeSummary(b *bufio.Writer, r *report.Report) {
	s := &r.Summary
	fmt.Fprintf(b, "vpncheck: %s, %s%s", report.Plural(s.Connections, "connection"), report.Plural(s.Tunnels, "tunnel"), scannedIn(s.RegionsScan, termList))
	if s.JudgedAfresh != nil && *s.JudgedAfresh != s.Connections {
		// A run with a state: the others took the last run's findings.
		fmt.Fprintf(b, " (%d judged afresh)", *s.JudgedAfresh)
	}
	fmt.Fprintf(b, ": %s", report.Plural(s.Findings, "finding"))
	if counts := report.CountOf(r.Findings).Join(", "); counts != "" {
		fmt.Fprintf(b, " (%s)", counts)
	}
	if s.BelowMinSeverity > 0 {
		fmt.Fprintf(b, ", %d more below --min-severity not shown", s.BelowMinSeverity)
	}
	b.WriteString("\n")
	for _, n := range summaryNotes(r) {
		fmt.Fprintf(b, "  %s\n", n)
	}
}

// summaryNotes are what the summary line leaves out: suppressed findings,
// rules switched off, connections not judged in full, failed regions,
// the lifecycle, the change and the policies' revision.
func summaryNotes(r *report.Report) []string {
	s := &r.Summary
	var notes []string
	if s.Suppressed > 0 {
		notes = append(notes, fmt.Sprintf("%d suppressed by exceptions", s.Suppressed))
	}
	if len(s.DisabledRules) > 0 {
		notes = append(notes, "rules switched off by the policy data: "+termList(s.DisabledRules))
	}
	if s.Incomplete > 0 {
		notes = append(notes, fmt.Sprintf("%s without IKE or IPsec settings (not judged on them)", report.Plural(s.Incomplete, "connection")))
	}
	if len(s.RegionsFailed) > 0 {
		notes = append(notes, "FAILED regions: "+termList(s.RegionsFailed))
	}
	if r.Lifecycle.Stateful {
		notes = append(notes, fmt.Sprintf("since the last run: %d new (marked *), %d resolved", s.New, s.Resolved))
		if len(r.Lifecycle.Held) > 0 {
			notes = append(notes, "still open, not checked this run: findings in "+termList(r.Lifecycle.Held))
		}
	}
	if r.Change != nil {
		notes = append(notes, "change: "+TerminalText(r.Change.Summary(), maxTermMessage))
	}
	if r.PolicyRevision != "" {
		notes = append(notes, "policies: "+termID(r.PolicyRevision))
	}
	return notes
}

// writeConnections writes the findings, grouped by connection; new ones
// are marked * when the run keeps a state.
func writeConnections(b *bufio.Writer, r *report.Report) {
	stateful := r.Lifecycle.Stateful
	groups, idx := report.ByConnectionIndexes(r.Findings) // a large report is not copied
	for gi, g := range groups {
		name := TerminalText(g.ConnectionName, maxTermName)
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(b, "\n%s  %s  %s", name, termID(g.ConnectionID), termRegion(g.Region))
		if g.VPNGatewayID != "" {
			fmt.Fprintf(b, "  gateway %s", termID(g.VPNGatewayID))
		}
		if g.AccountID != "" {
			fmt.Fprintf(b, "  account %s", termID(g.AccountID))
		}
		b.WriteString("\n")
		for _, fi := range idx[gi] {
			f := &r.Findings[fi]
			mark := " "
			if stateful && f.Status == report.StatusNew {
				mark = "*"
			}
			fmt.Fprintf(b, " %s%-8s  %-22s  %s\n", mark, strings.ToUpper(f.Severity.String()), termID(f.Rule), termMsg(f.Message))
			if f.Remediation != "" {
				fmt.Fprintf(b, "  %-8s  %-22s  fix: %s\n", "", "", termMsg(f.Remediation))
			}
		}
	}
}

// writeResolved writes the findings resolved since the last run.
func writeResolved(b *bufio.Writer, resolved []report.Finding) {
	if len(resolved) == 0 {
		return
	}
	b.WriteString("\nResolved since the last run:\n")
	for _, f := range resolved {
		name := TerminalText(f.ConnectionName, maxTermName)
		fmt.Fprintf(b, "  %-8s  %-22s  %s  %s  %s\n", strings.ToUpper(f.Severity.String()), termID(f.Rule), name, termID(f.ConnectionID), termRegion(f.Region))
	}
}

// writeErrors writes the scan errors.
func writeErrors(b *bufio.Writer, errs []report.ErrorEntry) {
	if len(errs) == 0 {
		return
	}
	b.WriteString("\nScan errors:\n")
	for _, e := range errs {
		where := termRegion(e.Region)
		if where == "" {
			where = "-"
		}
		fmt.Fprintf(b, "  %s  %s  %s", where, termID(e.Code), termMsg(e.Message))
		if e.RequestID != "" {
			fmt.Fprintf(b, " (request %s)", termID(e.RequestID))
		}
		b.WriteString("\n")
	}
}

// scannedIn says where the connections came from, for the report's first
// line: " in cn-hangzhou, cn-shanghai"; files that named no region (and
// no --region) say so in words instead of "in unknown".
func scannedIn(regions []string, list func([]string) string) string {
	named := slices.DeleteFunc(slices.Clone(regions), func(r string) bool { return r == report.UnknownRegion })
	switch {
	case len(named) == len(regions) && len(named) > 0:
		return " in " + list(named)
	case len(named) > 0:
		return " in " + list(named) + " and files whose region was not given (set --region)"
	case len(regions) > 0:
		return ", " + report.UnknownRegionText + " (set --region)"
	}
	return ""
}
