package checker

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/report"

	"github.com/vpncheck/vpncheck/policies"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func checkFiles(t *testing.T, eng *Engine, opt Options, region string, files ...string) *report.Report {
	t.Helper()
	inv := inventory.New()
	for _, f := range files {
		if err := inv.ReadFile(f, region); err != nil {
			t.Fatal(err)
		}
	}
	if opt.Now.IsZero() {
		opt.Now = fixedNow
	}
	res, err := eng.Check(context.Background(), inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res.Report
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pairs lists "connection-id rule" for each finding, sorted.
func pairs(r *report.Report) []string {
	var out []string
	for _, f := range r.Findings {
		s := f.ConnectionID + " " + f.Rule
		if f.TunnelID != "" {
			s += " " + f.TunnelID
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestSampleReportGolden(t *testing.T) {
	rep := checkFiles(t, builtin(t), Options{}, "cn-hangzhou", "../testdata/sample.json")
	var text, js bytes.Buffer
	if err := mustFormat(t, "text").Report(&text, rep); err != nil {
		t.Fatal(err)
	}
	if err := mustFormat(t, "json").Report(&js, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/sample.txt", text.Bytes())
	golden(t, "testdata/sample.json", js.Bytes())
}

func mustFormat(t *testing.T, name string) output.Writer {
	t.Helper()
	w, err := output.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./checker -update refreshes it):\n%s", path, got)
	}
}

func TestSampleSummary(t *testing.T) {
	rep := checkFiles(t, builtin(t), Options{}, "", "../testdata/sample.json")
	s := rep.Summary
	if s.Connections != 2 || s.Tunnels != 2 || s.Incomplete != 0 || s.Findings != len(rep.Findings) {
		t.Errorf("summary = %+v", s)
	}
	if !slices.Equal(s.RegionsScan, []string{report.UnknownRegion}) || len(s.RegionsFailed) != 0 {
		t.Errorf("regions = %v / %v", s.RegionsScan, s.RegionsFailed)
	}
	total := 0
	for _, n := range s.BySeverity {
		total += n
	}
	if total != s.Findings {
		t.Errorf("by_severity %v does not add up to %d", s.BySeverity, s.Findings)
	}
}

const twoConns = `{"RegionId": "cn-shanghai", "TotalCount": 2, "VpnConnections": {"VpnConnection": [
	{"VpnConnectionId": "vco-a", "Name": "a", "EnableDpd": false, "IkeConfig": {"IkeAuthAlg": "sha1", "Psk": "Zq8#vR2!xL0@pW5&mT7^"}},
	{"VpnConnectionId": "vco-b", "Name": "b", "EnableDpd": false}
]}}`

func TestDuplicateConnectionLastCopyWins(t *testing.T) {
	first := writeFile(t, "1.json", twoConns)
	second := writeFile(t, "2.json", `{"RegionId": "cn-shanghai", "VpnConnections": {"VpnConnection": [
		{"VpnConnectionId": "vco-a", "Name": "a2", "EnableDpd": true}]}}`)
	rep := checkFiles(t, builtin(t), Options{}, "", first, second)
	if rep.Summary.Connections != 2 {
		t.Fatalf("connections = %d, want 2", rep.Summary.Connections)
	}
	if got := pairs(rep); !slices.Equal(got, []string{"vco-b dpd-disabled"}) {
		t.Errorf("findings = %v", got)
	}
}

func TestIncompleteInventory(t *testing.T) {
	p := writeFile(t, "partial.json", strings.Replace(twoConns, `"TotalCount": 2`, `"TotalCount": 60`, 1))
	rep := checkFiles(t, builtin(t), Options{}, "", p)
	if len(rep.Errors) != 1 || rep.Errors[0].Code != report.CodeIncompleteInventory || rep.Errors[0].Region != "cn-shanghai" {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	if !slices.Equal(rep.Summary.RegionsScan, []string{"cn-shanghai"}) || !rep.Failed() {
		t.Errorf("an incomplete file keeps its region scanned and counts as a failure: %+v", rep.Summary)
	}
}

func TestMinSeverity(t *testing.T) {
	p := writeFile(t, "c.json", twoConns)
	rep := checkFiles(t, builtin(t), Options{MinSeverity: report.High}, "", p)
	for _, f := range rep.Findings {
		if f.Severity < report.High {
			t.Errorf("finding below the minimum: %+v", f)
		}
	}
	if rep.Summary.BySeverity["medium"] != 0 {
		t.Errorf("by_severity counts dropped findings: %v", rep.Summary.BySeverity)
	}
}

func exceptionEngine(t *testing.T, exceptions string) *Engine {
	t.Helper()
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: fstest.MapFS{
		"data.json": {Data: []byte(`{"vpncheck": {"config": {"exceptions": ` + exceptions + `}}}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestDataExceptions(t *testing.T) {
	p := writeFile(t, "c.json", twoConns)
	for _, tc := range []struct {
		name       string
		exceptions string
		want       []string
		suppressed int
		expired    string
	}{
		{
			name:       "one connection",
			exceptions: `[{"rule": "dpd-disabled", "connection_id": "vco-a", "reason": "legacy peer", "owner": "net-team", "expires": "2026-12-31"}]`,
			want:       []string{"vco-a ike-weak-integrity", "vco-b dpd-disabled"},
			suppressed: 1,
		},
		{
			name:       "every connection",
			exceptions: `[{"rule": "dpd-disabled", "connection_id": "*", "reason": "r", "owner": "o", "expires": "2026-11-25"}]`,
			want:       []string{"vco-a ike-weak-integrity"},
			suppressed: 2,
		},
		{
			name:       "expired yesterday",
			exceptions: `[{"rule": "dpd-disabled", "connection_id": "vco-a", "reason": "r", "owner": "o", "expires": "2026-11-24"}]`,
			want:       []string{"vco-a dpd-disabled", "vco-a ike-weak-integrity", "vco-b dpd-disabled"},
			expired:    "2026-11-24",
		},
		{
			name:       "other tunnel",
			exceptions: `[{"rule": "dpd-disabled", "connection_id": "vco-a", "tunnel_id": "tun-x", "reason": "r", "owner": "o", "expires": "2030-01-01"}]`,
			want:       []string{"vco-a dpd-disabled", "vco-a ike-weak-integrity", "vco-b dpd-disabled"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkFiles(t, exceptionEngine(t, tc.exceptions), Options{}, "", p)
			if got := pairs(rep); !slices.Equal(got, tc.want) {
				t.Errorf("findings = %v, want %v", got, tc.want)
			}
			if rep.Summary.Suppressed != tc.suppressed {
				t.Errorf("suppressed = %d, want %d", rep.Summary.Suppressed, tc.suppressed)
			}
			if tc.expired != "" {
				i := slices.IndexFunc(rep.Findings, func(f report.Finding) bool { return f.ConnectionID == "vco-a" && f.Rule == "dpd-disabled" })
				f := rep.Findings[i]
				if f.ExceptionExpired != tc.expired || !strings.Contains(f.Message, "exception expired on "+tc.expired) {
					t.Errorf("expired exception not said: %+v", f)
				}
			}
		})
	}
}

func TestTagExceptions(t *testing.T) {
	const who = `, {"Key": "vpncheck:exception-reason", "Value": "vendor fix due"}, {"Key": "vpncheck:exception-owner", "Value": "netops"}`
	both := []string{"vco-t dpd-disabled", "vco-t ike-weak-integrity"}
	conn := func(tags string) string {
		return `{"RegionId": "cn-x", "VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-t", "EnableDpd": false,
			"IkeConfig": {"IkeAuthAlg": "md5"}, "Tag": {"Tag": [` + tags + `]}}]}}`
	}
	for _, tc := range []struct {
		name       string
		tags       string
		want       []string
		suppressed int
		errCode    string
	}{
		{
			name:       "valid",
			tags:       `{"Key": "vpncheck:exception", "Value": "dpd-disabled, ike-weak-integrity"}, {"Key": "vpncheck:exception-expires", "Value": "2026-12-01"}` + who,
			suppressed: 2,
		},
		{
			name:    "no expiry",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disabled"}` + who,
			want:    both,
			errCode: report.CodeInvalidException,
		},
		{
			name:    "bad expiry",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disabled"}, {"Key": "vpncheck:exception-expires", "Value": "soon"}` + who,
			want:    both,
			errCode: report.CodeInvalidException,
		},
		{
			name: "expired",
			tags: `{"Key": "vpncheck:exception", "Value": "dpd-disabled"}, {"Key": "vpncheck:exception-expires", "Value": "2025-01-01"}` + who,
			want: both,
		},
		{
			name:    "expiry past the longest allowed (90 days)",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disabled"}, {"Key": "vpncheck:exception-expires", "Value": "9999-12-31"}` + who,
			want:    both,
			errCode: report.CodeInvalidException,
		},
		{
			name:    "no reason or owner",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disabled"}, {"Key": "vpncheck:exception-expires", "Value": "2026-12-01"}`,
			want:    both,
			errCode: report.CodeInvalidException,
		},
		{
			name:    "a critical rule cannot be excepted by a tag",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disabled,psk-weak"}, {"Key": "vpncheck:exception-expires", "Value": "2026-12-01"}` + who,
			want:    both,
			errCode: report.CodeInvalidException,
		},
		{
			name:    "an unknown rule id",
			tags:    `{"Key": "vpncheck:exception", "Value": "dpd-disable"}, {"Key": "vpncheck:exception-expires", "Value": "2026-12-01"}` + who,
			want:    both,
			errCode: report.CodeInvalidException,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkFiles(t, builtin(t), Options{}, "", writeFile(t, "c.json", conn(tc.tags)))
			if got := pairs(rep); !slices.Equal(got, tc.want) {
				t.Errorf("findings = %v, want %v", got, tc.want)
			}
			if rep.Summary.Suppressed != tc.suppressed {
				t.Errorf("suppressed = %d, want %d", rep.Summary.Suppressed, tc.suppressed)
			}
			codes := []string{}
			for _, e := range rep.Errors {
				codes = append(codes, e.Code)
			}
			if tc.errCode != "" && (len(rep.Errors) != 1 || rep.Errors[0].Code != tc.errCode || rep.Errors[0].ConnectionID != "vco-t") {
				t.Errorf("errors = %+v, want one %s", rep.Errors, tc.errCode)
			}
			if tc.errCode == "" && len(rep.Errors) != 0 {
				t.Errorf("errors = %v", codes)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing.json"), dir, writeFile(t, "empty.json", "")} {
		inv := inventory.New()
		err := inv.ReadFile(path, "")
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v", path, err)
		}
		if len(inv.Regions()) != 0 {
			t.Errorf("%s: unreadable input added regions", path)
		}
	}
}

// A rule switched off by the policy data is never silent: the report names it.
func TestDisabledRulesAreReported(t *testing.T) {
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: fstest.MapFS{
		"vpncheck/config/data.json": {Data: []byte(`{"disabled_rules": ["psk-weak", "dpd-disabled"]}`)},
	}, Source: "team"})
	if err != nil {
		t.Fatal(err)
	}
	rep := checkFiles(t, eng, Options{}, "cn-hangzhou", "../testdata/sample.json")
	if !slices.Equal(rep.Summary.DisabledRules, []string{"dpd-disabled", "psk-weak"}) || slices.Contains(pairs(rep), "vco-gw8tylx7hvwhl7tu8**** psk-weak") {
		t.Fatalf("disabled %v, findings %v", rep.Summary.DisabledRules, pairs(rep))
	}
	var text bytes.Buffer
	if err := mustFormat(t, "text").Report(&text, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "rules switched off by the policy data: dpd-disabled, psk-weak") {
		t.Errorf("the text report does not say which rules are off:\n%s", text.String())
	}
}
