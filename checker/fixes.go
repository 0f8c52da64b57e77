package checker

import (
	"sync"

	"github.com/vpncheck/vpncheck/checker/fix"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
)

// Plan is one connection's combined fix (see fix.Preferred.Plan).
type Plan = fix.Plan

// preferred is the policy data's preferred values, as the fix needs them.
func (e *Engine) preferred() fix.Preferred {
	p := e.config.Preferred
	return fix.Preferred{
		IKEVersion: p.IKE.Version, IKEMode: p.IKE.Mode, IKEEncryption: p.IKE.Encryption,
		IKEIntegrity: p.IKE.Integrity, IKEDHGroup: p.IKE.DHGroup,
		IPsecEncryption: p.IPsec.Encryption, IPsecIntegrity: p.IPsec.Integrity, IPsecPFS: p.IPsec.PFS,
	}
}

// fixView is what a fix reads of a connection as collected (ids already
// masked where they held a key).
func fixView(c *input.Connection) *fix.Connection {
	ci := &c.Connection
	v := &fix.Connection{ID: ci.ID, Name: ci.Name, Region: ci.Region, CustomerGatewayID: ci.CustomerGatewayID,
		DualTunnel: ci.DualTunnel, Tunnels: make([]fix.Tunnel, len(c.Tunnels))}
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		ft := fix.Tunnel{ID: t.ID, Role: t.Role, DPD: t.DPD, IDsHoldKey: t.IDsMasked}
		if k := t.IKE; k != nil {
			ft.IKE = &fix.IKE{Version: k.Version, Mode: k.Mode, Encryption: k.Encryption, Integrity: k.Integrity,
				DHGroup: k.DHGroup, Lifetime: k.Lifetime, LocalID: k.LocalID, RemoteID: k.RemoteID}
		}
		if p := t.IPsec; p != nil {
			ft.IPsec = &fix.IPsec{Encryption: p.Encryption, Integrity: p.Integrity, PFS: p.DHGroup, Lifetime: p.Lifetime}
		}
		v.Tunnels[i] = ft
	}
	return v
}

// connFixer makes one connection's fixes on demand (report.Fixer): it
// holds the connection's settings as a fix reads them and which findings
// it fixes, a few hundred bytes where the fixes themselves take about 2 KB
// each.
type connFixer struct {
	pref  fix.Preferred
	view  *fix.Connection
	fixes []fixRef // the fixable findings
	once  sync.Once
	comb  *report.Fix
}

// fixRef is what a fix needs of a finding: its rule and tunnel.
type fixRef struct{ rule, tunnel string }

func (x *connFixer) Fix(f *report.Finding) *report.Fix { return x.pref.For(x.view, f) }
func (x *connFixer) Fixable() int                      { return len(x.fixes) }
func (x *connFixer) Combined() *report.Fix {
	x.once.Do(func() {
		fs := make([]report.Finding, len(x.fixes))
		for i, r := range x.fixes {
			fs[i] = report.Finding{Rule: r.rule, ConnectionID: x.view.ID, TunnelID: r.tunnel}
		}
		x.comb = x.pref.Plan(x.view, fs)
	})
	return x.comb
}

// addFixes gives each fixable finding of c its fixer, and returns the
// connection's combined plan when want asks for it.
func (e *Engine) addFixes(c *input.Connection, fs []report.Finding, want bool) *Plan {
	var x *connFixer
	for i := range fs {
		if !fix.Fixable(fs[i].Rule) {
			continue
		}
		if x == nil {
			x = &connFixer{pref: e.preferred(), view: fixView(c)}
		}
		f := &fs[i]
		x.fixes = append(x.fixes, fixRef{f.Rule, f.TunnelID})
		f.Fixer = x
	}
	if !want {
		return nil
	}
	ci := &c.Connection
	p := &Plan{Region: ci.Region, ConnectionID: ci.ID, ConnectionName: ci.Name, Findings: fs}
	if x != nil {
		p.Fix = x.Combined()
	}
	return p
}
