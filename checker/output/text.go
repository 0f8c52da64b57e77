package output

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

type textWriter struct{}

// Report writes the report for a terminal: a summary line, then findings
// grouped by connection (worst connection first, worst finding first), then
// scan errors.
func (textWriter) Report(w io.Writer, r *report.Report) error {
	b := bufio.NewWriter(w)
	s := &r.Summary

	fmt.Fprintf(b, "vpncheck: %s, %s", report.Plural(s.Connections, "connection"), report.Plural(s.Tunnels, "tunnel"))
	if len(s.RegionsScan) > 0 {
		fmt.Fprintf(b, " in %s", strings.Join(s.RegionsScan, ", "))
	}
	fmt.Fprintf(b, ": %s", report.Plural(s.Findings, "finding"))
	if counts := report.CountOf(r.Findings).Join(", "); counts != "" {
		fmt.Fprintf(b, " (%s)", counts)
	}
	b.WriteString("\n")
	var notes []string
	if s.Suppressed > 0 {
		notes = append(notes, fmt.Sprintf("%d suppressed by exceptions", s.Suppressed))
	}
	if s.Incomplete > 0 {
		notes = append(notes, fmt.Sprintf("%s without IKE or IPsec settings (not judged on them)", report.Plural(s.Incomplete, "connection")))
	}
	if len(s.RegionsFailed) > 0 {
		notes = append(notes, "FAILED regions: "+strings.Join(s.RegionsFailed, ", "))
	}
	for _, n := range notes {
		fmt.Fprintf(b, "  %s\n", n)
	}

	for _, g := range report.ByConnection(r.Findings) {
		name := g.ConnectionName
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(b, "\n%s  %s  %s", name, g.ConnectionID, g.Region)
		if g.VPNGatewayID != "" {
			fmt.Fprintf(b, "  gateway %s", g.VPNGatewayID)
		}
		if g.AccountID != "" {
			fmt.Fprintf(b, "  account %s", g.AccountID)
		}
		b.WriteString("\n")
		for _, f := range g.Findings {
			fmt.Fprintf(b, "  %-8s  %-22s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, f.Message)
			if f.Remediation != "" {
				fmt.Fprintf(b, "  %-8s  %-22s  fix: %s\n", "", "", f.Remediation)
			}
		}
	}

	if len(r.Errors) > 0 {
		b.WriteString("\nScan errors:\n")
		for _, e := range r.Errors {
			region := e.Region
			if region == "" {
				region = "-"
			}
			fmt.Fprintf(b, "  %s  %s  %s", region, e.Code, e.Message)
			if e.RequestID != "" {
				fmt.Fprintf(b, " (request %s)", e.RequestID)
			}
			b.WriteString("\n")
		}
	}
	return b.Flush()
}
