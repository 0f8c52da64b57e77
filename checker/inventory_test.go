package checker

import (
	"errors"
	"strings"
	"testing"
)

func decodeString(t *testing.T, body string) ([]*rawConnection, pageInfo, error) {
	t.Helper()
	var out []*rawConnection
	info, err := decodeInventory(strings.NewReader(body), func(c *rawConnection) error {
		out = append(out, c)
		return nil
	})
	return out, info, err
}

func TestDecodeInventoryReadsTheBody(t *testing.T) {
	conns, info, err := decodeString(t, `{
		"TotalCount": "3", "RegionId": "cn-shanghai", "RequestId": "req-1", "PageNumber": 1,
		"Extra": {"nested": [1, {"a": null}]},
		"VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-1"}, {"VpnConnectionId": "vco-2"}]}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 || conns[1].VpnConnectionId != "vco-2" {
		t.Errorf("connections = %v", conns)
	}
	if info.RegionID != "cn-shanghai" || info.TotalCount != 3 || !info.HasTotal || info.RequestID != "req-1" {
		t.Errorf("info = %+v", info)
	}
}

func TestDecodeInventoryRegionId(t *testing.T) {
	for _, tc := range []struct{ name, field, want string }{
		{"string", `"RegionId": "cn-beijing",`, "cn-beijing"},
		{"empty", `"RegionId": "",`, ""},
		{"number", `"RegionId": 7,`, ""},
		{"null", `"RegionId": null,`, ""},
		{"object", `"RegionId": {"x": 1},`, ""},
		{"absent", ``, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, info, err := decodeString(t, `{`+tc.field+`"VpnConnections": {"VpnConnection": []}}`)
			if err != nil {
				t.Fatal(err)
			}
			if info.RegionID != tc.want {
				t.Errorf("RegionID = %q, want %q", info.RegionID, tc.want)
			}
		})
	}
}

func TestDecodeInventoryRejects(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"empty", ``, "truncated"},
		{"blank", "  \n", "truncated"},
		{"not json", `hello`, "invalid JSON"},
		{"array", `[{"VpnConnectionId": "vco-1"}]`, "expected a JSON object"},
		{"other api", `{"RequestId": "x", "Vpcs": {"Vpc": []}}`, "no VpnConnections.VpnConnection array"},
		{"list missing", `{"VpnConnections": {}}`, "no VpnConnections.VpnConnection array"},
		{"list not array", `{"VpnConnections": {"VpnConnection": {"VpnConnectionId": "x"}}}`, "is not an array"},
		{"wrapper not object", `{"VpnConnections": []}`, "not an object"},
		{"truncated", `{"VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-1"}, {"Vpn`, "truncated"},
		{"trailing data", `{"VpnConnections": {"VpnConnection": []}} {}`, "data after"},
		{"config not object", `{"VpnConnections": {"VpnConnection": [{"IkeConfig": "x"}]}}`, "connection 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeString(t, tc.body)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrUnreadable) {
				t.Errorf("error %v does not wrap ErrUnreadable", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeInventoryNullListIsEmpty(t *testing.T) {
	conns, _, err := decodeString(t, `{"VpnConnections": {"VpnConnection": null}}`)
	if err != nil || len(conns) != 0 {
		t.Fatalf("got %d connections, err %v", len(conns), err)
	}
}

// A syntax error must not quote the input: a key may be right there.
func TestDecodeInventoryErrorDoesNotQuoteInput(t *testing.T) {
	_, _, err := decodeString(t, `{"VpnConnections": {"VpnConnection": [{"IkeConfig": {"Psk": "canary-psk-7f3a"}} x`)
	if err == nil || strings.Contains(err.Error(), "canary") {
		t.Fatalf("err = %v", err)
	}
}
