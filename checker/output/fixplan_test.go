package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/fix"
	"github.com/vpncheck/vpncheck/checker/report"
)

// TestFixPlanTextInert: the API parameters quote the cloud (an IKE id, a
// tunnel's role); in the text plan they hold no character a terminal acts
// on or that reorders the line, C1 controls and bidi overrides included,
// which JSON leaves as they are.
func TestFixPlanTextInert(t *testing.T) {
	hostile := "peer\u009b2J\u202eevil\u2066"
	c := &fix.Connection{ID: "vco-1", Region: "cn-hangzhou", Tunnels: []fix.Tunnel{{
		IKE: &fix.IKE{Version: "ikev1", Mode: "main", Encryption: "aes256", Integrity: "sha256", DHGroup: "group14", LocalID: hostile, RemoteID: "203.0.113.9"}}}}
	p := fix.Preferred{IKEVersion: "ikev2", IKEMode: "main", IKEEncryption: "aes256", IKEIntegrity: "sha256", IKEDHGroup: "group14"}
	f := report.Finding{Rule: "ike-v1", ConnectionID: c.ID, Region: c.Region}
	var out bytes.Buffer
	if err := FixPlans(&out, "text", []fix.Plan{{Region: c.Region, ConnectionID: c.ID, Findings: []report.Finding{f}, Fix: p.Plan(c, []report.Finding{f})}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\u009b\u202e\u2066") {
		t.Errorf("the plan carries raw control or format characters:\n%q", out.String())
	}
	if !strings.Contains(out.String(), `\u009b`) {
		t.Errorf("the id is not shown escaped:\n%s", out.String())
	}
}
