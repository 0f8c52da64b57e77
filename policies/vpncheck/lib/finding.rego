# METADATA
# title: Findings
# description: >-
#   Builds a finding from the calling rule's METADATA, so that a rule's title,
#   severity and remediation are written once, in the rule.
package vpncheck.lib

import rego.v1

# METADATA
# description: >-
#   The object every rule's deny set holds. chain is the rule's
#   rego.metadata.chain(); tunnel is the input tunnel the finding is about
#   ({} for the connection as a whole); value is the offending value, which
#   policy data may map to a severity ("" when there is none); message is one
#   short sentence naming what is wrong.
finding(chain, tunnel, value, message) := object.union(
	{
		"rule": meta.custom.id,
		"title": meta.title,
		"severity": severity(meta.custom.id, meta.custom.severity, value),
		"remediation": meta.custom.remediation,
		"message": message,
	},
	object.union(_tunnel_ref(tunnel), _value_ref(value)),
) if {
	meta := _rule_metadata(chain)
}

# METADATA
# description: >-
#   Resolves a finding's severity from policy data: the rule's entry for this
#   value (severity.by_value), else the rule's entry (severity.by_rule), else
#   the rule's METADATA default.
severity(id, default_severity, value) := object.get(
	data.vpncheck.lib.config,
	["severity", "by_value", id, value],
	object.get(data.vpncheck.lib.config, ["severity", "by_rule", id], default_severity),
)

# METADATA
# description: >-
#   Names the tunnel in a message: " on tunnel tun-..." for a tunnel of a
#   dual-tunnel connection, "" for the one tunnel of a single-tunnel connection.
on(tunnel) := sprintf(" on tunnel %s", [tunnel.id]) if {
	tunnel.id != ""
} else := ""

_rule_metadata(chain) := entry.annotations if {
	some entry in chain
	entry.annotations.custom.id
}

# The offending value travels with the finding, so that a notifier can
# group one problem across connections ("des on 130 connections").
_value_ref(value) := {"value": value} if {
	value != ""
} else := {}

_tunnel_ref(tunnel) := {"tunnel_id": tunnel.id} if {
	tunnel.id != ""
} else := {}
