package input

import (
	"sort"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ASTValue builds the policy input straight into OPA's value type, which
// spares a JSON round trip per connection. It must agree with the JSON
// encoding of Connection (a test holds them together).
func (c *Connection) ASTValue() ast.Value {
	tunnels := make([]*ast.Term, len(c.Tunnels))
	for i := range c.Tunnels {
		tunnels[i] = ast.NewTerm(c.Tunnels[i].astValue())
	}
	return ast.NewObject(
		item("connection", c.Connection.astValue()),
		item("tunnels", ast.NewArray(tunnels...)),
	)
}

func (ci *ConnectionInfo) astValue() ast.Value {
	o := obj{}
	o.str("id", ci.ID)
	o.str("name", ci.Name)
	o.str("region", ci.Region)
	o.str("account_id", ci.AccountID)
	o.str("vpn_gateway_id", ci.VPNGatewayID)
	o.str("customer_gateway_id", ci.CustomerGatewayID)
	o.strs("local_subnets", ci.LocalSubnets)
	o.strs("remote_subnets", ci.RemoteSubnets)
	if len(ci.Tags) > 0 {
		keys := make([]string, 0, len(ci.Tags))
		for k := range ci.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := obj{}
		for _, k := range keys {
			tags = append(tags, item(k, ast.String(ci.Tags[k])))
		}
		o = append(o, item("tags", ast.NewObject(tags...)))
	}
	o = append(o, item("dual_tunnel", ast.Boolean(ci.DualTunnel)))
	o.str("status", ci.Status)
	if hc := ci.HealthCheck; hc != nil {
		h := obj{}
		h.boolp("enabled", hc.Enabled)
		h.str("status", hc.Status)
		o = append(o, item("health_check", ast.NewObject(h...)))
	}
	o.boolp("enable_tunnels_bgp", ci.EnableTunnelsBGP)
	return ast.NewObject(o...)
}

func (t *Tunnel) astValue() ast.Value {
	o := obj{}
	o.str("id", t.ID)
	o.str("role", t.Role)
	o.str("status", t.Status)
	if k := t.IKE; k != nil {
		v := obj{}
		v.str("version", k.Version)
		v.str("mode", k.Mode)
		v.str("encryption", k.Encryption)
		v.str("integrity", k.Integrity)
		v.str("dh_group", k.DHGroup)
		v.int("lifetime", k.Lifetime)
		v.str("local_id", k.LocalID)
		v.str("remote_id", k.RemoteID)
		o = append(o, item("ike", ast.NewObject(v...)))
	}
	if p := t.IPsec; p != nil {
		v := obj{}
		v.str("encryption", p.Encryption)
		v.str("integrity", p.Integrity)
		v.str("dh_group", p.DHGroup)
		v.int("lifetime", p.Lifetime)
		o = append(o, item("ipsec", ast.NewObject(v...)))
	}
	if p := t.PSK; p != nil {
		exposed := make([]*ast.Term, len(p.ExposedIn))
		for i, e := range p.ExposedIn {
			exposed[i] = ast.StringTerm(e)
		}
		v := obj{
			item("length", ast.Number(itoa(int64(p.Length)))),
			item("banned", ast.Boolean(p.Banned)),
		}
		if p.Guesses != nil && p.GuessesLog != nil {
			v = append(v, item("guesses", ast.FloatNumberTerm(*p.Guesses).Value),
				item("guesses_log10", ast.Number(itoa(int64(*p.GuessesLog)))))
		}
		v.int("estimated_length", int64(p.EstimatedLength))
		v = append(v, item("exposed_in", ast.NewArray(exposed...)),
			item("shared_with", ast.Number(itoa(int64(p.SharedWith)))))
		o = append(o, item("psk", ast.NewObject(v...)))
	}
	o.boolp("dpd", t.DPD)
	o.boolp("nat_traversal", t.NATTraversal)
	if b := t.BGP; b != nil {
		v := obj{}
		v.boolp("enabled", b.Enabled)
		v.str("status", b.Status)
		v.str("local_asn", b.LocalASN)
		v.str("peer_asn", b.PeerASN)
		o = append(o, item("bgp", ast.NewObject(v...)))
	}
	return ast.NewObject(o...)
}

type obj [][2]*ast.Term

func item(k string, v ast.Value) [2]*ast.Term { return [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(v)} }

func (o *obj) str(k, v string) {
	if v != "" {
		*o = append(*o, item(k, ast.String(v)))
	}
}

func (o *obj) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	ts := make([]*ast.Term, len(vs))
	for i, v := range vs {
		ts[i] = ast.StringTerm(v)
	}
	*o = append(*o, item(k, ast.NewArray(ts...)))
}

func (o *obj) int(k string, v int64) {
	if v != 0 {
		*o = append(*o, item(k, ast.Number(itoa(v))))
	}
}

func (o *obj) boolp(k string, v *bool) {
	if v != nil {
		*o = append(*o, item(k, ast.Boolean(*v)))
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
