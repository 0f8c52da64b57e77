package checker

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
)

// normalizeJSON decodes one raw connection object and normalises it.
func normalizeJSON(t testing.TB, conn string) *input.Connection {
	t.Helper()
	var conns []*apiwire.Connection
	_, err := apiwire.Decode(strings.NewReader(`{"VpnConnections": {"VpnConnection": [`+conn+`]}}`), func(c *apiwire.Connection, _ []string) error {
		conns = append(conns, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return input.Normalize(conns[0], "cn-test")
}

func tr() *bool { v := true; return &v }
func fa() *bool { v := false; return &v }

func TestNormalizeSingleTunnel(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn string
		want input.Tunnel
	}{
		{
			name: "full",
			conn: `{"Status": "ipsec_sa_established", "EnableDpd": true, "EnableNatTraversal": false,
				"IkeConfig": {"IkeVersion": "IKEv2", "IkeMode": "main", "IkeEncAlg": "AES256", "IkeAuthAlg": "sha256",
					"IkePfs": "group14", "IkeLifetime": 86400, "LocalId": "1.1.1.1", "RemoteId": "2.2.2.2"},
				"IpsecConfig": {"IpsecEncAlg": "aes", "IpsecAuthAlg": "md5", "IpsecPfs": "disabled", "IpsecLifetime": "3600"}}`,
			want: input.Tunnel{
				Status: "ipsec_sa_established", DPD: tr(), NATTraversal: fa(),
				IKE:   &input.IKE{Version: "ikev2", Mode: "main", Encryption: "aes256", Integrity: "sha256", DHGroup: "group14", Lifetime: 86400, LocalID: "1.1.1.1", RemoteID: "2.2.2.2"},
				IPsec: &input.IPsec{Encryption: "aes", Integrity: "md5", DHGroup: "disabled", Lifetime: 3600},
			},
		},
		{
			name: "dpd as string",
			conn: `{"EnableDpd": "false"}`,
			want: input.Tunnel{DPD: fa()},
		},
		{
			name: "nulls are absent",
			conn: `{"Status": null, "EnableDpd": null, "IkeConfig": null, "IpsecConfig": null, "VpnBgpConfig": null}`,
			want: input.Tunnel{},
		},
		{
			name: "empty objects and strings are absent",
			conn: `{"Status": "", "IkeConfig": {}, "IpsecConfig": {"IpsecEncAlg": "", "IpsecLifetime": null}}`,
			want: input.Tunnel{},
		},
		{
			name: "bgp with peer asn as number",
			conn: `{"VpnBgpConfig": {"Status": "false", "LocalAsn": 10001, "PeerAsn": 65000, "TunnelCidr": "169.254.10.0/30"}}`,
			want: input.Tunnel{BGP: &input.BGP{Enabled: tr(), Status: "false", LocalASN: "10001", PeerASN: "65000"}},
		},
		{
			name: "bgp without peer asn is not enabled",
			conn: `{"VpnBgpConfig": {"TunnelCidr": "169.254.10.0/30"}}`,
			want: input.Tunnel{BGP: &input.BGP{Enabled: fa()}},
		},
		{
			name: "unknown boolean spelling is unknown",
			conn: `{"EnableDpd": "yes"}`,
			want: input.Tunnel{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := normalizeJSON(t, tc.conn)
			if c.Connection.DualTunnel || len(c.Tunnels) != 1 {
				t.Fatalf("want one tunnel, single mode; got %d dual=%v", len(c.Tunnels), c.Connection.DualTunnel)
			}
			if got := c.Tunnels[0]; !reflect.DeepEqual(got, tc.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.want)
				t.Errorf("tunnel\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestNormalizeDualTunnel(t *testing.T) {
	c := normalizeJSON(t, `{
		"VpnConnectionId": "vco-dual", "Status": "ike_sa_not_established", "EnableDpd": false,
		"EnableTunnelsBgp": "true",
		"IkeConfig": {"IkeAuthAlg": "md5"},
		"TunnelOptionsSpecification": {"TunnelOptions": [
			{"TunnelId": "tun-1", "Role": "master", "Status": "ipsec_sa_established", "EnableDpd": "true",
			 "TunnelIkeConfig": {"IkeVersion": "ikev2", "IkeAuthAlg": "sha1", "IkeLifetime": "86400", "Psk": "k1"},
			 "TunnelIpsecConfig": {"IpsecPfs": "group2", "IpsecLifetime": "3600"},
			 "TunnelBgpConfig": {"BgpStatus": "Failure", "LocalAsn": "45104", "PeerAsn": "65001"}},
			{"TunnelId": "tun-2", "Role": "slave", "EnableDpd": "false"}
		]}}`)
	if !c.Connection.DualTunnel || len(c.Tunnels) != 2 {
		t.Fatalf("dual=%v tunnels=%d", c.Connection.DualTunnel, len(c.Tunnels))
	}
	// The connection's own IKE settings and status do not judge its tunnels.
	want := []input.Tunnel{
		{ID: "tun-1", Role: "master", Status: "ipsec_sa_established", DPD: tr(),
			IKE:   &input.IKE{Version: "ikev2", Integrity: "sha1", Lifetime: 86400},
			IPsec: &input.IPsec{DHGroup: "group2", Lifetime: 3600},
			BGP:   &input.BGP{Enabled: tr(), Status: "failure", LocalASN: "45104", PeerASN: "65001"},
			Key:   input.TunnelKey{Plain: "k1"}},
		{ID: "tun-2", Role: "slave", DPD: fa(), BGP: &input.BGP{Enabled: tr()}},
	}
	if !reflect.DeepEqual(c.Tunnels, want) {
		g, _ := json.Marshal(c.Tunnels)
		t.Errorf("tunnels = %s", g)
	}
	if !c.Incomplete() {
		t.Error("tun-2 has no IKE or IPsec: the connection is incomplete")
	}
}

func TestNormalizeDualTunnelBGPDisabledWinsOverTunnelConfig(t *testing.T) {
	c := normalizeJSON(t, `{"EnableTunnelsBgp": false, "TunnelOptionsSpecification": {"TunnelOptions": [
		{"TunnelId": "tun-1", "TunnelBgpConfig": {"BgpStatus": "false", "PeerAsn": "65001"}}]}}`)
	if b := c.Tunnels[0].BGP; b == nil || b.Enabled == nil || *b.Enabled {
		t.Errorf("bgp = %+v, want enabled false", b)
	}
}

func TestNormalizeEmptyTunnelListIsSingleTunnel(t *testing.T) {
	c := normalizeJSON(t, `{"Status": "ipsec_sa_established", "TunnelOptionsSpecification": {"TunnelOptions": []}}`)
	if c.Connection.DualTunnel || len(c.Tunnels) != 1 || c.Tunnels[0].Status != "ipsec_sa_established" {
		t.Errorf("got %+v", c)
	}
}

func TestNormalizeConnectionFields(t *testing.T) {
	c := normalizeJSON(t, `{"VpnConnectionId": "vco-1", "Name": "hq", "VpnGatewayId": "vpn-1",
		"LocalSubnet": "10.0.0.0/8, 10.1.0.0/16,", "RemoteSubnet": "0.0.0.0/0",
		"Tag": {"Tag": [{"Key": "env", "Value": "prod"}, {"Key": "", "Value": "dropped"}]},
		"VcoHealthCheck": {"Enable": "true", "Status": "Failed", "Dip": "1.1.1.1", "Retry": 3}}`)
	ci := c.Connection
	if ci.ID != "vco-1" || ci.Name != "hq" || ci.Region != "cn-test" || ci.VPNGatewayID != "vpn-1" {
		t.Errorf("ids: %+v", ci)
	}
	if !reflect.DeepEqual(ci.LocalSubnets, []string{"10.0.0.0/8", "10.1.0.0/16"}) || !reflect.DeepEqual(ci.RemoteSubnets, []string{"0.0.0.0/0"}) {
		t.Errorf("subnets: %q %q", ci.LocalSubnets, ci.RemoteSubnets)
	}
	if !reflect.DeepEqual(ci.Tags, map[string]string{"env": "prod"}) {
		t.Errorf("tags: %v", ci.Tags)
	}
	if hc := ci.HealthCheck; hc == nil || hc.Enabled == nil || !*hc.Enabled || hc.Status != "failed" {
		t.Errorf("health check: %+v", hc)
	}
}

func TestNormalizeHealthCheckWithoutEnableIsUnknown(t *testing.T) {
	c := normalizeJSON(t, `{"VcoHealthCheck": {"Status": "failed"}}`)
	if hc := c.Connection.HealthCheck; hc == nil || hc.Enabled != nil {
		t.Errorf("health check: %+v, want present with unknown enabled", hc)
	}
	c = normalizeJSON(t, `{"VcoHealthCheck": {}}`)
	if c.Connection.HealthCheck != nil {
		t.Error("an empty health check object is absent")
	}
}

func TestRedactedKeyIsAbsent(t *testing.T) {
	c := normalizeJSON(t, `{"IkeConfig": {"Psk": "`+apiwire.Redacted+`", "IkeVersion": "ikev2"},
		"VpnBgpConfig": {"AuthKey": "`+apiwire.Redacted+`"}}`)
	if c.Tunnels[0].Key.Plain != "" || len(c.BGPAuthKeys) != 0 {
		t.Errorf("redacted key kept: %q %q", c.Tunnels[0].Key.Plain, c.BGPAuthKeys)
	}
}

func TestPolicyInputNeverHoldsTheKey(t *testing.T) {
	c := normalizeJSON(t, `{"Name": "x", "IkeConfig": {"Psk": "canary-psk-91c2", "IkeVersion": "ikev2"},
		"VpnBgpConfig": {"AuthKey": "canary-bgp-55d0", "PeerAsn": 1}}`)
	keys.Analyze(context.Background(), []*input.Connection{c}, keys.Policy{}, nil)
	b, _ := json.Marshal(c)
	v := c.ASTValue().String()
	for _, s := range []string{string(b), v} {
		if strings.Contains(s, "canary") {
			t.Errorf("policy input holds a secret: %s", s)
		}
	}
	if c.Tunnels[0].PSK == nil || c.Tunnels[0].PSK.Length != len("canary-psk-91c2") {
		t.Errorf("psk facts = %+v", c.Tunnels[0].PSK)
	}
}
