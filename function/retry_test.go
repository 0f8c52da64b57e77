package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// Retries of a run key, through the compiled binary: the command line's
// `event --state`, and the function's timer, change and member-account
// invocations under the fake runtime. A retry of a run that did not
// complete its collection checks again; a retry of one that did replays it.

// eventEnv is the environment of a `vpncheck event` against the fake VPC
// API s: its keys, its endpoint, no profile, no metadata service.
func eventEnv(t *testing.T, s *vpcfake.Server) map[string]string {
	return map[string]string{
		"HOME":                                t.TempDir(),
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED":  "true",
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":         liveAK,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET":     liveSecret,
		"VPNCHECK_VPC_ENDPOINT":               s.URL,
	}
}

func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

type retryReport struct {
	Findings []struct {
		ConnectionID string `json:"connection_id"`
	} `json:"findings"`
	Summary struct {
		Connections    int      `json:"connections"`
		Findings       int      `json:"findings"`
		New            int      `json:"new"`
		RegionsScanned []string `json:"regions_scanned"`
		RegionsFailed  []string `json:"regions_failed"`
	} `json:"summary"`
	Errors []report.ErrorEntry `json:"errors"`
}

func decodeRetry(t *testing.T, r binaryRun) retryReport {
	t.Helper()
	var rep retryReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("exit %d, stderr %q: report %q: %v", r.code, r.stderr, r.stdout, err)
	}
	return rep
}

// The case: the region fails, the event exits 3; the API recovers
// and the same command describes the connection again and judges it
// (before: exit 0, no describe, the report still listing the region as
// failed). A third run replays the completed one.
func TestEventRetryChecksAgain(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	const modify = "vco-testmodify0001"
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: liveAK, AccessKeySecret: liveSecret})
	t.Cleanup(s.Close)
	s.AddConnections("cn-hangzhou", weakAt("cn-hangzhou", modify))
	env := eventEnv(t, s)
	args := []string{"event", "--file", filepath.Join("..", "testdata", "events", "api-modify-weakens.json"), "--state", t.TempDir(), "--format", "json"}
	describes := func() int { return s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") }

	s.Inject("cn-hangzhou", vpcfake.Fault{Code: "Forbidden.RAM", Times: 1})
	first := runBinary(t, env, time.Minute, args...)
	if first.code != exitIncomplete || describes() != 1 {
		t.Fatalf("region failing: exit %d (want 3), %d describes, stderr %q", first.code, describes(), first.stderr)
	}

	retry := runBinary(t, env, time.Minute, args...)
	rep := decodeRetry(t, retry)
	if retry.code != exitOK || describes() != 2 {
		t.Errorf("retry: exit %d, %d describes (want 2), stderr %q", retry.code, describes(), retry.stderr)
	}
	if rep.Summary.Connections != 1 || rep.Summary.New == 0 || len(rep.Summary.RegionsFailed) != 0 || strings.Join(rep.Summary.RegionsScanned, ",") != "cn-hangzhou" {
		t.Errorf("retry judged %+v", rep.Summary)
	}

	again := runBinary(t, env, time.Minute, args...)
	if r := decodeRetry(t, again); again.code != exitOK || describes() != 2 || r.Summary.Findings != rep.Summary.Findings {
		t.Errorf("retry of the completed run: exit %d, %d describes (want 2), summary %+v", again.code, describes(), r.Summary)
	}
}

// A usage error leaves the run key free: with the endpoint fixed, the same
// command runs (before: exit 3, "being run by another attempt").
func TestEventUsageErrorDoesNotHoldTheRun(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: liveAK, AccessKeySecret: liveSecret})
	t.Cleanup(s.Close)
	s.AddConnections("cn-hangzhou", weakAt("cn-hangzhou", "vco-testmodify0001"))
	env := eventEnv(t, s)
	args := []string{"event", "--file", filepath.Join("..", "testdata", "events", "api-modify-weakens.json"), "--state", t.TempDir(), "--format", "json"}

	bad := runBinary(t, with(env, "VPNCHECK_VPC_ENDPOINT", "ftp://x"), time.Minute, args...)
	if bad.code != exitUsage || !strings.Contains(bad.stderr, "VPNCHECK_VPC_ENDPOINT") {
		t.Fatalf("bad endpoint: exit %d (want 2), stderr %q", bad.code, bad.stderr)
	}
	fixed := runBinary(t, env, time.Minute, args...)
	if rep := decodeRetry(t, fixed); fixed.code != exitOK || rep.Summary.Connections != 1 || rep.Summary.New == 0 {
		t.Errorf("fixed: exit %d, stderr %q, summary %+v", fixed.code, fixed.stderr, rep.Summary)
	}
}

// `vpncheck event` ignores the events of regions the deployment does not
// check, by the function's rule: the regions listed (flag, else variable),
// else the home region, less the excluded.
func TestEventIgnoresRegionsNotChecked(t *testing.T) {
	t.Parallel() // the binary under fakes of its own

	file := filepath.Join("..", "testdata", "events", "api-modify-weakens.json") // cn-hangzhou
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		judged bool
		why    string
	}{
		{name: "listed elsewhere", env: []string{envRegions, "cn-shanghai,cn-beijing"}, why: "not one VPNCHECK_REGIONS lists"},
		{name: "excluded", env: []string{envRegions, "all", envExcludeRegions, "cn-hangzhou"}, why: "VPNCHECK_EXCLUDE_REGIONS excludes region cn-hangzhou"},
		{name: "another home region", env: []string{"ALIBABA_CLOUD_REGION_ID", "cn-shanghai"}, why: "not the home region cn-shanghai"},
		{name: "the flag wins", env: []string{envRegions, "cn-shanghai"}, args: []string{"--regions", "cn-hangzhou"}, judged: true},
		{name: "excluded by flag", args: []string{"--exclude-regions", "cn-hangzhou"}, why: "--exclude-regions excludes"},
		{name: "listed", env: []string{envRegions, "cn-hangzhou"}, judged: true},
		{name: "all", env: []string{envRegions, "all"}, judged: true},
		{name: "nothing set", judged: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case its own fake VPC API
			s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: liveAK, AccessKeySecret: liveSecret})
			t.Cleanup(s.Close)
			s.AddConnections("cn-hangzhou", weakAt("cn-hangzhou", "vco-testmodify0001"))
			r := runBinary(t, with(eventEnv(t, s), tc.env...), time.Minute, append([]string{"event", "--file", file, "--format", "json"}, tc.args...)...)
			described := len(s.Log()) > 0
			if r.code != exitOK || described != tc.judged {
				t.Errorf("exit %d, described %v (want %v), stderr %q", r.code, described, tc.judged, r.stderr)
			}
			if !tc.judged && (!strings.Contains(r.stderr, "ignored") || !strings.Contains(r.stderr, tc.why) || r.stdout != "") {
				t.Errorf("stderr %q, stdout %q: want it ignored because %q", r.stderr, r.stdout, tc.why)
			}
		})
	}
}

// The function: a timer run whose region failed fails (FC retries it), and
// its retry checks again; a retry of the completed run replays it. The same
// for a member account's invocation of a fan-out.
func TestFunctionRetryChecksAgain(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	t.Run("timer", func(t *testing.T) {
		e := startFunction(t, map[string]string{"VPNCHECK_STATE": t.TempDir(), "VPNCHECK_REGIONS": "cn-hangzhou"})
		e.vpc.AddConnections("cn-hangzhou", weakConn("cn-hangzhou", 0))
		retryThrough(t, e, timerEvent, "cn-hangzhou")
	})
	t.Run("member account", func(t *testing.T) {
		e, _ := startOrgFunction(t, map[string]string{"VPNCHECK_STATE": t.TempDir()})
		ev, err := accountEvent(invocation{}, "hourly@2026-11-25T10:05:00Z", acctProd)
		if err != nil {
			t.Fatal(err)
		}
		retryThrough(t, e, string(ev), "cn-hangzhou")
	})
}

// retryThrough invokes body with region failing once, then twice more.
func retryThrough(t *testing.T, e *fcEnv, body, region string) {
	t.Helper()
	describes := func() int { return e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, region) }
	e.vpc.Inject(region, vpcfake.Fault{Code: "Forbidden.RAM", Times: 1})
	first := e.rt.invoke(t, body, e.creds, 60*time.Second)
	if !first.failed || describes() != 1 {
		t.Fatalf("region failing: failed %v (want true), %d describes, %s", first.failed, describes(), first.body)
	}
	posts := len(e.slack.Posts())
	retry := decodeResult(t, e.rt.invoke(t, body, e.creds, 60*time.Second))
	if describes() != 2 || retry.Summary.Findings == 0 || len(retry.Summary.RegionsFailed) != 0 || len(e.slack.Posts()) == posts {
		t.Errorf("retry: %d describes (want 2), summary %+v, %d new posts", describes(), retry.Summary, len(e.slack.Posts())-posts)
	}
	posts = len(e.slack.Posts())
	again := decodeResult(t, e.rt.invoke(t, body, e.creds, 60*time.Second))
	if describes() != 2 || again.Summary.Findings != retry.Summary.Findings || len(e.slack.Posts()) != posts {
		t.Errorf("retry of the completed run: %d describes (want 2), summary %+v, %d new posts", describes(), again.Summary, len(e.slack.Posts())-posts)
	}
	e.assertNoSecrets(t, first)
}

// The same event id over another connection is judged and said in errors
// (before: taken for a duplicate, nothing described, nothing posted); each
// is deduplicated on its own after.
func TestFunctionEventIDReused(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, map[string]string{"VPNCHECK_STATE": t.TempDir(), "VPNCHECK_REGIONS": "cn-hangzhou"})
	const modify, other = "vco-testmodify0001", "vco-other-0001"
	e.vpc.AddConnections("cn-hangzhou", weakAt("cn-hangzhou", modify), weakAt("cn-hangzhou", other))
	invoke := func(body string) fcOutcome { return e.rt.invoke(t, body, e.creds, 30*time.Second) }
	body := eventBody(t, "api-modify-weakens.json")
	reused := strings.ReplaceAll(body, modify, other)

	first := decodeChange(t, invoke(body))
	if first.Summary.New == 0 {
		t.Fatalf("first event: %+v", first.Summary)
	}
	posts, describes := len(e.slack.Posts()), e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou")
	out := invoke(reused)
	second := decodeChange(t, out)
	if second.Summary.New == 0 || len(e.slack.Posts()) == posts || e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != describes+1 {
		t.Errorf("another connection under the same id was not judged: %s, %d new posts", out.body, len(e.slack.Posts())-posts)
	}
	codes := func(r changeResult) []string {
		var out []string
		for _, e := range r.Errors {
			out = append(out, e["code"].(string))
		}
		return out
	}
	if got := codes(second); strings.Join(got, ",") != report.CodeEventIDReused {
		t.Errorf("errors %v, want %s", got, report.CodeEventIDReused)
	}
	mustContain(t, "the message", e.postedSince(posts), other, report.CodeEventIDReused)
	e.assertNoSecrets(t, out)

	posts = len(e.slack.Posts())
	for _, b := range []string{body, reused} {
		if r := decodeChange(t, invoke(b)); r.Slack == nil || r.Slack.Posted != 0 {
			t.Errorf("a redelivery posted: %+v", r.Slack)
		}
	}
	if len(e.slack.Posts()) != posts {
		t.Errorf("redeliveries posted %d messages", len(e.slack.Posts())-posts)
	}
}
