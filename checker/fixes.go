package checker

import (
	"github.com/vpncheck/vpncheck/checker/fix"
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
func fixView(c *Connection) *fix.Connection {
	ci := &c.Connection
	v := &fix.Connection{ID: ci.ID, Name: ci.Name, Region: ci.Region, CustomerGatewayID: ci.CustomerGatewayID,
		DualTunnel: ci.DualTunnel, Tunnels: make([]fix.Tunnel, len(c.Tunnels))}
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		ft := fix.Tunnel{ID: t.ID, Role: t.Role, DPD: t.DPD, IDsHoldKey: t.idsMasked}
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

// addFixes gives each fixable finding of c its own fix, and returns the
// connection's combined plan when want asks for it.
func (e *Engine) addFixes(c *Connection, fs []report.Finding, want bool) *Plan {
	var view *fix.Connection
	pref := e.preferred()
	for i := range fs {
		if !fix.Fixable(fs[i].Rule) {
			continue
		}
		if view == nil {
			view = fixView(c)
		}
		fs[i].Fix = pref.For(view, &fs[i])
	}
	var combined *report.Fix
	if view != nil {
		combined = pref.Plan(view, fs)
		for i := range fs {
			if fs[i].Fix != nil {
				fs[i].ConnectionFix = combined
			}
		}
	}
	if !want {
		return nil
	}
	ci := &c.Connection
	return &Plan{Region: ci.Region, ConnectionID: ci.ID, ConnectionName: ci.Name, Findings: fs, Fix: combined}
}
