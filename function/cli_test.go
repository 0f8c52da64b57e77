package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// canaries are the secret values planted in testdata/canary.json.
var canaries = []string{"CANARY-PSK-4f1d9b", "CANARY-BGP-77e2c0", "CANARY-TUNNEL-a93e71", "CANARY-BGP-TUN-0c55"}

// cli runs one command in process with only the given environment.
func cli(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = runCLI(context.Background(), args, getenv, &out, &errb)
	return code, out.String(), errb.String()
}

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckSample(t *testing.T) {
	code, out, errs := cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou", "--format", "json")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var rep struct {
		SchemaVersion int `json:"schema_version"`
		Findings      []struct {
			Rule, Region, ConnectionID string
		} `json:"findings"`
		Summary struct {
			Connections    int      `json:"connections"`
			RegionsScanned []string `json:"regions_scanned"`
		} `json:"summary"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SchemaVersion != 1 || rep.Summary.Connections != 2 || len(rep.Findings) == 0 || rep.Errors == nil {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Summary.RegionsScanned) != 1 || rep.Summary.RegionsScanned[0] != "cn-hangzhou" {
		t.Errorf("regions = %v", rep.Summary.RegionsScanned)
	}
}

func TestExitStatus(t *testing.T) {
	clean := writeTemp(t, "clean.json", `{"VpnConnections": {"VpnConnection": []}}`)
	partial := writeTemp(t, "partial.json", `{"TotalCount": 5, "VpnConnections": {"VpnConnection": []}}`)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"findings without fail-on", []string{"check", "--inventory", "../testdata/sample.json"}, nil, exitOK},
		{"fail-on reached", []string{"check", "--inventory", "../testdata/sample.json", "--fail-on", "high"}, nil, exitFailOn},
		{"fail-on above the worst", []string{"check", "--inventory", "../testdata/sample.json", "--min-severity", "high", "--fail-on", "critical"}, nil, exitFailOn},
		{"fail-on with nothing found", []string{"check", "--inventory", clean, "--fail-on", "info"}, nil, exitOK},
		{"fail-on with partial data", []string{"check", "--inventory", partial, "--fail-on", "critical"}, nil, exitFailOn},
		{"min-severity from env", []string{"check", "--inventory", "../testdata/sample.json", "--fail-on", "medium"}, map[string]string{"VPNCHECK_MIN_SEVERITY": "critical"}, exitFailOn},
		{"no command", nil, nil, exitUsage},
		{"unknown command", []string{"scan"}, nil, exitUsage},
		{"unknown flag", []string{"check", "--bogus"}, nil, exitUsage},
		{"bad format", []string{"check", "--inventory", clean, "--format", "yaml"}, nil, exitUsage},
		{"bad severity", []string{"check", "--inventory", clean, "--min-severity", "urgent"}, nil, exitUsage},
		{"bad fail-on", []string{"check", "--inventory", clean, "--fail-on", "x"}, nil, exitUsage},
		{"missing policy dir", []string{"check", "--inventory", clean, "--policies", "/nonexistent/policies"}, nil, exitUsage},
		{"missing policy dir from env", []string{"check", "--inventory", clean}, map[string]string{"VPNCHECK_POLICY_DIR": "/nonexistent"}, exitUsage},
		{"no-builtin without dir", []string{"check", "--inventory", clean, "--no-builtin-policies"}, nil, exitUsage},
		{"stray argument", []string{"check", "--inventory", clean, "extra"}, nil, exitUsage},
		{"version", []string{"version"}, nil, exitOK},
		{"rules", []string{"rules"}, nil, exitOK},
		{"rules json", []string{"rules", "--format", "json"}, nil, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := cli(t, tc.env, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.want, errs)
			}
			if code == exitUsage && tc.args != nil && strings.Count(strings.TrimSpace(errs), "\n") > 0 && !strings.Contains(errs, "usage") {
				t.Errorf("want one line on stderr, got %q", errs)
			}
		})
	}
}

func TestUnreadableInventory(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, path, want string }{
		{"not json", writeTemp(t, "a.json", "this is not json"), "invalid JSON"},
		{"other shape", writeTemp(t, "b.json", `{"RequestId": "x", "Vpcs": {"Vpc": []}}`), "not a DescribeVpnConnections response"},
		{"empty file", writeTemp(t, "c.json", ""), "the file is empty"},
		{"truncated", writeTemp(t, "d.json", `{"VpnConnections": {"VpnConnection": [{"Vpn`), "truncated"},
		{"missing file", filepath.Join(dir, "nope.json"), "no such file"},
		{"directory", dir, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--inventory", tc.path, "--format", "json")
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, tc.path) {
				t.Errorf("stderr %q: want one line naming the file and %q", errs, tc.want)
			}
		})
	}
}

func TestSecretsNeverLeave(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		code, out, errs := cli(t, nil, "check", "--inventory", "../testdata/canary.json", "--format", format)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, c := range canaries {
			if strings.Contains(out, c) || strings.Contains(errs, c) {
				t.Errorf("%s output leaks %s", format, c)
			}
		}
		if format == "json" && !strings.Contains(out, "branch **** link") {
			t.Errorf("the key in the connection name is not shown masked:\n%s", out)
		}
	}
}

// A run whose --timeout passes mid-scan still reports what it read and
// names the incomplete region.
func TestCheckTimeoutKeepsPartialReport(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 3, canaryConn)
	s.Generate("cn-shanghai", 3, canaryConn)
	s.SetLatency("cn-shanghai", time.Hour)
	// 4s: collection stops half-way (2s), which cn-hangzhou's answer
	// needs to beat on a busy machine (with 1s, 0.5s did not always).
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou,cn-shanghai", "--timeout", "4s", "--format", "json", "--fail-on", "critical")
	if code != exitFailOn {
		t.Errorf("exit %d, want %d (a failed region reaches --fail-on); stderr %q", code, exitFailOn, errs)
	}
	var rep liveReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("no report on stdout: %v\n%s", err, out)
	}
	if rep.Summary.Connections != 3 || !strings.Contains(out, `"DeadlineExceeded"`) || !strings.Contains(out, "cn-shanghai") {
		t.Errorf("partial report = %s", out)
	}
}

func TestCheckNotify(t *testing.T) {
	slack := slackfake.New(slackfake.Options{})
	defer slack.Close()
	code, _, errs := cli(t, map[string]string{"SLACK_WEBHOOK_URL": slack.WebhookURL()},
		"check", "--inventory", "../testdata/canary.json", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	posts := slack.Posts()
	if len(posts) == 0 {
		t.Fatal("nothing posted")
	}
	for _, r := range slack.Requests() {
		for _, c := range canaries {
			if strings.Contains(r.Body, c) {
				t.Errorf("Slack payload leaks %s", c)
			}
		}
	}
	if !strings.Contains(string(posts[0].Blocks), "VPN1-CGW22") {
		t.Errorf("message does not name the connection: %s", posts[0].Blocks)
	}

	// Slack down: the report is still printed, and the run says it could not deliver.
	slack.FailNext(slackfake.Failure{Status: http.StatusForbidden, Error: "invalid_token"})
	code, out, errs := cli(t, map[string]string{"SLACK_WEBHOOK_URL": slack.WebhookURL()},
		"check", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitIncomplete || out == "" || !strings.Contains(errs, "notify") || strings.Contains(errs, "fakewebhooksecret") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}

	// Not configured: a usage error before any work.
	code, out, errs = cli(t, nil, "check", "--inventory", "../testdata/sample.json", "--notify")
	if code != exitUsage || out != "" || !strings.Contains(errs, "--notify") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestVersionNamesCommitAndPolicies(t *testing.T) {
	code, out, errs := cli(t, nil, "version")
	if code != exitOK || errs != "" || !strings.Contains(out, "(commit ") || !strings.Contains(out, "policies: built-in ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// Failures that say what to do (and values read as people type them).
func TestCheckSaysWhatHappened(t *testing.T) {
	sample := "../testdata/sample.json"
	for _, tc := range []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		stdout   string // substring, "" for none
		stderr   string
		emptyOut bool
	}{
		{"format in capitals", nil, []string{"--format", "JSON"}, exitOK, `"schema_version": 1`, "", false},
		{"severity in capitals", nil, []string{"--min-severity", "HIGH"}, exitOK, "more below --min-severity not shown", "", false},
		{"a bad variable is named as the variable", map[string]string{"VPNCHECK_MIN_SEVERITY": "nope"}, nil, exitUsage, "", "VPNCHECK_MIN_SEVERITY", true},
		{"a bad flag is named as the flag", nil, []string{"--min-severity", "nope"}, exitUsage, "", "--min-severity", true},
		{"the flag wins over a bad variable", map[string]string{"VPNCHECK_MIN_SEVERITY": "nope"}, []string{"--min-severity", "low"}, exitOK, "vpncheck:", "", false},
		{"fail-on says what reached it", nil, []string{"--fail-on", "high"}, exitFailOn, "vpncheck:", "--fail-on high reached: 9 findings at or above high (2 critical, 7 high)", false},
		{"live flags with an inventory", nil, []string{"--regions", "cn-hangzhou"}, exitUsage, "", "--inventory", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check", "--inventory", sample, "--region", "cn-hangzhou"}, tc.args...)
			code, out, errs := cli(t, tc.env, args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errs, tc.stderr) || (tc.emptyOut && out != "") {
				t.Fatalf("exit %d (want %d), stdout %.200q, stderr %q", code, tc.code, out, errs)
			}
			if strings.Count(errs, "\n") > 1 {
				t.Errorf("stderr is more than one line: %q", errs)
			}
		})
	}
}

// An error quoting cloud text (here a region id with a terminal escape and
// a line break) reaches stderr as one inert line.
func TestErrorsAreInertOnTheTerminal(t *testing.T) {
	inv := writeTemp(t, "r.json", `{"RegionId": "cn-x\u001b[2J\nvpncheck: all clear", "TotalCount": 5, "VpnConnections": {"VpnConnection": []}}`)
	code, _, errs := cli(t, nil, "check", "--inventory", inv, "--fail-on", "info")
	if code != exitFailOn || strings.Count(errs, "\n") != 1 || strings.ContainsRune(errs, '\x1b') {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
