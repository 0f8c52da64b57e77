package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/deploy"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/secrets"
	"github.com/vpncheck/vpncheck/checker/secrets/kmsfake"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

const (
	webhookCanary = "https://hooks.slack.com/services/T0/B0/CANARY-WEBHOOK-93ab"
	pepperCanary  = "CANARY-PEPPER-1f7d"
)

// deployed is a world after setup and s deploy: every check passes.
type deployed struct {
	*world
	fc   *orgfake.FC
	kms  *kmsfake.Server
	cfg  deploy.Config
	fn   orgfake.FunctionConfig
	denv deploy.DoctorEnv
	sts  *orgfake.STS
}

func newDeployed(t *testing.T) *deployed {
	t.Helper()
	d := &deployed{world: newWorld(t, ossfake.Config{}), cfg: baseConfig()}
	d.cfg.PepperSecret = "vpncheck/pepper"
	d.cfg.Members = []string{memberFresh}
	rm := orgfake.StartResourceManager(deployer)
	t.Cleanup(rm.Close)
	d.sts = orgfake.StartSTS(deployer)
	t.Cleanup(d.sts.Close)
	d.sts.WireRAM(d.ram)
	d.sts.AddRole(orgfake.Role{AccountID: memberFresh, Name: deploy.DefaultAccessRole})
	d.env.Members = deploy.Directory{Base: d.cred, RMEndpoint: rm.URL, STSEndpoint: d.sts.Endpoint(), RAMEndpoint: d.ram.URL}
	if _, out, err := setup(t, d.world, d.cfg, deploy.Options{Yes: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d.fc = orgfake.StartFC(deployer)
	t.Cleanup(d.fc.Close)
	d.fn = orgfake.FunctionConfig{
		Role: "acs:ram::" + mgmt + ":role/vpncheck", LogProject: "vpncheck-logs-" + mgmt, LogStore: "vpncheck",
		Environment: map[string]string{"VPNCHECK_SLACK_SECRET": "vpncheck/slack", "VPNCHECK_KEY_PEPPER_SECRET": "vpncheck/pepper",
			"VPNCHECK_STATE": "oss://" + d.cfg.StateBucket + "/vpncheck", "VPNCHECK_REGIONS": "all"},
		Triggers: []orgfake.Trigger{{Name: "hourly", Type: "timer", Config: `{"cronExpression":"0 5 * * * *"}`}, {Name: "vpn-changes", Type: "eventbridge", Config: "{}"}},
	}
	d.fc.SetFunction("vpncheck", d.fn)
	d.kms = kmsfake.Start(deployer)
	t.Cleanup(d.kms.Close)
	d.kms.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: `{"webhook_url": "` + webhookCanary + `"}`})
	d.kms.Put(kmsfake.Secret{Name: "vpncheck/pepper", Data: pepperCanary})
	fcc, err := org.NewClient(d.cred, d.fc.URL, org.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := secrets.NewKMS(d.cred, "cn-hangzhou", d.kms.URL)
	if err != nil {
		t.Fatal(err)
	}
	d.denv = deploy.DoctorEnv{Env: d.env, FC: fcc, Secrets: k}
	return d
}

// doctor runs doctor with only the names setup was not given through the
// function's environment: the account, the region, the member.
func (d *deployed) doctor(t *testing.T) ([]deploy.Check, bool, string) {
	t.Helper()
	var out bytes.Buffer
	c := deploy.Config{AccountID: mgmt, Region: "cn-hangzhou", Members: []string{memberFresh}}
	checks, ok, err := deploy.Doctor(context.Background(), c, d.denv, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{webhookCanary, pepperCanary, deployerKey, "CANARY"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("doctor's output holds the secret %s", s)
		}
	}
	return checks, ok, out.String()
}

func TestDoctorHealthy(t *testing.T) {
	d := newDeployed(t)
	d.denv.Bundle = func(context.Context, map[string]string) error { return nil }
	writes := d.ram.Writes()
	checks, ok, out := d.doctor(t)
	t.Logf("\n%s", out)
	if !ok || len(checks) < 15 || !strings.Contains(out, "All ") {
		t.Errorf("ok %v, %d checks\n%s", ok, len(checks), out)
	}
	if d.oss.Count("PutObject") != 2 || d.oss.Count("DeleteObject") != 1 {
		t.Errorf("probe: %d puts, %d deletes", d.oss.Count("PutObject"), d.oss.Count("DeleteObject"))
	}
	if d.ram.Writes() != writes {
		t.Errorf("RAM writes %d: doctor changed something", d.ram.Writes())
	}
}

// TestDoctorFindsEachBrokenPiece breaks one piece at a time: doctor fails
// that check, names the fix, and still runs the others.
func TestDoctorFindsEachBrokenPiece(t *testing.T) {
	for _, tc := range []struct {
		name       string
		breakIt    func(d *deployed)
		check, fix string
	}{
		{"role trusts another service", func(d *deployed) {
			r, _ := d.ram.Role(mgmt, "vpncheck")
			r.Trust = `{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}]}`
			d.ram.PutRole(mgmt, r)
		}, "✗ role vpncheck exists and trusts fc.aliyuncs.com only: its trust policy is not Function Compute alone", "fix: run vpncheck setup"},
		{"policy detached", func(d *deployed) {
			r, _ := d.ram.Role(mgmt, "vpncheck")
			r.Policy = r.Policy[1:]
			d.ram.PutRole(mgmt, r)
		}, "✗ role vpncheck has policy vpncheck-read (read VPN connections and regions (vpc:DescribeVpnConnections, vpc:DescribeRegions), nothing else): not attached", "fix: run vpncheck setup"},
		{"function runs as another role", func(d *deployed) {
			d.fn.Role = "acs:ram::" + mgmt + ":role/AliyunFCDefaultRole"
			d.fc.SetFunction("vpncheck", d.fn)
		}, "✗ function vpncheck runs as role vpncheck", "fix: export VPNCHECK_ROLE_ARN=acs:ram::" + mgmt + ":role/vpncheck and run s deploy"},
		{"logs elsewhere", func(d *deployed) {
			d.fn.LogProject = "serverless-cn-hangzhou-1234"
			d.fc.SetFunction("vpncheck", d.fn)
		}, "which vpncheck-logs does not grant", "fix: export VPNCHECK_LOG_PROJECT=vpncheck-logs-" + mgmt},
		{"Slack in plain text", func(d *deployed) {
			d.fn.Environment = map[string]string{"SLACK_WEBHOOK_URL": webhookCanary, "VPNCHECK_STATE": "oss://" + d.cfg.StateBucket + "/vpncheck", "VPNCHECK_KEY_PEPPER_SECRET": "vpncheck/pepper"}
			d.fc.SetFunction("vpncheck", d.fn)
		}, "✗ function environment (SLACK_WEBHOOK_URL, VPNCHECK_KEY_PEPPER_SECRET, VPNCHECK_STATE) takes Slack from a KMS secret: a Slack credential is in plain text", "fix: store it in a KMS secret, export VPNCHECK_SLACK_SECRET=NAME"},
		{"no Slack destination", func(d *deployed) {
			delete(d.fn.Environment, "VPNCHECK_SLACK_SECRET")
			d.fc.SetFunction("vpncheck", d.fn)
		}, "takes Slack from a KMS secret: no Slack destination: VPNCHECK_SLACK_SECRET is empty", "fix: export VPNCHECK_SLACK_SECRET=NAME"},
		{"versioned bucket", func(d *deployed) { d.oss.SetVersioning(d.cfg.StateBucket, "Enabled") },
			"✗ state bucket " + "vpncheck-state-" + mgmt + " exists, is yours, private and never versioned: versioning is Enabled", "fix: use a new bucket whose versioning was never enabled"},
		{"Slack secret missing", func(d *deployed) {
			d.kms.Put(kmsfake.Secret{Name: "other"})
			d.fn.Environment["VPNCHECK_SLACK_SECRET"] = "vpncheck/slack2"
			d.fc.SetFunction("vpncheck", d.fn)
		},
			"✗ secret vpncheck/slack2 holds a Slack webhook or bot token: get secret vpncheck/slack2: secret not found", "fix: create the secret vpncheck/slack2 in KMS Secrets Manager"},
		{"Slack secret malformed", func(d *deployed) { d.kms.Put(kmsfake.Secret{Name: "vpncheck/slack", Data: webhookCanary}) },
			"✗ secret vpncheck/slack holds a Slack webhook or bot token: secret vpncheck/slack: not a JSON object", `fix: make its value {"webhook_url"`},
		{"no EventBridge trigger", func(d *deployed) { d.fn.Triggers = d.fn.Triggers[:1]; d.fc.SetFunction("vpncheck", d.fn) },
			"✗ function vpncheck has an EventBridge trigger: none", "fix: activate EventBridge, authorise its service-linked role"},
		{"member role missing", func(d *deployed) { d.ram.PutRole(memberFresh, orgfake.RAMRole{Name: "vpncheck-reader", Trust: "{}"}) },
			"✗ account " + memberFresh + " has role vpncheck-reader trusting acs:ram::" + mgmt + ":role/vpncheck with vpncheck-read: missing: update the trust policy of role vpncheck-reader; attach policy vpncheck-read to role vpncheck-reader", "fix: run vpncheck setup --member-accounts " + memberFresh},
		{"bundle does not verify", func(d *deployed) {
			d.fn.Environment["VPNCHECK_POLICY_BUNDLE"] = "oss://b/team.tar.gz"
			d.fc.SetFunction("vpncheck", d.fn)
			d.denv.Bundle = func(context.Context, map[string]string) error { return errors.New("verify bundle signature: invalid") }
		}, "✗ policy bundle oss://b/team.tar.gz loads and its signature verifies: verify bundle signature: invalid", "fix: rebuild it with policies/bundle.sh"},
		{"function not deployed", func(d *deployed) { d.fc.Close() },
			"✗ function vpncheck is deployed in cn-hangzhou", "fix: run s deploy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeployed(t)
			tc.breakIt(d)
			_, ok, out := d.doctor(t)
			if ok || !strings.Contains(out, tc.check) || !strings.Contains(out, tc.fix) || !strings.Contains(out, "✓ ") {
				t.Errorf("want %q with %q\n%s", tc.check, tc.fix, out)
			}
		})
	}
}

// TestDoctorInert: the deployed function's configuration (its
// environment's names and values, its log project) is the cloud's, and
// reaches the terminal as inert text: no escape sequence, no line of its own.
func TestDoctorInert(t *testing.T) {
	d := newDeployed(t)
	hostile := "x\x1b[2J\x1b]8;;https://evil.example\x07\n✓ all good\u202e"
	d.fn.Environment["VPNCHECK_POLICY_BUNDLE"] = "oss://b/" + hostile
	d.fn.Environment["EXTRA_"+hostile] = "1"
	d.fn.LogProject = "logs-" + hostile
	d.fc.SetFunction("vpncheck", d.fn)
	d.denv.Bundle = func(context.Context, map[string]string) error { return errors.New("load bundle: " + hostile) }
	_, ok, out := d.doctor(t)
	if ok {
		t.Errorf("doctor passed:\n%s", out)
	}
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Errorf("output carries control characters:\n%q", out)
	}
	if strings.Contains(out, "\n✓ all good") {
		t.Errorf("a value starts a line of its own:\n%s", out)
	}
}

// Checks that could not be printed are an error, not a silent pass.
func TestDoctorOutputFails(t *testing.T) {
	d := newDeployed(t)
	d.denv.Bundle = func(context.Context, map[string]string) error { return nil }
	c := deploy.Config{AccountID: mgmt, Region: "cn-hangzhou", Members: []string{memberFresh}}
	_, _, err := deploy.Doctor(context.Background(), c, d.denv, brokenOut{})
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("error %v: want the failed write", err)
	}
}
