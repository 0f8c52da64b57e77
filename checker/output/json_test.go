package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// referenceReport is the JSON writer as it was before appendFinding:
// encoding/json for every finding. The direct writer must match it byte
// for byte.
func referenceReport(w io.Writer, r *report.Report) error {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	list := func(name string, fs []report.Finding, last bool) error {
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
	errs := r.Errors
	if errs == nil {
		errs = []report.ErrorEntry{}
	}
	steps := []func() error{
		func() error { return field("schema_version", r.SchemaVersion, false) },
	}
	if r.PolicyRevision != "" {
		steps = append(steps, func() error { return field("policy_revision", r.PolicyRevision, false) })
	}
	for _, step := range append(steps,
		func() error { return list("findings", r.Findings, false) },
		func() error { return field("summary", &r.Summary, false) },
		func() error { return field("errors", errs, false) },
		func() error { return list("resolved", r.Resolved, true) },
	) {
		if err := step(); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	bw.Flush()
	_, err := w.Write(buf.Bytes())
	return err
}

// both writes r with the direct writer and the reference, failing the test
// when the bytes or the errors differ.
func both(t *testing.T, name string, r *report.Report) []byte {
	t.Helper()
	var got, want bytes.Buffer
	gerr := jsonWriter{}.Report(&got, r)
	werr := referenceReport(&want, r)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%s: error %v, encoding/json's %v", name, gerr, werr)
	}
	if werr != nil {
		return nil
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		g, w := got.String(), want.String()
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Fatalf("%s: differs from encoding/json at byte %d:\n got %q\nwant %q", name, i, g[max(0, i-80):min(len(g), i+80)], w[max(0, i-80):min(len(w), i+80)])
	}
	return got.Bytes()
}

// The goldens, read back and written again, come out as encoding/json
// writes them; checker's, written by today's writer, as it is on disk
// (Slack's predates the lifecycle fields).
func TestJSONGoldensByteIdentical(t *testing.T) {
	for _, tc := range []struct {
		path  string
		exact bool
	}{{"../testdata/sample.json", true}, {"../../notify/slack/testdata/sample_report.json", false}} {
		path := tc.path
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r report.Report
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(r.Findings) == 0 {
			t.Fatalf("%s: no findings", path)
		}
		got := both(t, path, &r)
		if tc.exact && !bytes.Equal(got, raw) {
			t.Errorf("%s: written again, it differs from the file", path)
		}
	}
}

// Random findings, with hostile text, every optional field and times of
// every shape, are written byte for byte as encoding/json writes them.
func TestJSONRandomFindingsByteIdentical(t *testing.T) {
	raw, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var hostile []string
	if err := json.Unmarshal(raw, &hostile); err != nil {
		t.Fatal(err)
	}
	hostile = append(hostile, "", "plain", "\xff\xfe invalid \xc3", "\u2028\u2029", `quote " back \ slash`, "\x7f\x1f", "<>&", strings.Repeat("é", 50))
	rng := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		if rng.IntN(3) == 0 {
			b := make([]byte, rng.IntN(40))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return string(b)
		}
		return hostile[rng.IntN(len(hostile))]
	}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+1800), time.FixedZone("y", -8*3600), time.FixedZone("z", 0)}
	when := func() time.Time {
		switch rng.IntN(6) {
		case 0:
			return time.Time{}
		case 1:
			return time.Unix(rng.Int64N(4e9), 0).UTC()
		}
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
	}
	for round := range 300 {
		r := report.New()
		if rng.IntN(2) == 0 {
			r.PolicyRevision = text()
		}
		for range rng.IntN(12) {
			f := report.Finding{Rule: text(), Severity: report.Severity(rng.IntN(7) - 1), Title: text(), Message: text(),
				Remediation: text(), Region: text(), ConnectionID: text(), ConnectionName: text(), VPNGatewayID: text(),
				ID: text(), Status: report.Status(text()), FirstSeen: when(), LastSeen: when()}
			if rng.IntN(2) == 0 {
				f.AccountID, f.AccountName = text(), text()
			}
			if rng.IntN(2) == 0 {
				f.TunnelID, f.ExceptionExpired, f.Value = text(), text(), text()
			}
			if rng.IntN(2) == 0 {
				f.Side = text()
			}
			f.Reopened = rng.IntN(2) == 0
			if rng.IntN(2) == 0 {
				at := when()
				f.ReopenedAt = &at
			}
			if rng.IntN(2) == 0 {
				at := when()
				f.ResolvedAt = &at
			}
			if rng.IntN(2) == 0 {
				s := report.Severity(rng.IntN(6))
				f.PreviousSeverity = &s
			}
			if rng.IntN(2) == 0 {
				f.Fix = &report.Fix{API: report.FixAPI{Action: text(), Region: text(),
					Parameters: map[string]any{"RegionId": text(), "IkeConfig": text(), "EnableDpd": true,
						"TunnelOptionsSpecification": map[string]any{"TunnelIkeConfig": map[string]any{"IkeEncAlg": text()}}}},
					CLI: text(), Terraform: report.FixTerraform{Resource: text(), Attributes: map[string]any{"enable_dpd": true}}, Note: text()}
				if rng.IntN(2) == 0 { // the values fixes hold, and a few they never do
					f.Fix.API.Parameters = map[string]any{text(): anyValue(rng, text, 3), text(): anyValue(rng, text, 3)}
					f.Fix.Terraform.Attributes, _ = anyValue(rng, text, 1).(map[string]any) // or nil
				}
			}
			if rng.IntN(2) == 0 {
				r.Findings = append(r.Findings, f)
			} else {
				r.Resolved = append(r.Resolved, f)
			}
		}
		r.Finish()
		both(t, "round "+itoa(round), r)
	}
}

// anyValue is a random value of the kinds a fix's parameters hold (and
// some they do not: floats, odd numbers, nil maps and lists); depth bounds
// its nesting.
func anyValue(rng *rand.Rand, text func() string, depth int) any {
	if depth > 0 && rng.IntN(4) != 0 {
		if rng.IntN(3) == 0 {
			var l []any
			if rng.IntN(8) != 0 {
				l = []any{}
			}
			for range rng.IntN(4) {
				l = append(l, anyValue(rng, text, depth-1))
			}
			if depth > 1 {
				return l
			}
		}
		if rng.IntN(8) == 0 {
			return map[string]any(nil)
		}
		m := map[string]any{}
		for range rng.IntN(5) {
			m[text()] = anyValue(rng, text, depth-1)
		}
		return m
	}
	switch rng.IntN(10) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return rng.Int64N(1<<40) - 1<<39
	case 3:
		return rng.IntN(100000)
	case 4:
		return json.Number([]string{"86400", "", "-0", "1.5e3", "01", "x", "1.", "-", "2E-7"}[rng.IntN(9)])
	case 5:
		return rng.Float64() * 1e6
	case 6:
		return map[string]any{}
	}
	return text()
}

// A time encoding/json refuses is refused with its own error.
func TestJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*3600)),
	} {
		r := report.New()
		r.Findings = []report.Finding{{Rule: "r", FirstSeen: at}}
		var buf bytes.Buffer
		if err := (jsonWriter{}).Report(&buf, r); err == nil {
			t.Errorf("%v: no error", at)
		}
		both(t, at.String(), r)
		r.Findings[0].FirstSeen = time.Time{}
		r.Findings[0].ResolvedAt = &at
		both(t, "resolved "+at.String(), r)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkJSONFindings writes 10,000 findings with the direct writer and
// with encoding/json, as the writer did before.
func BenchmarkJSONFindings(b *testing.B) {
	r := report.New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 10000 {
		r.Findings = append(r.Findings, report.Finding{Rule: "ike-weak-integrity", Severity: report.High, Title: "Weak IKE integrity algorithm",
			Message: "IKE integrity algorithm is md5 on tunnel tun-" + strconv.Itoa(i), Remediation: "Set the IKE authentication algorithm to sha256.",
			Region: "cn-hangzhou", ConnectionID: "vco-" + strconv.Itoa(i), ConnectionName: "site", VPNGatewayID: "vpn-1", TunnelID: "tun-" + strconv.Itoa(i),
			ID: "vf-0123456789abcdef01234567", Status: report.StatusNew, FirstSeen: at})
	}
	for _, tc := range []struct {
		name  string
		write func(io.Writer, *report.Report) error
	}{{"direct", jsonWriter{}.Report}, {"encoding-json", referenceReport}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := tc.write(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
