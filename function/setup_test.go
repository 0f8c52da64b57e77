package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/deploy"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/secrets/kmsfake"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

const (
	deployAccount = "1234567890123456"
	deployMember  = "2234567890123456"
	deployKey     = "CANARY-DEPLOYER-KEY-8d2e"
	slackCanary   = "https://hooks.slack.com/services/T00/B00/CANARY-SLACK-0e1d"
)

// deployFakes are the services setup and doctor talk to.
type deployFakes struct {
	ram *orgfake.RAM
	sts *orgfake.STS
	rm  *orgfake.ResourceManager
	oss *ossfake.Server
	kms *kmsfake.Server
	fc  *orgfake.FC
	env map[string]string
}

func startDeployFakes(t *testing.T) *deployFakes {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	me := acsfake.Credential{AccessKeyID: "LTAI5tDeployer", AccessKeySecret: deployKey, Label: deployAccount}
	f := &deployFakes{ram: orgfake.StartRAM(me), sts: orgfake.StartSTS(me), rm: orgfake.StartResourceManager(me), kms: kmsfake.Start(me), fc: orgfake.StartFC(me)}
	for _, c := range []interface{ Close() }{f.ram, f.sts, f.rm, f.kms, f.fc} {
		t.Cleanup(c.Close)
	}
	f.oss = ossfake.New(t, ossfake.Config{AccessKeyID: me.AccessKeyID, AccessKeySecret: deployKey})
	f.sts.SetIdentity(deployAccount, deployAccount, "platform-admin")
	f.sts.WireRAM(f.ram)
	f.sts.AddRole(orgfake.Role{AccountID: deployMember, Name: "ResourceDirectoryAccountAccessRole"})
	f.rm.AddAccounts(orgfake.Account{ID: deployAccount, DisplayName: "management"}, orgfake.Account{ID: deployMember, DisplayName: "prod"})
	f.kms.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: `{"webhook_url": "` + slackCanary + `"}`})
	f.env = map[string]string{
		"HOME": t.TempDir(), "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": me.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": deployKey,
		"VPNCHECK_DEPLOY_REGION": "cn-hangzhou",
		"VPNCHECK_RAM_ENDPOINT":  f.ram.URL, "VPNCHECK_STS_ENDPOINT": f.sts.Endpoint(), "VPNCHECK_RESOURCEMANAGER_ENDPOINT": f.rm.URL,
		"VPNCHECK_OSS_ENDPOINT": f.oss.URL, "VPNCHECK_KMS_ENDPOINT": f.kms.URL, "VPNCHECK_FC_ENDPOINT": f.fc.URL,
		"VPNCHECK_STATE": "oss://vpncheck-state-" + deployAccount + "/vpncheck", "VPNCHECK_SLACK_SECRET": "vpncheck/slack",
	}
	return f
}

func (f *deployFakes) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := cliStdin
	cliStdin = strings.NewReader(stdin)
	defer func() { cliStdin = old }()
	var out, errb bytes.Buffer
	code := runCLI(context.Background(), args, func(k string) string { return f.env[k] }, &out, &errb)
	for _, s := range []string{deployKey, slackCanary, "CANARY"} {
		if strings.Contains(out.String()+errb.String(), s) {
			t.Errorf("vpncheck %s prints the secret %s", args[0], s)
		}
	}
	return code, out.String(), errb.String()
}

// TestSetupAndDoctor: from a new account to a healthy deployment, as
// docs/deploy.md walks it: setup's plan, its confirmation, a second setup
// with nothing to change, doctor before and after s deploy.
func TestSetupAndDoctor(t *testing.T) {
	f := startDeployFakes(t)
	code, out, errs := f.run(t, "", "setup", "--dry-run")
	t.Logf("setup --dry-run:\n%s", out)
	if code != exitOK || !strings.Contains(out, "Plan for account "+deployAccount+" in cn-hangzhou:") || !strings.Contains(out, "Dry run: 10 changes, nothing changed.") || f.ram.Writes() != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = f.run(t, "no\n", "setup")
	if code != exitDeclined || !strings.Contains(out, "Apply 10 changes? Only 'yes' is accepted: ") || !strings.Contains(errs, "not confirmed") || f.ram.Writes() != 0 {
		t.Fatalf("declined: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = f.run(t, "yes\n", "setup")
	t.Logf("setup:\n%s", out)
	if code != exitOK || !strings.Contains(out, "Next: export VPNCHECK_ROLE_ARN=acs:ram::"+deployAccount+":role/vpncheck VPNCHECK_LOG_PROJECT=vpncheck-logs-"+deployAccount+" VPNCHECK_LOG_STORE=vpncheck") {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = f.run(t, "", "setup", "--yes")
	t.Logf("setup again:\n%s", out)
	if code != exitOK || !strings.Contains(out, "Nothing to change.") {
		t.Errorf("second setup: exit %d\n%s", code, out)
	}

	code, out, _ = f.run(t, "", "doctor")
	t.Logf("doctor before s deploy:\n%s", out)
	if code != exitDeclined || !strings.Contains(out, "✗ function vpncheck is deployed in cn-hangzhou") || !strings.Contains(out, "fix: run s deploy") {
		t.Errorf("doctor before deploy: exit %d\n%s", code, out)
	}

	// What s deploy makes of s.yaml with the variables setup printed.
	f.fc.SetFunction("vpncheck", orgfake.FunctionConfig{
		Role: "acs:ram::" + deployAccount + ":role/vpncheck", LogProject: "vpncheck-logs-" + deployAccount, LogStore: "vpncheck",
		Environment: map[string]string{"VPNCHECK_SLACK_SECRET": "vpncheck/slack", "VPNCHECK_STATE": f.env["VPNCHECK_STATE"], "VPNCHECK_REGIONS": "all",
			"SLACK_WEBHOOK_URL": "", "SLACK_BOT_TOKEN": "", "SLACK_CHANNEL": ""},
		Triggers: []orgfake.Trigger{{Name: "hourly", Type: "timer"}, {Name: "vpn-changes", Type: "eventbridge"}},
	})
	code, out, _ = f.run(t, "", "doctor")
	t.Logf("doctor:\n%s", out)
	if code != exitOK || !strings.Contains(out, "checks passed.") {
		t.Errorf("doctor: exit %d\n%s", code, out)
	}

	// Organisation-wide.
	code, out, _ = f.run(t, "", "setup", "--member-accounts", "all", "--yes")
	t.Logf("setup --member-accounts all:\n%s", out)
	if code != exitOK || !strings.Contains(out, deployMember+" (prod): created") {
		t.Errorf("org setup: exit %d\n%s", code, out)
	}
	f.sts.AddRole(orgfake.Role{AccountID: "3234567890123456", Name: "ResourceDirectoryAccountAccessRole", DenyCode: "NoPermission"})
	f.rm.AddAccounts(orgfake.Account{ID: "3234567890123456", DisplayName: "legacy"})
	code, out, _ = f.run(t, "", "setup", "--member-accounts", "all", "--yes")
	t.Logf("setup --member-accounts all, one account closed:\n%s", out)
	if code != exitMemberFailed || !strings.Contains(out, deployMember+" (prod): already there") || !strings.Contains(out, "3234567890123456 (legacy): failed (enter with ResourceDirectoryAccountAccessRole: no permission") {
		t.Errorf("org setup with a closed account: exit %d\n%s", code, out)
	}
}

func TestSetupUsage(t *testing.T) {
	f := startDeployFakes(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"setup", "--state-bucket", "Bad_Name"}, `--state-bucket "Bad_Name"`},
		{[]string{"setup", "--member-accounts", "prod"}, `--member-accounts: "prod" is not an account id`},
		{[]string{"doctor", "--log-store", "x"}, `--log-store "x"`},
	} {
		code, _, errs := f.run(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, errs)
		}
	}
	f.ram.Deny(deployAccount, "ram:CreateRole")
	code, _, errs := f.run(t, "", "setup", "--yes")
	if code != exitIncomplete || !strings.Contains(errs, "lacks ram:CreateRole (NoPermission") {
		t.Errorf("NoPermission: exit %d, %s", code, errs)
	}
}

// setup and doctor read the flags they share the one way: each argument
// list is accepted by both, with the same configuration, or refused by
// both with the same error. Only setup's own flags (--dry-run, --yes) set
// them apart.
func TestSetupDoctorSameFlags(t *testing.T) {
	env := map[string]string{
		"HOME": t.TempDir(), "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
		"VPNCHECK_STATE": "oss://vpncheck-state-" + deployAccount + "/vpncheck",
	}
	getenv := func(k string) string { return env[k] }
	parse := func(cmd string, args []string) (deploy.Config, error) {
		var more func(*flag.FlagSet)
		if cmd == "setup" {
			more = func(fs *flag.FlagSet) { fs.Bool("dry-run", false, ""); fs.Bool("yes", false, "") }
		}
		return parseDeploy("vpncheck "+cmd, args, getenv, io.Discard, more)
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--region", "cn-hangzhou"}, true},
		{[]string{"--region", "cn-hangzhou", "--state-bucket", "other-bucket", "--state-prefix", "p", "--role", "r1"}, true},
		{[]string{"--region", "cn-hangzhou", "--member-accounts", deployMember, "--reader-role", "Reader", "--external-id", "x-1"}, true},
		{[]string{"--region", "cn-hangzhou", "--config-rule", "vpncheck-rule", "--bundle-key", "policies/team.tar.gz"}, true},
		{nil, false}, // no region anywhere
		{[]string{"--region", "cn-hangzhou", "--state-bucket", "Bad_Name"}, false},
		{[]string{"--region", "cn-hangzhou", "--member-accounts", "prod"}, false},
		{[]string{"--region", "cn-hangzhou", "--log-store", "x"}, false},
		{[]string{"--region", "cn-hangzhou", "--no-such-flag"}, false},
		{[]string{"--region", "cn-hangzhou", "extra"}, false},
	} {
		sc, serr := parse("setup", tc.args)
		dc, derr := parse("doctor", tc.args)
		if (serr == nil) != tc.ok || (derr == nil) != tc.ok {
			t.Errorf("%q: setup %v, doctor %v; want ok=%v", tc.args, serr, derr, tc.ok)
			continue
		}
		if serr != nil {
			if s, d := strings.ReplaceAll(serr.Error(), "setup", "CMD"), strings.ReplaceAll(derr.Error(), "doctor", "CMD"); s != d {
				t.Errorf("%q: setup says %q, doctor %q", tc.args, s, d)
			}
			continue
		}
		if !reflect.DeepEqual(sc, dc) {
			t.Errorf("%q: setup reads %+v, doctor %+v", tc.args, sc, dc)
		}
	}
	for _, own := range []string{"--dry-run", "--yes"} {
		args := []string{"--region", "cn-hangzhou", own}
		if _, err := parse("setup", args); err != nil {
			t.Errorf("setup %s: %v", own, err)
		}
		if _, err := parse("doctor", args); err == nil {
			t.Errorf("doctor %s: accepted", own)
		}
	}
}
