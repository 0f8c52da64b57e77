package main

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/fleet"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// The fleet package's names, as these tests spell them.
const defaultRoleName = fleet.DefaultRoleName

var sessionName = fleet.SessionName

// The member accounts of the fake resource directory: prod and sandbox
// trust the checker; dev denies it.
const (
	acctProd    = "1000000000000001"
	acctDev     = "1000000000000002"
	acctSandbox = "1000000000000003"
)

// label names each account's connections ("branch-prod-0"), so that a
// message shows whose connections it holds, whatever else names the account.
var label = map[string]string{acctProd: "prod", acctDev: "dev", acctSandbox: "sandbox"}

// memberConn is a weak connection of account with canary secrets.
func memberConn(account string, i int) any {
	c := weakConn("cn-hangzhou", i).(map[string]any)
	c["VpnConnectionId"] = fmt.Sprintf("vco-%s-%d", label[account], i)
	c["Name"] = fmt.Sprintf("branch-%s-%d", label[account], i)
	return c
}

// directory is a resource directory with the three accounts over two
// pages (the fake caps pages at 2), the STS roles, a VPC API holding each
// account's connections (dev's too, which must never be read), and the
// FC API, each accepting the caller's credentials.
type directory struct {
	rm  *orgfake.ResourceManager
	sts *orgfake.STS
	fc  *orgfake.FC
}

func startDirectory(t *testing.T, caller acsfake.Credential) *directory {
	t.Helper()
	d := &directory{rm: orgfake.StartResourceManager(caller), sts: orgfake.StartSTS(caller), fc: orgfake.StartFC(caller)}
	t.Cleanup(d.rm.Close)
	t.Cleanup(d.sts.Close)
	t.Cleanup(d.fc.Close)
	d.rm.SetPageLimit(2)
	d.rm.AddAccounts(orgfake.Account{ID: acctProd, DisplayName: "prod"}, orgfake.Account{ID: acctDev, DisplayName: "dev"},
		orgfake.Account{ID: acctSandbox, DisplayName: "sandbox"})
	d.sts.AddRole(orgfake.Role{AccountID: acctProd, Name: defaultRoleName})
	d.sts.AddRole(orgfake.Role{AccountID: acctDev, Name: defaultRoleName, DenyCode: "NoPermission"})
	d.sts.AddRole(orgfake.Role{AccountID: acctSandbox, Name: defaultRoleName})
	d.fc.AddFunction("vpncheck")
	return d
}

// seed gives each account its connections in v and makes v accept the
// credentials STS issues, each as its account's.
func (d *directory) seed(v *vpcfake.Server) {
	d.sts.WireVPC(v)
	v.AddConnectionsFor(acctProd, "cn-hangzhou", memberConn(acctProd, 0), memberConn(acctProd, 1))
	v.AddConnectionsFor(acctDev, "cn-hangzhou", memberConn(acctDev, 0))
	v.AddConnectionsFor(acctSandbox, "cn-hangzhou", memberConn(acctSandbox, 0))
}

// scannedBy checks that every VPC call was signed by a member account's
// own temporary credentials, and returns the accounts that signed them.
func scannedBy(t *testing.T, v *vpcfake.Server) []string {
	t.Helper()
	var accounts []string
	for _, c := range v.Log() {
		if c.Code != "" || c.Account == "" {
			t.Errorf("VPC call %+v: not signed with a member account's credentials", c)
		}
		if !slices.Contains(accounts, c.Account) {
			accounts = append(accounts, c.Account)
		}
	}
	slices.Sort(accounts)
	return accounts
}

type orgReport struct {
	Findings []report.Finding    `json:"findings"`
	Errors   []report.ErrorEntry `json:"errors"`
	Summary  struct {
		Connections int                              `json:"connections"`
		Accounts    map[string]report.AccountSummary `json:"accounts"`
	} `json:"summary"`
}

var orgCaller = acsfake.Credential{AccessKeyID: "LTAI5tOrgCoordinator", AccessKeySecret: "CANARY-ORG-SECRET-71c2", Label: "coordinator"}

func orgCLIEnv(t *testing.T) (*directory, *vpcfake.Server, map[string]string) {
	t.Helper()
	v, env := liveEnv(t)
	d := startDirectory(t, orgCaller)
	d.seed(v)
	env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = orgCaller.AccessKeyID, orgCaller.AccessKeySecret
	env[envRMEndpoint], env[envSTSEndpoint] = d.rm.URL, d.sts.Endpoint()
	return d, v, env
}

// TestCLIAccountsAll: --accounts all lists the directory over two pages,
// enters prod and sandbox with their roles, reports dev's denial as an
// errors entry naming it, and prints one report with the findings of both
// reachable accounts, each scanned with its own credentials only.
func TestCLIAccountsAll(t *testing.T) {
	d, v, env := orgCLIEnv(t)
	slack := slackfake.New(slackfake.Options{})
	defer slack.Close()
	env["SLACK_WEBHOOK_URL"] = slack.WebhookURL()

	code, out, errs := cli(t, env, "check", "--accounts", "all", "--regions", "cn-hangzhou", "--format", "json", "--timeout", "2m", "--notify")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var rep orgReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}

	byAccount := map[string][]string{}
	for _, f := range rep.Findings {
		if !strings.HasPrefix(f.ConnectionID, "vco-"+label[f.AccountID]+"-") {
			t.Errorf("finding of account %s on connection %s", f.AccountID, f.ConnectionID)
		}
		if !slices.Contains(byAccount[f.AccountID], f.AccountName) {
			byAccount[f.AccountID] = append(byAccount[f.AccountID], f.AccountName)
		}
	}
	if len(byAccount) != 2 || strings.Join(byAccount[acctProd], ",") != "prod" || strings.Join(byAccount[acctSandbox], ",") != "sandbox" {
		t.Errorf("findings by account (names) = %v, want prod and sandbox", byAccount)
	}
	if len(rep.Errors) != 1 {
		t.Fatalf("errors = %+v, want dev's", rep.Errors)
	}
	if e := rep.Errors[0]; e.AccountID != acctDev || e.Code != report.CodeAccountUnavailable || !strings.Contains(e.Message, "NoPermission") || e.RequestID == "" {
		t.Errorf("dev's error = %+v", e)
	}
	acc := rep.Summary.Accounts
	if acc[acctProd].Status != report.AccountChecked || acc[acctProd].Connections != 2 || acc[acctProd].DisplayName != "prod" ||
		acc[acctSandbox].Connections != 1 || acc[acctDev].Status != report.AccountUnavailable || rep.Summary.Connections != 3 {
		t.Errorf("summary.accounts = %+v", acc)
	}
	if got := scannedBy(t, v); strings.Join(got, ",") != acctProd+","+acctSandbox {
		t.Errorf("VPC calls signed by %v, want prod's and sandbox's", got)
	}

	// ListAccounts read both pages; AssumeRole asked for the reader role,
	// a session naming vpncheck, and the shortest duration.
	if calls := d.rm.Calls(); len(calls) != 2 || calls[1].PageNumber != 2 {
		t.Errorf("ListAccounts calls %+v, want pages 1 and 2", calls)
	}
	for _, c := range d.sts.Calls() {
		if !strings.HasSuffix(c.RoleArn, ":role/vpncheck-reader") || !strings.HasPrefix(c.SessionName, "vpncheck-cli-") || c.Duration != 900 || c.Caller != "coordinator" {
			t.Errorf("AssumeRole call %+v", c)
		}
	}

	// Slack: each reachable account's report names its account, and one
	// message says which account could not be checked.
	var texts []string
	for _, p := range slack.Posts() {
		texts = append(texts, p.Text+string(p.Blocks))
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{acctDev + " (dev)", "NoPermission"} {
		if !strings.Contains(all, want) {
			t.Errorf("Slack messages do not name %q", want)
		}
	}
	headedByAccount(t, texts)
	if strings.Contains(all, "branch-dev") {
		t.Error("Slack names a connection of the account that could not be entered")
	}
	noSecrets(t, out, errs, all)
	for _, s := range []string{orgCaller.AccessKeySecret, "CANARY-FC-PSK", "CANARY-FC-BGP"} {
		if strings.Contains(out+errs+all, s) {
			t.Errorf("output holds secret %s", s)
		}
	}

	// The denied account fails --fail-on.
	code, _, errs = cli(t, env, "check", "--accounts", "all", "--regions", "cn-hangzhou", "--format", "json", "--fail-on", "critical")
	if code != exitFailOn {
		t.Errorf("--fail-on with an account not entered: exit %d, want %d (%s)", code, exitFailOn, errs)
	}
}

// TestCLIAccountsListed: named accounts are entered without listing the
// directory, less the excluded; a directory that cannot be listed fails
// the run; bad values are usage errors.
func TestCLIAccountsListed(t *testing.T) {
	d, v, env := orgCLIEnv(t)
	env[envAccounts] = acctProd + "," + acctSandbox
	env[envExcludeAccounts] = acctSandbox
	code, out, errs := cli(t, env, "check", "--regions", "cn-hangzhou", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var rep orgReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Summary.Accounts) != 1 || rep.Summary.Accounts[acctProd].Status != report.AccountChecked || len(d.rm.Calls()) != 0 {
		t.Errorf("accounts %+v, %d ListAccounts calls; want prod alone, no listing", rep.Summary.Accounts, len(d.rm.Calls()))
	}
	if got := scannedBy(t, v); strings.Join(got, ",") != acctProd {
		t.Errorf("VPC calls signed by %v", got)
	}

	d.rm.Inject(orgfake.Fault{Code: "NoPermission"})
	code, _, errs = cli(t, env, "check", "--accounts", "all", "--regions", "cn-hangzhou")
	if code != exitIncomplete || !strings.Contains(errs, "list accounts page 1") || !strings.Contains(errs, "NoPermission") {
		t.Errorf("directory not listable: exit %d, stderr %s", code, errs)
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--accounts", "all," + acctProd}, nil, "all and account ids together"},
		{[]string{"--accounts", "prod"}, nil, `"prod" is not an account id`},
		{[]string{"--exclude-accounts", "x1"}, nil, "--exclude-accounts"},
		{[]string{"--accounts", "all", "--inventory", "x.json"}, nil, "--accounts cannot be used with --inventory"},
		{[]string{"--accounts", "all", "--dump-input", filepath.Join(t.TempDir(), "in.json")}, nil, "--dump-input"},
		{nil, map[string]string{envFanout: "sometimes"}, envFanout},
	} {
		e := map[string]string{}
		for k, val := range env {
			e[k] = val
		}
		for k, val := range tc.env {
			e[k] = val
		}
		code, out, errs := cli(t, e, append([]string{"check", "--regions", "cn-hangzhou"}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q, want usage error with %q", tc.args, tc.env, code, errs, tc.want)
		}
	}
}

func TestOrgSettings(t *testing.T) {
	for _, tc := range []struct {
		accounts, exclude string
		env               map[string]string
		want              orgSettings
		err               string
	}{
		{want: orgSettings{roleName: defaultRoleName, fanout: fanoutAsync}},
		{accounts: " ALL ", want: orgSettings{all: true, roleName: defaultRoleName, fanout: fanoutAsync}},
		{accounts: "12,34,12", exclude: "34", env: map[string]string{envRoleName: "auditor", envFanout: "OFF", envRoleExternalID: "x-1"},
			want: orgSettings{accounts: []string{"12", "34"}, exclude: []string{"34"}, roleName: "auditor", externalID: "x-1", fanout: fanoutOff}},
		{accounts: "all,12", err: "all and account ids"},
		{accounts: "12a", err: "not an account id"},
		{env: map[string]string{envFanout: "sync"}, err: "async or off"},
	} {
		got, err := orgSettingsFrom(setting{tc.accounts, "--accounts"}, setting{tc.exclude, "--exclude-accounts"}, func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, badinput.Err) {
				t.Errorf("%q: error %v, want a usage error with %q", tc.accounts, err, tc.err)
			}
			continue
		}
		if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
			t.Errorf("%q %q: %+v, %v; want %+v", tc.accounts, tc.exclude, got, err, tc.want)
		}
	}
}

// TestAccountEventRoundTrip: the event the coordinator sends is one the
// handler parses as a fanned-out timer event.
func TestAccountEventRoundTrip(t *testing.T) {
	sev := report.High
	ev, err := accountEvent(invocation{DryRun: true, Regions: []string{"all"}, MinSeverity: &sev}, "hourly@2026-11-25T10:05:00Z", acctProd)
	if err != nil {
		t.Fatal(err)
	}
	iv, err := parseEvent(ev)
	if err != nil {
		t.Fatalf("%s: %v", ev, err)
	}
	if iv.Account != acctProd || iv.RunKey != "hourly@2026-11-25T10:05:00Z/"+acctProd || !iv.DryRun || iv.MinSeverity == nil || *iv.MinSeverity != report.High ||
		strings.Join(iv.Regions, ",") != "all" || iv.runKey("req") != iv.RunKey {
		t.Errorf("%s parsed as %+v", ev, iv)
	}
	plain, _ := accountEvent(invocation{}, "k", acctDev)
	if want := `{"payload":"{\"account\":\"` + acctDev + `\",\"run_key\":\"k/` + acctDev + `\"}"}`; string(plain) != want {
		t.Errorf("event %s, want %s", plain, want)
	}
}

// Function Compute: the compiled binary under the fake runtime.

// certFile writes the certificate every httptest TLS server (the STS fake
// among them) presents, for the binary's SSL_CERT_FILE: credentials-go
// calls STS over HTTPS only.
func certFile(t *testing.T) string {
	t.Helper()
	s := httptest.NewTLSServer(nil)
	der := s.Certificate().Raw
	s.Close()
	p := filepath.Join(t.TempDir(), "sts-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startOrgFunction deploys the function for an organisation: its own
// role's keys are the invocation's (fcCreds), which the directory's APIs
// accept.
func startOrgFunction(t *testing.T, env map[string]string) (*fcEnv, *directory) {
	t.Helper()
	d := startDirectory(t, acsfake.Credential{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
		SecurityToken: fcCreds.SecurityToken, Label: "function"})
	base := map[string]string{
		envAccounts: "all", envRMEndpoint: d.rm.URL, envSTSEndpoint: d.sts.Endpoint(), envFCEndpoint: d.fc.URL,
		"SSL_CERT_FILE": certFile(t), "VPNCHECK_REGIONS": "cn-hangzhou",
	}
	for k, v := range env {
		base[k] = v
	}
	e := startFunction(t, base)
	d.seed(e.vpc)
	return e, d
}

func (e *fcEnv) slackTexts() []string {
	var out []string
	for _, p := range e.slack.Posts() {
		out = append(out, p.Text+string(p.Blocks))
	}
	return out
}

func (e *fcEnv) slackText() string { return strings.Join(e.slackTexts(), "\n") }

// headedByAccount checks that prod's and sandbox's connections reached
// Slack, each in messages that name that account and hold no other
// account's connections.
func headedByAccount(t *testing.T, messages []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range messages {
		for _, acct := range []string{acctProd, acctSandbox, acctDev} {
			if !strings.Contains(m, "branch-"+label[acct]+"-") {
				continue
			}
			seen[acct] = true
			if !strings.Contains(m, acct) {
				t.Errorf("a message with %s's connections does not name the account: %.300s", label[acct], m)
			}
			for other, l := range label {
				if other != acct && strings.Contains(m, "branch-"+l+"-") {
					t.Errorf("a message mixes %s's and %s's connections", label[acct], l)
				}
			}
		}
	}
	if !seen[acctProd] || !seen[acctSandbox] {
		t.Errorf("Slack did not get both reachable accounts' connections (saw %v)", seen)
	}
}

// TestFunctionFanOut: the timer invocation lists the three accounts over
// two pages and starts one asynchronous invocation per account with
// distinct task ids; a retried timer event starts none again. Each account
// invocation, run as FC would run it, enters its account and scans it with
// that account's credentials only; the denied one fails loudly, naming its
// account.
func TestFunctionFanOut(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e, d := startOrgFunction(t, map[string]string{envExcludeAccounts: "1999999999999999"})

	r := decodeResult(t, e.rt.invoke(t, timerEvent, e.creds, 60*time.Second))
	invs := d.fc.Invocations()
	if len(invs) != 3 {
		t.Fatalf("%d invocations started, want 3: %+v", len(invs), invs)
	}
	tasks := map[string]bool{}
	accounts := map[string]string{} // account -> the event sent
	for _, inv := range invs {
		iv, err := parseEvent(inv.Payload)
		if err != nil || inv.Type != "Async" || inv.Function != "vpncheck" || inv.Caller != "function" {
			t.Errorf("invocation %+v: %v", inv, err)
		}
		if inv.TaskID != org.TaskID("hourly@2026-11-25T10:05:00Z", iv.Account) || tasks[inv.TaskID] {
			t.Errorf("task id %q of account %s: not its own", inv.TaskID, iv.Account)
		}
		tasks[inv.TaskID] = true
		if iv.RunKey != "hourly@2026-11-25T10:05:00Z/"+iv.Account {
			t.Errorf("run key %q", iv.RunKey)
		}
		accounts[iv.Account] = string(inv.Payload)
	}
	if len(accounts) != 3 || accounts[acctDev] == "" {
		t.Errorf("accounts invoked: %v", accounts)
	}
	if len(r.Errors) != 0 || len(e.slack.Posts()) != 0 {
		t.Errorf("the coordinator reported trouble: %+v, %d posts", r.Errors, len(e.slack.Posts()))
	}
	if calls := d.rm.Calls(); len(calls) != 2 {
		t.Errorf("ListAccounts calls %+v, want 2 pages", calls)
	}

	// FC retries the timer event: every task id is refused, nothing starts twice.
	decodeResult(t, e.rt.invoke(t, timerEvent, e.creds, 60*time.Second))
	if n, refused := len(d.fc.Invocations()), d.fc.Refused(); n != 3 || refused != 3 {
		t.Errorf("after a retried coordinator: %d invocations, %d refused; want 3 and 3", n, refused)
	}

	// Each account's invocation, as FC delivers it.
	for _, acct := range []string{acctProd, acctSandbox} {
		out := e.rt.invoke(t, accounts[acct], e.creds, 60*time.Second)
		res := decodeResult(t, out)
		if res.RunKey != "hourly@2026-11-25T10:05:00Z/"+acct || res.Summary.Findings == 0 || res.Slack == nil || res.Slack.Posted == 0 {
			t.Errorf("account %s: %s", acct, out.body)
		}
		e.assertNoSecrets(t, out)
	}
	out := e.rt.invoke(t, accounts[acctDev], e.creds, 60*time.Second)
	if !out.failed || !strings.Contains(string(out.body), acctDev) || !strings.Contains(string(out.body), "NoPermission") {
		t.Errorf("dev's invocation: %v %s", out.failed, out.body)
	}
	e.assertNoSecrets(t, out)
	if got := scannedBy(t, e.vpc); strings.Join(got, ",") != acctProd+","+acctSandbox {
		t.Errorf("VPC calls signed by %v, want prod's and sandbox's", got)
	}
	// The member accounts' temporary keys reach no log, result or message.
	for _, acct := range []string{acctProd, acctSandbox} {
		for _, c := range d.sts.Issued(acct) {
			for _, secret := range []string{c.AccessKeySecret, c.SecurityToken} {
				if strings.Contains(e.logs.String()+e.slackText(), secret) {
					t.Errorf("%s's temporary credential shows in the log or Slack", label[acct])
				}
			}
		}
	}
	slack := e.slackText()
	for _, want := range []string{acctDev, "NoPermission"} {
		if !strings.Contains(slack, want) {
			t.Errorf("Slack does not name %q", want)
		}
	}
	headedByAccount(t, e.slackTexts())
	if strings.Contains(slack, "branch-dev") {
		t.Error("Slack names a connection of the account that could not be entered")
	}

	// A payload naming an account the deployment excludes is refused.
	out = e.rt.invoke(t, `{"payload": {"account": "1999999999999999", "run_key": "x"}}`, e.creds, 30*time.Second)
	if !out.failed || !strings.Contains(string(out.body), "VPNCHECK_ACCOUNTS") {
		t.Errorf("foreign account: %v %s", out.failed, out.body)
	}
}

// TestFunctionFanOutOff: with VPNCHECK_FANOUT=off one invocation checks
// every account itself, as the command line does, and says which account
// could not be entered.
func TestFunctionFanOutOff(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	e, d := startOrgFunction(t, map[string]string{envFanout: "off"})
	out := e.rt.invoke(t, timerEvent, e.creds, 60*time.Second)
	r := decodeResult(t, out)
	if len(d.fc.Invocations()) != 0 {
		t.Errorf("fan-out off invoked %d functions", len(d.fc.Invocations()))
	}
	if r.Summary.Connections != 3 || r.Summary.Findings == 0 || len(r.Errors) != 1 || r.Errors[0]["account_id"] != acctDev ||
		r.Errors[0]["code"] != report.CodeAccountUnavailable {
		t.Errorf("result %s", out.body)
	}
	if got := scannedBy(t, e.vpc); strings.Join(got, ",") != acctProd+","+acctSandbox {
		t.Errorf("VPC calls signed by %v", got)
	}
	if slack := e.slackText(); !strings.Contains(slack, acctDev+" (dev)") {
		t.Errorf("Slack does not name the account not entered:\n%s", slack)
	}
	headedByAccount(t, e.slackTexts())
	for _, c := range d.sts.Calls() {
		if c.SessionName != sessionName("hourly@2026-11-25T10:05:00Z") || c.Duration != 900 {
			t.Errorf("AssumeRole call %+v", c)
		}
	}
	e.assertNoSecrets(t, out)
}

// TestFunctionFanOutTrouble: invocations that cannot be started fail the
// coordinator (so FC retries it) and are posted with the accounts the
// directory lists as not ready, each named once.
func TestFunctionFanOutTrouble(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	caller := acsfake.Credential{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
		SecurityToken: fcCreds.SecurityToken, Label: "function"}
	noFunction := orgfake.StartFC(caller) // the function is not deployed there
	defer noFunction.Close()
	e, d := startOrgFunction(t, map[string]string{envFCEndpoint: noFunction.URL})
	d.rm.AddAccounts(orgfake.Account{ID: "1000000000000004", DisplayName: "new", Status: "CreateVerifying"})

	out := e.rt.invoke(t, timerEvent, e.creds, 60*time.Second)
	if !out.failed || !strings.Contains(string(out.body), "3 of 4 account invocations could not be started") {
		t.Errorf("coordinator: %v %s", out.failed, out.body)
	}
	posts := e.slackTexts()
	if len(posts) != 1 {
		t.Fatalf("%d Slack posts, want 1", len(posts))
	}
	for _, want := range []string{"FunctionNotFound", "1000000000000004 (new)", "CreateVerifying", acctProd + " (prod)", acctDev + " (dev)"} {
		if !strings.Contains(posts[0], want) {
			t.Errorf("the coordinator's message does not name %q: %.600s", want, posts[0])
		}
	}
	if len(d.sts.Calls()) != 0 || len(e.vpc.Log()) != 0 {
		t.Error("the coordinator entered an account itself")
	}
	e.assertNoSecrets(t, out)
}
