package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// ocsfLog is what the function logged as OCSF lines, by activity_id.
func (e *fcEnv) ocsfLog(t *testing.T) (lines []map[string]any, byActivity map[int]int) {
	t.Helper()
	byActivity = map[int]int{}
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(l, `"class_uid":2003`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("an OCSF log line is not one JSON object: %v: %.200s", err, l)
		}
		lines = append(lines, m)
		byActivity[int(m["activity_id"].(float64))]++
	}
	return lines, byActivity
}

// With VPNCHECK_LOG_FINDINGS=ocsf the function's log gets one OCSF line
// per new finding, then one per resolved finding; open, unchanged
// findings are not repeated; no key reaches the log.
func TestFunctionLogsOCSFFindings(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, map[string]string{
		"VPNCHECK_LOG_FINDINGS": "ocsf", "VPNCHECK_REGIONS": "cn-hangzhou",
		"VPNCHECK_STATE": filepath.Join(t.TempDir(), "state"),
	})
	e.vpc.Generate("cn-hangzhou", 2, weakConn)

	first := decodeResult(t, e.rt.invoke(t, timerEvent, e.creds, 60*time.Second))
	if !e.waitLog(`"msg":"OCSF findings logged"`) {
		t.Fatal("no OCSF lines logged")
	}
	lines, by := e.ocsfLog(t)
	if first.Summary.Findings == 0 || len(lines) != first.Summary.Findings || by[1] != first.Summary.Findings {
		t.Fatalf("first run: %d findings, OCSF lines by activity %v", first.Summary.Findings, by)
	}
	for _, l := range lines {
		if l["class_uid"].(float64) != 2003 || l["metadata"].(map[string]any)["version"] != "1.3.0" ||
			l["cloud"].(map[string]any)["account"].(map[string]any)["uid"] != "1234567890123456" {
			t.Errorf("line %v", l)
		}
	}

	// Connection 0 is fixed; connection 1 stays as it was.
	e.vpc.ReplaceConnection("cn-hangzhou", vpcfake.Connection("cn-hangzhou", 0))
	next := strings.Replace(timerEvent, "10:05:00Z", "11:05:00Z", 1)
	out := e.rt.invoke(t, next, e.creds, 60*time.Second)
	var second struct {
		Summary struct{ Findings, New, Resolved int } `json:"summary"`
	}
	if out.failed || json.Unmarshal(out.body, &second) != nil {
		t.Fatalf("second run: %s", out.body)
	}
	want := first.Summary.Findings + second.Summary.Resolved + second.Summary.New
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lines, by = e.ocsfLog(t); len(lines) >= want {
			break
		}
	}
	if second.Summary.Resolved == 0 || len(lines) != want {
		t.Fatalf("second run %+v: %d OCSF lines in all, want %d", second.Summary, len(lines), want)
	}
	if by[3] != second.Summary.Resolved || by[2] != 0 || by[1] != first.Summary.Findings+second.Summary.New {
		t.Errorf("after the fix: OCSF lines by activity %v, want %d Close and no Update", by, second.Summary.Resolved)
	}
	for _, l := range lines {
		if l["activity_id"].(float64) == 3 && l["compliance"].(map[string]any)["status"] != "Pass" {
			t.Errorf("a closed finding does not pass: %v", l)
		}
	}
	e.assertNoSecrets(t, out)
}

// A value other than ocsf or off fails every invocation before the check,
// naming the variable; nothing is posted.
func TestFunctionLogFindingsBadValue(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e := startFunction(t, map[string]string{"VPNCHECK_LOG_FINDINGS": "syslog", "VPNCHECK_REGIONS": "cn-hangzhou"})
	e.vpc.Generate("cn-hangzhou", 1, weakConn)
	out := e.rt.invoke(t, timerEvent, e.creds, 30*time.Second)
	if !out.failed || !strings.Contains(string(out.body), "VPNCHECK_LOG_FINDINGS") {
		t.Errorf("outcome %v %s", out.failed, out.body)
	}
	if e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != 0 {
		t.Error("the check ran")
	}
}

// brokenLog is a function log that takes nothing.
type brokenLog struct{}

func (brokenLog) Write([]byte) (int, error) { return 0, errors.New("write /dev/stdout: broken pipe") }

// An OCSF line the log does not take is lost news (the state has moved on):
// the invocation fails and says so, instead of succeeding.
func TestFunctionOCSFLogWriteFails(t *testing.T) {
	env := map[string]string{"VPNCHECK_LOG_FINDINGS": "ocsf", "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
	getenv := func(k string) string { return env[k] }
	n, err := notifierFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := &fcHandler{getenv: getenv, notifier: n, findingLog: brokenLog{}}
	rep := report.New()
	rep.Findings = []report.Finding{{ID: "f1", Rule: "psk-weak", Region: "cn-hangzhou", ConnectionID: "vco-1", Status: report.StatusNew}}
	res, err := h.finish(slog.New(slog.NewJSONHandler(&logs, nil)), run.Outcome{Report: rep}, "timer:1", false)
	if err == nil || !strings.Contains(err.Error(), "OCSF") || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("result %+v, error %v: want the failed OCSF write", res, err)
	}
}
