package main

import (
	"encoding/json"
	"strings"
	"testing"
)

type fixOut struct {
	Plans []struct {
		ConnectionID string   `json:"connection_id"`
		Fixes        []string `json:"fixes"`
		NotFixed     []string `json:"not_fixed"`
		Fix          *struct {
			API struct {
				Action     string         `json:"action"`
				Parameters map[string]any `json:"parameters"`
			} `json:"api"`
			CLI  string `json:"cli"`
			Note string `json:"note"`
		} `json:"fix"`
	} `json:"plans"`
}

// vpncheck fix prints one combined plan for the connection: one API call
// for all its fixable findings, and the others named as needing a person.
func TestFixPrintsOneCombinedPlan(t *testing.T) {
	code, out, errs := cli(t, nil, "fix", "--connection", "vco-gw8tylx7hvwhl7tu8****", "--inventory", "../testdata/sample.json", "--region", "cn-hangzhou")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	if n := strings.Count(out, "aliyun vpc "); n != 1 {
		t.Errorf("%d CLI calls in the plan, want 1:\n%s", n, out)
	}
	for _, want := range []string{"ModifyVpnConnectionAttribute in cn-hangzhou", "needs a person: health-check-failed", `resource "alicloud_vpn_connection"`,
		"customer gateway", "Nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = cli(t, nil, "fix", "--connection", "vco-canary-dual", "--inventory", "../testdata/canary.json", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, c := range canaries {
		if strings.Contains(out, c) {
			t.Fatalf("the plan shows secret %s:\n%s", c, out)
		}
	}
	var got fixOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Plans) != 1 || got.Plans[0].Fix == nil {
		t.Fatalf("%s", out)
	}
	p := got.Plans[0]
	// psk-reused and psk-exposed on both tunnels: one call for both.
	if p.Fix.API.Action != "ModifyVpnConnectionAttribute" || len(p.Fix.API.Parameters["TunnelOptionsSpecification"].([]any)) != 2 {
		t.Errorf("not one call for both tunnels: %+v", p.Fix.API)
	}
	if !strings.Contains(p.Fix.CLI, `NEW_PSK_1="$(openssl rand -base64 32)"`) {
		t.Errorf("cli: %s", p.Fix.CLI)
	}
}

func TestFixUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fix", "--inventory", "../testdata/sample.json"}, exitUsage, "--connection is required"},
		{[]string{"fix", "--connection", "vco-nope", "--inventory", "../testdata/sample.json"}, exitUsage, "connection vco-nope is not in what was checked (2 connections in 1 regions)"},
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--regions", "cn-hangzhou"}, exitUsage, "--regions cannot be used with --inventory"},
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--format", "sarif"}, exitUsage, `--format: unknown format "sarif"`},
		// The source flags are check's, parsed the same one way.
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--region", "cn-hangzou"}, exitUsage, "did you mean cn-hangzhou?"},
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--concurrency", "0"}, exitUsage, "--concurrency must be at least 1"},
		// So are the rules of the run (runFlags.resolveRun).
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--timeout", "-1s"}, exitUsage, "--timeout must not be negative"},
		{[]string{"fix", "--connection", "x", "--inventory", "../testdata/sample.json", "--min-severity", "urgent"}, exitUsage, "urgent"},
	} {
		code, out, errs := cli(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want %d and %q", tc.args, code, errs, out, tc.code, tc.want)
		}
	}
}

// Live, vpncheck fix reads the API and changes nothing: every call it
// makes is a Describe.
func TestFixLiveChangesNothing(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 3, func(region string, i int) any {
		c := canaryConn(region, i).(map[string]any)
		c["IkeConfig"].(map[string]any)["IkeEncAlg"] = "des"
		c["EnableDpd"] = false
		return c
	})
	code, out, errs := cli(t, env, "fix", "--connection", "vco-cn-hangzhou-00001", "--regions", "cn-hangzhou", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	noSecrets(t, out, errs)
	var got fixOut
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Plans) != 1 || got.Plans[0].Fix == nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if p := got.Plans[0].Fix.API.Parameters; p["EnableDpd"] != true || !strings.Contains(p["IkeConfig"].(string), `"IkeEncAlg":"aes256"`) {
		t.Errorf("plan: %v", p)
	}
	for _, c := range s.Log() {
		if !strings.HasPrefix(c.Action, "Describe") {
			t.Errorf("vpncheck fix called %s", c.Action)
		}
	}
}
