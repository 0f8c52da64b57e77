package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/deploy"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

const (
	mgmt         = "1000000000000000"
	deployerID   = "LTAI5tDeployer"
	deployerKey  = "CANARY-DEPLOYER-SECRET-6a1f"
	memberFresh  = "2000000000000001"
	memberReady  = "2000000000000002"
	memberClosed = "2000000000000003"
)

var deployer = acsfake.Credential{AccessKeyID: deployerID, AccessKeySecret: deployerKey, Label: mgmt}

// world is one management account and its fakes.
type world struct {
	ram  *orgfake.RAM
	oss  *ossfake.Server
	cred credentials.Credential
	env  deploy.Env
}

func newWorld(t *testing.T, ossCfg ossfake.Config) *world {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	w := &world{ram: orgfake.StartRAM(deployer)}
	t.Cleanup(w.ram.Close)
	ossCfg.AccessKeyID, ossCfg.AccessKeySecret = deployerID, deployerKey
	w.oss = ossfake.New(t, ossCfg)
	var err error
	w.cred, err = credentials.NewCredential(&credentials.Config{Type: tea.String("access_key"), AccessKeyId: tea.String(deployerID), AccessKeySecret: tea.String(deployerKey)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := org.NewClient(w.cred, w.ram.URL, org.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.env = deploy.Env{RAM: rc, OSS: state.NewOSSClient(state.Options{Region: "cn-hangzhou", Endpoint: w.oss.URL, Credential: w.cred})}
	return w
}

func baseConfig() deploy.Config {
	return deploy.Config{AccountID: mgmt, Region: "cn-hangzhou", StateBucket: "vpncheck-state-" + mgmt, SlackSecret: "vpncheck/slack"}
}

func setup(t *testing.T, w *world, c deploy.Config, o deploy.Options) (*deploy.Result, string, error) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	res, err := deploy.Setup(context.Background(), c, w.env, o)
	if strings.Contains(out.String(), deployerKey) || (err != nil && strings.Contains(err.Error(), deployerKey)) {
		t.Error("output leaks the deployer's secret")
	}
	return res, out.String(), err
}

// TestSetupTwice: the first run creates the role, its policies, the
// bucket; the second finds nothing to change and changes nothing.
func TestSetupTwice(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	c := baseConfig()
	res, out, err := setup(t, w, c, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("first run:\n%s", out)
	role, ok := w.ram.Role(mgmt, "vpncheck")
	if !ok || !strings.Contains(role.Trust, `"fc.aliyuncs.com"`) {
		t.Fatalf("role = %+v", role)
	}
	want := []string{"Custom:vpncheck-read", "Custom:vpncheck-logs", "Custom:vpncheck-state", "Custom:vpncheck-secrets"}
	if strings.Join(role.Policy, " ") != strings.Join(want, " ") {
		t.Errorf("attached %v, want %v", role.Policy, want)
	}
	logs, _ := w.ram.Policy(mgmt, "vpncheck-logs")
	if !strings.Contains(logs.Document, "acs:log:cn-hangzhou:"+mgmt+":project/vpncheck-logs-"+mgmt+"/logstore/vpncheck") {
		t.Errorf("logs policy = %s", logs.Document)
	}
	sec, _ := w.ram.Policy(mgmt, "vpncheck-secrets")
	if !strings.Contains(sec.Document, "acs:kms:cn-hangzhou:"+mgmt+":secret/vpncheck/slack") || !strings.Contains(sec.Document, "kms:GetSecretValue") {
		t.Errorf("secrets policy = %s", sec.Document)
	}
	st, _ := w.ram.Policy(mgmt, "vpncheck-state")
	if strings.Contains(st.Document, "<") || strings.Contains(st.Document, "vpncheck-state/") && !strings.Contains(st.Document, c.StateBucket+"/vpncheck/*") {
		t.Errorf("state policy = %s", st.Document)
	}
	acl, sse, lc, ok := w.oss.BucketSettings(c.StateBucket)
	if !ok || acl != "private" || sse != "AES256" || !strings.Contains(lc, deploy.LifecycleRuleID) {
		t.Errorf("bucket: exists %v acl %q sse %q lifecycle %q", ok, acl, sse, lc)
	}
	if res.Changes != res.Applied || res.Changes != 10 {
		t.Errorf("changes %d applied %d, want 10", res.Changes, res.Applied)
	}

	writes, puts := w.ram.Writes(), w.oss.Count("PutBucket")+w.oss.Count("PutBucketEncryption")+w.oss.Count("PutBucketLifecycle")
	res, out, err = setup(t, w, c, deploy.Options{Yes: true})
	if err != nil || res.Changes != 0 || !strings.Contains(out, "Nothing to change.") {
		t.Fatalf("second run: %v, %d changes\n%s", err, res.Changes, out)
	}
	t.Logf("second run:\n%s", out)
	if w.ram.Writes() != writes || w.oss.Count("PutBucket")+w.oss.Count("PutBucketEncryption")+w.oss.Count("PutBucketLifecycle") != puts {
		t.Error("the second run changed something")
	}
}

// TestSetupAsksFirst: a dry run and a declined plan change nothing;
// "yes" applies.
func TestSetupAsksFirst(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	c := baseConfig()
	_, out, err := setup(t, w, c, deploy.Options{DryRun: true})
	if err != nil || !strings.Contains(out, "+ create role vpncheck: the function's identity, trusted by fc.aliyuncs.com only") ||
		!strings.Contains(out, "Dry run: 10 changes, nothing changed.") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	_, out, err = setup(t, w, c, deploy.Options{In: strings.NewReader("y\n")})
	if !errors.Is(err, deploy.ErrDeclined) || !strings.Contains(out, "Apply 10 changes? Only 'yes' is accepted") {
		t.Errorf("declined: %v\n%s", err, out)
	}
	if w.ram.Writes() != 0 || w.oss.Count("PutBucket") != 0 {
		t.Fatal("changed something before confirmation")
	}
	if _, out, err = setup(t, w, c, deploy.Options{In: strings.NewReader("yes\n")}); err != nil || w.ram.Writes() == 0 {
		t.Errorf("confirmed: %v\n%s", err, out)
	}
}

// TestSetupRepairs: a policy whose document drifted gets a new default
// version, a public bucket becomes private, a role trusting someone else
// is corrected.
func TestSetupRepairs(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	c := baseConfig()
	if _, _, err := setup(t, w, c, deploy.Options{Yes: true}); err != nil {
		t.Fatal(err)
	}
	w.ram.PutPolicy(mgmt, orgfake.RAMPolicy{Name: "vpncheck-read", Document: `{"Version":"1","Statement":[{"Effect":"Allow","Action":["vpc:*"],"Resource":"*"}]}`})
	w.ram.PutRole(mgmt, orgfake.RAMRole{Name: "vpncheck", Trust: `{"Version":"1","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}]}`,
		Policy: []string{"Custom:vpncheck-read", "Custom:vpncheck-logs", "Custom:vpncheck-state", "Custom:vpncheck-secrets"}})
	w.oss.SetACL(c.StateBucket, "public-read")
	res, out, err := setup(t, w, c, deploy.Options{Yes: true})
	if err != nil || res.Changes != 3 {
		t.Fatalf("%v, %d changes\n%s", err, res.Changes, out)
	}
	for _, want := range []string{"~ update policy vpncheck-read: its document differs", "~ update the trust policy of role vpncheck", "~ set the ACL of bucket " + c.StateBucket + " to private: it is public-read"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q\n%s", want, out)
		}
	}
	p, _ := w.ram.Policy(mgmt, "vpncheck-read")
	r, _ := w.ram.Role(mgmt, "vpncheck")
	acl, _, _, _ := w.oss.BucketSettings(c.StateBucket)
	if strings.Contains(p.Document, "vpc:*") || !strings.Contains(r.Trust, "fc.aliyuncs.com") || acl != "private" {
		t.Errorf("not repaired: policy %s, trust %s, acl %s", p.Document, r.Trust, acl)
	}
}

// TestSetupErrors: what a real account answers, said so the user can act.
func TestSetupErrors(t *testing.T) {
	t.Run("bucket name taken", func(t *testing.T) {
		c := baseConfig()
		c.StateBucket = "vpncheck-state"
		w := newWorld(t, ossfake.Config{Foreign: []string{"vpncheck-state"}})
		_, _, err := setup(t, w, c, deploy.Options{Yes: true})
		if !errors.Is(err, deploy.ErrBucketTaken) || !strings.Contains(err.Error(), "for example vpncheck-state-"+mgmt) || !strings.Contains(err.Error(), "--state-bucket") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("versioned bucket", func(t *testing.T) {
		c := baseConfig()
		w := newWorld(t, ossfake.Config{Buckets: []string{c.StateBucket}})
		w.oss.SetVersioning(c.StateBucket, "Suspended")
		_, _, err := setup(t, w, c, deploy.Options{Yes: true})
		if !errors.Is(err, deploy.ErrVersioned) || !strings.Contains(err.Error(), "Suspended") {
			t.Errorf("err = %v", err)
		}
	})
	for _, action := range []string{"ram:GetRole", "ram:CreateRole", "ram:CreatePolicy", "ram:AttachPolicyToRole"} {
		t.Run("NoPermission "+action, func(t *testing.T) {
			w := newWorld(t, ossfake.Config{})
			w.ram.Deny(mgmt, action)
			_, _, err := setup(t, w, baseConfig(), deploy.Options{Yes: true})
			if !errors.Is(err, deploy.ErrNoPermission) || !strings.Contains(err.Error(), "lacks "+action+" (NoPermission") {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("no state bucket, no state policy", func(t *testing.T) {
		w := newWorld(t, ossfake.Config{})
		c := baseConfig()
		c.StateBucket, c.SlackSecret = "", ""
		if _, out, err := setup(t, w, c, deploy.Options{Yes: true}); err != nil || strings.Contains(out, "vpncheck-state") || strings.Contains(out, "vpncheck-secrets") {
			t.Errorf("%v\n%s", err, out)
		}
		if w.oss.Count("") != 0 {
			t.Error("OSS called without a state bucket")
		}
	})
	t.Run("bad names", func(t *testing.T) {
		w := newWorld(t, ossfake.Config{})
		c := baseConfig()
		c.StateBucket = "Vpncheck_State"
		if _, _, err := setup(t, w, c, deploy.Options{Yes: true}); err == nil || !strings.Contains(err.Error(), "--state-bucket") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestSetupMembers: the reader role in every member account, entered with
// the access role; each reported created, already there or failed (why).
func TestSetupMembers(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	rm := orgfake.StartResourceManager(deployer)
	defer rm.Close()
	rm.AddAccounts(orgfake.Account{ID: mgmt}, orgfake.Account{ID: memberFresh, DisplayName: "prod"},
		orgfake.Account{ID: memberReady, DisplayName: "dev"}, orgfake.Account{ID: memberClosed, DisplayName: "old"})
	sts := orgfake.StartSTS(deployer)
	defer sts.Close()
	sts.WireRAM(w.ram)
	for _, a := range []string{memberFresh, memberReady} {
		sts.AddRole(orgfake.Role{AccountID: a, Name: deploy.DefaultAccessRole})
	}
	sts.AddRole(orgfake.Role{AccountID: memberClosed, Name: deploy.DefaultAccessRole, DenyCode: "NoPermission"})
	c := baseConfig()
	c.AllMembers, c.ExternalID = true, "ext-42"
	// memberReady already has the role and policy as setup makes them.
	w.ram.PutRole(memberReady, orgfake.RAMRole{Name: "vpncheck-reader", Trust: c.WithDefaults().ReaderTrust(), Policy: []string{"Custom:vpncheck-read"}})
	w.ram.PutPolicy(memberReady, orgfake.RAMPolicy{Name: "vpncheck-read", Document: deploy.ReaderDocument()})
	w.env.Members = deploy.Directory{Base: w.cred, RMEndpoint: rm.URL, STSEndpoint: sts.Endpoint(), RAMEndpoint: w.ram.URL}

	res, out, err := setup(t, w, c, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	got := map[string]string{}
	for _, m := range res.Members {
		got[m.Account] = m.Outcome
		if m.Outcome == "failed" && !strings.Contains(m.Why, "NoPermission") {
			t.Errorf("%s failed without the reason: %q", m.Account, m.Why)
		}
	}
	if got[memberFresh] != "created" || got[memberReady] != "already there" || got[memberClosed] != "failed" || len(got) != 3 {
		t.Errorf("outcomes = %v", got)
	}
	role, _ := w.ram.Role(memberFresh, "vpncheck-reader")
	if !strings.Contains(role.Trust, `"acs:ram::`+mgmt+`:role/vpncheck"`) || !strings.Contains(role.Trust, `"sts:ExternalId": "ext-42"`) || len(role.Policy) != 1 {
		t.Errorf("member role = %+v", role)
	}
	coord, _ := w.ram.Policy(mgmt, "vpncheck-coordinator")
	if !strings.Contains(coord.Document, "acs:ram::*:role/vpncheck-reader") || !strings.Contains(coord.Document, "resourcemanager:ListAccounts") {
		t.Errorf("coordinator policy = %s", coord.Document)
	}
	if !strings.Contains(out, "  "+memberClosed+" (old): failed (enter with ResourceDirectoryAccountAccessRole:") {
		t.Errorf("report:\n%s", out)
	}

	writes := w.ram.Writes()
	res, out, err = setup(t, w, c, deploy.Options{Yes: true})
	if err != nil || res.Changes != 0 || w.ram.Writes() != writes || !strings.Contains(out, memberFresh+" (prod): already there") {
		t.Errorf("second run: %v, %d changes\n%s", err, res.Changes, out)
	}
}

// A Cloud Config rule: the function's role may call PutEvaluations (one
// more policy, attached once), and setup prints the call that creates the
// rule, naming the function and the IPsec connection resource type.
func TestSetupConfigRule(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	c := baseConfig()
	c.ConfigRule = "vpncheck-ipsec"
	_, out, err := setup(t, w, c, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	role, _ := w.ram.Role(mgmt, "vpncheck")
	if !slices.Contains(role.Policy, "Custom:vpncheck-config") {
		t.Errorf("attached %v, want Custom:vpncheck-config among them", role.Policy)
	}
	pol, _ := w.ram.Policy(mgmt, "vpncheck-config")
	if !strings.Contains(pol.Document, "config:PutEvaluations") {
		t.Errorf("config policy = %s", pol.Document)
	}
	for _, want := range []string{"aliyun config CreateConfigRule", "--ConfigRuleName vpncheck-ipsec", "--SourceOwner CUSTOM_FC",
		"acs:fc:cn-hangzhou:" + mgmt + ":functions/vpncheck", "--ResourceTypesScope ACS::VPN::VpnConnection"} {
		if !strings.Contains(out, want) {
			t.Errorf("setup's output lacks %q:\n%s", want, out)
		}
	}
	if _, out, err = setup(t, w, c, deploy.Options{Yes: true}); err != nil || !strings.Contains(out, "Nothing to change.") {
		t.Errorf("second run: %v\n%s", err, out)
	}
}

// TestSetupMembersInert: a member account's display name (Resource
// Directory's, anyone's to set) reaches the terminal as inert text: no
// escape sequence, no line of its own.
func TestSetupMembersInert(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	rm := orgfake.StartResourceManager(deployer)
	defer rm.Close()
	hostile := "prod\x1b[2J\x1b]8;;https://evil.example\x07\nFAKE done: all good\u202e"
	rm.AddAccounts(orgfake.Account{ID: mgmt}, orgfake.Account{ID: memberFresh, DisplayName: hostile},
		orgfake.Account{ID: memberClosed, DisplayName: hostile})
	sts := orgfake.StartSTS(deployer)
	defer sts.Close()
	sts.WireRAM(w.ram)
	sts.AddRole(orgfake.Role{AccountID: memberFresh, Name: deploy.DefaultAccessRole})
	sts.AddRole(orgfake.Role{AccountID: memberClosed, Name: deploy.DefaultAccessRole, DenyCode: "NoPermission"})
	c := baseConfig()
	c.AllMembers = true
	w.env.Members = deploy.Directory{Base: w.cred, RMEndpoint: rm.URL, STSEndpoint: sts.Endpoint(), RAMEndpoint: w.ram.URL}

	_, out, err := setup(t, w, c, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Errorf("output carries control characters:\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAKE") {
			t.Errorf("a display name starts a line of its own:\n%s", out)
		}
	}
	if !strings.Contains(out, memberFresh+" (prod") {
		t.Errorf("the member is not named:\n%s", out)
	}
}

// brokenOut is a terminal that takes nothing (a closed pipe).
type brokenOut struct{}

func (brokenOut) Write([]byte) (int, error) { return 0, errors.New("write |1: broken pipe") }

// A plan that could not be printed is not applied, and setup says why.
func TestSetupOutputFails(t *testing.T) {
	w := newWorld(t, ossfake.Config{})
	writes := w.ram.Writes()
	_, err := deploy.Setup(context.Background(), baseConfig(), w.env, deploy.Options{Yes: true, Out: brokenOut{}})
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("error %v: want the failed write", err)
	}
	if w.ram.Writes() != writes {
		t.Errorf("%d RAM writes: a plan nobody saw was applied", w.ram.Writes()-writes)
	}
}
