package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vpncheck/vpncheck/checker/change"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// Change events go through the compiled binary under the fake Function
// Compute runtime, against the fake VPC API and the fake Slack, with the
// samples of testdata/events and a state directory.

// fcAccount is the account the fake runtime's invocations run in.
const fcAccount = "1234567890123456"

// eventBody reads a sample event, moved to the function's account.
func eventBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), `"1000000000000001"`, `"`+fcAccount+`"`)
}

// weakAt is a connection with weak IKE and IPsec settings and its own key.
func weakAt(region, id string) map[string]any {
	c := weakConn(region, 0).(map[string]any)
	c["VpnConnectionId"], c["Name"] = id, "branch-"+id
	c["IkeConfig"].(map[string]any)["Psk"] = "CANARY-FC-PSK-" + id
	return c
}

// strongAt is a compliant connection with its own strong key.
func strongAt(region, id string, i int) map[string]any {
	c := vpcfake.Connection(region, i).(map[string]any)
	c["VpnConnectionId"], c["Name"] = id, "branch-"+id
	return c
}

type changeResult struct {
	RunKey  string `json:"run_key"`
	Summary struct {
		Connections, Findings, New, Resolved int
		RegionsScanned                       []string `json:"regions_scanned"`
		RegionsFailed                        []string `json:"regions_failed"`
	} `json:"summary"`
	Errors []map[string]any `json:"errors"`
	Slack  *struct{ Messages, Posted, Skipped int }
}

func decodeChange(t *testing.T, out fcOutcome) changeResult {
	t.Helper()
	if out.failed {
		t.Fatalf("invocation failed: %s", out.body)
	}
	var r changeResult
	if err := json.Unmarshal(out.body, &r); err != nil {
		t.Fatalf("result %s: %v", out.body, err)
	}
	return r
}

// postedSince is the text of every Slack message from the n-th on.
func (e *fcEnv) postedSince(n int) string {
	var b strings.Builder
	for _, p := range e.slack.Posts()[n:] {
		b.WriteString(p.Text + "\n" + string(p.Blocks) + "\n")
	}
	return b.String()
}

func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not name %q:\n%s", what, w, s)
		}
	}
}

// TestFunctionChangeEvents runs one function instance through a sequence:
// a full timer run, then change events that weaken, fix, create and delete
// connections, a duplicate, an unrelated and a malformed event, and a
// connection caught mid-update; a last timer run finds nothing new.
func TestFunctionChangeEvents(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	stateDir := t.TempDir()
	e := startFunction(t, map[string]string{"VPNCHECK_STATE": stateDir, "VPNCHECK_REGIONS": "cn-hangzhou,cn-shanghai"})
	const (
		modify  = "vco-testmodify0001"
		console = "vco-testconsole0007"
		deleted = "vco-testdelete0004"
		created = "vco-testcreate0002"
		other   = "vco-other-0001"
	)
	e.vpc.AddConnections("cn-hangzhou", strongAt("cn-hangzhou", modify, 1), weakAt("cn-hangzhou", console),
		weakAt("cn-hangzhou", deleted), weakAt("cn-hangzhou", other))
	e.vpc.AddConnections("cn-shanghai", strongAt("cn-shanghai", "vco-sh-0001", 2))
	invoke := func(body string) fcOutcome { return e.rt.invoke(t, body, e.creds, 30*time.Second) }
	secrets := append(e.secrets(), "CANARY-EVT", "Kq7#zP2v!mW9")
	noSecrets := func(t *testing.T, out fcOutcome) {
		t.Helper()
		all := e.logs.String() + string(out.body) + e.postedSince(0)
		for _, s := range secrets {
			if strings.Contains(all, s) {
				t.Errorf("secret %s reached the log, the result or Slack", s)
			}
		}
	}

	first := decodeChange(t, invoke(`{"triggerTime": "2026-11-25T10:05:00Z", "triggerName": "hourly", "payload": "{}"}`))
	if first.Summary.Connections != 5 || first.Summary.New == 0 || first.Summary.New != first.Summary.Findings {
		t.Fatalf("first timer run: %+v", first.Summary)
	}

	t.Run("modify weakens", func(t *testing.T) {
		e.vpc.ReplaceConnection("cn-hangzhou", weakAt("cn-hangzhou", modify))
		seen := len(e.slack.Posts())
		out := invoke(eventBody(t, "api-modify-weakens.json"))
		r := decodeChange(t, out)
		if r.RunKey != "acs.actiontrail/7c1f6a2e-0d4b-4e1a-9b7a-000000000001" || r.Summary.Connections != 1 || r.Summary.New == 0 || r.Summary.New != r.Summary.Findings {
			t.Errorf("result %s", out.body)
		}
		msg := e.postedSince(seen)
		mustContain(t, "the message", msg, "ModifyVpnConnectionAttribute", modify, "RAM user alice", "203.0.113.10", "via* API",
			"IkeConfig", "ike-weak-integrity", "Now wrong")
		for _, other := range []string{other, console, deleted, "Not scanned", "held"} {
			if strings.Contains(msg, other) {
				t.Errorf("the message about one connection mentions %q", other)
			}
		}
		if e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") != 2 {
			t.Errorf("calls %+v", e.vpc.Log())
		}
		noSecrets(t, out)
	})

	t.Run("duplicate delivery posts nothing", func(t *testing.T) {
		seen := len(e.slack.Posts())
		r := decodeChange(t, invoke(eventBody(t, "api-modify-weakens-redelivered.json")))
		if n := len(e.slack.Posts()); n != seen || r.Slack == nil || r.Slack.Posted != 0 {
			t.Errorf("a duplicate posted %d messages; result slack %+v", n-seen, r.Slack)
		}
	})

	t.Run("console change fixes a connection", func(t *testing.T) {
		e.vpc.ReplaceConnection("cn-hangzhou", strongAt("cn-hangzhou", console, 7))
		seen := len(e.slack.Posts())
		out := invoke(eventBody(t, "console-modify-assumed-role.json"))
		r := decodeChange(t, out)
		if r.Summary.Findings != 0 || r.Summary.Resolved == 0 || r.Summary.New != 0 {
			t.Errorf("result %s", out.body)
		}
		mustContain(t, "the message", e.postedSince(seen), console, "role vpn-admin (session bob@example.com)", "192.0.2.200",
			"via* console", "Fixed by this change", "ike-weak-integrity")
		noSecrets(t, out)
	})

	t.Run("create", func(t *testing.T) {
		e.vpc.AddConnections("cn-shanghai", weakAt("cn-shanghai", created))
		seen := len(e.slack.Posts())
		r := decodeChange(t, invoke(eventBody(t, "api-create.json")))
		if r.Summary.New == 0 || r.Summary.Connections != 1 {
			t.Errorf("result %+v", r.Summary)
		}
		mustContain(t, "the message", e.postedSince(seen), "Created", created, "root account", "cn-shanghai")
	})

	t.Run("delete closes the open findings", func(t *testing.T) {
		e.vpc.RemoveConnection("cn-hangzhou", deleted)
		seen := len(e.slack.Posts())
		r := decodeChange(t, invoke(eventBody(t, "api-delete.json")))
		if r.Summary.Connections != 0 || r.Summary.Resolved == 0 || len(r.Summary.RegionsFailed) != 0 {
			t.Errorf("result %+v", r.Summary)
		}
		mustContain(t, "the message", e.postedSince(seen), "Deleted", deleted, "terraform-deployer", "ci-pipeline-42", "Closed with the connection")
	})

	t.Run("connection still updating is described again", func(t *testing.T) {
		e.vpc.ReplaceConnection("cn-hangzhou", strongAt("cn-hangzhou", modify, 1))
		e.vpc.SetStatus(modify, "updating", 2)
		before := e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou")
		// Another delivery of the same change (a new event id): judged once settled.
		body := strings.Replace(eventBody(t, "api-modify-weakens.json"), "9b7a-000000000001\",\n  \"source\"", "9b7a-00000000000a\",\n  \"source\"", 1)
		r := decodeChange(t, invoke(body))
		if got := e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou") - before; got != 3 {
			t.Errorf("%d describes, want 3 (two while updating)", got)
		}
		if r.Summary.Findings != 0 || r.Summary.Resolved == 0 {
			t.Errorf("result %+v", r.Summary)
		}
	})

	t.Run("unrelated API is acknowledged and ignored", func(t *testing.T) {
		seen, calls := len(e.slack.Requests()), len(e.vpc.Log())
		out := invoke(eventBody(t, "unrelated-create-vswitch.json"))
		if out.failed || len(e.slack.Requests()) != seen || len(e.vpc.Log()) != calls {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
	})

	t.Run("a region the deployment does not check is ignored", func(t *testing.T) {
		seen, calls := len(e.slack.Requests()), len(e.vpc.Log())
		out := invoke(eventBody(t, "api-attachment-create.json")) // cn-beijing
		if out.failed || len(e.slack.Requests()) != seen || len(e.vpc.Log()) != calls {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
	})

	t.Run("malformed event fails and posts nothing", func(t *testing.T) {
		for _, name := range []string{"malformed-data-array.json", "malformed-connection-id-object.json", "malformed-no-region.json"} {
			seen, calls := len(e.slack.Requests()), len(e.vpc.Log())
			out := invoke(eventBody(t, name))
			if !out.failed || !strings.Contains(string(out.body), "event") || len(e.slack.Requests()) != seen || len(e.vpc.Log()) != calls {
				t.Errorf("%s: outcome %v %s", name, out.failed, out.body)
			}
			noSecrets(t, out)
		}
	})

	t.Run("another account's event is refused", func(t *testing.T) {
		seen := len(e.slack.Requests())
		out := invoke(strings.ReplaceAll(eventBody(t, "api-modify-weakens.json"), fcAccount, "1000000000000009"))
		if !out.failed || !strings.Contains(string(out.body), "account") || len(e.slack.Requests()) != seen {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
	})

	t.Run("the next full run finds nothing new", func(t *testing.T) {
		r := decodeChange(t, invoke(`{"triggerTime": "2026-11-25T11:05:00Z", "triggerName": "hourly", "payload": "{}"}`))
		if r.Summary.New != 0 || r.Summary.Resolved != 0 {
			t.Errorf("after the events, a full run found %d new, %d resolved", r.Summary.New, r.Summary.Resolved)
		}
	})
	for i, p := range e.slack.Posts() {
		if !json.Valid(p.Blocks) || bytes.Contains(p.Blocks, []byte("<!")) {
			t.Errorf("message %d: blocks %s", i, p.Blocks)
		}
	}
}

// inventoryWith writes a DescribeVpnConnections response of region holding conns.
func inventoryWith(t *testing.T, region string, conns ...any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"RegionId": region, "TotalCount": len(conns), "VpnConnections": map[string]any{"VpnConnection": conns}})
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "inventory.json", string(b))
}

type eventReport struct {
	Findings []struct {
		Rule, Status string
		ConnectionID string `json:"connection_id"`
	} `json:"findings"`
	Resolved []struct {
		Rule         string
		ConnectionID string `json:"connection_id"`
	} `json:"resolved"`
	Summary struct {
		Connections, New, Resolved int
	} `json:"summary"`
}

func decodeReport(t *testing.T, out string) eventReport {
	t.Helper()
	var r eventReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report %s: %v", out, err)
	}
	return r
}

// `vpncheck event` replays saved events through the same path, judged
// against --inventory files or the live API, with check's exit statuses.
func TestEventCommand(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	const modify = "vco-testmodify0001"
	events := filepath.Join("..", "testdata", "events")
	weak := inventoryWith(t, "cn-hangzhou", weakAt("cn-hangzhou", modify), weakAt("cn-hangzhou", "vco-other-0001"))
	modifyEvent := filepath.Join(events, "api-modify-weakens.json")

	t.Run("text names the change", func(t *testing.T) {
		code, out, errs := cli(t, nil, "event", "--file", modifyEvent, "--inventory", weak)
		if code != exitOK || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		want := "change: ModifyVpnConnectionAttribute of vco-testmodify0001 in cn-hangzhou by RAM user alice from 203.0.113.10 (API) at 2025-03-04T08:15:30Z; set EffectImmediately, EnableDpd, IkeConfig, IpsecConfig\n"
		if strings.Count(out, want) != 1 || !strings.Contains(out, "ike-weak-integrity") || strings.Contains(out, "vco-other-0001") {
			t.Errorf("stdout:\n%s", out)
		}
		if strings.Contains(out, "CANARY") {
			t.Error("a key reached the output")
		}
	})
	t.Run("json judges the one connection; --fail-on", func(t *testing.T) {
		code, out, _ := cli(t, nil, "event", "--file", modifyEvent, "--inventory", weak, "--format", "json", "--fail-on", "high")
		r := decodeReport(t, out)
		if code != exitFailOn || r.Summary.Connections != 1 || len(r.Findings) == 0 {
			t.Errorf("exit %d, report %+v", code, r)
		}
		for _, f := range r.Findings {
			if f.ConnectionID != modify {
				t.Errorf("finding of another connection: %+v", f)
			}
		}
	})
	t.Run("with state: fixed, then deleted", func(t *testing.T) {
		dir := t.TempDir()
		deleted := weakAt("cn-hangzhou", "vco-testdelete0004")
		full := inventoryWith(t, "cn-hangzhou", weakAt("cn-hangzhou", modify), weakAt("cn-hangzhou", "vco-other-0001"), deleted)
		if code, _, errs := cli(t, nil, "check", "--state", dir, "--inventory", full); code != exitOK {
			t.Fatalf("check: exit %d %s", code, errs)
		}
		fixed := inventoryWith(t, "cn-hangzhou", strongAt("cn-hangzhou", modify, 1), deleted)
		_, out, _ := cli(t, nil, "event", "--state", dir, "--file", modifyEvent, "--inventory", fixed, "--format", "json")
		if r := decodeReport(t, out); len(r.Findings) != 0 || r.Summary.Resolved == 0 {
			t.Errorf("fix: %+v", r)
		}
		gone := inventoryWith(t, "cn-hangzhou", strongAt("cn-hangzhou", modify, 1))
		_, out, _ = cli(t, nil, "event", "--state", dir, "--file", filepath.Join(events, "api-delete.json"), "--inventory", gone, "--format", "json")
		r := decodeReport(t, out)
		if r.Summary.Connections != 0 || r.Summary.Resolved == 0 {
			t.Errorf("delete: %+v", r)
		}
		for _, f := range r.Resolved {
			if f.ConnectionID != "vco-testdelete0004" {
				t.Errorf("the delete resolved another connection's finding: %+v", f)
			}
		}
		// The same event again: a replay of a delivered event changes nothing.
		_, out, _ = cli(t, nil, "event", "--state", dir, "--file", filepath.Join(events, "api-delete.json"), "--inventory", gone, "--format", "json")
		if again := decodeReport(t, out); again.Summary.Resolved != r.Summary.Resolved {
			t.Errorf("replay: %+v", again)
		}
	})
	t.Run("live", func(t *testing.T) {
		s := vpcfake.Start(fcCreds)
		t.Cleanup(s.Close)
		s.AddConnections("cn-hangzhou", weakAt("cn-hangzhou", modify), weakAt("cn-hangzhou", "vco-other-0001"))
		s.SetStatus(modify, "updating", 1)
		env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": fcCreds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": fcCreds.AccessKeySecret,
			"ALIBABA_CLOUD_SECURITY_TOKEN": fcCreds.SecurityToken, "VPNCHECK_VPC_ENDPOINT": s.URL}
		code, out, errs := cli(t, env, "event", "--file", modifyEvent, "--format", "json")
		if r := decodeReport(t, out); code != exitOK || r.Summary.Connections != 1 || len(r.Findings) == 0 {
			t.Errorf("exit %d %s, report %+v", code, errs, r)
		}
		if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != 2 {
			t.Errorf("%d describes, want 2 (one while updating)", n)
		}
	})
	for _, tc := range []struct {
		name, file string
		args       []string
		code       int
		stderr     string
	}{
		{name: "unrelated event", file: "unrelated-create-vswitch.json", code: exitOK, stderr: "ignored"},
		{name: "malformed event", file: "malformed-data-array.json", code: exitUsage, stderr: "event field data"},
		{name: "truncated event", file: "malformed-truncated.json", code: exitUsage, stderr: "not valid JSON"},
		{name: "no file", code: exitUsage, stderr: "--file is required"},
		{name: "inventory of another region", file: "api-modify-weakens.json", args: []string{"--inventory", inventoryWith(t, "cn-beijing")}, code: exitUsage, stderr: "region cn-hangzhou"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"event"}
			if tc.file != "" {
				args = append(args, "--file", filepath.Join(events, tc.file))
			}
			code, out, errs := cli(t, nil, append(args, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.stderr) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q", code, tc.code, out, errs)
			}
			if strings.Contains(errs, "CANARY") {
				t.Error("a key reached stderr")
			}
		})
	}
}

// s.yaml's EventBridge trigger (beside TestServerlessDevsProject's checks):
// the default bus, synchronous, CloudEvents, and a filter that lets through
// exactly the events the parser finds relevant, of the sample events.
func TestServerlessDevsChangeTrigger(t *testing.T) {
	b, err := os.ReadFile("../s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Props struct {
				Triggers []struct {
					Name   string `yaml:"triggerName"`
					Type   string `yaml:"triggerType"`
					Config struct {
						Enable  bool   `yaml:"triggerEnable"`
						Async   *bool  `yaml:"asyncInvocationType"`
						Pattern string `yaml:"eventRuleFilterPattern"`
						Source  struct {
							Type string `yaml:"eventSourceType"`
						} `yaml:"eventSourceConfig"`
						Sink struct {
							Delivery struct {
								Schema string `yaml:"eventSchema"`
							} `yaml:"deliveryOption"`
						} `yaml:"eventSinkConfig"`
					} `yaml:"triggerConfig"`
				} `yaml:"triggers"`
			} `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	types := []string{"vpc:ActionTrail:ApiCall", "vpc:ActionTrail:ConsoleOperation"}
	for name, r := range doc.Resources {
		n := 0
		for _, tr := range r.Props.Triggers {
			if tr.Type != "eventbridge" {
				continue
			}
			n++
			c := tr.Config
			if !c.Enable || c.Async == nil || *c.Async || c.Source.Type != "Default" || c.Sink.Delivery.Schema != "CloudEvents" {
				t.Errorf("%s: trigger %s: %+v: want enabled, synchronous, the default bus, CloudEvents", name, tr.Name, c)
			}
			var pattern struct {
				Type []string `json:"type"`
				Data struct {
					EventName []string `json:"eventName"`
				} `json:"data"`
			}
			dec := json.NewDecoder(strings.NewReader(c.Pattern))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&pattern); err != nil {
				t.Fatalf("%s: eventRuleFilterPattern: %v", name, err)
			}
			if !slices.Equal(pattern.Type, types) || !slices.Equal(pattern.Data.EventName, change.Names()) {
				t.Errorf("%s: pattern %+v, want types %v and event names %v", name, pattern, types, change.Names())
			}
			// Every sample the filter lets through is one the parser reads
			// as relevant, and the reverse, but for what the filter leaves
			// out on purpose: failed calls and the platform's own events.
			files, _ := filepath.Glob(filepath.Join("..", "testdata", "events", "*.json"))
			for _, f := range files {
				raw, _ := os.ReadFile(f)
				var ev struct {
					Type string
					Data struct{ EventName any }
				}
				if json.Unmarshal(raw, &ev) != nil {
					continue
				}
				en, _ := ev.Data.EventName.(string)
				matched := slices.Contains(pattern.Type, ev.Type) && slices.Contains(pattern.Data.EventName, en)
				parsed, err := change.Parse(raw)
				relevant := err == nil && parsed.Relevant
				base := filepath.Base(f)
				switch {
				case relevant && !matched && ev.Type != "vpc:ActionTrail:AliyunServiceEvent":
					t.Errorf("%s: the filter drops %s, a relevant change", name, base)
				case matched && err == nil && !relevant && parsed.ErrorCode == "":
					t.Errorf("%s: the filter lets through %s, which the function ignores", name, base)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d eventbridge triggers, want 1", name, n)
		}
	}
}

// psk-reused on a change event: the timer run leaves in the state the
// fingerprints of every key; a change that gives a connection another
// connection's key is told at once, on the changed connection. No key
// reaches the state, the log, the result or Slack.
func TestFunctionChangeEventReusedKey(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	stateDir := t.TempDir()
	e := startFunction(t, map[string]string{"VPNCHECK_STATE": stateDir})
	const (
		modify = "vco-testmodify0001"
		other  = "vco-other-0001"
		shared = "CANARY-FC-PSK-shared-Zr5wX9p$Kd3nB7cF1hJ6"
	)
	withKey := func(c map[string]any, key string) map[string]any {
		c["IkeConfig"].(map[string]any)["Psk"] = key
		return c
	}
	e.vpc.AddConnections("cn-hangzhou", withKey(strongAt("cn-hangzhou", modify, 1), "CANARY-FC-PSK-own-Vt8#qL2m!wX9pB7cF"),
		withKey(strongAt("cn-hangzhou", other, 2), shared))
	e.vpc.AddConnections("cn-shanghai", strongAt("cn-shanghai", "vco-sh-0001", 3))
	invoke := func(body string) fcOutcome { return e.rt.invoke(t, body, e.creds, 30*time.Second) }

	timer := invoke(`{"triggerTime": "2026-11-25T10:05:00Z", "triggerName": "hourly", "payload": "{}"}`)
	e.assertNoSecrets(t, timer)
	first := decodeChange(t, timer)
	if first.Summary.Connections != 3 || first.Summary.Findings != 0 {
		t.Fatalf("first timer run: %+v", first.Summary)
	}

	e.vpc.ReplaceConnection("cn-hangzhou", withKey(strongAt("cn-hangzhou", modify, 1), shared))
	seen := len(e.slack.Posts())
	out := invoke(eventBody(t, "api-modify-weakens.json"))
	r := decodeChange(t, out)
	if r.Summary.Connections != 1 || r.Summary.New != 1 || r.Summary.Findings != 1 {
		t.Errorf("event: %s", out.body)
	}
	msg := e.postedSince(seen)
	mustContain(t, "the message", msg, "ModifyVpnConnectionAttribute", modify, "psk-reused", "shared by 2 tunnels")
	if strings.Contains(msg, other) {
		t.Errorf("the message names the other connection:\n%s", msg)
	}

	// The next timer run finds the reuse on the other connection too; the
	// changed connection's stays open.
	timer = invoke(`{"triggerTime": "2026-11-25T11:05:00Z", "triggerName": "hourly", "payload": "{}"}`)
	e.assertNoSecrets(t, timer)
	next := decodeChange(t, timer)
	if next.Summary.New != 1 || next.Summary.Findings != 2 || next.Summary.Resolved != 0 {
		t.Errorf("next timer run: %+v", next.Summary)
	}

	e.assertNoSecrets(t, out)
	err := filepath.WalkDir(stateDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, s := range e.secrets() {
			if err == nil && strings.Contains(string(b), s) {
				t.Errorf("state file %s holds secret %s", path, s)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
