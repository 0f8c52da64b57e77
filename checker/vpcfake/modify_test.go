package vpcfake_test

import (
	"encoding/json"
	"strings"
	"testing"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

func dualConnection(id string) map[string]any {
	tunnel := func(tid, role string) map[string]any {
		return map[string]any{"TunnelId": tid, "Role": role, "Status": "ipsec_sa_established", "EnableDpd": "false",
			"TunnelIkeConfig":   map[string]any{"IkeVersion": "ikev1", "IkeMode": "main", "IkeEncAlg": "des", "IkeAuthAlg": "sha1", "IkePfs": "group2", "IkeLifetime": 86400, "Psk": "old-key"},
			"TunnelIpsecConfig": map[string]any{"IpsecEncAlg": "des", "IpsecAuthAlg": "sha1", "IpsecPfs": "disabled", "IpsecLifetime": 3600}}
	}
	return map[string]any{"VpnConnectionId": id, "VpnGatewayId": "vpn-1", "Name": "dual",
		"TunnelOptionsSpecification": map[string]any{"TunnelOptions": []any{tunnel("tun-1", "master"), tunnel("tun-2", "slave")}}}
}

// describeOne reads one connection back as DescribeVpnConnections shows it.
func describeOne(t *testing.T, c *vpc.Client, id string) map[string]any {
	t.Helper()
	res, err := c.DescribeVpnConnectionsWithOptions(&vpc.DescribeVpnConnectionsRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String(id)}, &dara.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Body.VpnConnections.VpnConnection[0])
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// The write calls, sent by the real SDK, are applied; what their request
// models do not allow is refused with InvalidParameter.
func TestModifyThroughTheSDK(t *testing.T) {
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret})
	defer s.Close()
	single := vpcfake.Connection("cn-hangzhou", 1).(map[string]any)
	single["EnableDpd"] = false
	s.AddConnections("cn-hangzhou", single, dualConnection("vco-dual"))
	c := sdk(t, s, akID, secret, "")
	rt := &dara.RuntimeOptions{}
	id := single["VpnConnectionId"].(string)

	if _, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"),
		VpnConnectionId: tea.String(id), IkeConfig: tea.String(`{"IkeEncAlg":"aes192","IkeLifetime":3600}`), EnableDpd: tea.Bool(true)}, rt); err != nil {
		t.Fatal(err)
	}
	got := describeOne(t, c, id)
	ike := got["IkeConfig"].(map[string]any)
	if ike["IkeEncAlg"] != "aes192" || ike["IkeLifetime"] != 3600.0 || ike["IkeAuthAlg"] != "sha256" || got["EnableDpd"] != true {
		t.Errorf("after modify: %v", got)
	}

	if _, err := c.ModifyTunnelAttributeWithOptions(&vpc.ModifyTunnelAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String("vco-dual"),
		TunnelId: tea.String("tun-2"), TunnelOptionsSpecification: &vpc.ModifyTunnelAttributeRequestTunnelOptionsSpecification{EnableDpd: tea.Bool(true),
			TunnelIkeConfig: &vpc.ModifyTunnelAttributeRequestTunnelOptionsSpecificationTunnelIkeConfig{IkeEncAlg: tea.String("aes256"), IkeLifetime: tea.Int64(600)}}}, rt); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String("vco-dual"),
		TunnelOptionsSpecification: []*vpc.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecification{{TunnelId: tea.String("tun-1"),
			TunnelIpsecConfig: &vpc.ModifyVpnConnectionAttributeRequestTunnelOptionsSpecificationTunnelIpsecConfig{IpsecPfs: tea.String("group14")}}}}, rt); err != nil {
		t.Fatal(err)
	}
	d := describeOne(t, c, "vco-dual")
	tuns := d["TunnelOptionsSpecification"].(map[string]any)["TunnelOptions"].([]any)
	t1, t2 := tuns[0].(map[string]any), tuns[1].(map[string]any)
	if t2["EnableDpd"] != "true" || t2["TunnelIkeConfig"].(map[string]any)["IkeEncAlg"] != "aes256" || t2["TunnelIkeConfig"].(map[string]any)["IkeAuthAlg"] != "sha1" ||
		t1["TunnelIpsecConfig"].(map[string]any)["IpsecPfs"] != "group14" || t1["TunnelIkeConfig"].(map[string]any)["IkeEncAlg"] != "des" {
		t.Errorf("after tunnel modifies: %v / %v", t1, t2)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"algorithm the API does not offer", func() error {
			_, err := c.ModifyTunnelAttributeWithOptions(&vpc.ModifyTunnelAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String("vco-dual"), TunnelId: tea.String("tun-1"),
				TunnelOptionsSpecification: &vpc.ModifyTunnelAttributeRequestTunnelOptionsSpecification{TunnelIkeConfig: &vpc.ModifyTunnelAttributeRequestTunnelOptionsSpecificationTunnelIkeConfig{IkeEncAlg: tea.String("aes512")}}}, rt)
			return err
		}, "IkeEncAlg"},
		{"IkeConfig key its model lacks", func() error {
			_, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String(id), IkeConfig: tea.String(`{"IkeEncAlgo":"aes"}`)}, rt)
			return err
		}, "unknown key IkeEncAlgo"},
		{"IkeConfig lifetime as a string", func() error {
			_, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String(id), IkeConfig: tea.String(`{"IkeLifetime":"86400"}`)}, rt)
			return err
		}, "must be a number"},
		{"IkeConfig on a dual-tunnel connection", func() error {
			_, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String("vco-dual"), IkeConfig: tea.String(`{"IkeEncAlg":"aes"}`)}, rt)
			return err
		}, "single-tunnel connection only"},
		{"ModifyTunnelAttribute on a single-tunnel connection", func() error {
			_, err := c.ModifyTunnelAttributeWithOptions(&vpc.ModifyTunnelAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String(id), TunnelId: tea.String("tun-1")}, rt)
			return err
		}, "single-tunnel mode"},
		{"parameter name not in the model", func() error {
			_, err := c.CallApi(&openapiutil.Params{Action: tea.String("ModifyTunnelAttribute"), Version: tea.String("2016-04-28"), Protocol: tea.String("HTTP"),
				Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
				&openapiutil.OpenApiRequest{Query: map[string]*string{"RegionId": tea.String("cn-hangzhou"), "VpnConnectionId": tea.String("vco-dual"), "TunnelId": tea.String("tun-1"),
					"TunnelOptionsSpecification.TunnelIkeConfig.IkeEncAlgorithm": tea.String("aes")}}, rt)
			return err
		}, "not a parameter of ModifyTunnelAttributeRequest"},
		{"unknown connection", func() error {
			_, err := c.ModifyVpnConnectionAttributeWithOptions(&vpc.ModifyVpnConnectionAttributeRequest{RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String("vco-none"), EnableDpd: tea.Bool(true)}, rt)
			return err
		}, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("accepted")
			}
			code, status := sdkCode(t, err)
			if status != 400 || !strings.Contains(err.Error(), tc.want) || (code != "InvalidParameter" && !strings.Contains(code, "NotFound") && !strings.HasPrefix(code, "OperationUnsupported")) {
				t.Errorf("%s %d: %v", code, status, err)
			}
		})
	}
	// Nothing refused changed anything.
	if d2 := describeOne(t, c, "vco-dual"); !jsonEqual(d, d2) {
		t.Errorf("a refused call changed the connection")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
