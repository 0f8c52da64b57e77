package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// The hostile-endpoint tests run the compiled binary against a VPC fake
// that misbehaves in one region (cn-hangzhou) while another (cn-shanghai)
// answers correctly, and check what a user sees: the exit status, the wall
// time, the calls made and the report's errors.
//
// VPNCHECK_TEST_BINARY runs them against another build (to measure an older
// one); the assertions then say where it falls short.

const hostileRegion = "cn-hangzhou"

// binaryRun is one run of the compiled binary.
type binaryRun struct {
	code           int
	stdout, stderr string
	wall           time.Duration
	maxRSSMiB      int64
}

func testBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VPNCHECK_TEST_BINARY"); p != "" {
		return p
	}
	return vpncheckBinary(t)
}

// runBinary runs the binary with exactly env (no inherited variable) and a
// hard limit of limit, after which it is killed.
func runBinary(t *testing.T, env map[string]string, limit time.Duration, args ...string) binaryRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, testBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := binaryRun{stdout: out.String(), stderr: errb.String(), wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	if ctx.Err() != nil {
		r.code = -1 // killed at the limit
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSMiB = ru.Maxrss >> 10
	}
	return r
}

// hostileEnv is liveEnv for a child process: the credential chain kept off
// the network and the developer's files, in the child's environment only
// (this process's is left alone, so its tests can run in parallel).
func hostileEnv(t *testing.T) (*vpcfake.Server, map[string]string) {
	t.Helper()
	s, env := childLiveEnv(t)
	env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
	return s, env
}

func TestHostileEndpoint(t *testing.T) {
	t.Parallel() // the binary under fakes of its own (childLiveEnv)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t)
	type want struct {
		code      int    // exit status with --fail-on info
		errCode   string // the hostile region's errors entry
		failed    bool   // the hostile region is in regions_failed
		calls     int    // DescribeVpnConnections calls in the hostile region, at most
		conns     int    // connections in the report (both regions), exactly; -1: any
		maxWall   time.Duration
		maxRSSMiB int64
	}
	for _, tc := range []struct {
		name  string
		mode  vpcfake.Mode
		n     int // connections in the hostile region
		flags []string
		want  want
	}{
		{"pages forever", vpcfake.PagesForever, 120, nil,
			want{exitFailOn, report.CodeIncompleteResponse, true, 2, 50 + 3, 10 * time.Second, 0}},
		{"page number ignored", vpcfake.IgnorePageNumber, 120, nil,
			want{exitFailOn, report.CodeIncompleteResponse, true, 2, 50 + 3, 10 * time.Second, 0}},
		{"overlapping pages", vpcfake.OverlappingPages, 200, nil,
			want{exitFailOn, report.CodeIncompleteResponse, true, 5, 150 + 3, 10 * time.Second, 0}},
		{"no TotalCount", vpcfake.NoTotalCount, 120, nil,
			want{exitFailOn, report.CodeIncompleteResponse, true, 1, 50 + 3, 10 * time.Second, 0}},
		{"HTML 200", vpcfake.HTML200, 120, nil,
			want{exitFailOn, report.CodeInvalidResponse, true, 1, 3, 10 * time.Second, 0}},
		{"truncated body", vpcfake.TruncatedBody, 120, nil,
			want{exitFailOn, report.CodeInvalidResponse, true, 1, 3, 10 * time.Second, 0}},
		{"odd field type", vpcfake.OddFieldType, 120, nil,
			want{exitOK, report.CodeInvalidResponse, false, 3, 120 + 3, 10 * time.Second, 0}},
		{"huge body", vpcfake.HugeBody, 120, nil,
			want{exitFailOn, report.CodeIncompleteResponse, true, 1, 3, 10 * time.Second, 120}},
		{"never answers", vpcfake.NeverAnswers, 120, []string{"--timeout", "5s"},
			want{exitFailOn, report.CodeDeadlineExceeded, true, 1, 3, 7 * time.Second, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each has its own fake and process
			s, env := childLiveEnv(t)
			env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
			s.Generate(hostileRegion, tc.n, vpcfake.Connection)
			s.Generate("cn-shanghai", 3, vpcfake.Connection)
			s.SetMode(hostileRegion, tc.mode)
			args := append([]string{"check", "--regions", hostileRegion + ",cn-shanghai", "--format", "json", "--fail-on", "info"}, tc.flags...)
			if len(tc.flags) == 0 {
				args = append(args, "--timeout", "20s")
			}
			r := runBinary(t, env, 60*time.Second, args...)
			calls := s.Calls(vpcfake.ActionDescribeVpnConnections, hostileRegion)
			var rep struct {
				Summary struct {
					Connections   int      `json:"connections"`
					RegionsFailed []string `json:"regions_failed"`
				} `json:"summary"`
				Errors []report.ErrorEntry `json:"errors"`
			}
			jsonErr := json.Unmarshal([]byte(r.stdout), &rep)
			var codes []string
			var hostile *report.ErrorEntry
			for i, e := range rep.Errors {
				codes = append(codes, e.Code)
				if e.Region == hostileRegion && hostile == nil {
					hostile = &rep.Errors[i]
				}
			}
			t.Logf("MEASURE | %-20s | exit %2d | wall %6.2fs | calls %4d | rss %4d MiB | connections %4d | errors %v",
				tc.name, r.code, r.wall.Seconds(), calls, r.maxRSSMiB, rep.Summary.Connections, codes)

			if hostile != nil {
				t.Logf("%s: %s", hostile.Code, hostile.Message)
			}
			w := tc.want
			if jsonErr != nil {
				t.Fatalf("no JSON report on stdout (%v); exit %d, stderr %q", jsonErr, r.code, r.stderr)
			}
			if r.code != w.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, w.code, r.stderr)
			}
			if r.wall > w.maxWall {
				t.Errorf("wall time %v, want at most %v", r.wall, w.maxWall)
			}
			if calls > w.calls {
				t.Errorf("%d calls in %s, want at most %d", calls, hostileRegion, w.calls)
			}
			if w.conns >= 0 && rep.Summary.Connections != w.conns {
				t.Errorf("%d connections reported, want %d", rep.Summary.Connections, w.conns)
			}
			if hostile == nil || hostile.Code != w.errCode {
				t.Errorf("errors %+v, want a %s entry for %s", rep.Errors, w.errCode, hostileRegion)
			} else if !strings.Contains(hostile.Message, hostileRegion) {
				t.Errorf("the error does not name its region: %q", hostile.Message)
			}
			if failed := strings.Contains(strings.Join(rep.Summary.RegionsFailed, ","), hostileRegion); failed != w.failed {
				t.Errorf("regions_failed %v: %s failed = %v, want %v", rep.Summary.RegionsFailed, hostileRegion, failed, w.failed)
			}
			if w.maxRSSMiB > 0 && r.maxRSSMiB > w.maxRSSMiB {
				t.Errorf("max RSS %d MiB, want at most %d", r.maxRSSMiB, w.maxRSSMiB)
			}
			noSecrets(t, r.stdout, r.stderr)
		})
	}
}

// A refused connection under a short deadline says it was refused, not
// only that the deadline came.
func TestHostileRefusedKeepsTheLastError(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t)
	s, env := hostileEnv(t)
	env["VPNCHECK_VPC_ENDPOINT"] = s.URL
	s.Close() // nothing listens there any more
	r := runBinary(t, env, 30*time.Second, "check", "--regions", hostileRegion, "--format", "json", "--timeout", "3s")
	t.Logf("MEASURE | refused, --timeout 3s | exit %2d | wall %6.2fs | stderr %q", r.code, r.wall.Seconds(), r.stderr)
	if r.code != exitIncomplete || !strings.Contains(r.stdout+r.stderr, "connection refused") {
		t.Fatalf("exit %d, stdout %s, stderr %q: want exit %d naming the refused connection", r.code, r.stdout, r.stderr, exitIncomplete)
	}
	if r.wall > 5*time.Second {
		t.Errorf("wall time %v for a 3s deadline", r.wall)
	}
}

// Without credentials the message says how to give them.
func TestHostileNoCredentialsSaysWhatToDo(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t)
	_, env := hostileEnv(t)
	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_ID")
	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	r := runBinary(t, env, 30*time.Second, "check", "--regions", hostileRegion)
	if r.code != exitIncomplete || r.stdout != "" ||
		!strings.Contains(r.stderr, "ALIBABA_CLOUD_ACCESS_KEY_ID") || !strings.Contains(r.stderr, "aliyun configure") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("stderr is %d lines, want one: %q", n, r.stderr)
	}
}

// Flags that only a live check reads are a usage error with --inventory,
// not silently ignored; the environment's regions are not.
func TestInventoryRejectsLiveFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--save-inventory", t.TempDir()}, "--save-inventory cannot be used with --inventory"},
		{[]string{"--regions", "cn-hangzhou"}, "--regions cannot be used with --inventory"},
		{[]string{"--exclude-regions", "cn-hangzhou", "--regions", "all"}, "--regions and --exclude-regions cannot"},
	} {
		args := append([]string{"check", "--inventory", "../testdata/sample.json"}, tc.args...)
		code, out, errs := cli(t, nil, args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.args, code, out, errs, exitUsage, tc.want)
		}
	}
	env := map[string]string{"VPNCHECK_REGIONS": "cn-beijing", "VPNCHECK_EXCLUDE_REGIONS": "cn-beijing"}
	if code, _, errs := cli(t, env, "check", "--inventory", "../testdata/sample.json"); code != exitOK {
		t.Errorf("regions from the environment with --inventory: exit %d, stderr %q", code, errs)
	}
}

// An unreadable inventory says what is wrong with it; connections without
// an id are reported and kept apart.
func TestInventoryFilesSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"empty.json", "", "the file is empty"},
		{"error.json", `{"RequestId": "R", "HostId": "vpc.aliyuncs.com", "Code": "Forbidden.RAM", "Message": "User not authorized"}`, "API error answer (code Forbidden.RAM)"},
		{"deep.json", `{"VpnConnections": {"VpnConnection": [{"Name": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]}}`, "too deeply"},
	} {
		code, out, errs := cli(t, nil, "check", "--inventory", writeTemp(t, tc.name, tc.body))
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.name, code, out, errs, exitUsage, tc.want)
		}
	}

	weak := `{"Name": "%s", "Status": "ike_sa_not_established", "IkeConfig": {"IkeVersion": "ikev1", "IkeEncAlg": "des"}}`
	noID := writeTemp(t, "noid.json", `{"TotalCount": 2, "VpnConnections": {"VpnConnection": [`+
		fmt.Sprintf(weak, "first")+`,`+fmt.Sprintf(weak, "second")+`]}}`)
	code, out, errs := cli(t, nil, "check", "--inventory", noID, "--region", "cn-hangzhou", "--format", "json", "--fail-on", "info")
	var rep struct {
		Findings []report.Finding    `json:"findings"`
		Errors   []report.ErrorEntry `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, f := range rep.Findings {
		ids[f.ConnectionID] = f.ConnectionName
	}
	if code != exitFailOn || len(ids) != 2 || ids["vpncheck:no-id-1"] != "first" || ids["vpncheck:no-id-2"] != "second" ||
		len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "2 connections in cn-hangzhou had no VpnConnectionId") {
		t.Errorf("exit %d, connections %v, errors %+v, stderr %q", code, ids, rep.Errors, errs)
	}
	_, text, _ := cli(t, nil, "check", "--inventory", noID, "--region", "cn-hangzhou")
	if !strings.Contains(text, "vpncheck:no-id-1") || !strings.Contains(text, "vpncheck:no-id-2") {
		t.Errorf("the text report does not keep them apart:\n%s", text)
	}
}

// The key of connection A, placed in connection B's name, tags, ids and
// remote id, never shows in any output: text, JSON, the policy inputs, the
// saved inventory. Nor does a connection's own key in its own ids.
func TestKeyCanariesNeverShow(t *testing.T) {
	const keyA, keyB, bgpA = "CANARY-KEY-A-5d1e", "CANARY-KEY-B-90ab", "CANARY-BGP-A-77c3"
	s, env := liveEnv(t)
	a := vpcfake.Connection("cn-hangzhou", 1).(map[string]any)
	a["IkeConfig"].(map[string]any)["Psk"] = keyA
	a["VpnBgpConfig"].(map[string]any)["AuthKey"] = bgpA
	b := vpcfake.Connection("cn-hangzhou", 2).(map[string]any)
	b["VpnConnectionId"] = "vco-" + keyB + "-" + keyA
	b["VpnGatewayId"] = "vpn-" + bgpA
	b["CustomerGatewayId"] = "cgw-" + keyA
	b["Name"] = "branch " + keyA
	b["Tag"] = map[string]any{"Tag": []any{
		map[string]any{"Key": "note", "Value": "psk " + keyA},
		map[string]any{"Key": "k-" + keyA, "Value": "v"},
		map[string]any{"Key": "vpncheck:exception", "Value": "psk-weak"},
		map[string]any{"Key": "vpncheck:exception-expires", "Value": keyA},
	}}
	b["EnableTunnelsBgp"] = "false"
	b["TunnelOptionsSpecification"] = map[string]any{"TunnelOptions": []any{
		map[string]any{"TunnelId": "tun-" + keyB, "Role": "master", "Status": "ipsec_sa_established", "EnableDpd": "true",
			"TunnelIkeConfig":   map[string]any{"Psk": keyB, "IkeVersion": "ikev2", "LocalId": "l", "RemoteId": keyA},
			"TunnelIpsecConfig": map[string]any{"IpsecEncAlg": "aes", "IpsecAuthAlg": "sha1"}},
	}}
	s.AddConnections("cn-hangzhou", a, b)
	s.AddConnections("cn-shanghai", map[string]any{"VpnConnectionId": "vco-sh", "Name": "uses " + bgpA})

	dir := t.TempDir()
	dump := dir + "/inputs.json"
	saved := dir + "/saved"
	var outputs []string
	for _, format := range []string{"text", "json"} {
		args := []string{"check", "--regions", "cn-hangzhou,cn-shanghai", "--format", format, "--dump-input", dump}
		if format == "json" {
			args = append(args, "--save-inventory", saved)
		}
		code, out, errs := cli(t, env, args...)
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", format, code, errs)
		}
		in, _ := os.ReadFile(dump)
		outputs = append(outputs, out, errs, string(in))
	}
	files, _ := filepath.Glob(saved + "/*.json")
	if len(files) != 2 {
		t.Fatalf("saved %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		outputs = append(outputs, string(b))
	}
	for i, o := range outputs {
		for _, k := range []string{keyA, keyB, bgpA, "CANARY"} {
			if strings.Contains(o, k) {
				t.Errorf("output %d shows %q:\n%.2000s", i, k, o)
			}
		}
	}
	if !strings.Contains(outputs[3], "vco-****-****") {
		t.Errorf("the masked id is not in the JSON report:\n%.2000s", outputs[3])
	}
}

// A replay of the pages --save-inventory wrote gives the live run's
// findings, the key rules' included.
func TestSaveInventoryReplayGivesTheSameFindings(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 73, func(region string, i int) any {
		c := canaryConn(region, i).(map[string]any)
		if i%10 == 0 { // short keys, reused: psk-weak and psk-reused
			c["IkeConfig"].(map[string]any)["Psk"] = fmt.Sprintf("CANARY-LIVE-%d", i%20)
		}
		return c
	})
	s.Generate("cn-shanghai", 4, vpcfake.Connection)
	dir := filepath.Join(t.TempDir(), "inv")
	code, live, errs := cli(t, env, "check", "--regions", "cn-hangzhou,cn-shanghai", "--save-inventory", dir, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	args := []string{"check", "--format", "json"}
	for _, f := range files {
		args = append(args, "--inventory", f)
	}
	code, replay, errs := cli(t, nil, args...)
	if code != exitOK {
		t.Fatalf("replay: exit %d, stderr %s", code, errs)
	}
	lines := func(out string) []string {
		var rep struct {
			Findings []report.Finding    `json:"findings"`
			Errors   []report.ErrorEntry `json:"errors"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Errors) != 0 {
			t.Errorf("errors %+v", rep.Errors)
		}
		var l []string
		for _, f := range rep.Findings {
			l = append(l, strings.Join([]string{f.Region, f.ConnectionID, f.TunnelID, f.Rule, f.Message}, " | "))
		}
		slices.Sort(l)
		return l
	}
	a, b := lines(live), lines(replay)
	if !slices.Equal(a, b) {
		t.Fatalf("live %d findings, replay %d:\nlive   %q\nreplay %q", len(a), len(b), a, b)
	}
	for _, rule := range []string{"psk-weak", "psk-reused"} {
		if !slices.ContainsFunc(a, func(l string) bool { return strings.Contains(l, "| "+rule+" |") }) {
			t.Errorf("no %s finding: the test proves nothing for it", rule)
		}
	}
	noSecrets(t, live, replay)
}
