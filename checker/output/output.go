// Package output writes reports and the rule catalogue in the formats a
// person or a program reads: one file per format, chosen by name, so a new
// format (SARIF, OCSF, CSV) is one more file and one line in formats.
package output

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Writer writes one format.
type Writer interface {
	Report(w io.Writer, r *report.Report) error
	Rules(w io.Writer, rules []report.Rule) error
}

var formats = map[string]Writer{
	"text": textWriter{},
	"json": jsonWriter{},
	"ocsf": ocsfWriter{},
}

// Formats lists the format names, sorted.
func Formats() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns the writer of a format, named case-insensitively.
func Get(format string) (Writer, error) {
	if w, ok := formats[strings.ToLower(strings.TrimSpace(format))]; ok {
		return w, nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), " or "))
}
