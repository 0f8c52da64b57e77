package checker

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
)

// The hand-built OPA value and the JSON encoding of the input (what `opa eval`
// and the README document) must be the same document.
func TestASTValueMatchesJSON(t *testing.T) {
	for _, conn := range []string{
		`{}`,
		`{"VpnConnectionId": "vco-1", "Name": "a", "LocalSubnet": "0.0.0.0/0", "Tag": {"Tag": [{"Key": "k", "Value": "v"}]},
		  "VcoHealthCheck": {"Enable": false}, "EnableDpd": true, "Status": "x",
		  "IkeConfig": {"IkeVersion": "ikev1", "IkeLifetime": 86400, "Psk": "abc", "LocalId": "l", "RemoteId": "r"},
		  "IpsecConfig": {"IpsecPfs": "group2", "IpsecLifetime": 0},
		  "VpnBgpConfig": {"Status": "success", "PeerAsn": 1, "LocalAsn": "2"}}`,
		`{"EnableTunnelsBgp": true, "TunnelOptionsSpecification": {"TunnelOptions": [
		  {"TunnelId": "t1", "Role": "master", "EnableNatTraversal": "true", "TunnelIkeConfig": {"Psk": "Very-Long-Random-Key-98a7sd9f8a7sdf"}},
		  {"TunnelId": "t2", "TunnelBgpConfig": {"BgpStatus": "false"}}]}}`,
	} {
		c := normalizeJSON(t, conn)
		keys.Analyze(context.Background(), []*input.Connection{c}, keys.Policy{Banned: []string{"abc"}}, nil)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ast.ParseTerm(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ASTValue(); got.Compare(want.Value) != 0 {
			t.Errorf("ast value differs from JSON\n ast  %s\n json %s", got, want)
		}
	}
}
