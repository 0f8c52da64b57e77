package checker

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText writes the report for a terminal: a summary line, then findings
// grouped by connection (worst connection first, worst finding first), then
// scan errors.
func WriteText(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	s := &r.Summary

	fmt.Fprintf(b, "vpncheck: %s, %s", plural(s.Connections, "connection"), plural(s.Tunnels, "tunnel"))
	if len(s.RegionsScan) > 0 {
		fmt.Fprintf(b, " in %s", strings.Join(s.RegionsScan, ", "))
	}
	fmt.Fprintf(b, ": %s", plural(s.Findings, "finding"))
	if counts := severityCounts(s.BySeverity); counts != "" {
		fmt.Fprintf(b, " (%s)", counts)
	}
	b.WriteString("\n")
	var notes []string
	if s.Suppressed > 0 {
		notes = append(notes, fmt.Sprintf("%d suppressed by exceptions", s.Suppressed))
	}
	if s.Incomplete > 0 {
		notes = append(notes, fmt.Sprintf("%s without IKE or IPsec settings (not judged on them)", plural(s.Incomplete, "connection")))
	}
	if len(s.RegionsFailed) > 0 {
		notes = append(notes, "FAILED regions: "+strings.Join(s.RegionsFailed, ", "))
	}
	for _, n := range notes {
		fmt.Fprintf(b, "  %s\n", n)
	}

	for _, g := range groupByConnection(r.Findings) {
		f := g[0]
		name := f.ConnectionName
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(b, "\n%s  %s  %s", name, f.ConnectionID, f.Region)
		if f.VPNGatewayID != "" {
			fmt.Fprintf(b, "  gateway %s", f.VPNGatewayID)
		}
		if f.AccountID != "" {
			fmt.Fprintf(b, "  account %s", f.AccountID)
		}
		b.WriteString("\n")
		for _, f := range g {
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

// groupByConnection splits sorted findings by connection, keeping each
// connection's findings worst first. Connections are ordered by how bad
// they are: most critical findings first, then most high, and so on.
func groupByConnection(fs []Finding) [][]Finding {
	idx := map[string]int{}
	var groups [][]Finding
	for _, f := range fs {
		key := f.Region + "\x00" + f.ConnectionID
		i, ok := idx[key]
		if !ok {
			i = len(groups)
			idx[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], f)
	}
	weight := func(g []Finding) (w [Critical + 1]int) {
		for _, f := range g {
			w[Critical-f.Severity]++
		}
		return w
	}
	slices.SortStableFunc(groups, func(a, b []Finding) int {
		wa, wb := weight(a), weight(b)
		for i := range wa {
			if wa[i] != wb[i] {
				return wb[i] - wa[i]
			}
		}
		return 0
	})
	return groups
}

// severityCounts spells counts worst first: "2 critical, 3 high".
func severityCounts(by map[string]int) string {
	var parts []string
	for s := Critical; s >= Info; s-- {
		if n := by[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
