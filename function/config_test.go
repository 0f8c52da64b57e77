package main

import (
	"strings"
	"testing"
	"time"
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
