package output

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Rules writes the catalogue as {"rules":[...]}.
func (jsonWriter) Rules(w io.Writer, rules []report.Rule) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Rules []report.Rule `json:"rules"`
	}{rules})
}

// Rules writes the catalogue as a table.
func (textWriter) Rules(w io.Writer, rules []report.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, r := range rules {
		// Custom policies bring their own ids and titles.
		fmt.Fprintf(tw, "%s\t%s\t%s\n", TerminalText(r.ID, maxTermID), r.Severity, TerminalText(r.Title, maxTermMessage))
	}
	return tw.Flush()
}
