package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

const (
	liveAK     = "LTAI5tLiveTest"
	liveSecret = "CANARY-AK-SECRET-3d8f"
)

// liveEnv starts a fake VPC API and returns it with the environment that
// points vpncheck at it. The credential chain is kept off the network and
// the developer's own files, in this process too (t.Setenv).
func liveEnv(t *testing.T) (*vpcfake.Server, map[string]string) {
	t.Helper()
	s, env := childLiveEnv(t)
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	t.Setenv("HOME", env["HOME"])
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
		"ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI"} {
		t.Setenv(k, "")
	}
	return s, env
}

// childLiveEnv is liveEnv for a test that runs only the binary, with
// exactly the environment returned: this process's is left alone, so such
// tests can run in parallel.
func childLiveEnv(t *testing.T) (*vpcfake.Server, map[string]string) {
	t.Helper()
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: liveAK, AccessKeySecret: liveSecret})
	t.Cleanup(s.Close)
	return s, map[string]string{
		"HOME":                               t.TempDir(),
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
		"VPNCHECK_VPC_ENDPOINT":              s.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":        liveAK,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET":    liveSecret,
	}
}

// canaryConn plants secrets wherever the API returns them.
func canaryConn(region string, i int) any {
	c := vpcfake.Connection(region, i).(map[string]any)
	c["IkeConfig"].(map[string]any)["Psk"] = "CANARY-LIVE-PSK-" + region
	c["VpnBgpConfig"].(map[string]any)["AuthKey"] = "CANARY-LIVE-BGP-" + region
	return c
}

type liveReport struct {
	Summary struct {
		Connections    int      `json:"connections"`
		RegionsScanned []string `json:"regions_scanned"`
		RegionsFailed  []string `json:"regions_failed"`
	} `json:"summary"`
	Errors []report.ErrorEntry `json:"errors"`
}

func parseReport(t *testing.T, out string) liveReport {
	t.Helper()
	var rep liveReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	return rep
}

func noSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, c := range []string{liveSecret, "CANARY-LIVE"} {
			if strings.Contains(s, c) {
				t.Fatalf("output shows secret %q:\n%s", c, s)
			}
		}
	}
}

func TestLiveCheckTwoRegions(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 123, canaryConn)
	s.Generate("cn-shanghai", 7, canaryConn)
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou,cn-shanghai", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	rep := parseReport(t, out)
	if rep.Summary.Connections != 130 || strings.Join(rep.Summary.RegionsScanned, ",") != "cn-hangzhou,cn-shanghai" || len(rep.Errors) != 0 {
		t.Fatalf("summary %+v, errors %+v", rep.Summary, rep.Errors)
	}
	if n := len(s.Log()); n != 4 {
		t.Fatalf("%d API calls, want 4", n)
	}
	noSecrets(t, out, errs)
}

func TestLiveForbiddenRegionAmongGoodOnes(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 5, canaryConn)
	s.Generate("cn-shanghai", 5, canaryConn)
	s.Inject("cn-shanghai", vpcfake.Forbidden())
	env["VPNCHECK_REGIONS"] = "cn-hangzhou,cn-shanghai"
	code, out, errs := cli(t, env, "check", "--format", "json")
	rep := parseReport(t, out)
	if code != exitOK || rep.Summary.Connections != 5 || strings.Join(rep.Summary.RegionsFailed, ",") != "cn-shanghai" ||
		len(rep.Errors) != 1 || rep.Errors[0].Code != "Forbidden.RAM" || rep.Errors[0].RequestID == "" {
		t.Fatalf("exit %d, summary %+v, errors %+v, stderr %s", code, rep.Summary, rep.Errors, errs)
	}
	if code, _, _ := cli(t, env, "check", "--format", "json", "--fail-on", "critical"); code != exitFailOn {
		t.Fatalf("--fail-on with a failed region: exit %d, want %d", code, exitFailOn)
	}
}

func TestLiveWrongSecret(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 5, canaryConn)
	const wrong = "CANARY-WRONG-SECRET-19ab"
	env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = wrong
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou", "--format", "json")
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitIncomplete, errs)
	}
	rep := parseReport(t, out)
	if len(rep.Errors) != 1 || rep.Errors[0].Code != "SignatureDoesNotMatch" || !strings.Contains(rep.Errors[0].Message, "access key secret") {
		t.Fatalf("errors %+v", rep.Errors)
	}
	for _, text := range []string{out, errs} {
		if strings.Contains(text, wrong) {
			t.Fatalf("the wrong secret is printed:\n%s", text)
		}
	}
}

func TestLiveCredentialChainFailure(t *testing.T) {
	_, env := liveEnv(t)
	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_ID")
	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou")
	if code != exitIncomplete || out != "" || !strings.Contains(errs, "credentials") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestLiveAllAndExclude(t *testing.T) {
	s, env := liveEnv(t)
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1"} {
		s.Generate(r, 2, canaryConn)
	}
	s.SetRegions("cn-hangzhou", "cn-shanghai", "ap-southeast-1", "cn-beijing")
	code, out, errs := cli(t, env, "check", "--regions", "all", "--exclude-regions", "cn-shanghai, cn-beijing", "--format", "json")
	rep := parseReport(t, out)
	if code != exitOK || rep.Summary.Connections != 4 || strings.Join(rep.Summary.RegionsScanned, ",") != "ap-southeast-1,cn-hangzhou" {
		t.Fatalf("exit %d, summary %+v, stderr %s", code, rep.Summary, errs)
	}
	if n := s.Calls(vpcfake.ActionDescribeRegions, ""); n != 1 {
		t.Fatalf("DescribeRegions calls = %d", n)
	}
	if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-shanghai"); n != 0 {
		t.Fatalf("excluded region scanned %d times", n)
	}

	env["VPNCHECK_EXCLUDE_REGIONS"] = "cn-hangzhou"
	if code, _, errs := cli(t, env, "check", "--regions", "cn-hangzhou"); code != exitUsage || !strings.Contains(errs, "no region left") {
		t.Fatalf("everything excluded: exit %d, stderr %q", code, errs)
	}

	s.InjectDescribeRegions(vpcfake.Forbidden())
	if code, out, errs := cli(t, env, "check", "--regions", "all"); code != exitIncomplete || out != "" || !strings.Contains(errs, "describe regions: Forbidden.RAM") {
		t.Fatalf("DescribeRegions forbidden: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestLiveRegionResolution(t *testing.T) {
	_, base := liveEnv(t)
	profile := func(t *testing.T, current string) string {
		home := t.TempDir()
		os.MkdirAll(filepath.Join(home, ".aliyun"), 0o700)
		conf := `{"current":"` + current + `","profiles":[{"name":"default","mode":"AK","region_id":"cn-beijing"},{"name":"work","mode":"AK","region_id":"eu-central-1"}]}`
		if err := os.WriteFile(filepath.Join(home, ".aliyun", "config.json"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return home
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // the one region scanned; "" for a usage error
	}{
		{"flag wins", map[string]string{"VPNCHECK_REGIONS": "cn-beijing", "ALIBABA_CLOUD_REGION_ID": "cn-beijing"}, []string{"--regions", "cn-hangzhou"}, "cn-hangzhou"},
		{"VPNCHECK_REGIONS", map[string]string{"VPNCHECK_REGIONS": "cn-shanghai", "ALIBABA_CLOUD_REGION_ID": "cn-beijing"}, nil, "cn-shanghai"},
		{"ALIBABA_CLOUD_REGION_ID", map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-shenzhen"}, nil, "cn-shenzhen"},
		{"current profile", map[string]string{"HOME": "profile:default", "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": ""}, nil, "cn-beijing"},
		{"named profile", map[string]string{"HOME": "profile:default", "ALIBABA_CLOUD_PROFILE": "work", "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": ""}, nil, "eu-central-1"},
		{"profile disabled", map[string]string{"HOME": "profile:work"}, nil, ""},
		{"nothing", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				if cur, ok := strings.CutPrefix(v, "profile:"); ok {
					v = profile(t, cur)
				}
				env[k] = v
			}
			code, out, errs := cli(t, env, append([]string{"check", "--format", "json"}, tc.args...)...)
			if tc.want == "" {
				if code != exitUsage || !strings.Contains(errs, "no region to scan") {
					t.Fatalf("exit %d, stderr %q; want a usage error", code, errs)
				}
				return
			}
			if rep := parseReport(t, out); code != exitOK || !slices.Equal(rep.Summary.RegionsScanned, []string{tc.want}) {
				t.Fatalf("exit %d, scanned %v, stderr %s; want %s", code, rep.Summary.RegionsScanned, errs, tc.want)
			}
		})
	}
}

func TestLiveBadEndpoint(t *testing.T) {
	_, env := liveEnv(t)
	env["VPNCHECK_VPC_ENDPOINT"] = "127.0.0.1:8080"
	if code, _, errs := cli(t, env, "check", "--regions", "cn-hangzhou"); code != exitUsage || !strings.Contains(errs, "VPNCHECK_VPC_ENDPOINT") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestLiveSaveInventoryReplays(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 123, canaryConn)
	s.Generate("cn-shanghai", 7, canaryConn)
	dir := filepath.Join(t.TempDir(), "inv")
	code, live, errs := cli(t, env, "check", "--regions", "cn-hangzhou,cn-shanghai", "--save-inventory", dir, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 4 {
		t.Fatalf("files %v, want 4 (one per page)", files)
	}
	args := []string{"check", "--format", "json"}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		noSecrets(t, string(b))
		args = append(args, "--inventory", f)
	}
	code, replay, errs := cli(t, nil, args...)
	if code != exitOK {
		t.Fatalf("replay: exit %d, stderr %s", code, errs)
	}
	a, b := parseReport(t, live), parseReport(t, replay)
	if a.Summary.Connections != 130 || b.Summary.Connections != 130 || !slices.Equal(a.Summary.RegionsScanned, b.Summary.RegionsScanned) {
		t.Fatalf("live %+v, replay %+v", a.Summary, b.Summary)
	}
	noSecrets(t, live, replay)
}

func TestLiveDeadlineKeepsWhatWasRead(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 3, canaryConn)
	s.Generate("cn-shanghai", 3, canaryConn)
	s.SetLatency("cn-shanghai", time.Hour)
	cfg := &checkConfig{regions: []string{"cn-hangzhou", "cn-shanghai"}, concurrency: 2}
	src, err := cfg.source(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := loadEngine(context.Background(), "", false, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	// Collection stops half-way (1s), which cn-hangzhou's answer needs to
	// beat on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := run.Execute(ctx, run.Plan{Source: src, Engine: eng})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	rep := res.Report
	if rep.Summary.Connections != 3 || !slices.Equal(rep.Summary.RegionsFailed, []string{"cn-shanghai"}) ||
		len(rep.Errors) != 1 || rep.Errors[0].Code != report.CodeDeadlineExceeded || !strings.Contains(rep.Errors[0].Message, "cn-shanghai is incomplete") {
		t.Fatalf("summary %+v, errors %+v", rep.Summary, rep.Errors)
	}
}

// A page that cannot be saved does not cost the run its report.
func TestLiveSaveFailureStillReports(t *testing.T) {
	s, env := liveEnv(t)
	s.Generate("cn-hangzhou", 3, canaryConn)
	dir := t.TempDir()
	// A directory where the page file must go makes the write fail.
	if err := os.Mkdir(filepath.Join(dir, "cn-hangzhou-page-1.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou", "--save-inventory", dir, "--format", "json")
	if code != exitIncomplete || !strings.Contains(errs, "save inventory") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if rep := parseReport(t, out); rep.Summary.Connections != 3 {
		t.Errorf("report = %+v", rep.Summary)
	}
	noSecrets(t, out, errs)
}
