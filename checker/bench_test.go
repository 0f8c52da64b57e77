package checker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vpncheck/vpncheck/bench/synth"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/keys"
)

const benchConn = `{"VpnConnectionId": "vco-bench", "Name": "bench", "VpnGatewayId": "vpn-bench", "Status": "ipsec_sa_established",
	"LocalSubnet": "10.0.0.0/8", "RemoteSubnet": "192.168.0.0/16", "EnableDpd": true,
	"VcoHealthCheck": {"Enable": "true", "Status": "failed"},
	"IkeConfig": {"IkeVersion": "ikev1", "IkeMode": "main", "IkeEncAlg": "aes", "IkeAuthAlg": "sha1", "IkePfs": "group2", "IkeLifetime": 86400, "LocalId": "1.1.1.1", "RemoteId": "2.2.2.2", "Psk": "bench-key-123456"},
	"IpsecConfig": {"IpsecEncAlg": "aes", "IpsecAuthAlg": "sha1", "IpsecPfs": "group2", "IpsecLifetime": 86400},
	"VpnBgpConfig": {"Status": "success", "LocalAsn": 10001, "PeerAsn": 10002}}`

func BenchmarkNormalizeOne(b *testing.B) {
	body := []byte(`{"VpnConnections": {"VpnConnection": [` + benchConn + `]}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apiwire.Decode(bytes.NewReader(body), func(raw *apiwire.Connection, _ []string) error {
			input.Normalize(raw, "cn-bench")
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateOne(b *testing.B) {
	eng := builtin(b)
	var conns []*apiwire.Connection
	apiwire.Decode(bytes.NewReader([]byte(`{"VpnConnections": {"VpnConnection": [`+benchConn+`]}}`)), func(raw *apiwire.Connection, _ []string) error {
		conns = append(conns, raw)
		return nil
	})
	c := input.Normalize(conns[0], "cn-bench")
	keys.Analyze(context.Background(), []*input.Connection{c}, keys.Policy{}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.evaluate(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckInventory is the whole offline pipeline (read, normalise,
// key facts, evaluate, report) on a generated 1,000-connection inventory:
// a third dual-tunnel, keys drawn from 500 values.
func BenchmarkCheckInventory(b *testing.B) {
	for _, n := range []int{1000} {
		path := filepath.Join(b.TempDir(), "inv.json")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := synth.Write(f, synth.Options{Connections: n, DistinctKeys: 500, DualEvery: 3, Seed: 1, Region: "cn-bench"}); err != nil {
			b.Fatal(err)
		}
		f.Close()
		st, _ := os.Stat(path)
		eng := builtin(b)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				inv := inventory.New()
				if err := inv.ReadFile(path, ""); err != nil {
					b.Fatal(err)
				}
				if _, err := eng.Check(context.Background(), inv, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
