package fix_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/fix"
	"github.com/vpncheck/vpncheck/checker/report"
)

var pref = fix.Preferred{IKEVersion: "ikev2", IKEMode: "main", IKEEncryption: "aes256", IKEIntegrity: "sha256",
	IKEDHGroup: "group14", IPsecEncryption: "aes256", IPsecIntegrity: "sha256", IPsecPFS: "group14"}

func off() *bool { b := false; return &b }

func weakIKE() *fix.IKE {
	return &fix.IKE{Version: "ikev1", Mode: "aggressive", Encryption: "des", Integrity: "md5", DHGroup: "group2",
		Lifetime: 86400, LocalID: "47.0.0.1", RemoteID: "203.0.113.9"}
}

func weakIPsec() *fix.IPsec {
	return &fix.IPsec{Encryption: "3des", Integrity: "sha1", PFS: "disabled", Lifetime: 3600}
}

func single() *fix.Connection {
	return &fix.Connection{ID: "vco-1", Region: "cn-hangzhou", CustomerGatewayID: "cgw-1",
		Tunnels: []fix.Tunnel{{IKE: weakIKE(), IPsec: weakIPsec(), DPD: off()}}}
}

func dual() *fix.Connection {
	return &fix.Connection{ID: "vco-2", Region: "cn-shanghai", CustomerGatewayID: "cgw-2", DualTunnel: true,
		Tunnels: []fix.Tunnel{
			{ID: "tun-a", Role: "master", IKE: weakIKE(), IPsec: weakIPsec(), DPD: off()},
			{ID: "tun-b", Role: "slave", IKE: weakIKE(), IPsec: weakIPsec(), DPD: off()},
		}}
}

func finding(c *fix.Connection, rule, tunnel string) report.Finding {
	return report.Finding{Rule: rule, ConnectionID: c.ID, Region: c.Region, TunnelID: tunnel}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", s, err)
	}
	return m
}

// Each rule's fix sets the preferred value and sends every other current
// value as it is; a single-tunnel connection takes
// ModifyVpnConnectionAttribute with JSON strings.
func TestSingleTunnelFixPerRule(t *testing.T) {
	for _, tc := range []struct {
		rule, param, key string
		want             any
	}{
		{"ike-weak-encryption", "IkeConfig", "IkeEncAlg", "aes256"},
		{"ike-weak-integrity", "IkeConfig", "IkeAuthAlg", "sha256"},
		{"ike-weak-dh-group", "IkeConfig", "IkePfs", "group14"},
		{"ike-v1", "IkeConfig", "IkeVersion", "ikev2"},
		{"ike-aggressive-mode", "IkeConfig", "IkeMode", "main"},
		{"ipsec-weak-encryption", "IpsecConfig", "IpsecEncAlg", "aes256"},
		{"ipsec-weak-integrity", "IpsecConfig", "IpsecAuthAlg", "sha256"},
		{"ipsec-pfs-disabled", "IpsecConfig", "IpsecPfs", "group14"},
		{"ipsec-weak-dh-group", "IpsecConfig", "IpsecPfs", "group14"},
		{"psk-weak", "IkeConfig", "Psk", "${NEW_PSK}"},
		{"psk-reused", "IkeConfig", "Psk", "${NEW_PSK}"},
		{"psk-exposed", "IkeConfig", "Psk", "${NEW_PSK}"},
		{"dpd-disabled", "EnableDpd", "", true},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			c := single()
			f := finding(c, tc.rule, "")
			fx := pref.For(c, &f)
			if fx == nil {
				t.Fatal("no fix")
			}
			p := fx.API.Parameters
			if fx.API.Action != fix.ActionModifyConnection || p["RegionId"] != "cn-hangzhou" || p["VpnConnectionId"] != "vco-1" {
				t.Fatalf("call: %s %v", fx.API.Action, p)
			}
			if tc.key == "" {
				if p[tc.param] != tc.want {
					t.Fatalf("%s = %v, want %v", tc.param, p[tc.param], tc.want)
				}
			} else {
				s, ok := p[tc.param].(string)
				if !ok {
					t.Fatalf("%s is %T, want a JSON string", tc.param, p[tc.param])
				}
				m := decode(t, s)
				if m[tc.key] != tc.want {
					t.Fatalf("%s.%s = %v, want %v", tc.param, tc.key, m[tc.key], tc.want)
				}
				// The others as they are.
				if tc.param == "IkeConfig" && tc.key != "IkeMode" && (m["IkeMode"] != "aggressive" || m["LocalId"] != "47.0.0.1" || m["IkeLifetime"] != 86400.0) {
					t.Errorf("other IKE settings changed: %v", m)
				}
				if tc.param == "IpsecConfig" && tc.key != "IpsecEncAlg" && m["IpsecEncAlg"] != "3des" {
					t.Errorf("other IPsec settings changed: %v", m)
				}
			}
			if len(p) != 3 {
				t.Errorf("parameters touch more than the fix: %v", p)
			}
			if !strings.HasPrefix(fx.CLI, "aliyun vpc ModifyVpnConnectionAttribute ") && !strings.Contains(fx.CLI, "&& aliyun vpc ModifyVpnConnectionAttribute ") {
				t.Errorf("cli: %s", fx.CLI)
			}
			if fx.Terraform.Resource != "alicloud_vpn_connection" || len(fx.Terraform.Attributes) != 1 {
				t.Errorf("terraform: %v", fx.Terraform)
			}
			if !strings.Contains(fx.Note, "customer gateway (cgw-1)") || !strings.Contains(fx.Note, "same maintenance window") {
				t.Errorf("note: %s", fx.Note)
			}
			if strings.HasPrefix(tc.rule, "psk-") {
				if !strings.Contains(fx.CLI, `NEW_PSK="$(openssl rand -base64 32)"`) || !strings.Contains(fx.Note, "openssl rand -base64 32") {
					t.Errorf("the new key is not generated on the user's side: %s", fx.CLI)
				}
				if ike, _ := fx.Terraform.Attributes["ike_config"].(map[string]any); ike["psk"] != "${var.new_psk}" {
					t.Errorf("terraform psk: %v", ike)
				}
			}
		})
	}
}

// Findings that need a person carry no fix.
func TestNoMechanicalFix(t *testing.T) {
	for _, rule := range []string{"tunnel-not-established", "health-check-failed", "health-check-disabled", "bgp-down", "subnet-any", "unknown-algorithm", "a-team-rule"} {
		c := single()
		f := finding(c, rule, "")
		if fx := pref.For(c, &f); fx != nil || fix.Fixable(rule) {
			t.Errorf("%s: %+v", rule, fx)
		}
	}
}

// One tunnel of a dual-tunnel connection: ModifyTunnelAttribute with that
// tunnel's options as an object.
func TestDualTunnelOneTunnel(t *testing.T) {
	c := dual()
	fs := []report.Finding{finding(c, "ike-weak-encryption", "tun-b"), finding(c, "dpd-disabled", "tun-b"), finding(c, "psk-weak", "tun-b")}
	fx := pref.Plan(c, fs)
	if fx.API.Action != fix.ActionModifyTunnel || fx.API.Parameters["TunnelId"] != "tun-b" {
		t.Fatalf("%+v", fx.API)
	}
	spec := fx.API.Parameters["TunnelOptionsSpecification"].(map[string]any)
	ike := spec["TunnelIkeConfig"].(map[string]any)
	if ike["IkeEncAlg"] != "aes256" || ike["IkeAuthAlg"] != "md5" || ike["Psk"] != "${NEW_PSK}" || spec["EnableDpd"] != true {
		t.Errorf("spec: %v", spec)
	}
	if _, ok := spec["TunnelIpsecConfig"]; ok {
		t.Errorf("IPsec sent though unchanged: %v", spec)
	}
	for _, want := range []string{"--TunnelId tun-b", "--TunnelOptionsSpecification.TunnelIkeConfig.IkeEncAlg aes256", "--TunnelOptionsSpecification.EnableDpd true",
		`--TunnelOptionsSpecification.TunnelIkeConfig.Psk "$NEW_PSK"`} {
		if !strings.Contains(fx.CLI, want) {
			t.Errorf("cli lacks %q: %s", want, fx.CLI)
		}
	}
	tf := fx.Terraform.Attributes["tunnel_options_specification"].([]any)[0].(map[string]any)
	if tf["role"] != "slave" || tf["enable_dpd"] != true {
		t.Errorf("terraform: %v", tf)
	}
	if !strings.Contains(fx.Note, "tunnel tun-b") {
		t.Errorf("note: %s", fx.Note)
	}
}

// Findings on both tunnels combine into one ModifyVpnConnectionAttribute,
// one new key per tunnel.
func TestDualTunnelCombined(t *testing.T) {
	c := dual()
	fs := []report.Finding{finding(c, "psk-reused", "tun-a"), finding(c, "psk-reused", "tun-b"), finding(c, "ipsec-weak-encryption", "tun-a"),
		finding(c, "tunnel-not-established", "tun-a"), {Rule: "psk-weak", ConnectionID: "vco-other"}}
	fx := pref.Plan(c, fs)
	if fx.API.Action != fix.ActionModifyConnection {
		t.Fatalf("%+v", fx.API)
	}
	specs := fx.API.Parameters["TunnelOptionsSpecification"].([]any)
	if len(specs) != 2 {
		t.Fatalf("specs: %v", specs)
	}
	a, b := specs[0].(map[string]any), specs[1].(map[string]any)
	if a["TunnelId"] != "tun-a" || b["TunnelId"] != "tun-b" || a["Role"] != "master" {
		t.Errorf("ids: %v %v", a, b)
	}
	if a["TunnelIkeConfig"].(map[string]any)["Psk"] != "${NEW_PSK_1}" || b["TunnelIkeConfig"].(map[string]any)["Psk"] != "${NEW_PSK_2}" {
		t.Errorf("keys: %v %v", a, b)
	}
	if a["TunnelIpsecConfig"].(map[string]any)["IpsecEncAlg"] != "aes256" || b["TunnelIpsecConfig"] != nil {
		t.Errorf("ipsec: %v %v", a, b)
	}
	for _, want := range []string{`NEW_PSK_1="$(openssl rand -base64 32)" && NEW_PSK_2="$(openssl rand -base64 32)" && aliyun vpc ModifyVpnConnectionAttribute`,
		"--TunnelOptionsSpecification.1.TunnelId tun-a", "--TunnelOptionsSpecification.2.TunnelIkeConfig.Psk \"$NEW_PSK_2\""} {
		if !strings.Contains(fx.CLI, want) {
			t.Errorf("cli lacks %q: %s", want, fx.CLI)
		}
	}
	if !strings.Contains(fx.Note, "ipsec-weak-encryption, psk-reused") || strings.Contains(fx.Note, "tunnel-not-established") {
		t.Errorf("note: %s", fx.Note)
	}
}

// An IKE id that held the key (masked by the checker) is never sent back.
func TestMaskedIDsLeftOut(t *testing.T) {
	c := single()
	c.Tunnels[0].IKE.LocalID = "****"
	c.Tunnels[0].IDsHoldKey = true
	f := finding(c, "psk-exposed", "")
	fx := pref.For(c, &f)
	m := decode(t, fx.API.Parameters["IkeConfig"].(string))
	if _, ok := m["LocalId"]; ok {
		t.Errorf("masked id sent: %v", m)
	}
	if _, ok := m["RemoteId"]; ok {
		t.Errorf("remote id sent with a masked local id: %v", m)
	}
	if !strings.Contains(fx.Note, "set new identifiers on both ends") {
		t.Errorf("note: %s", fx.Note)
	}
}

// The CLI line, run by a POSIX shell, passes exactly the API parameters
// (flattened as the SDK sends them), with the keys the shell generated.
func TestCLILineRunsInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	c := dual()
	c.Tunnels[0].IKE.RemoteID = `it's "quoted" $HOME`
	fs := []report.Finding{finding(c, "psk-reused", "tun-a"), finding(c, "psk-reused", "tun-b"), finding(c, "ike-weak-dh-group", "tun-a")}
	one := single()
	for _, fx := range []*report.Fix{pref.Plan(c, fs), pref.For(one, &[]report.Finding{finding(one, "psk-weak", "")}[0]),
		pref.For(one, &[]report.Finding{finding(one, "ipsec-weak-integrity", "")}[0])} {
		script := `n=0; openssl() { n=$((n+1)); echo "generated-$n"; }; aliyun() { for a in "$@"; do printf '%s\n' "$a"; done; }; ` + fx.CLI
		out, err := exec.Command(sh, "-c", script).Output()
		if err != nil {
			t.Fatalf("%s: %v", fx.CLI, err)
		}
		args := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if args[0] != "vpc" || args[1] != fx.API.Action {
			t.Fatalf("args: %q", args[:2])
		}
		got := map[string]string{}
		for i := 2; i+1 < len(args); i += 2 {
			got[strings.TrimPrefix(args[i], "--")] = args[i+1]
		}
		want := fix.Flatten(fx.API.Parameters)
		if len(got) != len(want) {
			t.Errorf("%d args, want %d: %q", len(got), len(want), args)
		}
		for _, p := range want {
			v := strings.NewReplacer("${NEW_PSK}", "generated-1", "${NEW_PSK_1}", "generated-1", "${NEW_PSK_2}", "generated-1").Replace(p.Value)
			// Each $(...) is its own subshell: every key reads generated-1.
			if got[p.Name] != v {
				t.Errorf("%s = %q, want %q", p.Name, got[p.Name], v)
			}
		}
	}
}

func TestTerraformHCL(t *testing.T) {
	c := dual()
	fx := pref.Plan(c, []report.Finding{finding(c, "psk-weak", "tun-a"), finding(c, "dpd-disabled", "tun-b")})
	got := fix.Terraform(fx.Terraform)
	for _, want := range []string{`resource "alicloud_vpn_connection" "this" {`, "  tunnel_options_specification {\n    role = \"master\"",
		"      psk = var.new_psk\n", "    enable_dpd = true\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("HCL lacks %q:\n%s", want, got)
		}
	}
}

// TestTerraformHCLInert: a value from the cloud (an IKE id, a tunnel role)
// is an HCL string, never an expression or a template: only the key's own
// variable is written as an expression.
func TestTerraformHCLInert(t *testing.T) {
	got := fix.Terraform(report.FixTerraform{Resource: fix.TerraformResource, Attributes: map[string]any{
		"ike_config": map[string]any{
			"ike_local_id":  "${file(\"~/.ssh/id_rsa\")}",
			"ike_remote_id": "a${b}%{if true}c%{endif}\x1b[2J",
			"psk":           "${var.new_psk}",
			"ike_mode":      "main}",
		},
		"tunnel_options_specification": []any{map[string]any{"role": "${var.aws_secret_key}"}},
	}})
	for _, want := range []string{
		`    ike_local_id = "$${file(\"~/.ssh/id_rsa\")}"` + "\n",
		`    ike_remote_id = "a$${b}%%{if true}c%%{endif}\x1b[2J"` + "\n",
		"    psk = var.new_psk\n",
		`    ike_mode = "main}"` + "\n",
		`    role = "$${var.aws_secret_key}"` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HCL lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("HCL holds an escape character:\n%q", got)
	}
}

// A tunnel's id or role from the cloud that spells a key's placeholder is a
// literal on the CLI line: the new key goes only where the plan put it.
func TestPlaceholderInTunnelNotSpliced(t *testing.T) {
	c := dual()
	c.Tunnels[0].Role = "${NEW_PSK_2}"
	c.Tunnels[1].ID = "tun-${NEW_PSK_1}"
	fx := pref.Plan(c, []report.Finding{finding(c, "psk-weak", "tun-a"), finding(c, "dpd-disabled", "tun-${NEW_PSK_1}")})
	if n := strings.Count(fx.CLI, fix.KeyCommand); n != 1 {
		t.Errorf("%d keys generated, want 1: %s", n, fx.CLI)
	}
	if n := strings.Count(fx.CLI, `"$NEW_PSK"`); n != 1 || strings.Contains(fx.CLI, `"$NEW_PSK_`) {
		t.Errorf("the key is spliced %d times, or into an id or role: %s", n, fx.CLI)
	}
}

// A value from the cloud (an IKE id, a mode, an algorithm) that spells a
// key's placeholder is not sent: the CLI line would splice the new key into
// it (or generate a key no rule asked for), and no such value is a secret.
func TestPlaceholderInIDNotSpliced(t *testing.T) {
	for _, rules := range [][]string{{"ike-v1"}, {"psk-weak"}, {"ipsec-pfs-disabled", "psk-weak"}} {
		c := single()
		c.Tunnels[0].IKE.LocalID = "${NEW_PSK}"
		c.Tunnels[0].IKE.RemoteID = "peer-${NEW_PSK}"
		c.Tunnels[0].IKE.Mode = "${NEW_PSK}"
		c.Tunnels[0].IPsec.Encryption = "x${NEW_PSK}"
		var fs []report.Finding
		for _, r := range rules {
			fs = append(fs, finding(c, r, ""))
		}
		fx := pref.Plan(c, fs)
		want := 0
		if slices.Contains(rules, "psk-weak") {
			want = 1
		}
		if n := strings.Count(fx.CLI, fix.KeyCommand); n != want {
			t.Errorf("%v: %d keys generated, want %d: %s", rules, n, want, fx.CLI)
		}
		if n := strings.Count(fx.CLI, `"$NEW_PSK"`); n != want {
			t.Errorf("%v: the key is spliced %d times, want %d: %s", rules, n, want, fx.CLI)
		}
		ike := decode(t, fx.API.Parameters["IkeConfig"].(string))
		if ike["LocalId"] != nil || ike["RemoteId"] != nil {
			t.Errorf("%v: the ids are sent: %v", rules, ike)
		}
	}
}

// A cloud id with an invalid UTF-8 byte is a U+FFFD in the Terraform
// attributes, as in the API parameters: strconv.Quote's \x escape is no
// HCL.
func TestTerraformInvalidUTF8(t *testing.T) {
	c := dual()
	c.Tunnels[0].IKE.LocalID = "peer\xff"
	fx := pref.Plan(c, []report.Finding{finding(c, "ike-v1", "tun-a")})
	if got := fix.Terraform(fx.Terraform); !strings.Contains(got, "local_id = \"peer\uFFFD\"") {
		t.Errorf("HCL:\n%s", got)
	}
}
