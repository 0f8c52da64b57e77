// Package fix derives the exact change that clears a finding: the VPC API
// call (ModifyVpnConnectionAttribute for a single-tunnel connection,
// ModifyTunnelAttribute for one tunnel of a dual-tunnel connection), the
// same call as an aliyun CLI line, and the alicloud_vpn_connection
// Terraform attributes. It owns which rules have a mechanical fix and what
// each sets (the policy data's preferred values), and it combines a
// connection's fixes into one change, since a gateway takes one change at
// a time.
//
// It reads a connection's settings as collected (Connection, filled by the
// checker) and never sees a pre-shared key: a new key is a placeholder the
// user generates on their side. It imports only the report model: not the
// checker, OPA, the cloud SDKs or a notifier.
package fix

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// The calls a fix makes.
const (
	ActionModifyConnection = "ModifyVpnConnectionAttribute"
	ActionModifyTunnel     = "ModifyTunnelAttribute"
	TerraformResource      = "alicloud_vpn_connection"
)

// KeyCommand generates a new pre-shared key on the user's side.
const KeyCommand = "openssl rand -base64 32"

// Preferred are the values a fix sets: the policy data's preferred values.
type Preferred struct {
	IKEVersion, IKEMode, IKEEncryption, IKEIntegrity, IKEDHGroup string
	IPsecEncryption, IPsecIntegrity, IPsecPFS                    string
}

// Connection is what a fix needs of a connection as collected.
type Connection struct {
	ID, Name, Region  string
	CustomerGatewayID string
	DualTunnel        bool
	Tunnels           []Tunnel // the single tunnel of a single-tunnel connection has no ID
}

// Tunnel is one tunnel's current settings; nil is what the API did not return.
type Tunnel struct {
	ID, Role string
	IKE      *IKE
	IPsec    *IPsec
	DPD      *bool
	// IDsHoldKey: the IKE local or remote id held the key and is masked.
	IDsHoldKey bool
}

// IKE is the current phase 1 configuration, without the key.
type IKE struct {
	Version, Mode, Encryption, Integrity, DHGroup string
	Lifetime                                      int64
	LocalID, RemoteID                             string
}

// IPsec is the current phase 2 configuration.
type IPsec struct {
	Encryption, Integrity, PFS string
	Lifetime                   int64
}

// edit is one change to a tunnel.
type edit func(p *Preferred, t *change)

// change is what a fix does to one tunnel: its settings with the edits
// applied, and which parts were touched.
type change struct {
	ike             IKE
	ipsec           IPsec
	ikeSet, ipsecOK bool
	newKey, dpd     bool
	idsHoldKey      bool
}

var edits = map[string]edit{
	"ike-weak-encryption": func(p *Preferred, c *change) { c.ike.Encryption, c.ikeSet = p.IKEEncryption, true },
	"ike-weak-integrity":  func(p *Preferred, c *change) { c.ike.Integrity, c.ikeSet = p.IKEIntegrity, true },
	"ike-weak-dh-group":   func(p *Preferred, c *change) { c.ike.DHGroup, c.ikeSet = p.IKEDHGroup, true },
	"ike-v1":              func(p *Preferred, c *change) { c.ike.Version, c.ikeSet = p.IKEVersion, true },
	"ike-aggressive-mode": func(p *Preferred, c *change) { c.ike.Mode, c.ikeSet = p.IKEMode, true },
	"ipsec-weak-encryption": func(p *Preferred, c *change) {
		c.ipsec.Encryption, c.ipsecOK = p.IPsecEncryption, true
	},
	"ipsec-weak-integrity": func(p *Preferred, c *change) { c.ipsec.Integrity, c.ipsecOK = p.IPsecIntegrity, true },
	"ipsec-pfs-disabled":   func(p *Preferred, c *change) { c.ipsec.PFS, c.ipsecOK = p.IPsecPFS, true },
	"ipsec-weak-dh-group":  func(p *Preferred, c *change) { c.ipsec.PFS, c.ipsecOK = p.IPsecPFS, true },
	"psk-weak":             func(_ *Preferred, c *change) { c.newKey = true },
	"psk-reused":           func(_ *Preferred, c *change) { c.newKey = true },
	"psk-exposed":          func(_ *Preferred, c *change) { c.newKey = true },
	"dpd-disabled":         func(_ *Preferred, c *change) { c.dpd = true },
}

// Fixable reports whether findings of rule have a mechanical fix. A tunnel
// down, a failed health check, BGP down, an any-subnet (which subnets?),
// an unknown algorithm (a policy question) and a disabled health check
// (which addresses to probe?) need a person.
func Fixable(rule string) bool { _, ok := edits[rule]; return ok }

// Rules lists the rules with a mechanical fix, sorted.
func Rules() []string {
	out := make([]string, 0, len(edits))
	for r := range edits {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// For is the fix of one finding on c, or nil when it has none.
func (p Preferred) For(c *Connection, f *report.Finding) *report.Fix {
	return p.Plan(c, []report.Finding{*f})
}

// Plan is one change that clears every fixable finding of fs on c (the
// findings of other connections are ignored), or nil when none is
// fixable. Findings on one tunnel of a dual-tunnel connection become
// ModifyTunnelAttribute; on both tunnels, one ModifyVpnConnectionAttribute
// with both tunnels' options: the gateway takes one change at a time.
func (p Preferred) Plan(c *Connection, fs []report.Finding) *report.Fix {
	changes := map[int]*change{}
	var rules []string
	for i := range fs {
		f := &fs[i]
		e := edits[f.Rule]
		if e == nil || f.ConnectionID != c.ID {
			continue
		}
		ti := c.tunnel(f.TunnelID)
		if ti < 0 {
			continue
		}
		ch := changes[ti]
		if ch == nil {
			ch = c.Tunnels[ti].current()
			changes[ti] = ch
		}
		e(&p, ch)
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	order := make([]int, 0, len(changes))
	for ti := range changes {
		order = append(order, ti)
	}
	slices.Sort(order)
	var fx *report.Fix
	switch {
	case !c.DualTunnel:
		fx = c.modifyConnection(changes[order[0]])
	case len(order) == 1:
		fx = c.modifyTunnel(order[0], changes[order[0]])
	default:
		fx = c.modifyTunnels(order, changes)
	}
	slices.Sort(rules)
	fx.CLI = cliLine(fx.API)
	fx.Note = c.note(rules, order, changes)
	return fx
}

// tunnel is the index of the tunnel a finding names ("" for the single
// tunnel of a single-tunnel connection), or -1.
func (c *Connection) tunnel(id string) int {
	if !c.DualTunnel {
		if len(c.Tunnels) == 0 {
			return -1
		}
		return 0
	}
	return slices.IndexFunc(c.Tunnels, func(t Tunnel) bool { return t.ID == id && id != "" })
}

func (t *Tunnel) current() *change {
	ch := &change{idsHoldKey: t.IDsHoldKey}
	if t.IKE != nil {
		ch.ike = *t.IKE
	}
	if t.IPsec != nil {
		ch.ipsec = *t.IPsec
	}
	return ch
}

// Placeholders for new keys: the CLI line sets them from KeyCommand, the
// Terraform attributes read them from variables.
func keyVar(n, of int) string {
	if of <= 1 {
		return "NEW_PSK"
	}
	return fmt.Sprintf("NEW_PSK_%d", n)
}

// keyNames are every name keyVar gives: a connection has at most two tunnels.
var keyNames = []string{"NEW_PSK", "NEW_PSK_1", "NEW_PSK_2"}

// Placeholder is how a new key's variable stands in the API parameters.
func Placeholder(name string) string { return "${" + name + "}" }

// ikeConfig is the API's IkeConfig / TunnelIkeConfig, fields in the
// API's order; Psk only as a placeholder.
type ikeConfig struct {
	Psk         string `json:"Psk,omitempty"`
	IkeVersion  string `json:"IkeVersion,omitempty"`
	IkeMode     string `json:"IkeMode,omitempty"`
	IkeEncAlg   string `json:"IkeEncAlg,omitempty"`
	IkeAuthAlg  string `json:"IkeAuthAlg,omitempty"`
	IkePfs      string `json:"IkePfs,omitempty"`
	IkeLifetime int64  `json:"IkeLifetime,omitempty"`
	LocalId     string `json:"LocalId,omitempty"`
	RemoteId    string `json:"RemoteId,omitempty"`
}

type ipsecConfig struct {
	IpsecEncAlg   string `json:"IpsecEncAlg,omitempty"`
	IpsecAuthAlg  string `json:"IpsecAuthAlg,omitempty"`
	IpsecPfs      string `json:"IpsecPfs,omitempty"`
	IpsecLifetime int64  `json:"IpsecLifetime,omitempty"`
}

func (ch *change) ikeConfig(key string) *ikeConfig {
	if !ch.ikeSet && !ch.newKey {
		return nil
	}
	k := ikeConfig{IkeVersion: ch.ike.Version, IkeMode: ch.ike.Mode, IkeEncAlg: ch.ike.Encryption,
		IkeAuthAlg: ch.ike.Integrity, IkePfs: ch.ike.DHGroup, IkeLifetime: ch.ike.Lifetime,
		LocalId: ch.ike.LocalID, RemoteId: ch.ike.RemoteID}
	if ch.idsHoldKey || spellsPlaceholder(k.LocalId) || spellsPlaceholder(k.RemoteId) {
		// The ids are masked: sending the mask would set it, and the key
		// itself is never sent. An id spelling a placeholder goes with them.
		k.LocalId, k.RemoteId = "", ""
	}
	dropPlaceholders(&k.IkeVersion, &k.IkeMode, &k.IkeEncAlg, &k.IkeAuthAlg, &k.IkePfs)
	if ch.newKey {
		k.Psk = Placeholder(key)
	}
	return &k
}

func (ch *change) ipsecConfig() *ipsecConfig {
	if !ch.ipsecOK {
		return nil
	}
	k := ipsecConfig{IpsecEncAlg: ch.ipsec.Encryption, IpsecAuthAlg: ch.ipsec.Integrity,
		IpsecPfs: ch.ipsec.PFS, IpsecLifetime: ch.ipsec.Lifetime}
	dropPlaceholders(&k.IpsecEncAlg, &k.IpsecAuthAlg, &k.IpsecPfs)
	return &k
}

// spellsPlaceholder: s (a current value from the cloud) holds what a new
// key's placeholder starts with. The CLI line splices the new key wherever
// its placeholder stands, so such a value would carry the key into a
// setting the API shows in the clear (or generate a key no rule asked for).
func spellsPlaceholder(s string) bool { return strings.Contains(s, "${") }

// dropPlaceholders leaves out each current value that spells a
// placeholder: no real version, mode or algorithm does.
func dropPlaceholders(vs ...*string) {
	for _, v := range vs {
		if spellsPlaceholder(*v) {
			*v = ""
		}
	}
}

// asMap is the parameters' nested object of k: what encoding k as JSON
// and decoding it with UseNumber gives (omitempty fields left out, the
// lifetime a json.Number, each invalid UTF-8 byte a U+FFFD), made
// directly, since a weak fleet's report makes tens of thousands of them.
func (k *ikeConfig) asMap() map[string]any {
	m := make(map[string]any, 9)
	setString(m, "Psk", k.Psk)
	setString(m, "IkeVersion", k.IkeVersion)
	setString(m, "IkeMode", k.IkeMode)
	setString(m, "IkeEncAlg", k.IkeEncAlg)
	setString(m, "IkeAuthAlg", k.IkeAuthAlg)
	setString(m, "IkePfs", k.IkePfs)
	setNumber(m, "IkeLifetime", k.IkeLifetime)
	setString(m, "LocalId", k.LocalId)
	setString(m, "RemoteId", k.RemoteId)
	return m
}

func (k *ipsecConfig) asMap() map[string]any {
	m := make(map[string]any, 4)
	setString(m, "IpsecEncAlg", k.IpsecEncAlg)
	setString(m, "IpsecAuthAlg", k.IpsecAuthAlg)
	setString(m, "IpsecPfs", k.IpsecPfs)
	setNumber(m, "IpsecLifetime", k.IpsecLifetime)
	return m
}

func setString(m map[string]any, name, v string) {
	if v == "" {
		return
	}
	if !utf8.ValidString(v) {
		// encoding/json writes each invalid byte as \ufffd
		var sb strings.Builder
		for i := 0; i < len(v); {
			r, n := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && n == 1 {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.WriteString(v[i : i+n])
			}
			i += n
		}
		v = sb.String()
	}
	m[name] = v
}

func setNumber(m map[string]any, name string, v int64) {
	if v != 0 {
		m[name] = json.Number(strconv.FormatInt(v, 10))
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *Connection) base(action string) *report.Fix {
	return &report.Fix{
		API: report.FixAPI{Action: action, Region: c.Region,
			Parameters: map[string]any{"RegionId": c.Region, "VpnConnectionId": c.ID}},
		Terraform: report.FixTerraform{Resource: TerraformResource, Attributes: map[string]any{}},
	}
}

// modifyConnection fixes a single-tunnel connection: IkeConfig and
// IpsecConfig are JSON strings holding every current value with the
// changes applied, so nothing else moves.
func (c *Connection) modifyConnection(ch *change) *report.Fix {
	fx := c.base(ActionModifyConnection)
	p, tf := fx.API.Parameters, fx.Terraform.Attributes
	key := keyVar(1, 1)
	if ike := ch.ikeConfig(key); ike != nil {
		p["IkeConfig"] = jsonText(ike)
		tf["ike_config"] = terraformIKE(ike, "ike_local_id", "ike_remote_id")
	}
	if ipsec := ch.ipsecConfig(); ipsec != nil {
		p["IpsecConfig"] = jsonText(ipsec)
		tf["ipsec_config"] = terraformIPsec(ipsec)
	}
	if ch.dpd {
		p["EnableDpd"] = true
		tf["enable_dpd"] = true
	}
	return fx
}

// tunnelOptions is one tunnel's TunnelOptionsSpecification.
func (c *Connection) tunnelOptions(ti int, ch *change, key string, withID bool) (map[string]any, map[string]any) {
	t := &c.Tunnels[ti]
	spec, tf := map[string]any{}, map[string]any{}
	if withID {
		spec["TunnelId"] = t.ID
		if t.Role != "" {
			spec["Role"] = t.Role
		}
	}
	if t.Role != "" {
		tf["role"] = t.Role
	}
	if ike := ch.ikeConfig(key); ike != nil {
		spec["TunnelIkeConfig"] = ike.asMap()
		tf["tunnel_ike_config"] = terraformIKE(ike, "local_id", "remote_id")
	}
	if ipsec := ch.ipsecConfig(); ipsec != nil {
		spec["TunnelIpsecConfig"] = ipsec.asMap()
		tf["tunnel_ipsec_config"] = terraformIPsec(ipsec)
	}
	if ch.dpd {
		spec["EnableDpd"] = true
		tf["enable_dpd"] = true
	}
	return spec, tf
}

// modifyTunnel fixes one tunnel of a dual-tunnel connection.
func (c *Connection) modifyTunnel(ti int, ch *change) *report.Fix {
	fx := c.base(ActionModifyTunnel)
	fx.API.Parameters["TunnelId"] = c.Tunnels[ti].ID
	spec, tf := c.tunnelOptions(ti, ch, keyVar(1, 1), false)
	fx.API.Parameters["TunnelOptionsSpecification"] = spec
	fx.Terraform.Attributes["tunnel_options_specification"] = []any{tf}
	return fx
}

// modifyTunnels fixes both tunnels of a dual-tunnel connection in one call.
func (c *Connection) modifyTunnels(order []int, changes map[int]*change) *report.Fix {
	fx := c.base(ActionModifyConnection)
	keys := 0
	for _, ti := range order {
		if changes[ti].newKey {
			keys++
		}
	}
	var specs, tfs []any
	n := 0
	for _, ti := range order {
		ch := changes[ti]
		key := ""
		if ch.newKey {
			n++
			key = keyVar(n, keys)
		}
		spec, tf := c.tunnelOptions(ti, ch, key, true)
		specs, tfs = append(specs, spec), append(tfs, tf)
	}
	fx.API.Parameters["TunnelOptionsSpecification"] = specs
	fx.Terraform.Attributes["tunnel_options_specification"] = tfs
	return fx
}

func terraformIKE(k *ikeConfig, localID, remoteID string) map[string]any {
	m := map[string]any{}
	setString(m, "ike_version", k.IkeVersion)
	setString(m, "ike_mode", k.IkeMode)
	setString(m, "ike_enc_alg", k.IkeEncAlg)
	setString(m, "ike_auth_alg", k.IkeAuthAlg)
	setString(m, "ike_pfs", k.IkePfs)
	setString(m, localID, k.LocalId)
	setString(m, remoteID, k.RemoteId)
	if k.IkeLifetime != 0 {
		m["ike_lifetime"] = k.IkeLifetime
	}
	if k.Psk != "" {
		// Terraform's JSON syntax reads "${...}" as an expression.
		m["psk"] = "${var." + strings.ToLower(strings.Trim(k.Psk, "${}")) + "}"
	}
	return m
}

func terraformIPsec(k *ipsecConfig) map[string]any {
	m := map[string]any{}
	setString(m, "ipsec_enc_alg", k.IpsecEncAlg)
	setString(m, "ipsec_auth_alg", k.IpsecAuthAlg)
	setString(m, "ipsec_pfs", k.IpsecPfs)
	if k.IpsecLifetime != 0 {
		m["ipsec_lifetime"] = k.IpsecLifetime
	}
	return m
}

// note says what the call does and what else must happen in the same
// window: the customer gateway must match, and a new key is the user's.
func (c *Connection) note(rules []string, order []int, changes map[int]*change) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Clears %s on %s", strings.Join(rules, ", "), c.ID)
	if c.DualTunnel {
		var ids []string
		for _, ti := range order {
			ids = append(ids, c.Tunnels[ti].ID)
		}
		fmt.Fprintf(&sb, " (tunnel %s)", strings.Join(ids, " and "))
	}
	sb.WriteString("; every other setting is sent as it is now. ")
	cgw := "the customer gateway"
	if c.CustomerGatewayID != "" {
		cgw += " (" + c.CustomerGatewayID + ")"
	}
	fmt.Fprintf(&sb, "Change %s to the same settings in the same maintenance window: the tunnel stays down until both ends match. ", cgw)
	newKey, masked := false, false
	for _, ch := range changes {
		newKey = newKey || ch.newKey
		masked = masked || (ch.ikeSet || ch.newKey) && ch.idsHoldKey
	}
	if masked {
		sb.WriteString("LocalId and RemoteId are left out (one of them holds the pre-shared key): set new identifiers on both ends. ")
	}
	if newKey {
		sb.WriteString("The new pre-shared key is yours to generate (" + KeyCommand + ", one per tunnel) and to keep in your secret store; vpncheck never prints a key. ")
	}
	sb.WriteString("The change is asynchronous and a gateway takes one change at a time: apply one combined plan per connection (vpncheck fix --connection " + c.ID + ").")
	return sb.String()
}

// Plan is one connection's combined fix: one change for all its fixable
// findings, as vpncheck fix prints it.
type Plan struct {
	Region, ConnectionID, ConnectionName string
	// Findings are the connection's reported findings, fixable or not.
	Findings []report.Finding
	// Fix is nil when none of them has a mechanical fix.
	Fix *report.Fix
}
