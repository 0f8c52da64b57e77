package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

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
	if r.PolicyRevision != "" { // the policies that judged the run
		if err := field("policy_revision", r.PolicyRevision, false); err != nil {
			return err
		}
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
	if err := findingList(bw, "resolved", r.Resolved, r.Change == nil); err != nil {
		return err
	}
	if r.Change != nil { // a change event's run: the API call that caused it
		if err := field("change", r.Change, true); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// findingList writes one list of findings, one finding at a time, with
// appendFinding: a report holds three times the input's bytes, and
// encoding/json's reflection was most of the time spent writing it.
func findingList(bw *bufio.Writer, name string, fs []report.Finding, last bool) error {
	if len(fs) == 0 {
		bw.WriteString("  \"" + name + "\": []")
	} else {
		bw.WriteString("  \"" + name + "\": [\n")
		buf := make([]byte, 0, 2048)
		for i := range fs {
			var err error
			buf, err = appendFinding(buf[:0], &fs[i])
			if err != nil {
				return err
			}
			if i < len(fs)-1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			bw.Write(buf)
		}
		bw.WriteString("  ]")
	}
	if !last {
		bw.WriteString(",")
	}
	bw.WriteString("\n")
	return nil
}

// appendFinding appends f as encoding/json writes it with the prefix and
// indent findingList used to give marshalIndent ("    ", "  ") and HTML
// escaping off, byte for byte: the fields in report.Finding's order, its
// omitempty fields left out when empty, times as time.Time.MarshalJSON
// writes them. A test holds the two together; a field added to Finding
// must be added here. A fix made on demand (Finding.Fixer) is written
// too, as though it were set.
func appendFinding(b []byte, f *report.Finding) ([]byte, error) {
	const in = "\n      \""
	str := func(b []byte, key, v string) []byte {
		b = append(b, in...)
		b = append(b, key...)
		b = append(b, "\": "...)
		return appendJSONString(b, v)
	}
	b = append(b, "    {"...)
	b = str(b, "rule", f.Rule)
	b = append(b, ',')
	b = str(b, "severity", f.Severity.String())
	b = append(b, ',')
	b = str(b, "title", f.Title)
	b = append(b, ',')
	b = str(b, "message", f.Message)
	b = append(b, ',')
	b = str(b, "remediation", f.Remediation)
	b = append(b, ',')
	for _, kv := range [...][2]string{{"account_id", f.AccountID}, {"account_name", f.AccountName}} {
		if kv[1] != "" {
			b = str(b, kv[0], kv[1])
			b = append(b, ',')
		}
	}
	b = str(b, "region", f.Region)
	b = append(b, ',')
	b = str(b, "connection_id", f.ConnectionID)
	b = append(b, ',')
	b = str(b, "connection_name", f.ConnectionName)
	b = append(b, ',')
	b = str(b, "vpn_gateway_id", f.VPNGatewayID)
	b = append(b, ',')
	for _, kv := range [...][2]string{{"tunnel_id", f.TunnelID}, {"side", f.Side}, {"value", f.Value}, {"exception_expired", f.ExceptionExpired}} {
		if kv[1] != "" {
			b = str(b, kv[0], kv[1])
			b = append(b, ',')
		}
	}
	b = str(b, "id", f.ID)
	b = append(b, ',')
	b = str(b, "status", string(f.Status))
	b = append(b, ',')
	b = append(b, in+"first_seen\": "...)
	var ok bool
	if b, ok = appendTime(b, f.FirstSeen); !ok {
		return nil, refused(f)
	}
	if f.Reopened {
		b = append(b, ","+in+"reopened\": true"...)
	}
	if f.ReopenedAt != nil {
		b = append(b, ","+in+"reopened_at\": "...)
		if b, ok = appendTime(b, *f.ReopenedAt); !ok {
			return nil, refused(f)
		}
	}
	if f.ResolvedAt != nil {
		b = append(b, ","+in+"resolved_at\": "...)
		if b, ok = appendTime(b, *f.ResolvedAt); !ok {
			return nil, refused(f)
		}
	}
	if f.PreviousSeverity != nil {
		b = append(b, ',')
		b = str(b, "previous_severity", f.PreviousSeverity.String())
	}
	b, err := appendFindingFix(b, f)
	if err != nil {
		return nil, err
	}
	return append(b, "\n    }"...), nil
}

// appendFindingFix writes f's fix, when it has one, as its last field:
// directly where appendFix knows every value, else through encoding/json.
func appendFindingFix(b []byte, f *report.Finding) ([]byte, error) {
	fx := f.FixNow()
	if fx == nil {
		return b, nil
	}
	b = append(b, ",\n      \"fix\": "...)
	n0 := len(b)
	b, ok := appendFix(b, fx)
	if ok {
		return b, nil
	}
	fb, err := marshalIndent(fx, "      ")
	if err != nil {
		return nil, err
	}
	return append(b[:n0], fb...), nil
}

// appendFix writes fx as marshalIndent(fx, "      ") does: a fix's
// parameters and attributes are maps of strings, numbers, booleans, lists
// and maps, and encoding/json's reflection over them (keys sorted) was
// most of the time of writing a weak fleet's report. It says false for a
// value of another type, which the caller writes with encoding/json.
func appendFix(b []byte, fx *report.Fix) ([]byte, bool) {
	const in1, in2 = "\n        \"", "\n          \""
	var ok bool
	b = append(b, "{"+in1+"api\": {"+in2+"action\": "...)
	b = appendJSONString(b, fx.API.Action)
	b = append(b, ","+in2+"region\": "...)
	b = appendJSONString(b, fx.API.Region)
	b = append(b, ","+in2+"parameters\": "...)
	if b, ok = appendValue(b, fx.API.Parameters, 2); !ok {
		return b, false
	}
	b = append(b, "\n        },"+in1+"cli\": "...)
	b = appendJSONString(b, fx.CLI)
	b = append(b, ","+in1+"terraform\": {"+in2+"resource\": "...)
	b = appendJSONString(b, fx.Terraform.Resource)
	b = append(b, ","+in2+"attributes\": "...)
	if b, ok = appendValue(b, fx.Terraform.Attributes, 2); !ok {
		return b, false
	}
	b = append(b, "\n        },"+in1+"note\": "...)
	b = appendJSONString(b, fx.Note)
	return append(b, "\n      }"...), true
}

// appendValue writes v, at depth levels below the fix's own braces, as
// encoding/json does with the fix's indent; false for a type it leaves to
// encoding/json.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	line := func(b []byte, depth int) []byte {
		b = append(b, "\n      "...)
		for range depth {
			b = append(b, "  "...)
		}
		return b
	}
	var ok bool
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case json.Number:
		if x == "" || !isJSONNumber(string(x)) {
			return b, false
		}
		return append(b, x...), true
	case map[string]any:
		if x == nil {
			return append(b, "null"...), true
		}
		if len(x) == 0 {
			return append(b, "{}"...), true
		}
		var keys [16]string
		ks := keys[:0]
		for k := range x {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		b = append(b, '{')
		for i, k := range ks {
			if i > 0 {
				b = append(b, ',')
			}
			b = line(b, depth+1)
			b = appendJSONString(b, k)
			b = append(b, ": "...)
			if b, ok = appendValue(b, x[k], depth+1); !ok {
				return b, false
			}
		}
		b = line(b, depth)
		return append(b, '}'), true
	case []any:
		if x == nil {
			return append(b, "null"...), true
		}
		if len(x) == 0 {
			return append(b, "[]"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = line(b, depth+1)
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		b = line(b, depth)
		return append(b, ']'), true
	}
	return b, false
}

// isJSONNumber is encoding/json's test of a json.Number it will write.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		for s = s[1:]; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		for s = s[2:]; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for ; s != "" && '0' <= s[0] && s[0] <= '9'; s = s[1:] {
		}
	}
	return s == ""
}

// refused is encoding/json's own error for a finding whose time it
// cannot write, word for word.
func refused(f *report.Finding) error {
	_, err := marshalIndent(f, "    ")
	return err
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, quoted), and says false where MarshalJSON refuses t: a year
// that is not four digits, or a zone offset of 24 hours or more.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	if len(b) < n0+5 || b[n0+4] != '-' {
		return b, false
	}
	if b[len(b)-1] != 'Z' {
		c := b[len(b)-len("Z07:00")]
		h := b[len(b)-len("07:00"):]
		if '0' <= c && c <= '9' || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return b, false
		}
	}
	return append(b, '"'), true
}

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// quote, backslash and control characters escaped (\b \f \n \r \t by
// name), invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
