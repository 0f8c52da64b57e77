package vpcfake_test

import (
	"testing"

	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// Describing one connection by id, through the official SDK, while it is
// changed, shows a transitional status, and is deleted.
func TestDescribeOneConnection(t *testing.T) {
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: akID, AccessKeySecret: secret})
	defer s.Close()
	s.Generate("cn-hangzhou", 3, vpcfake.Connection)
	c := sdk(t, s, akID, secret, "")
	const id = "vco-cn-hangzhou-00001"
	describe := func() (total int32, ids, statuses, names []string) {
		t.Helper()
		resp, err := c.DescribeVpnConnectionsWithOptions(&vpc.DescribeVpnConnectionsRequest{
			RegionId: tea.String("cn-hangzhou"), VpnConnectionId: tea.String(id), PageSize: tea.Int32(50),
		}, &dara.RuntimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range resp.Body.VpnConnections.VpnConnection {
			ids = append(ids, tea.StringValue(v.VpnConnectionId))
			statuses = append(statuses, tea.StringValue(v.Status))
			names = append(names, tea.StringValue(v.Name))
		}
		return tea.Int32Value(resp.Body.TotalCount), ids, statuses, names
	}

	if total, ids, st, _ := describe(); total != 1 || len(ids) != 1 || ids[0] != id || st[0] != "ipsec_sa_established" {
		t.Fatalf("by id: total %d ids %v status %v", total, ids, st)
	}
	changed := vpcfake.Connection("cn-hangzhou", 1).(map[string]any)
	changed["Name"] = "renamed"
	s.ReplaceConnection("cn-hangzhou", changed)
	s.SetStatus(id, "updating", 2)
	for i, want := range []string{"updating", "updating", "ipsec_sa_established"} {
		if _, _, st, names := describe(); len(st) != 1 || st[0] != want || names[0] != "renamed" {
			t.Errorf("describe %d: status %v name %v, want %s", i+1, st, names, want)
		}
	}
	if resp, err := page(c, "cn-hangzhou", 1, 50); err != nil || len(resp.Body.VpnConnections.VpnConnection) != 3 {
		t.Errorf("listing after a replace: %v", err)
	}
	s.RemoveConnection("cn-hangzhou", id)
	if total, ids, _, _ := describe(); total != 0 || len(ids) != 0 {
		t.Errorf("deleted: total %d ids %v", total, ids)
	}
}
