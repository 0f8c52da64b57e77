package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// hostile are the payloads an attacker who may edit a VPN connection
// plants in its name, tags and ids (testdata/hostile.json), plus bytes
// JSON cannot hold.
func hostile(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	if err := json.Unmarshal(raw, &ps); err != nil {
		t.Fatal(err)
	}
	return append(ps, "\x9b2J lone CSI byte", "\xff\xfe invalid", "\xc2\x9b8m")
}

func TestTerminalText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain name", 50, "plain name"},
		{"\x1b[2J\x1b[Hvpncheck: 0 findings\x1b[8m", 80, "␛[2J␛[Hvpncheck: 0 findings␛[8m"},
		{"a\nb\r\n\tc  d\u2028e\u0085f", 50, "a b c d e f"},
		{"\x1b]8;;https://evil.example\x07x", 80, "␛]8;;https://evil.example␇x"},
		{"\u009b2J", 20, "<U+009B>2J"},
		{"\x9b2J", 20, "\uFFFD2J"},
		{"r\u202eevil\u2066x\u200by\ufeff", 80, "r<U+202E>evil<U+2066>x<U+200B>y<U+FEFF>"},
		{"\x00\x7f", 10, "␀␡"},
		{"abcdef", 4, "abc…"},
		{"界界界界", 3, "界界…"},
		{"ab\x1bcd", 3, "ab…"},
		{"  \n ", 10, ""},
		{"abc", 0, ""},
	} {
		if got := TerminalText(tc.in, tc.max); got != tc.want {
			t.Errorf("TerminalText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// checkTerminalSafe fails unless out holds only printable text and the
// writer's own line breaks.
func checkTerminalSafe(t testing.TB, where, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: invalid UTF-8 reaches the terminal", where)
	}
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%s: %U at byte %d reaches the terminal: %q", where, r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

// plantedReport puts payload in every string a report can carry.
func plantedReport(payload string) *report.Report {
	rep := report.New()
	rep.Summary = report.Summary{Connections: 2, Tunnels: 3, Findings: 2, Suppressed: 1, BelowMinSeverity: 4,
		RegionsScan: []string{"cn-hangzhou", payload}, RegionsFailed: []string{payload}, BySeverity: map[string]int{}}
	for _, sev := range []report.Severity{report.Critical, report.Low} {
		rep.Findings = append(rep.Findings, report.Finding{
			Rule: "psk-exposed" + payload, Severity: sev, Title: payload, Message: "readable in tag:" + payload,
			Remediation: payload, AccountID: payload, Region: payload, ConnectionID: "vco-" + payload,
			ConnectionName: payload, VPNGatewayID: payload, TunnelID: payload,
		})
	}
	rep.Errors = []report.ErrorEntry{{Region: payload, Code: payload, Message: "expiry " + payload, RequestID: payload, ConnectionID: payload}}
	return rep
}

func writeText(t testing.TB, rep *report.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := (textWriter{}).Report(&buf, rep); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestTextReportHostile plants every payload in every field: nothing but
// the writer's own line breaks and printable text reaches the terminal,
// and the report has the same lines as with harmless values.
func TestTextReportHostile(t *testing.T) {
	want := strings.Count(writeText(t, plantedReport("x")), "\n")
	for _, p := range hostile(t) {
		out := writeText(t, plantedReport(p))
		checkTerminalSafe(t, "text report", out)
		if got := strings.Count(out, "\n"); got != want {
			t.Errorf("payload %q: %d lines, want %d:\n%s", p, got, want, out)
		}
		lines := strings.Split(out, "\n")
		if !strings.HasPrefix(lines[0], "vpncheck: 2 connections, 3 tunnels in cn-hangzhou, ") {
			t.Errorf("payload %q: the summary line is not the writer's: %q", p, lines[0])
		}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "vpncheck:") {
				t.Errorf("payload %q forged a line: %q", p, l)
			}
		}
	}
}

func TestTextReportBelowMinSeverity(t *testing.T) {
	rep := report.New()
	rep.Summary.Connections, rep.Summary.BelowMinSeverity = 3, 5
	out := writeText(t, rep)
	if first := strings.SplitN(out, "\n", 2)[0]; !strings.Contains(first, "0 findings, 5 more below --min-severity not shown") {
		t.Errorf("the header does not count the hidden findings: %q", first)
	}
	rep.Summary.BelowMinSeverity = 0
	if out := writeText(t, rep); strings.Contains(out, "min-severity") {
		t.Errorf("nothing hidden, yet the header says so: %q", out)
	}
}

// TestTerminalTextHuge: a 10 MB name comes out within the limit, and a
// report of planted 10 MB values stays small. The cost (a scan of what is
// shown; one linear pass for an input of invisible characters) is measured
// by BenchmarkTerminalTextHuge, not asserted here.
func TestTerminalTextHuge(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"10 MB name", strings.Repeat("界<x\n", 10<<20/6)},
		{"10 MB of spaces", strings.Repeat(" \n\t", 10<<20/3)},
	} {
		if out := TerminalText(tc.in, maxTermName); utf8.RuneCountInString(out) > maxTermName {
			t.Errorf("%s: %d characters out", tc.name, utf8.RuneCountInString(out))
		}
	}
	rep := plantedReport(strings.Repeat("\x1b[2J", 10<<20/4))
	out := writeText(t, rep)
	if len(out) > 64<<10 {
		t.Errorf("the report of planted 10 MB values is %d bytes", len(out))
	}
}

func BenchmarkTerminalTextHuge(b *testing.B) {
	for _, in := range []string{strings.Repeat("界<x\n", 10<<20/6), strings.Repeat(" \n\t", 10<<20/3)} {
		b.Run(fmt.Sprintf("%d bytes", len(in)), func(b *testing.B) {
			for b.Loop() {
				TerminalText(in, maxTermName)
			}
		})
	}
}

// The shortcut for plain lines gives what the one pass gives.
func TestTerminalTextPlainLines(t *testing.T) {
	for _, s := range []string{"", "a", "ike encryption is 3des", " lead", "trail ", "two  spaces", "tab\there",
		"caf\u00e9", "del\x7f", "~!@#$%^&*()_+{}|:\"<>?", "0123456789", strings.Repeat("x", 81)} {
		for _, max := range []int{1, 5, 80} {
			if got, want := TerminalText(s, max), report.OneLine(s, max, terminalPiece); got != want {
				t.Errorf("TerminalText(%q, %d) = %q, OneLine gives %q", s, max, got, want)
			}
		}
	}
}

func FuzzTerminalText(f *testing.F) {
	for _, p := range hostile(f) {
		f.Add(p, 80)
	}
	f.Add("", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%2000 + 1
		if max < 1 {
			max = -max + 1
		}
		out := TerminalText(s, max)
		if slow := report.OneLine(s, max, terminalPiece); out != slow {
			t.Fatalf("the plain-line shortcut gave %q, OneLine %q", out, slow)
		}
		checkTerminalSafe(t, "TerminalText", out)
		if strings.Contains(out, "\n") {
			t.Fatalf("a line break survived: %q", out)
		}
		if n := utf8.RuneCountInString(out); n > max {
			t.Fatalf("%d characters out, max %d", n, max)
		}
		if out != strings.TrimSpace(out) || strings.Contains(out, "  ") {
			t.Fatalf("white space not folded: %q", out)
		}
		if !strings.HasSuffix(out, "…") && TerminalText(out, max) != out {
			t.Fatalf("not stable: %q -> %q", out, TerminalText(out, max))
		}
	})
}

func FuzzTextReport(f *testing.F) {
	for _, p := range hostile(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		benign := "x"
		if payload == "" {
			benign = "" // an empty remediation has no line
		}
		want := strings.Count(writeText(t, plantedReport(benign)), "\n")
		out := writeText(t, plantedReport(payload))
		checkTerminalSafe(t, "text report", out)
		if got := strings.Count(out, "\n"); got != want {
			t.Fatalf("%d lines, want %d:\n%s", got, want, out)
		}
	})
}
