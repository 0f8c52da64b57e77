package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
	"github.com/vpncheck/vpncheck/policies"
)

// fleetConn is a connection with every weak setting a fleet-wide template
// spreads: 13 rules fire on it, each with the same value everywhere.
func fleetConn(i int) map[string]any {
	return map[string]any{
		"VpnConnectionId": fmt.Sprintf("vco-fleet-%03d", i), "Name": fmt.Sprintf("branch-%03d", i),
		"VpnGatewayId": fmt.Sprintf("vpn-fleet-%02d", i%40), "CustomerGatewayId": fmt.Sprintf("cgw-fleet-%03d", i),
		"LocalSubnet": "0.0.0.0/0", "RemoteSubnet": fmt.Sprintf("192.168.%d.0/24", i), "Status": "ipsec_sa_established",
		"EnableDpd": false, "VcoHealthCheck": map[string]any{"Enable": "false"},
		"IkeConfig": map[string]any{"IkeVersion": "ikev1", "IkeMode": "aggressive", "IkeEncAlg": "des", "IkeAuthAlg": "md5",
			"IkePfs": "group2", "IkeLifetime": 86400, "Psk": "123456", "LocalId": "47.0.0.1", "RemoteId": fmt.Sprintf("203.0.113.%d", i%250)},
		"IpsecConfig": map[string]any{"IpsecEncAlg": "3des", "IpsecAuthAlg": "sha1", "IpsecPfs": "disabled", "IpsecLifetime": 3600},
	}
}

// fleetReport is the real pipeline's report on 130 connections with the
// same weak settings, 100 in cn-hangzhou and 30 in cn-shanghai, plus
// extra connections with problems of their own.
func fleetReport(t testing.TB, extra ...map[string]any) *report.Report {
	t.Helper()
	dir := t.TempDir()
	inv := inventory.New()
	for _, r := range []struct {
		region   string
		from, to int
	}{{"cn-hangzhou", 0, 100}, {"cn-shanghai", 100, 130}} {
		var conns []any
		for i := r.from; i < r.to; i++ {
			conns = append(conns, fleetConn(i))
		}
		if r.region == "cn-hangzhou" {
			for _, e := range extra {
				conns = append(conns, e)
			}
		}
		b, _ := json.Marshal(map[string]any{"RegionId": r.region, "TotalCount": len(conns), "VpnConnections": map[string]any{"VpnConnection": conns}})
		p := filepath.Join(dir, r.region+".json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := inv.ReadFile(p, ""); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(context.Background(), inv, checker.Options{Now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Report
}

// delivered is what the Slack fake accepted for one report.
type delivered struct {
	posts, files, chars int
	leftOut             int // findings the note says were left out of the details
	summary             string
	all                 []string // every post's block text
}

var leftOutRE = regexp.MustCompile(`details of ([0-9,]+) new finding`)

func deliver(t *testing.T, rep *report.Report, bot bool) delivered {
	t.Helper()
	fake := newFake(t, slackfake.Options{})
	n, _ := webhookNotifier(t, fake, Config{})
	if bot {
		n, _ = botNotifier(t, fake, Config{})
	}
	if _, err := n.NotifyReport(context.Background(), notify.Run{Key: "fleet"}, rep); err != nil {
		t.Fatal(err)
	}
	var d delivered
	for i, p := range fake.Posts() {
		if p.Via == "files.completeUploadExternal" {
			d.files++
			continue
		}
		d.posts++
		d.chars += blockText(t, p.Blocks)
		txt := postText(t, p.Blocks)
		d.all = append(d.all, txt)
		if i == 0 {
			d.summary = txt
		}
		if m := leftOutRE.FindStringSubmatch(txt); m != nil {
			d.leftOut, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		}
	}
	return d
}

// postText is a post's block texts, one block a line.
func postText(t *testing.T, raw []byte) string {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, b := range blocks {
		if tx, ok := b["text"].(map[string]any); ok {
			lines = append(lines, tx["text"].(string))
		}
		if els, ok := b["elements"].([]any); ok {
			for _, e := range els {
				if m, ok := e.(map[string]any); ok {
					if s, ok := m["text"].(string); ok {
						lines = append(lines, s)
					}
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

// Before grouping (measured on the parent commit, same report, same
// fake): webhook 5 posts, 35,639 characters, 1,585 findings left out, a
// 75-line first post; bot 4 posts and a file, 28,664 characters, 1,611
// left out.

// TestFleetWideProblemGrouped: 130 connections with the same 13 weak
// settings, and two with problems of their own. The summary leads with
// the problem in under 10 lines; the thread gives the fix once and the
// 130 connections as a compact list; only the two get per-connection
// detail; nothing is left out, and the Slack fake accepts every post.
func TestFleetWideProblemGrouped(t *testing.T) {
	own := fleetConn(900)
	own["VpnConnectionId"], own["Name"] = "vco-own-1", "own-1"
	own["IkeConfig"] = map[string]any{"IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes192", "IkeAuthAlg": "sha1",
		"IkePfs": "group14", "Psk": "Zr8!vQ2#mK9&pL4-own-one", "LocalId": "47.0.0.9", "RemoteId": "203.0.113.250"}
	own["IpsecConfig"] = map[string]any{"IpsecEncAlg": "aes", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14"}
	own["EnableDpd"], own["LocalSubnet"] = true, "10.9.0.0/16"
	delete(own, "VcoHealthCheck")
	down := fleetConn(901)
	down["VpnConnectionId"], down["Name"], down["Status"] = "vco-own-2", "own-2", "ike_sa_not_established"
	for _, bot := range []bool{false, true} {
		d := deliver(t, fleetReport(t), bot)
		t.Logf("130 alike, bot=%v: posts %d, files %d, characters %d, findings left out %d, first post %d lines",
			bot, d.posts, d.files, d.chars, d.leftOut, strings.Count(d.summary, "\n")+1)
	}
	rep := fleetReport(t, own, down)

	for _, bot := range []bool{false, true} {
		d := deliver(t, rep, bot)
		t.Logf("bot=%v: posts %d, files %d, characters %d, findings left out %d, first post %d lines",
			bot, d.posts, d.files, d.chars, d.leftOut, strings.Count(d.summary, "\n")+1)
		all := strings.Join(d.all, "\n")
		if strings.Contains(all, "Not everything fits") || d.files != 0 {
			t.Errorf("bot=%v: something was left out:\n%s", bot, d.summary)
		}
		if d.posts > 2 {
			t.Errorf("bot=%v: %d posts", bot, d.posts)
		}
		// 131 connections share the 13 problems (own-2 too); own-1 has its own.
		if !strings.Contains(d.summary, "*13 problems on 131 connections in 2 regions*: `psk-weak`") {
			t.Errorf("bot=%v: the summary does not lead with the problem:\n%s", bot, d.summary)
		}
		if bot {
			if n := strings.Count(d.summary, "\n") + 1; n > 10 {
				t.Errorf("summary is %d lines:\n%s", n, d.summary)
			}
		}
		// The fix once for the group, and one per own fixable finding.
		if n := strings.Count(all, "aliyun vpc ModifyVpnConnectionAttribute --RegionId cn-hangzhou --VpnConnectionId vco-fleet-000 "); n != 1 {
			t.Errorf("bot=%v: the group's fix shown %d times", bot, n)
		}
		for i := range 130 {
			if !strings.Contains(all, fmt.Sprintf("`vco-fleet-%03d`", i)) {
				t.Errorf("bot=%v: vco-fleet-%03d is not listed", bot, i)
			}
		}
		// Per-connection detail only for problems of their own.
		if strings.Count(all, "`vco-own-1`") < 1 || !strings.Contains(all, "--VpnConnectionId vco-own-1 --IkeConfig") {
			t.Errorf("bot=%v: own-1's own finding has no detail with its command:\n%s", bot, all)
		}
		if !strings.Contains(all, "IPsec SA not established") && !strings.Contains(all, "tunnel-not-established") {
			t.Errorf("bot=%v: own-2's tunnel down is not told:\n%s", bot, all)
		}
		if strings.Contains(all, "vco-fleet-001` (continued)") || strings.Count(all, "Weak IKE encryption algorithm") > 2 {
			t.Errorf("bot=%v: fleet connections told one by one", bot)
		}
	}
}

// A single problem on many connections is one line: rule (value) on N
// connections in R regions.
func TestFleetSingleProblemHeadline(t *testing.T) {
	var fs []report.Finding
	for i := range 130 {
		region := "cn-hangzhou"
		if i >= 100 {
			region = "cn-shanghai"
		}
		fs = append(fs, report.Finding{Rule: "ike-weak-encryption", Value: "des", Severity: report.High, Title: "Weak IKE encryption algorithm",
			Message: "IKE encryption algorithm is des", Region: region, ConnectionID: fmt.Sprintf("vco-%03d", i)})
	}
	// Two connections are not many: told one by one.
	fs = append(fs, report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Region: "cn-hangzhou", ConnectionID: "vco-000", Title: "DPD", Message: "m"},
		report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Region: "cn-hangzhou", ConnectionID: "vco-001", Title: "DPD", Message: "m"})
	groups, own := groupProblems(fs)
	if len(groups) != 1 || len(own) != 2 {
		t.Fatalf("%d groups, %d own", len(groups), len(own))
	}
	if got, want := groups[0].headline(), ":red_circle: `ike-weak-encryption` (des) on 130 connections in 2 regions"; got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
	rep := report.New()
	rep.Findings = fs
	rep.Summary.RegionsScan = []string{"cn-hangzhou", "cn-shanghai"}
	rep.Finish()
	msgs := Render(rep, Meta{RunKey: "k"}, Thread).Messages
	assertLimits(t, msgs)
}

// The fix shown once for a group is a connection's whose one change does
// exactly the group's fixes: not one that also fixes problems of its own.
func TestFleetExampleDoesOnlyTheGroupsFix(t *testing.T) {
	var fs []report.Finding
	for i := range 4 {
		id := fmt.Sprintf("vco-%d", i)
		fx := &report.Fix{CLI: "aliyun vpc ModifyVpnConnectionAttribute --VpnConnectionId " + id + " --EnableDpd true"}
		fs = append(fs, report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Region: "cn-hangzhou", ConnectionID: id,
			Fixer: fakeFixer{own: map[string]*report.Fix{"dpd-disabled": fx}, combined: fx}})
	}
	// vco-0 also has a weak cipher of its own: its combined call does more.
	both := fakeFixer{own: map[string]*report.Fix{"dpd-disabled": {}, "ike-weak-encryption": {}},
		combined: &report.Fix{CLI: "aliyun vpc ModifyVpnConnectionAttribute --VpnConnectionId vco-0 --EnableDpd true --IkeConfig x"}}
	fs[0].Fixer = both
	fs = append(fs, report.Finding{Rule: "ike-weak-encryption", Value: "des", Severity: report.High, Region: "cn-hangzhou", ConnectionID: "vco-0", Fixer: both})
	groups, own := groupProblems(fs)
	if len(groups) != 1 || len(own) != 1 {
		t.Fatalf("%d groups, %d own", len(groups), len(own))
	}
	if got := groupFix(groups[0]); !strings.Contains(got, "For `vco-1`") || strings.Contains(got, "--IkeConfig") {
		t.Errorf("example:\n%s", got)
	}
}
