// Package input is the policy input: the document every rule sees as
// `input` for one IPsec-VPN connection (Connection, its tunnels, IKE, IPsec,
// PSK and BGP), built from the API's raw types by Normalize and turned into
// OPA's value type by ASTValue. Secrets are no part of the document: a
// pre-shared key is held beside it (Tunnel.Key) until the run's key analysis has
// turned it into facts, and is never encoded.
// It may import only the wire format (checker/apiwire) and OPA's ast; never
// the engine, key analysis, the report or a cloud SDK.
package input

import (
	"slices"
	"strconv"
	"strings"
	"unique"

	"github.com/vpncheck/vpncheck/checker/apiwire"
)

// Connection is the policy input for one IPsec-VPN connection: the document
// every rule sees as `input`. Absent fields are left out (never null), so a
// rule cannot fire on data the API did not return. Secrets are not part of
// it: a pre-shared key is represented only by the facts in PSK.
type Connection struct {
	Connection ConnectionInfo `json:"connection"`
	Tunnels    []Tunnel       `json:"tunnels"`

	// BGPAuthKeys are plaintext secrets, held only until the run's key
	// facts are computed (the key analysis takes them); never encoded.
	BGPAuthKeys []string `json:"-"`
	// OddFields are the fields of an unexpected type, read as absent.
	OddFields []string `json:"-"`
}

// ConnectionInfo holds what belongs to the connection as a whole.
type ConnectionInfo struct {
	ID                string            `json:"id,omitempty"`
	Name              string            `json:"name,omitempty"`
	Region            string            `json:"region,omitempty"`
	AccountID         string            `json:"account_id,omitempty"`
	VPNGatewayID      string            `json:"vpn_gateway_id,omitempty"`
	CustomerGatewayID string            `json:"customer_gateway_id,omitempty"`
	LocalSubnets      []string          `json:"local_subnets,omitempty"`
	RemoteSubnets     []string          `json:"remote_subnets,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	DualTunnel        bool              `json:"dual_tunnel"`
	Status            string            `json:"status,omitempty"`
	HealthCheck       *HealthCheck      `json:"health_check,omitempty"`
	EnableTunnelsBGP  *bool             `json:"enable_tunnels_bgp,omitempty"`
}

// HealthCheck is the connection's VcoHealthCheck.
type HealthCheck struct {
	Enabled *bool  `json:"enabled,omitempty"`
	Status  string `json:"status,omitempty"`
}

// Tunnel is one tunnel of a dual-tunnel connection, or the single tunnel of a
// single-tunnel connection (which has no ID).
type Tunnel struct {
	ID           string `json:"id,omitempty"`
	Role         string `json:"role,omitempty"`
	Status       string `json:"status,omitempty"`
	IKE          *IKE   `json:"ike,omitempty"`
	IPsec        *IPsec `json:"ipsec,omitempty"`
	PSK          *PSK   `json:"psk,omitempty"`
	DPD          *bool  `json:"dpd,omitempty"`
	NATTraversal *bool  `json:"nat_traversal,omitempty"`
	BGP          *BGP   `json:"bgp,omitempty"`

	Key TunnelKey `json:"-"` // cleared once the key's facts are known; never encoded
	// IDsMasked: the IKE local or remote id held a key, masked now.
	IDsMasked bool `json:"-"`
}

// TunnelKey is what the input held of a tunnel's pre-shared key: the key,
// or the facts a saved inventory kept in its place, or only the word that
// it was redacted.
type TunnelKey struct {
	Plain    string
	Saved    *apiwire.KeyFacts
	Redacted bool
}

// IKE is the phase 1 configuration. Algorithm names are lower-cased.
type IKE struct {
	Version    string `json:"version,omitempty"`
	Mode       string `json:"mode,omitempty"`
	Encryption string `json:"encryption,omitempty"`
	Integrity  string `json:"integrity,omitempty"`
	DHGroup    string `json:"dh_group,omitempty"`
	Lifetime   int64  `json:"lifetime,omitempty"`
	LocalID    string `json:"local_id,omitempty"`
	RemoteID   string `json:"remote_id,omitempty"`
}

// IPsec is the phase 2 configuration. Algorithm names are lower-cased;
// DHGroup is the PFS group ("disabled" when PFS is off).
type IPsec struct {
	Encryption string `json:"encryption,omitempty"`
	Integrity  string `json:"integrity,omitempty"`
	DHGroup    string `json:"dh_group,omitempty"`
	Lifetime   int64  `json:"lifetime,omitempty"`
}

// PSK holds the facts about a tunnel's pre-shared key; never the key.
type PSK struct {
	Length int  `json:"length"` // in Unicode characters
	Banned bool `json:"banned"`
	// Guesses is zxcvbn's estimate, finite; absent when the key could not be
	// estimated in time. It covers the first EstimatedLength characters.
	Guesses         *float64 `json:"guesses,omitempty"`
	GuessesLog      *int     `json:"guesses_log10,omitempty"`    // floor(log10(guesses)), for messages
	EstimatedLength int      `json:"estimated_length,omitempty"` // characters the estimate covers (psk.estimate_max_length)
	ExposedIn       []string `json:"exposed_in"`
	SharedWith      int      `json:"shared_with"` // tunnels in the run using this key, this one included
}

// BGP is the tunnel's BGP state.
type BGP struct {
	Enabled  *bool  `json:"enabled,omitempty"`
	Status   string `json:"status,omitempty"`
	LocalASN string `json:"local_asn,omitempty"`
	PeerASN  string `json:"peer_asn,omitempty"`
}

// Normalize turns one raw connection into the policy input. Key facts are
// filled in later, once every connection of the run is known.
func Normalize(raw *apiwire.Connection, region string) *Connection {
	return NormalizeShared(raw, region, nil)
}

// TagSets lets the connections of one read share a map of tags where
// their tags are the same (a fleet's few env/owner sets): a small map
// takes a few hundred bytes, as much as the rest of a connection. The
// maps are read only (masking a key in a tag makes a new one).
type TagSets struct{ byText map[string]map[string]string }

// maxTagSets bounds the distinct sets one read remembers.
const maxTagSets = 4096

func (ts *TagSets) share(tags map[string]string) map[string]string {
	if ts == nil || len(tags) > 16 {
		return tags
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(strconv.Quote(k))
		sb.WriteString(strconv.Quote(tags[k]))
	}
	text := sb.String()
	if m, ok := ts.byText[text]; ok {
		return m
	}
	if ts.byText == nil {
		ts.byText = map[string]map[string]string{}
	}
	if len(ts.byText) < maxTagSets {
		ts.byText[text] = tags
	}
	return tags
}

// NormalizeShared is Normalize with the connection's tags shared through
// ts (nil: not shared).
func NormalizeShared(raw *apiwire.Connection, region string, ts *TagSets) *Connection {
	c := &Connection{Connection: ConnectionInfo{
		ID:                string(raw.VpnConnectionId),
		Name:              string(raw.Name),
		Region:            common(region),
		VPNGatewayID:      common(string(raw.VpnGatewayId)),
		CustomerGatewayID: string(raw.CustomerGatewayId),
		LocalSubnets:      splitList(string(raw.LocalSubnet)),
		RemoteSubnets:     splitList(string(raw.RemoteSubnet)),
		Status:            common(string(raw.Status)),
	}}
	if raw.Tag != nil && len(raw.Tag.Tag) > 0 {
		c.Connection.Tags = make(map[string]string, len(raw.Tag.Tag))
		for _, t := range raw.Tag.Tag {
			if t.Key != "" {
				c.Connection.Tags[string(t.Key)] = string(t.Value)
			}
		}
		c.Connection.Tags = ts.share(c.Connection.Tags)
	}
	if hc := raw.VcoHealthCheck; hc != nil && (hc.Enable.Known || hc.Status != "" || hc.Dip != "" || hc.Sip != "") {
		c.Connection.HealthCheck = &HealthCheck{Enabled: hc.Enable.Ptr(), Status: lower(hc.Status)}
	}

	var tunnels []apiwire.Tunnel
	if raw.TunnelOptionsSpecification != nil {
		tunnels = raw.TunnelOptionsSpecification.TunnelOptions
	}
	if len(tunnels) == 0 {
		// Single-tunnel mode: the connection's own settings are its one tunnel.
		t := Tunnel{
			Status:       common(string(raw.Status)),
			DPD:          raw.EnableDpd.Ptr(),
			NATTraversal: raw.EnableNatTraversal.Ptr(),
		}
		t.IKE, t.Key = ikeOf(raw.IkeConfig)
		t.IPsec = ipsecOf(raw.IpsecConfig)
		if b := raw.VpnBgpConfig; b != nil {
			// Single tunnel: BGP is configured when the config names a peer ASN.
			t.BGP = bgpOf(b, string(b.Status), boolPtr(b.PeerAsn != ""))
			c.addBGPKey(b.AuthKey)
		}
		c.Tunnels = []Tunnel{t}
	} else {
		c.Connection.DualTunnel = true
		c.Connection.EnableTunnelsBGP = raw.EnableTunnelsBgp.Ptr()
		c.Tunnels = make([]Tunnel, 0, len(tunnels))
		for i := range tunnels {
			rt := &tunnels[i]
			t := Tunnel{
				ID:           string(rt.TunnelId),
				Role:         common(string(rt.Role)),
				Status:       common(string(rt.Status)),
				DPD:          rt.EnableDpd.Ptr(),
				NATTraversal: rt.EnableNatTraversal.Ptr(),
			}
			t.IKE, t.Key = ikeOf(rt.TunnelIkeConfig)
			t.IPsec = ipsecOf(rt.TunnelIpsecConfig)
			if b := rt.TunnelBgpConfig; b != nil {
				// Dual tunnel: EnableTunnelsBgp decides, whatever the tunnel says.
				t.BGP = bgpOf(b, string(b.BgpStatus), c.Connection.EnableTunnelsBGP)
				c.addBGPKey(b.AuthKey)
			} else if c.Connection.EnableTunnelsBGP != nil {
				t.BGP = &BGP{Enabled: c.Connection.EnableTunnelsBGP}
			}
			c.Tunnels = append(c.Tunnels, t)
		}
	}
	if raw.VpnBgpConfig != nil && c.Connection.DualTunnel {
		c.addBGPKey(raw.VpnBgpConfig.AuthKey)
	}
	return c
}

// StampSalt tells the saved key facts of c which salt their page declared.
func (c *Connection) StampSalt(salt string) {
	for i := range c.Tunnels {
		if f := c.Tunnels[i].Key.Saved; f != nil {
			f.Salt = salt
		}
	}
}

func (c *Connection) addBGPKey(k apiwire.String) {
	if k != "" && k != apiwire.Redacted {
		c.BGPAuthKeys = append(c.BGPAuthKeys, string(k))
	}
}

func ikeOf(r *apiwire.IkeConfig) (*IKE, TunnelKey) {
	if r == nil {
		return nil, TunnelKey{}
	}
	key := TunnelKey{Plain: string(r.Psk)}
	if key.Plain == apiwire.Redacted {
		key = TunnelKey{Redacted: true, Saved: r.VpncheckKeyFacts}
		if key.Saved != nil && !key.Saved.Length.Known {
			key.Saved = nil // facts without a length are no facts
		}
	}
	ike := &IKE{
		Version:    lower(r.IkeVersion),
		Mode:       lower(r.IkeMode),
		Encryption: lower(r.IkeEncAlg),
		Integrity:  lower(r.IkeAuthAlg),
		DHGroup:    lower(r.IkePfs),
		Lifetime:   r.IkeLifetime.Value,
		LocalID:    string(r.LocalId),
		RemoteID:   string(r.RemoteId),
	}
	if *ike == (IKE{}) {
		return nil, key // {"IkeConfig": {}} says nothing
	}
	return ike, key
}

func ipsecOf(r *apiwire.IpsecConfig) *IPsec {
	if r == nil {
		return nil
	}
	p := &IPsec{
		Encryption: lower(r.IpsecEncAlg),
		Integrity:  lower(r.IpsecAuthAlg),
		DHGroup:    lower(r.IpsecPfs),
		Lifetime:   r.IpsecLifetime.Value,
	}
	if *p == (IPsec{}) {
		return nil
	}
	return p
}

func bgpOf(r *apiwire.BgpConfig, status string, enabled *bool) *BGP {
	b := &BGP{Enabled: enabled, Status: common(strings.ToLower(status)), LocalASN: common(string(r.LocalAsn)), PeerASN: common(string(r.PeerAsn))}
	if b.Enabled == nil && b.Status == "" && b.LocalASN == "" && b.PeerASN == "" {
		return nil
	}
	return b
}

func lower(s apiwire.String) string { return common(strings.ToLower(string(s))) }

// common is s in one copy for the whole process: algorithm names,
// statuses, roles, ASNs, gateways and subnets repeat across a fleet, and
// each connection would otherwise hold its own decoded copy (at 100,000
// connections, tens of megabytes). Long text is left as it is.
func common(s string) string {
	if s == "" || len(s) > 64 {
		return s
	}
	return unique.Make(s).Value()
}

func boolPtr(b bool) *bool { return &b }

// splitList reads the API's comma-separated CIDR lists.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, common(p))
		}
	}
	return out
}

// Incomplete reports whether the API left out the IKE or IPsec configuration
// of any tunnel.
func (c *Connection) Incomplete() bool {
	for i := range c.Tunnels {
		if c.Tunnels[i].IKE == nil || c.Tunnels[i].IPsec == nil {
			return true
		}
	}
	return false
}
