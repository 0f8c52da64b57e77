# METADATA
# title: Findings
# description: >-
#   Builds a finding from the calling rule's METADATA, so that a rule's title,
#   severity and remediation are written once, in the rule.
package vpncheck.lib

import rego.v1

# finding is the object every rule's deny set holds. chain is the rule's
# rego.metadata.chain(); tunnel is the input tunnel the finding is about ({}
# for the connection as a whole); value is the offending value, which policy
# data may map to a severity ("" when there is none).
finding(chain, tunnel, value, message) := object.union(
	{
		"rule": meta.custom.id,
		"title": meta.title,
		"severity": severity(meta.custom.id, meta.custom.severity, value),
		"remediation": meta.custom.remediation,
		"message": message,
	},
	_tunnel_ref(tunnel),
) if {
	meta := _rule_metadata(chain)
}

# severity resolves a finding's severity: by rule and value, then by rule,
# from policy data; else the rule's METADATA default.
severity(id, default_severity, value) := s if {
	s := data.vpncheck.config.severity.by_value[id][value]
} else := s if {
	s := data.vpncheck.config.severity.by_rule[id]
} else := default_severity

# on names the tunnel in a message: " on tunnel tun-..." or "" for the single
# tunnel of a single-tunnel connection.
on(tunnel) := sprintf(" on tunnel %s", [tunnel.id]) if tunnel.id
else := ""

_rule_metadata(chain) := [entry.annotations |
	some entry in chain
	entry.annotations.custom.id
][0]

_tunnel_ref(tunnel) := {"tunnel_id": tunnel.id} if tunnel.id
else := {}
