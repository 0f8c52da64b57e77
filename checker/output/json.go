package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/vpncheck/vpncheck/checker/report"
)

type jsonWriter struct{}

// Report writes the report in the documented JSON shape. Findings are
// encoded one at a time, so a large report is never held twice in memory.
func (jsonWriter) Report(w io.Writer, r *report.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	field := func(name string, v any, last bool) error {
		b, err := marshalIndent(v, "  ")
		if err != nil {
			return err
		}
		bw.WriteString("  \"" + name + "\": ")
		bw.Write(b)
		if !last {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		return nil
	}
	bw.WriteString("{\n")
	if err := field("schema_version", r.SchemaVersion, false); err != nil {
		return err
	}
	if err := findingList(bw, "findings", r.Findings, false); err != nil {
		return err
	}
	if err := field("summary", &r.Summary, false); err != nil {
		return err
	}
	errs := r.Errors
	if errs == nil {
		errs = []report.ErrorEntry{}
	}
	if err := field("errors", errs, false); err != nil {
		return err
	}
	if err := findingList(bw, "resolved", r.Resolved, true); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// findingList writes one list of findings, one finding at a time.
func findingList(bw *bufio.Writer, name string, fs []report.Finding, last bool) error {
	if len(fs) == 0 {
		bw.WriteString("  \"" + name + "\": []")
	} else {
		bw.WriteString("  \"" + name + "\": [\n")
		for i := range fs {
			b, err := marshalIndent(&fs[i], "    ")
			if err != nil {
				return err
			}
			bw.WriteString("    ")
			bw.Write(b)
			if i < len(fs)-1 {
				bw.WriteString(",")
			}
			bw.WriteString("\n")
		}
		bw.WriteString("  ]")
	}
	if !last {
		bw.WriteString(",")
	}
	bw.WriteString("\n")
	return nil
}

func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
