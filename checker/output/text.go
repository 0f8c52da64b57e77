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
	s := &r.Summary
	id := func(v string) string { return TerminalText(v, maxTermID) }
	msg := func(v string) string { return TerminalText(v, maxTermMessage) }
	list := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = id(v)
		}
		return strings.Join(out, ", ")
	}
	region := func(r string) string {
		if r == report.UnknownRegion {
			return "(" + report.UnknownRegionText + ")"
		}
		return id(r)
	}

	fmt.Fprintf(b, "vpncheck: %s, %s%s", report.Plural(s.Connections, "connection"), report.Plural(s.Tunnels, "tunnel"), scannedIn(s.RegionsScan, list))
	fmt.Fprintf(b, ": %s", report.Plural(s.Findings, "finding"))
	if counts := report.CountOf(r.Findings).Join(", "); counts != "" {
		fmt.Fprintf(b, " (%s)", counts)
	}
	if s.BelowMinSeverity > 0 {
		fmt.Fprintf(b, ", %d more below --min-severity not shown", s.BelowMinSeverity)
	}
	b.WriteString("\n")
	var notes []string
	if s.Suppressed > 0 {
		notes = append(notes, fmt.Sprintf("%d suppressed by exceptions", s.Suppressed))
	}
	if len(s.DisabledRules) > 0 {
		notes = append(notes, "rules switched off by the policy data: "+list(s.DisabledRules))
	}
	if s.Incomplete > 0 {
		notes = append(notes, fmt.Sprintf("%s without IKE or IPsec settings (not judged on them)", report.Plural(s.Incomplete, "connection")))
	}
	if len(s.RegionsFailed) > 0 {
		notes = append(notes, "FAILED regions: "+list(s.RegionsFailed))
	}
	stateful := r.Lifecycle.Stateful
	if stateful {
		notes = append(notes, fmt.Sprintf("since the last run: %d new (marked *), %d resolved", s.New, s.Resolved))
		if len(r.Lifecycle.Held) > 0 {
			notes = append(notes, "still open, not checked this run: findings in "+list(r.Lifecycle.Held))
		}
	}
	if r.Change != nil {
		notes = append(notes, "change: "+TerminalText(r.Change.Summary(), maxTermMessage))
	}
	if r.PolicyRevision != "" {
		notes = append(notes, "policies: "+id(r.PolicyRevision))
	}
	for _, n := range notes {
		fmt.Fprintf(b, "  %s\n", n)
	}

	for _, g := range report.ByConnection(r.Findings) {
		name := TerminalText(g.ConnectionName, maxTermName)
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(b, "\n%s  %s  %s", name, id(g.ConnectionID), region(g.Region))
		if g.VPNGatewayID != "" {
			fmt.Fprintf(b, "  gateway %s", id(g.VPNGatewayID))
		}
		if g.AccountID != "" {
			fmt.Fprintf(b, "  account %s", id(g.AccountID))
		}
		b.WriteString("\n")
		for _, f := range g.Findings {
			mark := " "
			if stateful && f.Status == report.StatusNew {
				mark = "*"
			}
			fmt.Fprintf(b, " %s%-8s  %-22s  %s\n", mark, strings.ToUpper(f.Severity.String()), id(f.Rule), msg(f.Message))
			if f.Remediation != "" {
				fmt.Fprintf(b, "  %-8s  %-22s  fix: %s\n", "", "", msg(f.Remediation))
			}
		}
	}

	if len(r.Resolved) > 0 {
		b.WriteString("\nResolved since the last run:\n")
		for _, f := range r.Resolved {
			name := TerminalText(f.ConnectionName, maxTermName)
			fmt.Fprintf(b, "  %-8s  %-22s  %s  %s  %s\n", strings.ToUpper(f.Severity.String()), id(f.Rule), name, id(f.ConnectionID), region(f.Region))
		}
	}

	if len(r.Errors) > 0 {
		b.WriteString("\nScan errors:\n")
		for _, e := range r.Errors {
			where := region(e.Region)
			if where == "" {
				where = "-"
			}
			fmt.Fprintf(b, "  %s  %s  %s", where, id(e.Code), msg(e.Message))
			if e.RequestID != "" {
				fmt.Fprintf(b, " (request %s)", id(e.RequestID))
			}
			b.WriteString("\n")
		}
	}
	return b.Flush()
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
