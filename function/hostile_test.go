package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
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
// the network and the developer's files.
func hostileEnv(t *testing.T) (*vpcfake.Server, map[string]string) {
	t.Helper()
	s, env := liveEnv(t)
	env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
	return s, env
}

func TestHostileEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t) // before any test changes HOME, which go build reads
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
			s, env := hostileEnv(t)
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
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t) // before any test changes HOME, which go build reads
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
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t) // before any test changes HOME, which go build reads
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
