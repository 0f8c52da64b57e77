package checker

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteRulesJSON writes the catalogue as {"rules":[...]}.
func WriteRulesJSON(w io.Writer, rules []Rule) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Rules []Rule `json:"rules"`
	}{rules})
}

// WriteRulesText writes the catalogue as a table.
func WriteRulesText(w io.Writer, rules []Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	return tw.Flush()
}
