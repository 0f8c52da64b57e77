package synth

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWriteIsDeterministicAndShaped(t *testing.T) {
	opt := Options{Connections: 30, DistinctKeys: 5, DualEvery: 3, Seed: 7, Region: "cn-test"}
	var a, b bytes.Buffer
	if err := Write(&a, opt); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, opt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed gave different inventories")
	}
	var body struct {
		RegionId       string
		TotalCount     int
		VpnConnections struct {
			VpnConnection []struct {
				VpnConnectionId            string
				TunnelOptionsSpecification *struct{ TunnelOptions []map[string]any }
				IkeConfig                  *struct{ Psk string }
			}
		}
	}
	if err := json.Unmarshal(a.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	conns := body.VpnConnections.VpnConnection
	if body.RegionId != "cn-test" || body.TotalCount != 30 || len(conns) != 30 {
		t.Fatalf("region %q total %d connections %d", body.RegionId, body.TotalCount, len(conns))
	}
	dual, keys := 0, map[string]bool{}
	for _, c := range conns {
		if c.TunnelOptionsSpecification != nil {
			dual++
			if len(c.TunnelOptionsSpecification.TunnelOptions) != 2 {
				t.Errorf("%s: want two tunnels", c.VpnConnectionId)
			}
			for _, tun := range c.TunnelOptionsSpecification.TunnelOptions {
				keys[tun["TunnelIkeConfig"].(map[string]any)["Psk"].(string)] = true
			}
		} else {
			keys[c.IkeConfig.Psk] = true
		}
	}
	if dual != 10 {
		t.Errorf("dual-tunnel connections = %d, want a third (10)", dual)
	}
	if len(keys) > 5 {
		t.Errorf("%d distinct keys, want at most 5", len(keys))
	}
}

// Varied inventories are deterministic too, and still decode as JSON.
func TestVaryIsDeterministic(t *testing.T) {
	opt := Options{Connections: 200, DistinctKeys: 20, DualEvery: 3, Seed: 3, Vary: true}
	var a, b bytes.Buffer
	if err := Write(&a, opt); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, opt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed gave different varied inventories")
	}
	var v any
	if err := json.Unmarshal(a.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
}
