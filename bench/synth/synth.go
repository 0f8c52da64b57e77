// Package synth writes synthetic DescribeVpnConnections responses for
// benchmarks: deterministic for a seed, with a realistic mix of settings,
// violations and dual-tunnel connections.
package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
)

// Options shape a generated inventory.
type Options struct {
	Connections  int    // how many connections
	DistinctKeys int    // how many distinct pre-shared keys; 0 means every tunnel has its own
	DualEvery    int    // every DualEvery-th connection is dual-tunnel (0: none); 3 means a third
	Seed         uint64 // same seed, same output
	Region       string // top-level RegionId ("" leaves it out)
	StartIndex   int    // first connection number, so pages of one region do not collide
	TotalCount   int    // TotalCount to declare; 0 means Connections
	// Compliant is the percentage of connections (0-100) given settings
	// no built-in rule flags (strong algorithms, DPD, tunnels up, a
	// strong key, no any-subnet); the others keep the random mix, most
	// of them weak. 0 leaves every connection to the mix, as before.
	Compliant int
	// Vary makes the connections odd on purpose, for differential tests:
	// fields left out, odd case, values no list knows, wrong JSON types,
	// weak, banned and exposed keys, tags and names of every shape.
	Vary bool
}

var (
	encs     = []string{"aes", "aes192", "aes256", "aes256", "aes", "3des", "des", "sm4"}
	auths    = []string{"sha256", "sha256", "sha1", "md5", "sha384", "sha512", "sm3"}
	groups   = []string{"group14", "group14", "group2", "group5", "group1"}
	pfs      = []string{"group14", "group2", "disabled", "group14", "group5"}
	versions = []string{"ikev2", "ikev1", "ikev2"}
	modes    = []string{"main", "main", "main", "aggressive"}
	statuses = []string{"ipsec_sa_established", "ipsec_sa_established", "ipsec_sa_established", "ike_sa_not_established", "ipsec_sa_not_established"}
)

// Write writes one response body with opt.Connections connections.
func Write(w io.Writer, opt Options) error {
	r := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	key := func(i int) string {
		n := i
		if opt.DistinctKeys > 0 {
			n = r.IntN(opt.DistinctKeys)
		}
		if n%7 == 0 {
			return fmt.Sprintf("vpn-key-%d", n) // weak: short and guessable
		}
		return fmt.Sprintf("Qx7!%08x-Zr2#%08x-%d", uint32(n)*2654435761, uint32(n)*40503, n)
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	total := opt.TotalCount
	if total == 0 {
		total = opt.Connections
	}
	head := fmt.Sprintf(`{"RequestId":"SYNTH-%d","TotalCount":%d,"PageNumber":1,"PageSize":%d,`, opt.Seed, total, opt.Connections)
	if opt.Region != "" {
		head += fmt.Sprintf(`"RegionId":%q,`, opt.Region)
	}
	bw.WriteString(head + `"VpnConnections":{"VpnConnection":[`)
	for i := range opt.Connections {
		n := opt.StartIndex + i
		if i > 0 {
			bw.WriteByte(',')
		}
		c := map[string]any{
			"VpnConnectionId":   fmt.Sprintf("vco-synth%07d", n),
			"Name":              fmt.Sprintf("site-%d-%s", n, pick([]string{"hq", "branch", "dc", "lab"})),
			"VpnGatewayId":      fmt.Sprintf("vpn-synth%05d", n/20),
			"CustomerGatewayId": fmt.Sprintf("cgw-synth%06d", n),
			"LocalSubnet":       pick([]string{"10.0.0.0/8", "172.16.0.0/12,10.1.0.0/16", "0.0.0.0/0"}),
			"RemoteSubnet":      pick([]string{"192.168.0.0/16", "192.168.1.0/24,192.168.2.0/24", "0.0.0.0/0"}),
			"CreateTime":        1590495160000 + int64(n),
			"EffectImmediately": false,
			"Spec":              "1000M",
			"State":             "active",
			"VcoHealthCheck": map[string]any{
				"Enable": pick([]string{"true", "true", "false"}), "Status": pick([]string{"success", "success", "failed"}),
				"Dip": "192.168.0.1", "Sip": "10.0.0.1", "Retry": 3, "Interval": 3,
			},
			"Tag": map[string]any{"Tag": []map[string]string{{"Key": "env", "Value": pick([]string{"prod", "dev"})}, {"Key": "owner", "Value": "netops"}}},
		}
		ike := func(k string) map[string]any {
			return map[string]any{
				"IkeVersion": pick(versions), "IkeMode": pick(modes), "IkeEncAlg": pick(encs), "IkeAuthAlg": pick(auths),
				"IkePfs": pick(groups), "IkeLifetime": 86400, "LocalId": fmt.Sprintf("47.%d.%d.1", n%250, n/250%250),
				"RemoteId": fmt.Sprintf("203.0.%d.%d", n%250, n/250%250), "Psk": k,
			}
		}
		ipsec := func() map[string]any {
			return map[string]any{"IpsecEncAlg": pick(encs), "IpsecAuthAlg": pick(auths), "IpsecPfs": pick(pfs), "IpsecLifetime": 3600}
		}
		if opt.DualEvery > 0 && n%opt.DualEvery == 0 {
			c["EnableTunnelsBgp"] = r.IntN(2) == 0
			var tunnels []map[string]any
			for t, role := range []string{"master", "slave"} {
				ik, ip := ike(key(2*n+t)), ipsec()
				for k, v := range ik {
					if s, ok := v.(int); ok {
						ik[k] = fmt.Sprint(s) // tunnel lifetimes are strings
					}
				}
				ip["IpsecLifetime"] = "3600"
				tunnels = append(tunnels, map[string]any{
					"TunnelId": fmt.Sprintf("tun-synth%07d%d", n, t), "Role": role, "State": "active",
					"Status": pick(statuses), "EnableDpd": pick([]string{"true", "true", "false"}), "EnableNatTraversal": "true",
					"TunnelIkeConfig": ik, "TunnelIpsecConfig": ip,
					"TunnelBgpConfig": map[string]any{"BgpStatus": pick([]string{"success", "success", "false"}), "LocalAsn": "45104", "PeerAsn": "65001", "TunnelCidr": "169.254.11.0/30", "LocalBgpIp": "169.254.11.1", "PeerBgpIp": "169.254.11.2"},
				})
			}
			c["TunnelOptionsSpecification"] = map[string]any{"TunnelOptions": tunnels}
		} else {
			c["Status"] = pick(statuses)
			c["EnableDpd"] = r.IntN(4) != 0
			c["EnableNatTraversal"] = true
			c["IkeConfig"] = ike(key(2 * n))
			c["IpsecConfig"] = ipsec()
			c["VpnBgpConfig"] = map[string]any{"Status": pick([]string{"success", "success", "false"}), "LocalAsn": 45104, "PeerAsn": 65001, "TunnelCidr": "169.254.10.0/30", "LocalBgpIp": "169.254.10.1", "PeerBgpIp": "169.254.10.2"}
		}
		if opt.Compliant > 0 && r.IntN(100) < opt.Compliant {
			comply(c)
		}
		if opt.Vary {
			vary(r, c, 0)
		}
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	bw.WriteString("]}}\n")
	return bw.Flush()
}

// comply gives connection c settings no built-in rule flags, keeping its
// ids, names, tags and keys' places (a strong key in place of a weak one).
func comply(c map[string]any) {
	c["LocalSubnet"], c["RemoteSubnet"] = "10.0.0.0/16", "192.168.0.0/24"
	c["VcoHealthCheck"].(map[string]any)["Enable"] = "true"
	c["VcoHealthCheck"].(map[string]any)["Status"] = "success"
	fixIKE := func(ike map[string]any) {
		ike["IkeVersion"], ike["IkeMode"], ike["IkeEncAlg"], ike["IkeAuthAlg"], ike["IkePfs"] = "ikev2", "main", "aes256", "sha256", "group14"
		if k, _ := ike["Psk"].(string); strings.HasPrefix(k, "vpn-key-") {
			ike["Psk"] = "Qx7!strong-Zr2#" + k + "-Lp9&Vt7*Kd4"
		}
	}
	fixIPsec := func(ipsec map[string]any) {
		ipsec["IpsecEncAlg"], ipsec["IpsecAuthAlg"], ipsec["IpsecPfs"] = "aes256", "sha256", "group14"
	}
	if spec, ok := c["TunnelOptionsSpecification"].(map[string]any); ok {
		for _, t := range spec["TunnelOptions"].([]map[string]any) {
			t["Status"], t["EnableDpd"] = "ipsec_sa_established", "true"
			fixIKE(t["TunnelIkeConfig"].(map[string]any))
			fixIPsec(t["TunnelIpsecConfig"].(map[string]any))
			t["TunnelBgpConfig"].(map[string]any)["BgpStatus"] = "success"
		}
		return
	}
	c["Status"], c["EnableDpd"] = "ipsec_sa_established", true
	fixIKE(c["IkeConfig"].(map[string]any))
	fixIPsec(c["IpsecConfig"].(map[string]any))
	c["VpnBgpConfig"].(map[string]any)["Status"] = "success"
}

// Odd values vary puts in: unknown algorithms and states, odd case and
// spacing, hostile text.
var oddValues = []string{
	"AES256", "Aes", "chacha20", "SHA1", "Md5", "sha3-256", "GROUP2", "group19", "Group14", "DISABLED",
	"IKEv1", "ikev3", "Aggressive", "MAIN", "IPSEC_SA_ESTABLISHED", "unknown", "", " ", "down", "Success",
	"FAILED", "0.0.0.0/0", " 0.0.0.0/0", "0.0.0.0/0,10.0.0.0/8", "%d%v%s", "100%", "tun-x",
}

// oddScalars are values of the wrong JSON type for any field.
var oddScalars = []any{nil, 0, 1, -1, 1.5, true, false, "true", "false", "yes", []any{}, map[string]any{}, []any{"aes"}}

// vary changes m in place: each field may be dropped, given an odd value
// of its type or a value of another type; nested objects and lists of
// objects are varied the same way, one level at a time.
func vary(r *rand.Rand, m map[string]any, depth int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same seed, the same changes
	for _, k := range keys {
		v := m[k]
		if k == "VpnConnectionId" && r.IntN(50) != 0 {
			continue // keep most ids, so that connections stay apart
		}
		switch x := v.(type) {
		case map[string]any:
			if depth < 4 {
				vary(r, x, depth+1)
			}
		case []map[string]any:
			for _, e := range x {
				vary(r, e, depth+1)
			}
		}
		switch n := r.IntN(40); {
		case n < 3:
			delete(m, k)
		case n < 5:
			m[k] = oddScalars[r.IntN(len(oddScalars))]
		case n < 9:
			if s, ok := v.(string); ok && k != "Psk" {
				m[k] = oddValues[r.IntN(len(oddValues))]
				if r.IntN(3) == 0 {
					m[k] = strings.ToUpper(s)
				}
			}
		case n < 10:
			if k == "Psk" {
				m[k] = []string{"123456", "password", "Passw0rd", "vpn", "a", "x3!Zr2#QqLp9&Vt7*Kd4", "12345678901234567890"}[r.IntN(7)]
			}
		}
	}
	if r.IntN(10) == 0 {
		if ike, ok := m["IkeConfig"].(map[string]any); ok {
			if psk, ok := ike["Psk"].(string); ok {
				m["Name"] = "site " + psk // the key in the name: exposed
				ike["RemoteId"] = psk
			}
		}
	}
}
