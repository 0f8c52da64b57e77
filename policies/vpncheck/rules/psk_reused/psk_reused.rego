# METADATA
# title: Pre-shared key reused
# description: >-
#   The same pre-shared key is set on more than one tunnel in the scanned
#   estate (both tunnels of one connection included). One leaked key then
#   opens every tunnel that shares it, and the peers cannot be told apart.
#   NIST SP 800-77 Rev. 1 asks for a distinct key per pair of peers. Severity
#   high: it multiplies the reach of any single key compromise.
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs, on pre-shared keys
# custom:
#   id: psk-reused
#   severity: high
#   remediation: >-
#     Give every tunnel its own random pre-shared key; change it on the
#     connection and on the customer gateway device together.
package vpncheck.rules.psk_reused

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, "", message) if {
	some tunnel in input.tunnels
	tunnel.psk.shared_with > 1
	message := sprintf("pre-shared key%s is shared by %d tunnels", [lib.on(tunnel), tunnel.psk.shared_with])
}
