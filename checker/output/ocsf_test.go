package output_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// What OCSF 1.3.0 requires of a Compliance Finding, read from
// ocsf/ocsf-schema at tag 1.3.0, commit
// c8bde8c4cc7e93bb4a36e873623bbe099da22fb5: events/findings/
// compliance_finding.json (uid 3, category findings, extends finding;
// compliance required), events/findings/finding.json (finding_info
// required; activity_id 1 Create, 2 Update, 3 Close; status_id 1 New,
// 2 In Progress, 3 Suppressed, 4 Resolved), events/base_event.json
// (metadata, severity_id required; includes/classification.json:
// activity_id, category_uid, class_uid, type_uid required;
// includes/occurrence.json: time required), profiles/cloud.json (cloud
// required once the cloud profile is applied), categories.json (findings
// = 2), and the objects: metadata (product, version required), product
// (vendor_name required; name or uid), finding_info (title, uid),
// compliance (standards required; status_id 1 Pass, 2 Warning, 3 Fail),
// cloud (provider), account (name or uid), remediation (desc),
// resource_details (name or uid). type_uid = class_uid * 100 + activity_id
// (dictionary.json).
const ocsfSchemaCommit = "c8bde8c4cc7e93bb4a36e873623bbe099da22fb5"

var ocsfFacts = struct {
	required        []string
	classAttributes []string // every attribute the class defines, its includes and profiles
	objectRequired  map[string][]string
	objectAttrs     map[string][]string
	atLeastOne      map[string][]string
}{
	required: []string{"activity_id", "category_uid", "class_uid", "type_uid", "time", "severity_id",
		"metadata", "finding_info", "compliance", "cloud"},
	classAttributes: []string{"activity_id", "activity_name", "actor", "api", "category_name", "category_uid",
		"class_name", "class_uid", "cloud", "comment", "compliance", "confidence", "confidence_id",
		"confidence_score", "count", "device", "duration", "end_time", "enrichments", "finding_info", "message",
		"metadata", "observables", "osint", "raw_data", "remediation", "resource", "resources", "severity",
		"severity_id", "start_time", "status", "status_code", "status_detail", "status_id", "time",
		"timezone_offset", "type_name", "type_uid", "unmapped"},
	objectRequired: map[string][]string{
		"metadata": {"product", "version"}, "product": {"vendor_name"}, "finding_info": {"title", "uid"},
		"compliance": {"standards"}, "cloud": {"provider"}, "remediation": {"desc"},
	},
	objectAttrs: map[string][]string{
		"metadata": {"correlation_uid", "data_classification", "event_code", "extension", "extensions", "labels",
			"log_level", "log_name", "log_provider", "log_version", "logged_time", "loggers", "modified_time",
			"original_time", "processed_time", "product", "profiles", "sequence", "tenant_uid", "uid", "version"},
		"product": {"cpe_name", "data_classification", "feature", "lang", "name", "path", "uid", "url_string", "vendor_name", "version"},
		"finding_info": {"analytic", "attacks", "created_time", "data_sources", "desc", "first_seen_time", "kill_chain",
			"last_seen_time", "modified_time", "product_uid", "related_analytics", "related_events", "src_url", "title", "types", "uid"},
		"compliance": {"compliance_references", "compliance_standards", "control", "requirements", "standards",
			"status", "status_code", "status_detail", "status_id"},
		"resource_details": {"agent_list", "cloud_partition", "criticality", "data", "data_classification", "group",
			"labels", "name", "namespace", "owner", "region", "type", "uid", "version"},
		"cloud":       {"account", "org", "project_uid", "provider", "region", "zone"},
		"account":     {"labels", "name", "type", "type_id", "uid"},
		"remediation": {"desc", "kb_article_list", "kb_articles", "references"},
	},
	atLeastOne: map[string][]string{"product": {"name", "uid"}, "account": {"name", "uid"}, "resource_details": {"name", "uid"}},
}

// ocsfLine is one decoded line, with the fields the checks read typed.
type ocsfLine map[string]any

// checkOCSF checks one line against the class facts above and returns it
// decoded.
func checkOCSF(t testing.TB, line []byte) ocsfLine {
	t.Helper()
	var e ocsfLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("line is not a JSON object: %v: %.200s", err, line)
	}
	if dec.More() {
		t.Fatalf("line holds more than one JSON value: %.200s", line)
	}
	fail := func(format string, a ...any) {
		t.Helper()
		t.Errorf("schema %s: "+format+" in %.300s", append(append([]any{ocsfSchemaCommit[:12]}, a...), line)...)
	}
	for _, k := range ocsfFacts.required {
		if _, ok := e[k]; !ok {
			fail("required %s missing", k)
		}
	}
	for k := range e {
		if !slices.Contains(ocsfFacts.classAttributes, k) {
			fail("%s is not an attribute of the class", k)
		}
	}
	num := func(v any) int64 {
		n, ok := v.(json.Number)
		if !ok {
			fail("%v is not a number", v)
			return -1
		}
		i, err := n.Int64()
		if err != nil {
			fail("%v is not an integer", v)
		}
		return i
	}
	activity := num(e["activity_id"])
	if activity < 1 || activity > 3 {
		fail("activity_id %d", activity)
	}
	if num(e["class_uid"]) != 2003 || num(e["category_uid"]) != 2 {
		fail("class_uid/category_uid")
	}
	if num(e["type_uid"]) != 2003*100+activity {
		fail("type_uid %v for activity %d", e["type_uid"], activity)
	}
	if s := num(e["severity_id"]); s < 0 || (s > 6 && s != 99) {
		fail("severity_id %d", s)
	}
	if s := num(e["status_id"]); s < 1 || s > 4 {
		fail("status_id %d", s)
	}
	if tm := num(e["time"]); tm < 1e12 { // epoch milliseconds
		fail("time %d is not in milliseconds", tm)
	}
	object := func(name, kind string, v any) map[string]any {
		t.Helper()
		o, ok := v.(map[string]any)
		if !ok {
			fail("%s is not an object", name)
			return nil
		}
		for _, k := range ocsfFacts.objectRequired[kind] {
			if _, ok := o[k]; !ok {
				fail("%s.%s required", name, k)
			}
		}
		for k := range o {
			if !slices.Contains(ocsfFacts.objectAttrs[kind], k) {
				fail("%s.%s is not an attribute of %s", name, k, kind)
			}
		}
		if one := ocsfFacts.atLeastOne[kind]; one != nil && o[one[0]] == nil && o[one[1]] == nil {
			fail("%s needs %s or %s", name, one[0], one[1])
		}
		return o
	}
	meta := object("metadata", "metadata", e["metadata"])
	if meta != nil {
		object("metadata.product", "product", meta["product"])
		if meta["version"] != "1.3.0" {
			fail("metadata.version %v", meta["version"])
		}
		if p, _ := meta["profiles"].([]any); !slices.Contains(p, any("cloud")) {
			fail("metadata.profiles %v lacks cloud", meta["profiles"])
		}
	}
	fi := object("finding_info", "finding_info", e["finding_info"])
	for _, k := range []string{"first_seen_time", "last_seen_time"} {
		if v, ok := fi[k]; ok {
			num(v)
		}
	}
	comp := object("compliance", "compliance", e["compliance"])
	if comp != nil {
		if s := num(comp["status_id"]); s != 1 && s != 3 {
			fail("compliance.status_id %d", s)
		}
		if st, _ := comp["standards"].([]any); len(st) == 0 {
			fail("compliance.standards empty")
		}
		if c, _ := comp["control"].(string); c == "" {
			fail("compliance.control empty")
		}
	}
	cloud := object("cloud", "cloud", e["cloud"])
	if cloud != nil && cloud["account"] != nil {
		object("cloud.account", "account", cloud["account"])
	}
	if e["remediation"] != nil {
		object("remediation", "remediation", e["remediation"])
	}
	res, _ := e["resources"].([]any)
	if len(res) == 0 {
		fail("no resources")
	}
	for i, r := range res {
		o := object(fmt.Sprintf("resources[%d]", i), "resource_details", r)
		if l, ok := o["labels"]; ok {
			for _, s := range l.([]any) {
				if _, ok := s.(string); !ok {
					fail("a label is not a string")
				}
			}
		}
	}
	return e
}

// checkInertLine fails unless the line's bytes are valid UTF-8 without a
// control, format or separator character, the final newline aside.
func checkInertLine(t testing.TB, line []byte) {
	t.Helper()
	if !utf8.Valid(line) {
		t.Errorf("invalid UTF-8 in %.200q", line)
	}
	body := bytes.TrimSuffix(line, []byte("\n"))
	for i, r := range string(body) {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%U at byte %d of an OCSF line: %q", r, i, body[max(0, i-30):min(len(body), i+30)])
			return
		}
	}
}

func ocsfLines(t testing.TB, rep *report.Report) [][]byte {
	t.Helper()
	w, err := output.Get("ocsf")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.Report(&buf, rep); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	for _, l := range lines {
		checkInertLine(t, l)
	}
	return lines
}

func engine(t testing.TB) *checker.Engine {
	t.Helper()
	eng, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

var runAt = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func checkInventory(t testing.TB, eng *checker.Engine, path, region, account string) *report.Report {
	t.Helper()
	inv := inventory.New()
	if err := inv.ReadFile(path, region); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(context.Background(), inv, checker.Options{AccountID: account, Now: runAt})
	if err != nil {
		t.Fatal(err)
	}
	res.Report.MarkAllNew(runAt)
	res.Report.ProductVersion = "v1.2.3"
	return res.Report
}

// Every line the writer makes from the test inventories (and from the
// checker's golden report) has what the class requires, and no key.
func TestOCSFSchemaFacts(t *testing.T) {
	eng := engine(t)
	canaries := []string{"CANARY-PSK-4f1d9b", "CANARY-BGP-77e2c0", "CANARY-BGP-TUN-0c55", "CANARY-TUNNEL-a93e71"}
	reports := map[string]*report.Report{
		"testdata/sample.json": checkInventory(t, eng, "../../testdata/sample.json", "cn-hangzhou", "1234567890123456"),
		"testdata/canary.json": checkInventory(t, eng, "../../testdata/canary.json", "", ""),
	}
	raw, err := os.ReadFile("../testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden report.Report
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	reports["checker/testdata/sample.json"] = &golden
	for name, rep := range reports {
		t.Run(name, func(t *testing.T) {
			lines := ocsfLines(t, rep)
			if len(lines) != len(rep.Findings)+len(rep.Resolved) || len(lines) == 0 {
				t.Fatalf("%d lines for %d findings and %d resolved", len(lines), len(rep.Findings), len(rep.Resolved))
			}
			for i, l := range lines {
				e := checkOCSF(t, l)
				f := rep.Findings[i]
				comp := e["compliance"].(map[string]any)
				fi := e["finding_info"].(map[string]any)
				if comp["control"] != f.Rule || fi["uid"] != f.ID || fi["title"] != f.Title {
					t.Errorf("line %d does not carry finding %s/%s: %s", i, f.Rule, f.ID, l)
				}
				for _, c := range canaries {
					if bytes.Contains(l, []byte(c)) {
						t.Errorf("line %d holds key %s", i, c)
					}
				}
			}
		})
	}
}

// The lifecycle decides activity, status and compliance status; only news
// is emitted for the function's log.
func TestOCSFLifecycle(t *testing.T) {
	at := runAt
	was := report.Low
	base := report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Title: "DPD disabled", Message: "dead peer detection is off",
		Remediation: "Enable DPD.", AccountID: "1234567890123456", AccountName: "prod", Region: "cn-hangzhou",
		ConnectionID: "vco-1", ConnectionName: "branch", VPNGatewayID: "vpn-1", TunnelID: "tun-1",
		Tags: map[string]string{"env": "prod", "owner": "net"}, FirstSeen: at.Add(-48 * time.Hour), LastSeen: at}
	f := func(mod func(*report.Finding)) report.Finding {
		c := base
		mod(&c)
		c.ID = report.FindingID(&c)
		return c
	}
	rep := report.New()
	rep.PolicyRevision = "team-2026.11"
	rep.Findings = []report.Finding{
		f(func(c *report.Finding) { c.Status = report.StatusNew; c.FirstSeen = at }),
		f(func(c *report.Finding) { c.Status = report.StatusOpen; c.Rule = "ike-v1" }),
		f(func(c *report.Finding) { c.Status = report.StatusOpen; c.Rule = "psk-weak"; c.PreviousSeverity = &was }),
	}
	rep.Lifecycle.NewlySuppressed = []report.Finding{f(func(c *report.Finding) { c.Status = report.StatusOpen; c.Rule = "subnet-any"; c.LastSeen = time.Time{} })}
	rep.Resolved = []report.Finding{f(func(c *report.Finding) { c.Status = report.StatusResolved; c.Rule = "bgp-down"; c.ResolvedAt = &at })}

	type want struct {
		rule                         string
		activity, status, compliance int64
	}
	all := []want{{"dpd-disabled", 1, 1, 3}, {"ike-v1", 2, 2, 3}, {"psk-weak", 2, 2, 3}, {"subnet-any", 2, 3, 3}, {"bgp-down", 3, 4, 1}}
	for _, tc := range []struct {
		name     string
		newsOnly bool
		want     []want
	}{{"report", false, all}, {"news", true, []want{all[0], all[2], all[3], all[4]}}} {
		t.Run(tc.name, func(t *testing.T) {
			var lines [][]byte
			if err := output.OCSFEvents(rep, tc.newsOnly, func(b []byte) error {
				lines = append(lines, slices.Clone(b))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d", len(lines), len(tc.want))
			}
			for i, w := range tc.want {
				e := checkOCSF(t, lines[i])
				comp := e["compliance"].(map[string]any)
				n := func(v any) int64 { i, _ := v.(json.Number).Int64(); return i }
				if comp["control"] != w.rule || n(e["activity_id"]) != w.activity || n(e["status_id"]) != w.status || n(comp["status_id"]) != w.compliance {
					t.Errorf("line %d = %s, want %+v", i, lines[i], w)
				}
				if n(e["time"]) != at.UnixMilli() || n(e["severity_id"]) != 3 {
					t.Errorf("line %d: time/severity %v %v", i, e["time"], e["severity_id"])
				}
				if st := comp["standards"].([]any); st[0] != "vpncheck team policy bundle revision team-2026.11" {
					t.Errorf("standards %v", st)
				}
				res := e["resources"].([]any)
				conn, gw := res[0].(map[string]any), res[1].(map[string]any)
				if conn["uid"] != "vco-1" || conn["type"] != "ACS::VPN::VpnConnection" || fmt.Sprint(conn["labels"]) != "[env:prod owner:net]" ||
					gw["uid"] != "vpn-1" || gw["type"] != "ACS::VPN::VpnGateway" {
					t.Errorf("resources %v", res)
				}
				acct := e["cloud"].(map[string]any)["account"].(map[string]any)
				if acct["uid"] != "1234567890123456" || acct["name"] != "prod" {
					t.Errorf("account %v", acct)
				}
			}
		})
	}
}

// hostileBody is one DescribeVpnConnections body with payload in the
// region, names, ids, tags and tunnel fields, and the key exposed in a tag.
func hostileBody(payload, psk string) []byte {
	tunnel := func(n int) map[string]any {
		return map[string]any{
			"TunnelId": fmt.Sprintf("tun-%d %s", n, payload), "Role": "master", "Status": payload, "EnableDpd": "false",
			"TunnelIkeConfig":   map[string]any{"IkeVersion": "ikev1", "IkeAuthAlg": "md5", "IkeEncAlg": payload, "IkePfs": "group2", "Psk": psk, "LocalId": payload},
			"TunnelIpsecConfig": map[string]any{"IpsecEncAlg": "des", "IpsecAuthAlg": "sha1", "IpsecPfs": "disabled"},
		}
	}
	b, _ := json.Marshal(map[string]any{
		"RegionId": payload, "TotalCount": 1, "RequestId": payload,
		"VpnConnections": map[string]any{"VpnConnection": []any{map[string]any{
			"VpnConnectionId": "vco-" + payload, "Name": payload, "VpnGatewayId": "vpn-" + payload,
			"LocalSubnet": "0.0.0.0/0", "RemoteSubnet": payload,
			"Tag": map[string]any{"Tag": []any{
				map[string]any{"Key": payload, "Value": "key " + psk},
				map[string]any{"Key": "note " + psk, "Value": payload},
			}},
			"TunnelOptionsSpecification": map[string]any{"TunnelOptions": []any{tunnel(1), tunnel(2)}},
		}}},
	})
	return b
}

// Payloads an attacker who may edit a connection plants (the hostile
// fixtures of the text and Slack tests) stay data: every line is one
// object of the class, its bytes are inert, the values decode to the
// report's own, and the key never appears.
func TestOCSFHostile(t *testing.T) {
	raw, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	if err := json.Unmarshal(raw, &payloads); err != nil {
		t.Fatal(err)
	}
	payloads = append(payloads, "\x9b2J lone CSI byte", "\xff\xfe invalid", "tag\U000E0041\U000E0042 chars")
	const psk = "Hostile-PSK-9c1e55aa0b7f"
	eng := engine(t)
	benign := 0
	for i, payload := range append([]string{"x"}, payloads...) {
		path := filepath.Join(t.TempDir(), "inventory.json")
		if err := os.WriteFile(path, hostileBody(payload, psk), 0o600); err != nil {
			t.Fatal(err)
		}
		rep := checkInventory(t, eng, path, "", payload)
		lines := ocsfLines(t, rep)
		if i == 0 {
			benign = len(lines)
			if benign < 5 {
				t.Fatalf("the planted inventory yields %d lines", benign)
			}
			continue
		}
		if len(lines) != benign {
			t.Errorf("payload %q: %d lines, %d with a harmless value", payload, len(lines), benign)
		}
		for j, l := range lines {
			e := checkOCSF(t, l)
			if strings.Contains(string(l), psk) {
				t.Errorf("payload %q: line %d holds the key", payload, j)
			}
			conn := e["resources"].([]any)[0].(map[string]any)
			if want := strings.ToValidUTF8(rep.Findings[j].ConnectionName, "\uFFFD"); conn["name"] != want {
				t.Errorf("payload %q: name %q, want the report's %q", payload, conn["name"], want)
			}
		}
	}
}

// The golden file: the sample inventory as OCSF lines.
func TestOCSFGolden(t *testing.T) {
	rep := checkInventory(t, engine(t), "../../testdata/sample.json", "cn-hangzhou", "1234567890123456")
	got := bytes.Join(ocsfLines(t, rep), nil)
	const path = "testdata/sample.ocsf.jsonl"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("OCSF output differs from %s (run with -update):\n%s", path, got)
	}
}
