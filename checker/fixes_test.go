package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
)

// A key that is also the tunnel's local id (psk-exposed) reaches no fix:
// not as the key, not as the id; the fix leaves the ids out and says so.
// Every fixable finding of the run carries a fix, and the others none.
func TestFixesCarryNoKey(t *testing.T) {
	const canary = "CanaryKey-7f3a9c1e"
	inv := writeFile(t, "inv.json", `{"TotalCount": 1, "VpnConnections": {"VpnConnection": [{
		"VpnConnectionId": "vco-canary", "Name": "c", "Status": "ike_sa_not_established", "EnableDpd": false,
		"IkeConfig": {"IkeVersion": "ikev1", "IkeMode": "main", "IkeEncAlg": "des", "IkeAuthAlg": "sha1", "IkePfs": "group2",
			"IkeLifetime": 86400, "LocalId": "`+canary+`", "RemoteId": "203.0.113.9", "Psk": "`+canary+`"},
		"IpsecConfig": {"IpsecEncAlg": "aes", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14", "IpsecLifetime": 3600}}]}}`)
	rep := checkFiles(t, builtin(t), Options{}, "cn-hangzhou", inv)
	var js bytes.Buffer
	if err := mustFormat(t, "json").Report(&js, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), canary) {
		t.Fatal("the key reached the report")
	}
	fixed := map[string]bool{}
	for _, f := range rep.Findings {
		fx := f.FixNow()
		fixed[f.Rule] = fx != nil
		if fx == nil {
			continue
		}
		var ike map[string]any
		if s, ok := fx.API.Parameters["IkeConfig"].(string); ok {
			if err := json.Unmarshal([]byte(s), &ike); err != nil {
				t.Fatal(err)
			}
			if _, ok := ike["LocalId"]; ok {
				t.Errorf("%s: the masked local id is sent: %s", f.Rule, s)
			}
		}
	}
	want := map[string]bool{"ike-weak-encryption": true, "ike-weak-integrity": true, "ike-weak-dh-group": true, "ike-v1": true,
		"psk-weak": true, "psk-exposed": true, "dpd-disabled": true, "tunnel-not-established": false}
	for rule, w := range want {
		got, ok := fixed[rule]
		if !ok {
			t.Errorf("no %s finding", rule)
		} else if got != w {
			t.Errorf("%s: fix %v, want %v", rule, got, w)
		}
	}
}

// Options.PlanFor gets the connection's combined plan: one call for all
// its fixable findings.
func TestPlanForOneConnection(t *testing.T) {
	inv := inventory.New()
	if err := inv.ReadFile("../testdata/sample.json", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	res, err := builtin(t).Check(context.Background(), inv, Options{Now: fixedNow, PlanFor: "vco-gw8tylx7hvwhl7tu8****"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plans) != 1 {
		t.Fatalf("%d plans", len(res.Plans))
	}
	p := res.Plans[0]
	if p.Fix == nil || p.Fix.API.Action != "ModifyVpnConnectionAttribute" {
		t.Fatalf("%+v", p.Fix)
	}
	var ike, ipsec map[string]any
	json.Unmarshal([]byte(p.Fix.API.Parameters["IkeConfig"].(string)), &ike)
	json.Unmarshal([]byte(p.Fix.API.Parameters["IpsecConfig"].(string)), &ipsec)
	if ike["IkeVersion"] != "ikev2" || ike["IkePfs"] != "group14" || ike["IkeAuthAlg"] != "sha256" || ike["Psk"] != "${NEW_PSK}" ||
		ipsec["IpsecPfs"] != "group14" || ipsec["IpsecAuthAlg"] != "sha256" {
		t.Errorf("combined: %v %v", ike, ipsec)
	}
}

// BenchmarkAddFixes is what fixes add to judging one connection with six
// fixable findings (the per-finding fixes and the combined one).
func BenchmarkAddFixes(b *testing.B) {
	eng := builtin(b)
	inv := inventory.New()
	if err := inv.ReadFile("../testdata/sample.json", "cn-hangzhou"); err != nil {
		b.Fatal(err)
	}
	conns, release := inv.Take(report.New())
	release()
	c := conns[0]
	found, err := eng.evaluate(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		fs := append([]report.Finding(nil), found...)
		eng.addFixes(c, fs, false)
	}
}
