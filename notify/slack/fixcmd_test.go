package slack

import (
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

// The thread shows the command that fixes a connection once, under its
// findings: per-finding calls each resend the other settings as they are,
// so run one after another they would undo each other.
func TestThreadShowsTheCommand(t *testing.T) {
	rep := sampleReport(t).Report
	msgs := Render(rep, sampleMeta, Thread).Messages
	assertLimits(t, msgs)
	golden(t, "sample_fix_thread.json", payload(t, msgs))
	thread := string(payload(t, msgs[1:]))
	if n := strings.Count(thread, "aliyun vpc ModifyVpnConnectionAttribute"); n != 2 {
		t.Errorf("%d commands in the thread, want one per connection", n)
	}
	for _, want := range []string{"One change fixes the 7 findings above", `NEW_PSK=\"$(openssl rand -base64 32)\" \u0026amp;\u0026amp; aliyun vpc`,
		`\"IkeVersion\":\"ikev2\"`, "--VpnConnectionId 'vco-gw8tylx7hvwhl7tu8****'"} {
		if !strings.Contains(thread, want) {
			t.Errorf("the thread lacks %q", want)
		}
	}
	if strings.Contains(string(payload(t, msgs[:1])), "aliyun vpc") {
		t.Error("the summary shows a command")
	}
}

// fakeFixer stands for a connection's fixes.
type fakeFixer struct {
	own      map[string]*report.Fix // by rule
	combined *report.Fix
}

func (x fakeFixer) Fix(f *report.Finding) *report.Fix { return x.own[f.Rule] }
func (x fakeFixer) Combined() *report.Fix             { return x.combined }
func (x fakeFixer) Fixable() int                      { return len(x.own) }

// A connection's only fixable finding shows its command under it; a
// command too long to show whole is never cut.
func TestCommandUnderItsFinding(t *testing.T) {
	fx := &report.Fix{CLI: "aliyun vpc ModifyVpnConnectionAttribute --RegionId cn-hangzhou --VpnConnectionId vco-1 --EnableDpd true"}
	f := report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Title: "DPD", Message: "DPD is off", Remediation: "Turn it on.",
		Region: "cn-hangzhou", ConnectionID: "vco-1", Fixer: fakeFixer{own: map[string]*report.Fix{"dpd-disabled": fx}, combined: fx}}
	got := findingText(f, sampleMeta.Now)
	if !strings.Contains(got, "_Command:_\n```aliyun vpc ModifyVpnConnectionAttribute --RegionId cn-hangzhou --VpnConnectionId vco-1 --EnableDpd true```") {
		t.Errorf("no command under the finding:\n%s", got)
	}
	if _, ok := connectionFix(&report.Group{Findings: []report.Finding{f}}); ok {
		t.Error("a lone fix repeated under the connection")
	}
	long := &report.Fix{CLI: "aliyun vpc X " + strings.Repeat("--A b ", 400)}
	f.Fixer = fakeFixer{own: map[string]*report.Fix{"dpd-disabled": long}, combined: long}
	if got := findingText(f, sampleMeta.Now); strings.Contains(got, "```") {
		t.Errorf("a command too long to show was cut and shown")
	}
	// Read back from JSON, the combined call is unknown: point to vpncheck fix.
	f.Fixer, f.Fix = nil, fx
	if got := findingText(f, sampleMeta.Now); !strings.Contains(got, "`vpncheck fix --connection vco-1`") {
		t.Errorf("no pointer to vpncheck fix:\n%s", got)
	}
}
