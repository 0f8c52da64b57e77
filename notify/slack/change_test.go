package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

var changeTime = time.Date(2025, 3, 4, 8, 15, 30, 0, time.UTC)

func changeReport(c report.Change, findings, resolved []report.Finding) *report.Report {
	rep := report.New()
	rep.Change = &c
	rep.Findings = append(rep.Findings, findings...)
	rep.Resolved = append(rep.Resolved, resolved...)
	rep.Summary.RegionsScan = []string{"cn-hangzhou"}
	rep.Summary.Connections = 1
	rep.Finish()
	rep.Lifecycle.Stateful = true
	return rep
}

func changeFinding(rule string, sev report.Severity, status report.Status) report.Finding {
	return report.Finding{Rule: rule, Severity: sev, Title: "Title of " + rule, Message: "what is wrong", Remediation: "the fix",
		Region: "cn-hangzhou", ConnectionID: "vco-testmodify0001", ConnectionName: "hq-to-branch", Status: status, FirstSeen: changeTime}
}

var alice = report.Change{Event: "ModifyVpnConnectionAttribute", EventID: "7c1f6a2e", Region: "cn-hangzhou",
	ConnectionID: "vco-testmodify0001", Actor: "RAM user alice", Time: changeTime, SourceIP: "203.0.113.10",
	Changed: []string{"EnableDpd", "IkeConfig", "IpsecConfig"}}

func renderedText(t *testing.T, msgs []Message) string {
	t.Helper()
	var b strings.Builder
	for _, m := range msgs {
		raw, err := json.Marshal(m.Blocks)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(m.Text + "\n")
		for _, o := range textObjects(t, raw) {
			b.WriteString(o.Text + "\n")
		}
	}
	return b.String()
}

func TestRenderChange(t *testing.T) {
	bob := report.Change{Event: "ModifyVpnConnectionAttribute", Region: "cn-hangzhou", ConnectionID: "vco-testmodify0001",
		Actor: "role vpn-admin (session bob@example.com)", Time: changeTime, SourceIP: "192.0.2.200", Console: true}
	del := report.Change{Event: "DeleteVpnConnection", Region: "cn-hangzhou", ConnectionID: "vco-testmodify0001",
		Actor: "role terraform-deployer (session ci-pipeline-42)", Time: changeTime, SourceIP: "198.51.100.7", Deleted: true}
	tests := []struct {
		name string
		rep  *report.Report
		want []string
		not  []string
	}{
		{name: "weakened", rep: changeReport(alice, []report.Finding{changeFinding("ike-weak-integrity", report.High, report.StatusNew),
			changeFinding("dpd-disabled", report.Medium, report.StatusNew)}, nil),
			want: []string{"*Changed* `vco-testmodify0001` in <https://vpc.console.aliyun.com/vpn/cn-hangzhou/vpn-connections|cn-hangzhou> by `ModifyVpnConnectionAttribute`",
				"*Who* RAM user alice · *from* `203.0.113.10` · *via* API · *at* 2025-03-04 08:15:30 UTC",
				"*Set* `EnableDpd`, `IkeConfig`, `IpsecConfig`", "*Now wrong:* 2 new findings (1 high, 1 medium)",
				"VPN change: ModifyVpnConnectionAttribute on vco-testmodify0001"},
			not: []string{"Fixed by this change"}},
		{name: "fixed in the console", rep: changeReport(bob, nil, []report.Finding{changeFinding("ike-weak-integrity", report.High, report.StatusResolved)}),
			want: []string{"*Who* role vpn-admin (session bob@example.com) · *from* `192.0.2.200` · *via* console",
				"*Fixed by this change* (1):", "• Title of ike-weak-integrity  `ike-weak-integrity`", "Nothing is wrong with it now."},
			not: []string{"Now wrong"}},
		{name: "deleted", rep: changeReport(del, nil, []report.Finding{changeFinding("psk-weak", report.Critical, report.StatusResolved),
			changeFinding("ike-v1", report.Low, report.StatusResolved)}),
			want: []string{":wastebasket: *Deleted* `vco-testmodify0001`", "*Closed with the connection* (2):", "session ci-pipeline-42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !HasNews(tt.rep) {
				t.Fatal("a change event's report has no news")
			}
			msgs := Render(tt.rep, Meta{RunKey: "acs.actiontrail/7c1f6a2e"}, Channel).Messages
			assertLimits(t, msgs)
			got := renderedText(t, msgs)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("rendering lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("rendering has %q:\n%s", w, got)
				}
			}
		})
	}
}

// Every part of a change is the caller's text: planted markup stays inert,
// on one line, and never reaches the fallback.
func TestRenderChangeHostile(t *testing.T) {
	for _, payload := range hostilePayloads(t) {
		c := report.Change{Event: payload, Region: payload, ConnectionID: payload, TunnelID: payload, Actor: "RAM user " + payload,
			Time: changeTime, SourceIP: payload, Changed: []string{payload}}
		rep := changeReport(c, []report.Finding{changeFinding("dpd-disabled", report.Medium, report.StatusNew)},
			[]report.Finding{changeFinding("ike-v1", report.Low, report.StatusResolved)})
		for i, m := range Render(rep, Meta{}, Thread).Messages {
			raw, err := json.Marshal(m.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			checkInertMessage(t, "message "+string(rune('0'+i)), m.Text, raw)
		}
		lines := strings.Split(strings.Join(blocksOf(changeBlocks(rep)), "\n"), "\n")
		if len(lines) != 6 { // what, who, set, now wrong, fixed, one fixed finding
			t.Errorf("payload %.40q: the change block has %d lines, want 6:\n%s", payload, len(lines), strings.Join(lines, "\n"))
		}
	}
	if got := changeFallback(&report.Change{Event: "<!channel>", ConnectionID: "vco-1`x"}); got != "VPN change" {
		t.Errorf("fallback %q", got)
	}
}

func blocksOf(bs []block) []string {
	var out []string
	for _, b := range bs {
		raw, _ := json.Marshal(b.b)
		var v struct {
			Text struct{ Text string } `json:"text"`
		}
		json.Unmarshal(raw, &v)
		out = append(out, v.Text.Text)
	}
	return out
}
