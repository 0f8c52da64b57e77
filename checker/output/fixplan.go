package output

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker/fix"
	"github.com/vpncheck/vpncheck/checker/report"
)

// FixPlans writes the combined plans of vpncheck fix in format ("text" or
// "json"). Text from the cloud (names, ids) is made inert for a terminal;
// the commands themselves are built from ids and algorithm names.
func FixPlans(w io.Writer, format string, plans []fix.Plan) error {
	switch format {
	case "json":
		return fixPlansJSON(w, plans)
	case "text", "":
		return fixPlansText(w, plans)
	}
	return fmt.Errorf("unknown format %q (want text or json)", format)
}

// fixPlanJSON is one plan as the JSON output writes it.
type fixPlanJSON struct {
	Region         string      `json:"region"`
	ConnectionID   string      `json:"connection_id"`
	ConnectionName string      `json:"connection_name"`
	Fixes          []string    `json:"fixes"`     // rule ids the fix clears, with their tunnels
	NotFixed       []string    `json:"not_fixed"` // findings that need a person
	Fix            *report.Fix `json:"fix"`
}

func fixPlansJSON(w io.Writer, plans []fix.Plan) error {
	out := struct {
		Plans []fixPlanJSON `json:"plans"`
	}{Plans: []fixPlanJSON{}}
	for _, p := range plans {
		fixed, not := splitFixable(p.Findings)
		out.Plans = append(out.Plans, fixPlanJSON{Region: p.Region, ConnectionID: p.ConnectionID, ConnectionName: p.ConnectionName,
			Fixes: fixed, NotFixed: not, Fix: p.Fix})
	}
	b, err := marshalIndent(out, "")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// splitFixable names each finding (rule, and tunnel where there is one),
// fixable ones first.
func splitFixable(fs []report.Finding) (fixed, not []string) {
	fixed, not = []string{}, []string{}
	for _, f := range fs {
		name := f.Rule
		if f.TunnelID != "" {
			name += " (" + f.TunnelID + ")"
		}
		if fix.Fixable(f.Rule) {
			fixed = append(fixed, name)
		} else {
			not = append(not, name)
		}
	}
	slices.Sort(fixed)
	slices.Sort(not)
	return fixed, not
}

func fixPlansText(w io.Writer, plans []fix.Plan) error {
	bw := bufio.NewWriter(w)
	for i, p := range plans {
		if i > 0 {
			bw.WriteString("\n")
		}
		name := ""
		if p.ConnectionName != "" {
			name = " (" + TerminalText(p.ConnectionName, maxTermName) + ")"
		}
		fmt.Fprintf(bw, "%s%s in %s: %s\n", TerminalText(p.ConnectionID, maxTermID), name, TerminalText(p.Region, maxTermID),
			report.Plural(len(p.Findings), "finding"))
		fixed, _ := splitFixable(p.Findings)
		if len(fixed) > 0 {
			fmt.Fprintf(bw, "  fixed by this one change: %s\n", TerminalText(strings.Join(fixed, ", "), maxTermMessage))
		}
		for _, f := range p.Findings {
			if !fix.Fixable(f.Rule) {
				fmt.Fprintf(bw, "  needs a person: %s: %s\n", TerminalText(f.Rule, maxTermID), TerminalText(f.Message, maxTermMessage))
			}
		}
		if p.Fix == nil {
			if len(p.Findings) == 0 {
				bw.WriteString("  nothing to change\n")
			}
			continue
		}
		params, _ := marshalIndent(p.Fix.API.Parameters, "    ")
		// JSON leaves C1 controls and format characters of cloud values
		// (an IKE id) as they are: escape them, as OCSF lines are.
		fmt.Fprintf(bw, "\n  API call (VPC 2016-04-28): %s in %s\n    %s\n", p.Fix.API.Action, TerminalText(p.Fix.API.Region, maxTermID), inertJSON(params))
		fmt.Fprintf(bw, "\n  aliyun CLI:\n    %s\n", TerminalText(p.Fix.CLI, 20000))
		bw.WriteString("\n  Terraform, the attributes to change:\n")
		for _, line := range strings.Split(strings.TrimSuffix(fix.Terraform(p.Fix.Terraform), "\n"), "\n") {
			bw.WriteString("    " + line + "\n")
		}
		fmt.Fprintf(bw, "\n  Note: %s\n", TerminalText(p.Fix.Note, 4000))
	}
	bw.WriteString("\nNothing was changed: vpncheck fix only prints the plan.\n")
	return bw.Flush()
}
