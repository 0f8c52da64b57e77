# METADATA
# title: Unknown algorithm
# description: >-
#   An IKE or IPsec encryption or integrity algorithm, DH group, IKE version
#   or IKE mode has a value that the policy data neither allows nor denies,
#   so no other rule can judge it. A new value (an API change, a new
#   offering) is reported instead of passing silently, as RFC 8247 and
#   RFC 8221 expect algorithm choices to be reviewed against current
#   guidance. Severity info: the value may be fine; add it to the allowed or
#   denied list in policy data (values) once reviewed.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8247
#     description: RFC 8247, IKEv2 algorithm requirements
#   - ref: https://www.rfc-editor.org/rfc/rfc8221
#     description: RFC 8221, ESP algorithm requirements
# custom:
#   id: unknown-algorithm
#   severity: info
#   remediation: >-
#     Review the value against RFC 8247, RFC 8221 and NIST SP 800-77 Rev. 1,
#     then add it to values.<kind>.allowed or values.<kind>.denied in the
#     policy data.
package vpncheck.rules.unknown_algorithm

import rego.v1

import data.vpncheck.lib

# Each field: where it is in a tunnel, the value list that judges it, and how
# a message names it.
_fields := [
	{"path": ["ike", "encryption"], "kind": "encryption", "label": "IKE encryption algorithm"},
	{"path": ["ike", "integrity"], "kind": "integrity", "label": "IKE integrity algorithm"},
	{"path": ["ike", "dh_group"], "kind": "dh_group", "label": "IKE DH group"},
	{"path": ["ike", "version"], "kind": "ike_version", "label": "IKE version"},
	{"path": ["ike", "mode"], "kind": "ike_mode", "label": "IKE mode"},
	{"path": ["ipsec", "encryption"], "kind": "encryption", "label": "IPsec encryption algorithm"},
	{"path": ["ipsec", "integrity"], "kind": "integrity", "label": "IPsec integrity algorithm"},
	{"path": ["ipsec", "dh_group"], "kind": "dh_group", "label": "IPsec PFS group"},
]

deny contains lib.finding(rego.metadata.chain(), tunnel, value, message) if {
	some tunnel in input.tunnels
	some field in _fields
	value := object.get(tunnel, field.path, "")
	value != ""
	not lib.known(field.kind, value)
	not _pfs_disabled(field, value)
	message := sprintf("%s %s is neither allowed nor denied by policy data%s", [field.label, value, lib.on(tunnel)])
}

_pfs_disabled(field, value) if {
	field.path == ["ipsec", "dh_group"]
	lib.listed(lib.config.values.pfs_disabled, value)
}
