package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// TestRunClockRange: a clock the state cannot store is refused up front.
func TestRunClockRange(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"1970-01-01T00:00:00Z", true},
		{"8999-12-31T23:59:59Z", true},
		{"9999-12-31T23:59:59Z", false},
		{"9000-01-01T00:00:00Z", false},
		{"0000-01-01T00:00:00Z", false},
		{"1969-12-31T23:59:59Z", false},
	} {
		got, err := runClock(func(k string) string { return map[string]string{envNow: tc.value}[k] })
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, %v", tc.value, got, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "out of range") || !got.IsZero()) {
			t.Errorf("%q: %v, %v", tc.value, got, err)
		}
	}
	want, _ := time.Parse(time.RFC3339, "8999-12-31T23:59:59Z")
	if got, _ := runClock(func(string) string { return "8999-12-31T23:59:59Z" }); !got.Equal(want) {
		t.Errorf("got %v", got)
	}
}

// TestStateLocationMistakes: a state location that can never work is a
// usage error before anything runs, from the flag or the variable, for
// check and event alike; it never degrades to a run without state.
func TestStateLocationMistakes(t *testing.T) {
	file := writeTemp(t, "a-file", "x")
	ev := writeTemp(t, "event.json", "{}")
	for _, tc := range []struct {
		name, spec, region, want string
	}{
		{"oss without a bucket", "oss://", "cn-hangzhou", "invalid bucket name"},
		{"oss without a region", "oss://vpncheck-state", "", "no OSS region"},
		{"oss with a prefix, without a region", "oss://vpncheck-state/p", "", "no OSS region"},
		{"file URL", "file:///x", "", "unsupported scheme"},
		{"a regular file", file, "", "not a directory"},
		{"under a regular file", file + "/state", "", "a parent is not a directory"},
		{"invalid prefix", "oss://vpncheck-state/../x", "cn-hangzhou", "invalid key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"ALIBABA_CLOUD_REGION_ID": tc.region, "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true"}
			for _, args := range [][]string{
				{"check", "--inventory", "../testdata/sample.json", "--state", tc.spec},
				{"event", "--file", ev, "--inventory", "../testdata/sample.json", "--state", tc.spec},
			} {
				code, out, errs := cli(t, env, args...)
				if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "--state") || strings.Count(errs, "\n") != 1 {
					t.Errorf("%s: exit %d, stdout %q, stderr %q", args[0], code, out, errs)
				}
			}
			env[envState] = tc.spec
			code, out, errs := cli(t, env, "check", "--inventory", "../testdata/sample.json")
			if code != exitUsage || out != "" || !strings.Contains(errs, envState) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", envState, code, out, errs)
			}
		})
	}
}

// TestUnknownRegionRefused: a misspelt region is a usage error naming the
// nearest id, offline (--region, by the built-in list) and live (--regions
// and its variables, before any connection is described); a region the
// endpoint's DescribeRegions answers is taken though it is not built in.
func TestUnknownRegionRefused(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 1, canaryConn)
	s.Generate("xx-test-1", 1, canaryConn)
	s.SetRegions("cn-hangzhou", "xx-test-1")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // "" exit 0
	}{
		{"offline typo", nil, []string{"--inventory", "../testdata/sample.json", "--region", "cn-hangzou"}, "--region: unknown region cn-hangzou; did you mean cn-hangzhou?"},
		{"offline, not built in", nil, []string{"--inventory", "../testdata/sample.json", "--region", "xx-test-1"}, "--region: unknown region xx-test-1"},
		{"offline, built in", nil, []string{"--inventory", "../testdata/sample.json", "--region", "me-central-1"}, ""},
		{"live typo", nil, []string{"--regions", "cn-hangzhou,cn-hangzou"}, "unknown region cn-hangzou; did you mean cn-hangzhou?"},
		{"live typo from the variable", map[string]string{envRegions: "cn-hangzou"}, nil, "did you mean cn-hangzhou?"},
		{"excluded typo", map[string]string{envExcludeRegions: "cn-hangzou"}, []string{"--regions", "cn-hangzhou"}, "did you mean cn-hangzhou?"},
		{"home region typo", map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-hangzou"}, nil, "did you mean cn-hangzhou?"},
		{"the endpoint's region", nil, []string{"--regions", "xx-test-1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Log())
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tc.env {
				e[k] = v
			}
			code, out, errs := cli(t, e, append([]string{"check", "--format", "json"}, tc.args...)...)
			if tc.want == "" {
				if code != exitOK {
					t.Fatalf("exit %d, stderr %q", code, errs)
				}
				return
			}
			if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q, want exit 2 and %q", code, out, errs, tc.want)
			}
			for _, c := range s.Log()[before:] {
				if c.Action == vpcfake.ActionDescribeVpnConnections {
					t.Errorf("%s described before the refusal", c.Region)
				}
			}
		})
	}
}

// TestConfigurationMistakesBinary: each mistake of issue 19 is exit 2 from
// the compiled binary (it was 0, or 3 after the check), with one line on
// stderr and nothing on stdout; in Function Compute the invocation fails
// and says why in words.
func TestConfigurationMistakesBinary(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testBinary(t)
	vpc, live := hostileEnv(t)
	vpc.Generate("cn-hangzhou", 1, canaryConn)
	file := writeTemp(t, "a-file", "x")
	sample := filepath.Join("..", "testdata", "sample.json")
	offline := map[string]string{"ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true", "HOME": t.TempDir()}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"state oss://", offline, []string{"--inventory", sample, "--state", "oss://"}, "invalid bucket name"},
		{"state oss://bucket without a region", offline, []string{"--inventory", sample, "--state", "oss://vpncheck-state"}, "no OSS region"},
		{"state file URL", offline, []string{"--inventory", sample, "--state", "file:///x"}, "unsupported scheme"},
		{"state a regular file", offline, []string{"--inventory", sample, "--state", file}, "not a directory"},
		{"clock out of range", map[string]string{envNow: "9999-12-31T23:59:59Z"}, []string{"--inventory", sample, "--state", t.TempDir()}, "VPNCHECK_NOW"},
		{"offline region typo", offline, []string{"--inventory", sample, "--region", "cn-hangzou"}, "unknown region cn-hangzou; did you mean cn-hangzhou?"},
		{"live region typo", live, []string{"--regions", "cn-hangzou"}, "unknown region cn-hangzou; did you mean cn-hangzhou?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // tc.env is only read
			r := runBinary(t, tc.env, time.Minute, append([]string{"check"}, tc.args...)...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}

	t.Run("function", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			env  map[string]string
			body string
			want string
		}{
			{"array body", nil, `[1,2,3]`, `the body is an array; want a JSON object: a timer event {\"triggerTime\", \"triggerName\", \"payload\"}`},
			{"string body", nil, `"str"`, "the body is a string; want a JSON object"},
			{"state file URL", map[string]string{envState: "file:///x"}, timerEvent, "VPNCHECK_STATE: open state store \\\"file:///x\\\": state location: unsupported scheme"},
			{"region typo", nil, `{"payload": {"regions": ["cn-hangzou"]}}`, "unknown region cn-hangzou; did you mean cn-hangzhou?"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel() // each its own function and fakes
				e := startFunction(t, tc.env)
				e.vpc.Generate("cn-hangzhou", 1, weakConn)
				out := e.rt.invoke(t, tc.body, e.creds, 30*time.Second)
				if !out.failed || !strings.Contains(string(out.body), tc.want) || strings.Contains(string(out.body), "struct") {
					t.Errorf("failed %v, %s; want a failure saying %q", out.failed, out.body, tc.want)
				}
				for _, c := range e.vpc.Log() {
					if c.Action == vpcfake.ActionDescribeVpnConnections {
						t.Errorf("%s described", c.Region)
					}
				}
			})
		}
	})
}
