package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// The alert lifecycle end to end, through the compiled binary: sequences of
// runs over a changing account (the fake VPC API), the clock set with
// VPNCHECK_NOW, the messages the fake Slack accepted and the state the runs
// left, read back through checker/state.

// t0 is the first run's clock in every sequence.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// The findings' messages, as the rules word them: each appears once per
// finding a message posts in full.
const (
	msgMD5   = "IKE integrity algorithm is md5"
	msgDPD   = "dead peer detection is off"
	msgIKEv1 = "IKE version is ikev1"
)

// lcConn is connection i of region with dead peer detection off and IKEv1
// (findings dpd-disabled and ike-v1), md5 as its IKE integrity algorithm
// when md5 (ike-weak-integrity), and tags. Its name is lc-<region>-<i>.
func lcConn(region string, i int, md5 bool, tags map[string]string) any {
	c := vpcfake.Connection(region, i).(map[string]any)
	c["Name"] = fmt.Sprintf("lc-%s-%d", region, i)
	c["EnableDpd"] = false
	ike := c["IkeConfig"].(map[string]any)
	ike["IkeVersion"] = "ikev1"
	if md5 {
		ike["IkeAuthAlg"] = "md5"
	}
	if len(tags) > 0 {
		var list []map[string]string
		for k, v := range tags {
			list = append(list, map[string]string{"Key": k, "Value": v})
		}
		c["Tag"] = map[string]any{"Tag": list}
	}
	return c
}

// lcReport is the part of the JSON report the lifecycle sets.
type lcReport struct {
	Findings []report.Finding `json:"findings"`
	Resolved []report.Finding `json:"resolved"`
	Summary  struct {
		Findings      int      `json:"findings"`
		New           int      `json:"new"`
		Resolved      int      `json:"resolved"`
		Suppressed    int      `json:"suppressed"`
		RegionsFailed []string `json:"regions_failed"`
	} `json:"summary"`
	Errors []report.ErrorEntry `json:"errors"`
}

func (r lcReport) find(rule, conn string) *report.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule && r.Findings[i].ConnectionID == conn {
			return &r.Findings[i]
		}
	}
	return nil
}

func (r lcReport) hasError(code string) bool {
	for _, e := range r.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// ledgerView is what a state store holds for the one account of a CLI run.
type ledgerView struct {
	gen   int64
	state lifecycle.State
	done  bool // the generation's news was delivered
	keys  []string
}

// readLedger reads the newest generation of the store's one account
// through checker/state's Log.
func readLedger(t *testing.T, store state.Store) ledgerView {
	t.Helper()
	ctx := context.Background()
	keys, err := store.List(ctx, "")
	if err != nil {
		t.Fatalf("list state: %v", err)
	}
	v := ledgerView{keys: keys}
	prefix := ""
	for _, k := range keys {
		if i := strings.Index(k, "/state/gen-"); i > 0 {
			prefix = k[:i+1]
			break
		}
	}
	if prefix == "" {
		return v
	}
	gen, doc, err := state.Log{Store: store, Prefix: prefix + "state/"}.Latest(ctx)
	if err != nil {
		t.Fatalf("latest generation: %v", err)
	}
	st, err := run.ReadState(doc)
	if err != nil {
		t.Fatalf("generation %d: %v", gen, err)
	}
	v.gen, v.state = gen, *st
	_, err = store.Get(ctx, fmt.Sprintf("%sgens/%d/done", prefix, gen))
	v.done = err == nil
	return v
}

func (v ledgerView) open(rule, conn string) *lifecycle.Record {
	_, r := v.openID(rule, conn)
	return r
}

// openID is the open finding of rule on conn, with its id.
func (v ledgerView) openID(rule, conn string) (string, *lifecycle.Record) {
	for id, r := range v.state.Open {
		if r.Rule == rule && r.ConnectionID == conn {
			return id, r
		}
	}
	return "", nil
}

func openDirStore(t *testing.T, dir string) state.Store {
	t.Helper()
	s, err := state.Open(context.Background(), dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// slackWatch reads what the fake Slack accepted since the last look.
type slackWatch struct {
	s    *slackfake.Server
	seen int
}

// since returns the posts accepted since the last call and their text
// (fallback text and blocks).
func (w *slackWatch) since() ([]slackfake.Post, string) {
	posts := w.s.Posts()
	got := posts[w.seen:]
	w.seen = len(posts)
	var b strings.Builder
	for _, p := range got {
		b.WriteString(p.Text)
		b.WriteString("\n")
		b.Write(p.Blocks)
		b.WriteString("\n")
	}
	return got, b.String()
}

// slackEnv points the binary at the fake Slack: its webhook, or its Web
// API with a bot token.
func slackEnv(s *slackfake.Server, bot bool, env map[string]string) {
	if bot {
		env["SLACK_BOT_TOKEN"], env["SLACK_CHANNEL"], env["SLACK_API_URL"] = s.Token(), s.Channel(), s.APIURL()
		return
	}
	env["SLACK_WEBHOOK_URL"] = s.WebhookURL()
}

// policyDir writes a team policy directory holding data (the config
// overrides) and returns it.
func policyDir(t *testing.T, data string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "vpncheck", "config")
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "data.json"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLifecycleSequence(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	for _, mode := range []string{"webhook", "bot"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // each its own fakes and state
			lifecycleSequence(t, mode == "bot")
		})
	}
}

func lifecycleSequence(t *testing.T, bot bool) {
	testBinary(t)
	vpc, env := hostileEnv(t)
	sl := slackfake.New(slackfake.Options{})
	t.Cleanup(sl.Close)
	slackEnv(sl, bot, env)
	stateDir := filepath.Join(t.TempDir(), "state")
	store := openDirStore(t, stateDir)
	watch := &slackWatch{s: sl}

	const hz, sh = "vco-cn-hangzhou-00000", "vco-cn-shanghai-00000"
	vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
	vpc.AddConnections("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
	exceptions := `[{"rule": "ike-v1", "connection_id": "` + sh + `", "reason": "peer supports only IKEv1 (CHG-1)",
		"owner": "net@example.com", "expires": "2027-03-31"}]`
	tagException := map[string]string{"vpncheck:exception": "dpd-disabled", "vpncheck:exception-expires": "2027-01-31",
		"vpncheck:exception-reason": "DPD breaks the peer's failover (CHG-2)", "vpncheck:exception-owner": "net@example.com"}
	excepted := policyDir(t, `{"exceptions": `+exceptions+`}`)
	rerated := policyDir(t, `{"exceptions": `+exceptions+`, "severity": {"by_rule": {"ike-v1": "high"}}}`)

	check := func(at time.Duration, extra ...string) (lcReport, []slackfake.Post, string) {
		t.Helper()
		env["VPNCHECK_NOW"] = t0.Add(at).Format(time.RFC3339)
		args := append([]string{"check", "--regions", "cn-hangzhou,cn-shanghai", "--state", stateDir, "--notify", "--format", "json"}, extra...)
		r := runBinary(t, env, 60*time.Second, args...)
		if r.code != exitOK {
			t.Fatalf("at +%v: exit %d, stderr %s", at, r.code, r.stderr)
		}
		var rep lcReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("at +%v: report: %v\n%s", at, err, r.stdout)
		}
		posts, text := watch.since()
		for _, p := range posts {
			if msg := slackfake.CheckMessage(p.Text, p.Blocks); msg != "" {
				t.Errorf("at +%v: message over Slack's limits: %s", at, msg)
			}
		}
		return rep, posts, text
	}
	mustNotContain := func(what, s string, not ...string) {
		t.Helper()
		for _, n := range not {
			if strings.Contains(s, n) {
				t.Errorf("%s says %q:\n%s", what, n, s)
			}
		}
	}
	quiet := func(at time.Duration, wantOpen int) ledgerView {
		t.Helper()
		rep, posts, text := check(at)
		if len(posts) != 0 || rep.Summary.New != 0 || rep.Summary.Resolved != 0 {
			t.Errorf("at +%v: a run without news posted %d messages (new %d, resolved %d):\n%s", at, len(posts), rep.Summary.New, rep.Summary.Resolved, text)
		}
		v := readLedger(t, store)
		if len(v.state.Open) != wantOpen || !v.done {
			t.Errorf("at +%v: state gen %d: %d open (want %d), done %v", at, v.gen, len(v.state.Open), wantOpen, v.done)
		}
		return v
	}

	// 1. The first run: everything is new, said in full.
	rep, posts, text := check(0)
	if rep.Summary.New != 5 || len(rep.Findings) != 5 || len(posts) == 0 {
		t.Fatalf("first run: new %d, findings %d, posts %d", rep.Summary.New, len(rep.Findings), len(posts))
	}
	for _, f := range rep.Findings {
		if f.Status != report.StatusNew || !f.FirstSeen.Equal(t0) || f.ID == "" {
			t.Errorf("first run: finding %s %s: status %q, first seen %v, id %q", f.Rule, f.ConnectionID, f.Status, f.FirstSeen, f.ID)
		}
	}
	mustContain(t, "first run's messages", text, "lc-cn-hangzhou-0", "lc-cn-shanghai-0", "ike-weak-integrity", "dpd-disabled", "ike-v1")
	if n := strings.Count(text, msgMD5); n != 1 {
		t.Errorf("first run: the md5 finding is said %d times, want once:\n%s", n, text)
	}
	v := readLedger(t, store)
	if v.gen != 1 || len(v.state.Open) != 5 || !v.done || !v.state.LastDigest.Equal(t0) {
		t.Fatalf("state after the first run: gen %d, %d open, done %v, last digest %v", v.gen, len(v.state.Open), v.done, v.state.LastDigest)
	}
	md5ID, _ := v.openID("ike-weak-integrity", hz)

	// 2. Nothing changed an hour later: nothing is said.
	quiet(time.Hour, 5)

	// 3. md5 fixed: said briefly, once.
	vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, false, nil))
	rep, _, text = check(2 * time.Hour)
	if rep.Summary.Resolved != 1 || len(rep.Resolved) != 1 || rep.Resolved[0].Rule != "ike-weak-integrity" || rep.Resolved[0].ResolvedAt == nil {
		t.Errorf("fix: resolved %+v", rep.Resolved)
	}
	mustContain(t, "fix's message", text, "Fixed since the last run (1)", "ike-weak-integrity", "open 2 hours", "Still open:* 4 findings")
	mustNotContain("fix's message", text, msgDPD, msgIKEv1)
	v = readLedger(t, store)
	if len(v.state.Open) != 4 || v.state.Resolved[md5ID] == nil || v.gen != 3 {
		t.Errorf("state after the fix: gen %d, %d open, resolved %v", v.gen, len(v.state.Open), v.state.Resolved)
	}

	// 4. cn-shanghai cannot be read (403 Forbidden.RAM for three hourly
	// runs), and its connection is fixed meanwhile: nothing there is
	// resolved, and the first run says so, once; the runs while it goes on
	// failing say nothing.
	vpc.ReplaceConnection("cn-shanghai", vpcfake.Connection("cn-shanghai", 0))
	vpc.Inject("cn-shanghai", vpcfake.Fault{Code: "Forbidden.RAM", Times: 3})
	rep, posts, text = check(3 * time.Hour)
	if rep.Summary.Resolved != 0 || len(rep.Summary.RegionsFailed) != 1 || len(posts) == 0 {
		t.Errorf("failed region: resolved %d, failed %v, %d posts", rep.Summary.Resolved, rep.Summary.RegionsFailed, len(posts))
	}
	mustContain(t, "failed region's message", text, "cn-shanghai", "Forbidden.RAM", "stay open", "1 region not scanned")
	v = readLedger(t, store)
	if len(v.state.Open) != 4 || v.open("dpd-disabled", sh) == nil || v.open("ike-v1", sh) == nil {
		t.Errorf("state after the failed region: %d open, want the 2 of cn-shanghai kept", len(v.state.Open))
	}
	for _, at := range []time.Duration{3*time.Hour + 20*time.Minute, 3*time.Hour + 40*time.Minute} {
		quiet(at, 4)
	}
	if n := vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-shanghai"); n < 3 {
		t.Fatalf("cn-shanghai was described %d times during its failure, want every run", n)
	}

	// 5. cn-shanghai readable again but still weak, md5 back: the md5
	// finding is new again, with its first sighting kept; the end of the
	// failure is said once, with what the region holds now.
	vpc.ReplaceConnection("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
	vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
	rep, _, text = check(4 * time.Hour)
	f := rep.find("ike-weak-integrity", hz)
	if f == nil || f.Status != report.StatusNew || !f.Reopened || !f.FirstSeen.Equal(t0) || rep.Summary.New != 1 || rep.Summary.Resolved != 0 {
		t.Errorf("reopened: %+v, new %d, resolved %d", f, rep.Summary.New, rep.Summary.Resolved)
	}
	if n := strings.Count(text, msgMD5); n != 1 {
		t.Errorf("reopened: md5 said %d times, want once:\n%s", n, text)
	}
	mustNotContain("reopened message", text, msgDPD, msgIKEv1, "stay open")
	mustContain(t, "recovery's message", text, "Scanned again (1)", "Forbidden.RAM", "failing since 2026-11-25 13:00 UTC (1 hour)",
		"now 2 findings there (1 medium, 1 low) on 1 connection", "1 region scanned again")
	if v = readLedger(t, store); len(v.state.Failing) != 0 {
		t.Errorf("state after the recovery: still failing %+v", v.state.Failing)
	}
	quiet(4*time.Hour+30*time.Minute, 5)
	v = readLedger(t, store)
	if len(v.state.Open) != 5 || v.state.Resolved[md5ID] != nil {
		t.Errorf("state after the reopening: %d open, resolved %v", len(v.state.Open), v.state.Resolved)
	}

	// 6. An exception in policy data (ike-v1 on cn-shanghai) and one as tags
	// (dpd-disabled on cn-hangzhou): each said once, then left out.
	vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, true, tagException))
	rep, _, text = check(5*time.Hour, "--policies", excepted)
	if rep.Summary.Suppressed != 2 || len(rep.Findings) != 3 || rep.Summary.New != 0 {
		t.Errorf("exceptions: suppressed %d, findings %d, new %d, errors %+v", rep.Summary.Suppressed, len(rep.Findings), rep.Summary.New, rep.Errors)
	}
	mustContain(t, "exceptions' message", text, "Now covered by an exception (2)", "dpd-disabled", "ike-v1")
	v = readLedger(t, store)
	if len(v.state.Open) != 3 || v.open("ike-v1", sh) != nil || v.open("dpd-disabled", hz) != nil {
		t.Errorf("state after the exceptions: %d open", len(v.state.Open))
	}
	env["VPNCHECK_POLICY_DIR"] = excepted // the team's policies from now on
	quiet(5*time.Hour+30*time.Minute, 3)

	// 7. ike-v1 raised to high in policy data: said once, with what it was.
	rep, _, text = check(6*time.Hour, "--policies", rerated)
	f = rep.find("ike-v1", hz)
	if f == nil || f.Severity != report.High || f.PreviousSeverity == nil || *f.PreviousSeverity != report.Low || f.Status != report.StatusOpen {
		t.Errorf("re-rated: %+v", f)
	}
	mustContain(t, "re-rating's message", text, "Severity changed (1)", "now *high*, was low")
	mustNotContain("re-rating's message", text, msgMD5)
	v = readLedger(t, store)
	if r := v.open("ike-v1", hz); r == nil || r.Severity != report.High {
		t.Errorf("state after the re-rating: %+v", r)
	}
	env["VPNCHECK_POLICY_DIR"] = rerated
	quiet(7*time.Hour, 3)

	// 8. The digest: not before its period, then once, worst and oldest
	// first, with the suppressed findings.
	quiet(23*time.Hour+59*time.Minute, 3)
	rep, posts, text = check(24*time.Hour + 5*time.Minute)
	if len(posts) == 0 || rep.Summary.New != 0 {
		t.Fatalf("digest: %d posts, new %d", len(posts), rep.Summary.New)
	}
	mustContain(t, "digest", text, "Digest: everything open", "3 findings", "2 more suppressed by exceptions", "suppressed by an exception")
	// Worst first: the two high findings before the medium one (the first
	// dpd-disabled after the title; the tag-excepted one is listed last).
	digest := text[strings.Index(text, "Digest: everything open"):]
	if md5, v1, dpd := strings.Index(digest, "`ike-weak-integrity`"), strings.Index(digest, "`ike-v1`"), strings.Index(digest, "`dpd-disabled`"); md5 < 0 || v1 < 0 || dpd < md5 || dpd < v1 {
		t.Errorf("digest not worst first: ike-weak-integrity at %d, ike-v1 at %d, dpd-disabled at %d:\n%s", md5, v1, dpd, digest)
	}
	v = readLedger(t, store)
	if !v.state.LastDigest.Equal(t0.Add(24*time.Hour + 5*time.Minute)) {
		t.Errorf("state after the digest: last digest %v", v.state.LastDigest)
	}
	quiet(25*time.Hour, 3)

	// 9. The tag exception expires (2027-01-31): its finding is back, new,
	// and says so; the policy-data exception still holds.
	expired := time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC).Sub(t0)
	rep, _, text = check(expired)
	f = rep.find("dpd-disabled", hz)
	if f == nil || f.Status != report.StatusNew || f.ExceptionExpired != "2027-01-31" || rep.Summary.New != 1 || rep.Summary.Suppressed != 1 {
		t.Errorf("expired exception: %+v, new %d, suppressed %d", f, rep.Summary.New, rep.Summary.Suppressed)
	}
	mustContain(t, "expired exception's message", text, msgDPD, "2027-01-31")
	v = readLedger(t, store)
	if len(v.state.Open) != 4 || v.open("dpd-disabled", hz) == nil {
		t.Errorf("state after the expiry: %d open", len(v.state.Open))
	}
	quiet(expired+time.Hour, 4)
}

// TestLifecycleStateUnreadable: a corrupt state, a store that cannot be
// opened or read. Each is an errors entry StateUnreadable, and the run
// goes on as if the state were empty: every finding new, posted again.
func TestLifecycleStateUnreadable(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	// Each case has a fake VPC API and Slack of its own, so the cases run
	// in parallel.
	type lcSetup struct {
		vpc *vpcfake.Server
		sl  *slackfake.Server
		env map[string]string
		run func(name string, stateSpec string, extraEnv map[string]string) lcReport
	}
	setup := func(t *testing.T) lcSetup {
		t.Helper()
		vpc, env := hostileEnv(t)
		sl := slackfake.New(slackfake.Options{})
		t.Cleanup(sl.Close)
		slackEnv(sl, false, env)
		vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
		env["VPNCHECK_NOW"] = t0.Format(time.RFC3339)
		run := func(name string, stateSpec string, extraEnv map[string]string) lcReport {
			t.Helper()
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range extraEnv {
				e[k] = v
			}
			r := runBinary(t, e, 60*time.Second, "check", "--regions", "cn-hangzhou", "--state", stateSpec, "--notify", "--format", "json")
			if r.code != exitOK {
				t.Fatalf("%s: exit %d (want %d, as documented), stderr %s", name, r.code, exitOK, r.stderr)
			}
			var rep lcReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, r.stdout)
			}
			noSecrets(t, r.stdout, r.stderr)
			return rep
		}
		return lcSetup{vpc, sl, env, run}
	}

	for _, tc := range []struct {
		name, body string
		heals      bool // the run writes the next generation over it
	}{
		{"corrupt document", "vpncheck-log/1 {\"gen\":1,\"id\":\"x\"}\n{\"state\": {\"version\": 1, \"open\": {", true},
		{"another version", "vpncheck-log/1 {\"gen\":1,\"id\":\"x\"}\n{\"state\": {\"version\": 99, \"open\": {}}}", true},
		// A damaged header starts a new line of descent in the log.
		{"not a generation", "not a generation at all", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			run, sl := c.run, c.sl
			dir := filepath.Join(t.TempDir(), "state")
			if rep := run("first", dir, nil); rep.Summary.New != 3 {
				t.Fatalf("first run: new %d", rep.Summary.New)
			}
			store := openDirStore(t, dir)
			var genFile string
			for _, k := range readLedger(t, store).keys {
				if strings.Contains(k, "/state/gen-") {
					genFile = filepath.Join(dir, filepath.FromSlash(k))
				}
			}
			if err := os.Remove(genFile); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(genFile, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(sl.Posts())
			rep := run("corrupt", dir, nil)
			if !rep.hasError(report.CodeStateUnreadable) || rep.Summary.New != 3 || len(sl.Posts()) == before {
				t.Errorf("corrupt state: new %d, %d posts, errors %+v", rep.Summary.New, len(sl.Posts())-before, rep.Errors)
			}
			for _, f := range rep.Findings {
				if f.Status != report.StatusNew {
					t.Errorf("corrupt state: %s is %s", f.Rule, f.Status)
				}
			}
			before = len(sl.Posts())
			rep = run("the run after", dir, nil)
			posts := len(sl.Posts()) - before
			switch {
			case tc.heals && (len(rep.Errors) != 0 || rep.Summary.New != 0 || posts != 0):
				t.Errorf("the run after a corrupt state: errors %+v, new %d, %d posts; want it quiet", rep.Errors, rep.Summary.New, posts)
			case tc.heals:
				if v := readLedger(t, store); v.gen != 3 || len(v.state.Open) != 3 || !v.done {
					t.Errorf("state after healing: gen %d, %d open, done %v", v.gen, len(v.state.Open), v.done)
				}
			case !rep.hasError(report.CodeStateUnreadable) || rep.Summary.New != 3:
				t.Errorf("the run after an unreadable generation: new %d, errors %+v", rep.Summary.New, rep.Errors)
			}
		})
	}
	t.Run("a file where the directory should be", func(t *testing.T) {
		// A location that can never hold a state is a usage error (issue
		// 19), not a run without state that posts every finding again.
		t.Parallel()
		c := setup(t)
		vpc, sl, env := c.vpc, c.sl, c.env
		file := writeTemp(t, "state", "a file")
		before, scans := len(sl.Posts()), vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou")
		r := runBinary(t, env, 60*time.Second, "check", "--regions", "cn-hangzhou", "--state", file, "--notify", "--format", "json")
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "not a directory") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if len(sl.Posts()) != before || vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != scans {
			t.Errorf("a refused state location still led to a post or a scan")
		}
	})
	// At open (GetBucketVersioning), then at the first read of the state.
	for _, op := range []string{"GetBucketVersioning", "ListObjectsV2"} {
		t.Run("OSS answering 500 to "+op, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			run, sl := c.run, c.sl
			oss := ossfake.New(t, ossfake.Config{AccessKeyID: liveAK, AccessKeySecret: liveSecret, Buckets: []string{"vpncheck-state"}})
			ossEnv := map[string]string{"VPNCHECK_OSS_ENDPOINT": oss.URL, "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou"}
			oss.Inject(ossfake.Fault{Op: op, Count: 100, Status: http.StatusInternalServerError, Code: "InternalError"})
			before := len(sl.Posts())
			rep := run(op, "oss://vpncheck-state/lc", ossEnv)
			if !rep.hasError(report.CodeStateUnreadable) || rep.Summary.New != 3 || len(sl.Posts()) == before {
				t.Errorf("%s failing: new %d, errors %+v", op, rep.Summary.New, rep.Errors)
			}
			for _, e := range rep.Errors {
				if strings.Contains(e.Message, liveSecret) {
					t.Errorf("error shows the secret: %s", e.Message)
				}
			}
		})
	}
}

// binaryResult is one run of the binary started by startBinary.
type binaryResult struct {
	code           int
	stdout, stderr string
	err            error
}

// startBinary starts the binary with exactly env; wait for its result on
// the channel (safe from any goroutine: it never calls t).
func startBinary(bin string, env map[string]string, args ...string) <-chan binaryResult {
	ch := make(chan binaryResult, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	go func() {
		defer cancel()
		err := cmd.Run()
		r := binaryResult{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		default:
			r.err = err
		}
		ch <- r
	}()
	return ch
}

// raceChecks runs one `check --notify` per entry of regions at once, all
// on the state at stateSpec, and returns their reports.
func raceChecks(t *testing.T, env map[string]string, stateSpec string, regions []string) []lcReport {
	t.Helper()
	bin := testBinary(t)
	var chans []<-chan binaryResult
	for _, r := range regions {
		chans = append(chans, startBinary(bin, env, "check", "--regions", r, "--state", stateSpec, "--notify", "--format", "json"))
	}
	var reps []lcReport
	for i, ch := range chans {
		r := <-ch
		if r.err != nil || r.code != exitOK {
			t.Fatalf("run %d (%s): exit %d, %v, stderr %s", i, regions[i], r.code, r.err, r.stderr)
		}
		var rep lcReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, r.stdout)
		}
		if len(rep.Errors) > 0 {
			t.Errorf("run %d (%s): errors %+v", i, regions[i], rep.Errors)
		}
		reps = append(reps, rep)
	}
	return reps
}

// TestLifecycleRace: concurrent runs on one state (a directory, and OSS
// through the fake that honours x-oss-forbid-overwrite), as the compiled
// binary: every run's update is kept, and each finding is posted once.
func TestLifecycleRace(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	vpc, env := hostileEnv(t)
	vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
	vpc.AddConnections("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
	cred, err := alibaba.StaticCredential(liveAK, liveSecret, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"dir", "oss"} {
		t.Run(kind, func(t *testing.T) {
			sl := slackfake.New(slackfake.Options{})
			t.Cleanup(sl.Close)
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			slackEnv(sl, false, e)
			spec := filepath.Join(t.TempDir(), "state")
			var oss *ossfake.Server
			if kind == "oss" {
				oss = ossfake.New(t, ossfake.Config{AccessKeyID: liveAK, AccessKeySecret: liveSecret, Buckets: []string{"vpncheck-state"}})
				spec = "oss://vpncheck-state/team/vpncheck"
				e["VPNCHECK_OSS_ENDPOINT"], e["ALIBABA_CLOUD_REGION_ID"] = oss.URL, "cn-hangzhou"
			}
			store, err := state.Open(context.Background(), spec, state.Options{Region: "cn-hangzhou", Endpoint: e["VPNCHECK_OSS_ENDPOINT"], Credential: cred})
			if err != nil {
				t.Fatal(err)
			}
			watch := &slackWatch{s: sl}

			// Round 1: two runs of each region at once, all new.
			e["VPNCHECK_NOW"] = t0.Format(time.RFC3339)
			regions := []string{"cn-hangzhou", "cn-shanghai", "cn-hangzhou", "cn-shanghai"}
			reps := raceChecks(t, e, spec, regions)
			newCount := 0
			for _, r := range reps {
				newCount += r.Summary.New
			}
			_, text := watch.since()
			if newCount != 5 {
				t.Errorf("round 1: %d findings reported new across the runs, want each of the 5 once", newCount)
			}
			for msg, want := range map[string]int{msgMD5: 1, msgDPD: 2, msgIKEv1: 2} {
				if n := strings.Count(text, msg); n != want {
					t.Errorf("round 1: %q posted %d times, want %d:\n%s", msg, n, want, text)
				}
			}
			v := readLedger(t, store)
			if v.gen != 4 || len(v.state.Open) != 5 || !v.done {
				t.Errorf("round 1: state gen %d (want one per run, 4), %d open (want 5: no update lost), done %v", v.gen, len(v.state.Open), v.done)
			}

			// Round 2: md5 fixed; both cn-hangzhou runs see it, it is said once.
			vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, false, nil))
			e["VPNCHECK_NOW"] = t0.Add(time.Hour).Format(time.RFC3339)
			reps = raceChecks(t, e, spec, regions)
			resolved := 0
			for _, r := range reps {
				resolved += r.Summary.Resolved
			}
			_, text = watch.since()
			if resolved != 1 || strings.Count(text, "Fixed since the last run") != 1 || strings.Count(text, "ike-weak-integrity") != 1 {
				t.Errorf("round 2: resolved %d across the runs, messages:\n%s", resolved, text)
			}
			v = readLedger(t, store)
			if v.gen != 8 || len(v.state.Open) != 4 || len(v.state.Resolved) != 1 || !v.done {
				t.Errorf("round 2: state gen %d, %d open, %d resolved, done %v", v.gen, len(v.state.Open), len(v.state.Resolved), v.done)
			}
			vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
			if oss != nil {
				t.Logf("OSS: %d requests, %d create-only writes refused (FileAlreadyExists)", len(oss.Requests()), countCode(oss.Requests(), "FileAlreadyExists"))
			}
		})
	}
}

// fcInstance is one instance of the function: a process of the binary
// under its own fake runtime, talking to fakes the test keeps across
// instances.
type fcInstance struct {
	*fcEnv
	cmd *exec.Cmd
}

// startInstance starts a fresh instance (a new process) of the function
// with env, against vpc and sl.
func startInstance(t *testing.T, vpc *vpcfake.Server, sl *slackfake.Server, env map[string]string) *fcInstance {
	t.Helper()
	e := &fcEnv{rt: newFakeRuntime(t), vpc: vpc, slack: sl, creds: fcCreds, logs: &syncBuffer{}}
	return &fcInstance{fcEnv: e, cmd: launch(t, e, env)}
}

// kill ends the instance at once, as a crash or a recycled instance would.
func (in *fcInstance) kill() {
	in.cmd.Process.Kill()
	in.cmd.Wait()
}

// invokeAsync queues an invocation and returns its outcome's channel, for
// an instance that may die before it answers.
func (in *fcInstance) invokeAsync(t *testing.T, body string) <-chan fcOutcome {
	ch := make(chan fcOutcome, 1)
	go func() { ch <- in.rt.invoke(t, body, in.creds, 60*time.Second) }()
	return ch
}

// footers counts the "message i of n" footers among posts: each message
// of a run carries its own.
func footers(posts []slackfake.Post) map[string]int {
	out := map[string]int{}
	for _, p := range posts {
		var blocks []struct {
			Type     string `json:"type"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		}
		json.Unmarshal(p.Blocks, &blocks)
		for _, b := range blocks {
			for _, el := range b.Elements {
				if i := strings.Index(el.Text, "message "); b.Type == "context" && i >= 0 && strings.Contains(el.Text, " of ") {
					out[el.Text[i:]]++
				}
			}
		}
	}
	return out
}

// TestFunctionLifecycleRetries: FC retries a timer event asynchronously,
// possibly on a fresh instance that remembers nothing; the state store
// (VPNCHECK_STATE, opened per invocation) is what makes the retry post
// nothing after a delivered run, and only the rest after one that died
// mid-delivery.
func TestFunctionLifecycleRetries(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	newSetup := func(t *testing.T) (*vpcfake.Server, *slackfake.Server, map[string]string) {
		vpc := vpcfake.Start(fcCreds)
		t.Cleanup(vpc.Close)
		vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
		vpc.AddConnections("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
		sl := slackfake.New(slackfake.Options{})
		t.Cleanup(sl.Close)
		// A bot posts a summary and the details in its thread: two messages.
		env := map[string]string{"VPNCHECK_STATE": filepath.Join(t.TempDir(), "state")}
		slackEnv(sl, true, env)
		return vpc, sl, env
	}
	checkOnce := func(t *testing.T, sl *slackfake.Server) {
		t.Helper()
		posts := sl.Posts()
		f := footers(posts)
		if len(posts) != 2 || f["message 1 of 2"] != 1 || f["message 2 of 2"] != 1 {
			t.Fatalf("want each of the run's 2 messages posted once, got %d posts, footers %v", len(posts), f)
		}
		// The details stay in the summary's thread, whichever instance posted them.
		if posts[0].ThreadTS != "" || posts[1].ThreadTS != posts[0].TS {
			t.Errorf("details not in the summary's thread: summary ts %q, details thread %q", posts[0].TS, posts[1].ThreadTS)
		}
		var text strings.Builder
		for _, p := range posts {
			text.WriteString(p.Text + string(p.Blocks))
		}
		if n := strings.Count(text.String(), msgMD5); n != 1 {
			t.Errorf("the md5 finding is said %d times, want once", n)
		}
	}

	t.Run("delivered, retried on a fresh instance", func(t *testing.T) {
		t.Parallel() // each case its own fakes and state (newSetup)
		vpc, sl, env := newSetup(t)
		first := startInstance(t, vpc, sl, env)
		r := decodeResult(t, first.rt.invoke(t, timerEvent, first.creds, 60*time.Second))
		if r.Slack == nil || r.Slack.Posted != 2 {
			t.Fatalf("first attempt: %+v", r.Slack)
		}
		first.kill()
		again := startInstance(t, vpc, sl, env)
		out := again.rt.invoke(t, timerEvent, again.creds, 60*time.Second)
		r = decodeResult(t, out)
		if r.Slack == nil || r.Slack.Posted != 0 || r.Summary.Findings != 5 {
			t.Errorf("retry on a fresh instance: slack %+v, summary %+v", r.Slack, r.Summary)
		}
		checkOnce(t, sl)
		again.assertNoSecrets(t, out)
		// The next hour's event, with nothing changed: nothing to say.
		next := decodeResult(t, again.rt.invoke(t, strings.Replace(timerEvent, "10:05", "11:05", 1), again.creds, 60*time.Second))
		if next.Slack == nil || next.Slack.Posted != 0 || len(sl.Posts()) != 2 {
			t.Errorf("next hour: %+v, %d posts", next.Slack, len(sl.Posts()))
		}
	})

	t.Run("Slack fails after the first message, retried on a fresh instance", func(t *testing.T) {
		t.Parallel()
		vpc, sl, env := newSetup(t)
		first := startInstance(t, vpc, sl, env)
		sl.FailNext(slackfake.Pass, slackfake.Failure{Error: "channel_not_found"})
		out := first.rt.invoke(t, timerEvent, first.creds, 60*time.Second)
		if !out.failed || len(sl.Posts()) != 1 {
			t.Fatalf("first attempt: failed %v (%s), %d posts", out.failed, out.body, len(sl.Posts()))
		}
		first.kill()
		again := startInstance(t, vpc, sl, env)
		r := decodeResult(t, again.rt.invoke(t, timerEvent, again.creds, 60*time.Second))
		if r.Slack == nil || r.Slack.Posted != 1 || r.Slack.Skipped != 1 {
			t.Errorf("retry: %+v", r.Slack)
		}
		checkOnce(t, sl)
		// A third attempt of the same event posts nothing.
		r = decodeResult(t, startInstance(t, vpc, sl, env).rt.invoke(t, timerEvent, again.creds, 60*time.Second))
		if r.Slack == nil || r.Slack.Posted != 0 {
			t.Errorf("third attempt: %+v", r.Slack)
		}
		checkOnce(t, sl)
	})

	for _, retried := range []bool{true, false} {
		name := "instance killed mid-delivery, retried on a fresh instance"
		if !retried {
			name = "instance killed mid-delivery, never retried: the next hour's run finishes it"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			killedMidDelivery(t, retried, newSetup, checkOnce)
		})
	}
}

func killedMidDelivery(t *testing.T, retried bool, newSetup func(*testing.T) (*vpcfake.Server, *slackfake.Server, map[string]string), checkOnce func(*testing.T, *slackfake.Server)) {
	{
		vpc, sl, env := newSetup(t)
		env["VPNCHECK_NOW"] = "2026-11-25T10:05:00Z"
		first := startInstance(t, vpc, sl, env)
		// The second message is throttled for 20 s: the instance dies
		// while it waits.
		sl.FailNext(slackfake.Pass, slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 20})
		first.invokeAsync(t, timerEvent)
		// The signal: the second message answered 429. It was sent, so the
		// first one's acknowledgement was recorded (the notifier sends a
		// part only after OnPosted recorded the one before), and the
		// instance now waits out the Retry-After.
		throttled := func() bool {
			return slices.ContainsFunc(sl.Requests(), func(r slackfake.Request) bool { return r.Status == http.StatusTooManyRequests })
		}
		for deadline := time.Now().Add(30 * time.Second); !throttled(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the first attempt never reached its second message: %d requests", len(sl.Requests()))
			}
		}
		first.kill()
		if len(sl.Posts()) != 1 {
			t.Fatalf("before the crash: %d posts, want 1", len(sl.Posts()))
		}
		event := timerEvent
		if !retried {
			event = strings.Replace(timerEvent, "10:05", "11:05", 1)
			env["VPNCHECK_NOW"] = "2026-11-25T11:05:00Z"
		}
		again := startInstance(t, vpc, sl, env)
		r := decodeResult(t, again.rt.invoke(t, event, again.creds, 60*time.Second))
		if retried && (r.Slack == nil || r.Slack.Posted != 1 || r.Slack.Skipped != 1) {
			t.Errorf("retry after the crash: %+v", r.Slack)
		}
		checkOnce(t, sl)
	}
}

// TestLifecycleVersionedBucketRefused: OSS ignores create-only writes on a
// bucket with versioning, so such a bucket is refused at start: the
// command line exits 2 with one line and posts nothing; the function's
// invocation fails, says why, and says so in Slack.
func TestLifecycleVersionedBucketRefused(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	for _, status := range []string{"Enabled", "Suspended"} {
		t.Run("command line "+status, func(t *testing.T) {
			t.Parallel() // each its own fakes
			vpc, env := hostileEnv(t)
			vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
			sl := slackfake.New(slackfake.Options{})
			t.Cleanup(sl.Close)
			slackEnv(sl, false, env)
			oss := ossfake.New(t, ossfake.Config{AccessKeyID: liveAK, AccessKeySecret: liveSecret, Buckets: []string{"vpncheck-state"}})
			oss.SetVersioning("vpncheck-state", status)
			env["VPNCHECK_OSS_ENDPOINT"], env["ALIBABA_CLOUD_REGION_ID"] = oss.URL, "cn-hangzhou"
			r := runBinary(t, env, 60*time.Second, "check", "--regions", "cn-hangzhou", "--state", "oss://vpncheck-state/vpncheck", "--notify")
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != exitUsage || r.stdout != "" || len(lines) != 1 || !strings.Contains(r.stderr, "versioning") {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if len(sl.Requests()) != 0 || oss.Count("PutObject") != 0 || vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != 0 {
				t.Errorf("a refused bucket still led to %d Slack requests, %d writes, or a scan", len(sl.Requests()), oss.Count("PutObject"))
			}
			noSecrets(t, r.stdout, r.stderr)
		})
	}
	t.Run("function", func(t *testing.T) {
		t.Parallel()
		vpc := vpcfake.Start(fcCreds)
		t.Cleanup(vpc.Close)
		vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
		sl := slackfake.New(slackfake.Options{})
		t.Cleanup(sl.Close)
		oss := ossfake.New(t, ossfake.Config{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
			SecurityToken: fcCreds.SecurityToken, Buckets: []string{"vpncheck-state"}})
		oss.SetVersioning("vpncheck-state", "Enabled")
		env := map[string]string{"VPNCHECK_STATE": "oss://vpncheck-state/vpncheck", "VPNCHECK_OSS_ENDPOINT": oss.URL}
		slackEnv(sl, false, env)
		in := startInstance(t, vpc, sl, env)
		out := in.rt.invoke(t, timerEvent, in.creds, 60*time.Second)
		if !out.failed || !strings.Contains(string(out.body), "versioning") {
			t.Errorf("invocation: failed %v, %s", out.failed, out.body)
		}
		if posts := sl.Posts(); len(posts) != 1 || !strings.Contains(posts[0].Text+string(posts[0].Blocks), "versioning") {
			t.Errorf("Slack should hear why the run failed, once: %d posts", len(posts))
		}
		if oss.Count("PutObject") != 0 {
			t.Errorf("%d writes to a versioned bucket", oss.Count("PutObject"))
		}
		in.assertNoSecrets(t, out)
	})
}

// TestFunctionLifecycleConcurrentOSS: two instances serving at once on one
// OSS state (the fake honours x-oss-forbid-overwrite): two different timer
// events, then the same event delivered twice (FC's asynchronous delivery
// is at least once). Each finding is posted once, and no update is lost.
func TestFunctionLifecycleConcurrentOSS(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	vpc := vpcfake.Start(fcCreds)
	t.Cleanup(vpc.Close)
	vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
	vpc.AddConnections("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
	sl := slackfake.New(slackfake.Options{})
	t.Cleanup(sl.Close)
	oss := ossfake.New(t, ossfake.Config{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
		SecurityToken: fcCreds.SecurityToken, Buckets: []string{"vpncheck-state"}})
	env := map[string]string{"VPNCHECK_STATE": "oss://vpncheck-state/vpncheck", "VPNCHECK_OSS_ENDPOINT": oss.URL}
	slackEnv(sl, true, env)
	a, b := startInstance(t, vpc, sl, env), startInstance(t, vpc, sl, env)
	cred, err := alibaba.StaticCredential(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, fcCreds.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(context.Background(), "oss://vpncheck-state/vpncheck", state.Options{Region: "cn-hangzhou", Endpoint: oss.URL, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	watch := &slackWatch{s: sl}
	at := func(hour string) string { return strings.Replace(timerEvent, "10:05", hour, 1) }

	// Two events at once: one posts the news, the other finds none.
	oa, ob := a.invokeAsync(t, at("10:05")), b.invokeAsync(t, at("11:05"))
	ra, rb := decodeResult(t, <-oa), decodeResult(t, <-ob)
	posts, text := watch.since()
	if ra.Slack == nil || rb.Slack == nil || ra.Slack.Posted+rb.Slack.Posted != 2 || len(posts) != 2 || strings.Count(text, msgMD5) != 1 {
		t.Errorf("two events at once: slack %+v and %+v, %d posts, md5 said %d times", ra.Slack, rb.Slack, len(posts), strings.Count(text, msgMD5))
	}
	v := readLedger(t, store)
	if v.gen != 2 || len(v.state.Open) != 5 || !v.done {
		t.Errorf("state: gen %d, %d open, done %v", v.gen, len(v.state.Open), v.done)
	}

	// md5 fixed; one event delivered to both instances at once: said once.
	// The attempt that finds the other's claim still leased fails (FC
	// retries it later), or finds the run done and posts nothing.
	vpc.ReplaceConnection("cn-hangzhou", lcConn("cn-hangzhou", 0, false, nil))
	oa, ob = a.invokeAsync(t, at("12:05")), b.invokeAsync(t, at("12:05"))
	outs := []fcOutcome{<-oa, <-ob}
	_, text = watch.since()
	failed := 0
	for _, o := range outs {
		if o.failed {
			failed++
			if !strings.Contains(string(o.body), "being run by another attempt") {
				t.Errorf("a duplicate failed for another reason: %s", o.body)
			}
		}
	}
	if failed > 1 || strings.Count(text, "Fixed since the last run (1)") != 1 {
		t.Errorf("one event twice at once: %d failed, messages:\n%s", failed, text)
	}
	// FC's retry of the duplicate, once the first is done: nothing more.
	r := decodeResult(t, b.rt.invoke(t, at("12:05"), b.creds, 60*time.Second))
	if more, _ := watch.since(); r.Slack == nil || r.Slack.Posted != 0 || len(more) != 0 {
		t.Errorf("the duplicate's retry: %+v, %d posts", r.Slack, len(more))
	}
	v = readLedger(t, store)
	if v.gen != 3 || len(v.state.Open) != 4 || len(v.state.Resolved) != 1 || !v.done {
		t.Errorf("state after the fix: gen %d, %d open, %d resolved, done %v", v.gen, len(v.state.Open), len(v.state.Resolved), v.done)
	}
	t.Logf("%d posts in all; OSS: %d requests, %d create-only writes refused", len(sl.Posts()), len(oss.Requests()), countCode(oss.Requests(), "FileAlreadyExists"))
}

func countCode(reqs []ossfake.Request, code string) int {
	n := 0
	for _, r := range reqs {
		if r.Code == code {
			n++
		}
	}
	return n
}

// TestFunctionLifecycleFileRetry: past the message budget a bot attaches
// the complete report as a file, the last part of the run's delivery. An
// upload that fails is the one part a retry on a fresh instance sends.
func TestFunctionLifecycleFileRetry(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	vpc := vpcfake.Start(fcCreds)
	t.Cleanup(vpc.Close)
	// 400 alike: their problems are told once, and still their compact
	// lists pass a budget of 2 messages.
	for i := range 400 {
		vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", i, i%2 == 0, nil))
	}
	sl := slackfake.New(slackfake.Options{})
	t.Cleanup(sl.Close)
	env := map[string]string{"VPNCHECK_STATE": filepath.Join(t.TempDir(), "state"), "VPNCHECK_SLACK_MAX_MESSAGES": "2", "VPNCHECK_REGIONS": "cn-hangzhou"}
	slackEnv(sl, true, env)

	first := startInstance(t, vpc, sl, env)
	sl.FailFileNext(slackfake.Failure{Error: "invalid_arguments"})
	out := first.rt.invoke(t, timerEvent, first.creds, 60*time.Second)
	posted := len(sl.Posts())
	if !out.failed || !strings.Contains(string(out.body), "upload") || posted == 0 || len(sl.Files()) != 0 {
		t.Fatalf("first attempt: failed %v (%s), %d posts, %d files", out.failed, out.body, posted, len(sl.Files()))
	}
	first.kill()
	again := startInstance(t, vpc, sl, env)
	r := decodeResult(t, again.rt.invoke(t, timerEvent, again.creds, 60*time.Second))
	files := sl.Files()
	if r.Slack == nil || r.Slack.Skipped != posted || len(files) != 1 || files[0].ThreadTS != sl.Posts()[0].TS {
		t.Fatalf("retry: %+v, %d files", r.Slack, len(files))
	}
	var rep lcReport
	if err := json.Unmarshal(files[0].Content, &rep); err != nil || len(rep.Findings) != 1000 {
		t.Errorf("the file is not the complete report: %v, %d findings", err, len(rep.Findings))
	}
	// Only the file's share message is new in the channel.
	if n := len(sl.Posts()); n != posted+1 {
		t.Errorf("%d posts after the retry, want the %d before and the file's", n, posted)
	}
	// Once more: nothing.
	r = decodeResult(t, startInstance(t, vpc, sl, env).rt.invoke(t, timerEvent, again.creds, 60*time.Second))
	if r.Slack == nil || r.Slack.Posted != 0 || len(sl.Files()) != 1 {
		t.Errorf("third attempt: %+v, %d files", r.Slack, len(sl.Files()))
	}
}

// TestLifecycleDeadlineResolvesNothing: a region cut short by --timeout
// resolves nothing, though its connection was fixed meanwhile.
func TestLifecycleDeadlineResolvesNothing(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	testBinary(t)
	vpc, env := hostileEnv(t)
	sl := slackfake.New(slackfake.Options{})
	t.Cleanup(sl.Close)
	slackEnv(sl, false, env)
	vpc.AddConnections("cn-hangzhou", lcConn("cn-hangzhou", 0, true, nil))
	vpc.AddConnections("cn-shanghai", lcConn("cn-shanghai", 0, false, nil))
	dir := filepath.Join(t.TempDir(), "state")
	check := func(at time.Duration, args ...string) lcReport {
		t.Helper()
		env["VPNCHECK_NOW"] = t0.Add(at).Format(time.RFC3339)
		r := runBinary(t, env, time.Minute, append([]string{"check", "--regions", "cn-hangzhou,cn-shanghai", "--state", dir, "--notify", "--format", "json"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var rep lcReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	check(0)
	watch := &slackWatch{s: sl, seen: len(sl.Posts())}
	vpc.ReplaceConnection("cn-shanghai", vpcfake.Connection("cn-shanghai", 0))
	vpc.SetLatency("cn-shanghai", 20*time.Second)
	rep := check(time.Hour, "--timeout", "4s")
	_, text := watch.since()
	if rep.Summary.Resolved != 0 || !rep.hasError("DeadlineExceeded") {
		t.Errorf("cut short: resolved %d, errors %+v", rep.Summary.Resolved, rep.Errors)
	}
	mustContain(t, "message", text, "stay open", "cn-shanghai")
	v := readLedger(t, openDirStore(t, dir))
	if len(v.state.Open) != 5 || !v.done {
		t.Errorf("state: %d open, done %v", len(v.state.Open), v.done)
	}
	// Read whole again: now it is fixed.
	vpc.SetLatency("cn-shanghai", 0)
	if rep = check(2 * time.Hour); rep.Summary.Resolved != 2 {
		t.Errorf("read whole: resolved %d, want the 2 of cn-shanghai", rep.Summary.Resolved)
	}
}

func TestRunClock(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Time
		ok    bool
	}{
		{"", time.Time{}, true},
		{"2026-11-25T10:00:00Z", t0, true},
		{" 2026-11-25T18:00:00+08:00 ", t0, true},
		{"2026-11-25", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := runClock(func(k string) string { return map[string]string{envNow: tc.value}[k] })
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%q: %v, %v", tc.value, got, err)
		}
	}
	// The event command runs on the same clock.
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	inv := inventoryWith(t, "cn-hangzhou", weakAt("cn-hangzhou", "vco-testmodify0001"))
	code, out, errs := cli(t, map[string]string{envNow: "2026-11-25T10:00:00Z"}, "event", "--file", filepath.Join("..", "testdata", "events", "api-modify-weakens.json"),
		"--inventory", inv, "--state", t.TempDir(), "--format", "json")
	var rep lcReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || len(rep.Findings) == 0 {
		t.Fatalf("event: exit %d, %v, stderr %s", code, err, errs)
	}
	for _, f := range rep.Findings {
		if !f.FirstSeen.Equal(t0) {
			t.Errorf("event: %s first seen %v, want %v", f.Rule, f.FirstSeen, t0)
		}
	}

	// A bad clock is a usage error of every command that runs a check.
	ev := writeTemp(t, "event.json", "{}")
	for _, args := range [][]string{
		{"check", "--inventory", "../testdata/sample.json"},
		{"event", "--file", ev, "--inventory", "../testdata/sample.json"},
	} {
		code, out, errs := cli(t, map[string]string{envNow: "tomorrow"}, args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, envNow) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", args[0], code, out, errs)
		}
	}
}
